/**
 * Two gateway processes merging the same pair at once (PostgreSQL with TEST_DATABASE_URL, where
 * they race on row locks; else one SQLite file): exactly one merge wins and the other gets a
 * userError, whichever way round each names the pair. Runs the compiled server (dist/).
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
      resolve({ url: (JSON.parse(line) as { url: string }).url.replace('localhost', '127.0.0.1'), child });
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
  key = (await issueKey(store.db, { workspace: 'shared', rateLimited: false })).key;
  await store.close();
  gateways = await Promise.all([startGateway(database.env), startGateway(database.env)]);
}, 60_000);

afterAll(async () => {
  await Promise.all((gateways ?? []).map(stopGateway));
  await database?.drop();
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

const CREATE = `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { code } } }`;
const MERGE = `mutation($input: MergeCustomersInput!) { mergeCustomers(input: $input) { customer { id mergedIds } userErrors { field code } } }`;

test('two processes merging the same pair at once: one winner, one userError, and the loser wrote nothing', async () => {
  for (let round = 0; round < 10; round += 1) {
    const [a, b] = await Promise.all(['a', 'b'].map((side) => gql(gateways[0], CREATE, { input: { email: `${side}-${round}@race.example` } })));
    const ids = [a.createCustomer.customer.id as string, b.createCustomer.customer.id as string];
    // Even rounds name the pair the same way in both processes, odd rounds opposite ways.
    const inputs = round % 2 === 0
      ? [{ survivorId: ids[0], mergedId: ids[1] }, { survivorId: ids[0], mergedId: ids[1] }]
      : [{ survivorId: ids[0], mergedId: ids[1] }, { survivorId: ids[1], mergedId: ids[0] }];
    const results = await Promise.all(gateways.map((g, i) => gql(g, MERGE, { input: inputs[i] })));
    const winners = results.filter((r) => r.mergeCustomers.userErrors.length === 0);
    const losers = results.filter((r) => r.mergeCustomers.userErrors.length > 0);
    expect(winners).toHaveLength(1);
    expect(losers[0].mergeCustomers.userErrors.map((e: { code: string }) => e.code)).toEqual(['MERGED']);
    const survivor = winners[0].mergeCustomers.customer as { id: string; mergedIds: string[] };
    const read = await gql(gateways[1], `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Customer { id version mergedIds } } }`, { ids });
    expect(read.nodes).toEqual([
      { id: survivor.id, version: 2, mergedIds: survivor.mergedIds },
      { id: survivor.id, version: 2, mergedIds: survivor.mergedIds },
    ]);
  }
}, 60_000);
