/** Small helpers the benchmarks share for the servers they start: ports and the PostgreSQL admin connection. */
import net from 'node:net';
import { Client } from 'pg';

/** A TCP port free on loopback right now (for a child server that needs its port up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs one statement on the PostgreSQL server at `url` (create/drop database and the like). */
export async function adminQuery<T = Record<string, unknown>>(url: string | undefined, sql: string, params: unknown[] = []): Promise<T[]> {
  if (!url) throw new Error('adminQuery needs a PostgreSQL URL (BENCH_DATABASE_URL), got none');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}
