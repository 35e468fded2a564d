/**
 * Readiness follows the database: /health answers 503 while PostgreSQL is unreachable and 200
 * again once it is back, without restarting the gateway. The database is reached through a
 * TCP proxy on loopback that the test cuts and restores. PostgreSQL only (TEST_DATABASE_URL):
 * the embedded SQLite file cannot become unreachable.
 */
import net from 'node:net';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/shared/logger';
import { createTestDatabase, testEngine, type TestDatabase } from './databases';

class DbProxy {
  private server: net.Server | null = null;
  private sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }
}

async function healthStatus(url: string): Promise<number> {
  return (await fetch(`${url}/health`)).status;
}

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
    const config = loadConfig({ DATABASE_URL: target.toString(), DATABASE_CONNECT_TIMEOUT_MS: '1000', PORT: '0', LOG_LEVEL: 'silent' });
    app = await createApp({ config, logger: createLogger('silent') });
    url = await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app.stop(1000);
    await proxy.cut();
    await database.drop();
  });

  test('/health answers 503 while the database is unreachable and 200 again once it returns, without a restart', async () => {
    expect(await healthStatus(url)).toBe(200);
    await proxy.cut();
    expect(await eventually(async () => (await healthStatus(url)) === 503)).toBe(true);
    await proxy.open();
    expect(await eventually(async () => (await healthStatus(url)) === 200)).toBe(true);
  });
});
