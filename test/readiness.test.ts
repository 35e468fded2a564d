/**
 * Readiness follows the database: /readyz (and its alias /health) answers 503 while PostgreSQL
 * is unreachable or does not answer, and 200 again once it is back, without restarting the
 * gateway; /livez answers 200 throughout. The database is reached through a TCP proxy on
 * loopback that the test cuts, stalls and restores. PostgreSQL only (TEST_DATABASE_URL): the
 * embedded SQLite file cannot become unreachable (probes.test.ts has the rest of the probes).
 */
import net from 'node:net';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/shared/logger';
import { createTestDatabase, testEngine, type TestDatabase } from './databases';

class DbProxy {
  private server: net.Server | null = null;
  private sockets = new Set<net.Socket>();
  /** Accepting connections but passing nothing on: a database that does not answer. */
  private stalled = false;
  private held = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  private forward(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  }

  async open(): Promise<void> {
    this.server = net.createServer((client) => {
      client.on('error', () => client.destroy());
      if (!this.stalled) return this.forward(client);
      // Read nothing yet: what the client sends waits in its socket until `resume`.
      this.held.add(client);
      client.pause();
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Stops passing anything on, on open connections and new ones alike, until `resume`. */
  stall(): void {
    this.stalled = true;
    for (const socket of this.sockets) socket.pause();
  }

  /** A late answer: everything held goes through now. */
  resume(): void {
    this.stalled = false;
    for (const socket of this.sockets) socket.resume();
    for (const client of this.held) this.forward(client);
    this.held.clear();
  }

  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }
}

async function probe(url: string, path: string): Promise<{ status: number; reason?: string }> {
  const res = await fetch(`${url}${path}`);
  const body = (await res.json()) as { reason?: string };
  return { status: res.status, reason: body.reason };
}

const healthStatus = async (url: string) => (await probe(url, '/health')).status;

async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

const describePostgres = testEngine === 'postgres' ? describe : describe.skip;

describePostgres('readiness on PostgreSQL', () => {
  let database: TestDatabase;
  let proxy: DbProxy;
  let app: App;
  let url: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.env.DATABASE_URL as string);
    proxy = new DbProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.open();
    target.hostname = '127.0.0.1';
    target.port = String(proxy.port);
    // A connect timeout well past the readiness bound, so a stalled database is reported by the bound.
    const config = loadConfig({ DATABASE_URL: target.toString(), DATABASE_CONNECT_TIMEOUT_MS: '10000', PORT: '0', LOG_LEVEL: 'silent' });
    app = await createApp({ config, logger: createLogger('silent') });
    url = await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app.stop(1000);
    await proxy.cut();
    await database.drop();
  });

  test('/health and /readyz answer 503 while the database is unreachable and 200 again once it returns, without a restart; /livez stays 200', async () => {
    expect(await healthStatus(url)).toBe(200);
    expect(await probe(url, '/readyz')).toEqual({ status: 200 });
    await proxy.cut();
    expect(await eventually(async () => (await healthStatus(url)) === 503)).toBe(true);
    expect(await probe(url, '/readyz')).toEqual({ status: 503, reason: 'database unreachable' });
    expect(await probe(url, '/livez')).toEqual({ status: 200 });
    await proxy.open();
    expect(await eventually(async () => (await healthStatus(url)) === 200)).toBe(true);
    expect(await probe(url, '/readyz')).toEqual({ status: 200 });
  });

  test('/readyz gives up on a database that does not answer, at its bound, and recovers once it answers', async () => {
    proxy.stall();
    expect(await probe(url, '/readyz')).toEqual({ status: 503, reason: 'database did not answer within 1000 ms' });
    expect(await probe(url, '/livez')).toEqual({ status: 200 });
    proxy.resume();
    expect(await eventually(async () => (await probe(url, '/readyz')).status === 200)).toBe(true);
  });
});
