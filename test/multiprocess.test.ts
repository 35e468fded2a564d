/**
 * Two gateway processes on one database (PostgreSQL with TEST_DATABASE_URL, else one SQLite
 * file): uniqueness, optimistic concurrency and the export feed hold across processes.
 * Runs the compiled server (dist/), which `npm test` builds first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { issueKey } from '../src/services/keys';
import { migrateToLatest } from '../src/store/db';
import { createTestDatabase, type TestDatabase } from './databases';

const SERVER = path.resolve(__dirname, '../dist/src/index.js');

interface Gateway {
  url: string;
  child: ChildProcess;
}

function startGateway(env: Record<string, string>): Promise<Gateway> {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', EXPLORER: 'false' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway did not start within 20 s')), 20_000);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.includes('customer-gateway listening')) return;
      clearTimeout(timer);
      const url = (JSON.parse(line) as { url: string }).url.replace('localhost', '127.0.0.1');
      resolve({ url, child });
    });
  });
}

async function stopGateway(gateway: Gateway): Promise<void> {
  const exited = new Promise((resolve) => gateway.child.once('exit', resolve));
  gateway.child.kill('SIGTERM');
  await exited;
}

let database: TestDatabase;
let key: string;
let gateways: Gateway[];

beforeAll(async () => {
  database = await createTestDatabase();
  const store = database.open();
  await migrateToLatest(store.db);
  // Bursts of concurrent writes from one key: exempt from rate limiting (test/rate-limit.test.ts has its own).
  key = (await issueKey(store.db, { workspace: 'shared', rateLimited: false })).key;
  await store.close();
  gateways = await Promise.all([startGateway(database.env), startGateway(database.env)]);
}, 60_000);

afterAll(async () => {
  await Promise.all(gateways.map(stopGateway));
  await database.drop();
});

async function gql<T = Record<string, any>>(gateway: Gateway, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(`errors from ${gateway.url}: ${JSON.stringify(body.errors)}`);
  return body.data as T;
}

const CREATE = `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id version } userErrors { field code } } }`;
const UPDATE = `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { id version } userErrors { field code } } }`;

test('two processes creating the same email at once: exactly one wins, the other gets TAKEN', async () => {
  for (let round = 0; round < 10; round += 1) {
    const email = `race-${round}@example.com`;
    const results = await Promise.all(gateways.map((g) => gql(g, CREATE, { input: { email } })));
    const codes = results.map((r) => r.createCustomer.userErrors.map((e: { code: string }) => e.code).join(','));
    expect(codes.sort()).toEqual(['', 'TAKEN']);
  }
});

test('two processes updating with the same expectedVersion: one succeeds, the other gets VERSION_CONFLICT', async () => {
  const created = await gql(gateways[0], CREATE, { input: { email: 'versioned@example.com' } });
  let version = created.createCustomer.customer.version as number;
  const id = created.createCustomer.customer.id as string;
  for (let round = 0; round < 10; round += 1) {
    const results = await Promise.all(
      gateways.map((g, i) => gql(g, UPDATE, { input: { id, expectedVersion: version, firstName: `p${i}r${round}` } })),
    );
    const winners = results.filter((r) => r.updateCustomer.userErrors.length === 0);
    const losers = results.filter((r) => r.updateCustomer.userErrors.length > 0);
    expect(winners).toHaveLength(1);
    expect(losers[0].updateCustomer.userErrors[0].code).toBe('VERSION_CONFLICT');
    version = winners[0].updateCustomer.customer.version;
    expect(version).toBe(created.createCustomer.customer.version + round + 1);
  }
});

test('an export consumer sees every acknowledged change made through both processes', async () => {
  const EXPORT = `query($after: String) { exportCustomers(first: 50, after: $after) { nodes { id version } pageInfo { endCursor hasNextPage } } }`;
  const seen = new Map<string, number>();
  let cursor: string | null = null;
  const consume = async () => {
    for (;;) {
      const page: Record<string, any> = await gql(gateways[1], EXPORT, { after: cursor });
      for (const node of page.exportCustomers.nodes) seen.set(node.id, Math.max(seen.get(node.id) ?? 0, node.version));
      cursor = page.exportCustomers.pageInfo.endCursor;
      if (!page.exportCustomers.pageInfo.hasNextPage) return;
    }
  };
  const acknowledged = new Map<string, number>();
  const ids: string[] = [];
  for (let i = 0; i < 10; i += 1) {
    const r = await gql(gateways[i % 2], CREATE, { input: { email: `feed-${i}@example.com` } });
    ids.push(r.createCustomer.customer.id);
    acknowledged.set(r.createCustomer.customer.id, r.createCustomer.customer.version);
  }
  const writers = Array.from({ length: 60 }, async (_, n) => {
    const id = ids[n % ids.length];
    const r = await gql(gateways[n % 2], UPDATE, { input: { id, lastName: `n${n}` } });
    const version = r.updateCustomer.customer.version as number;
    acknowledged.set(id, Math.max(acknowledged.get(id) ?? 0, version));
    if (n % 7 === 0) await consume();
  });
  await Promise.all(writers);
  await consume();
  for (const [id, version] of acknowledged) expect({ id, version: seen.get(id) }).toEqual({ id, version });
});
