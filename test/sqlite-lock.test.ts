/**
 * SQLite write-lock waits: while another connection (the CLI import, a second gateway on the
 * same file) holds the write lock, a write request waits for it without blocking the process,
 * so reads keep answering; past the wait budget the write answers 503 SERVICE_UNAVAILABLE with
 * Retry-After, never a 500. SQLite only.
 */
import SqliteDatabase from 'better-sqlite3';
import type { ApolloServer } from '@apollo/server';
import { createContext, type Context } from '../src/graphql/context';
import { createApolloServer } from '../src/graphql/server';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { migrateToLatest, sqlitePath, type Store } from '../src/store/db';
import { createTestDatabase, testEngine, type TestDatabase } from './databases';
import { PUBLIC_URL, silentLogger } from './helpers';

const describeSqlite = testEngine === 'sqlite' ? describe : describe.skip;

interface Gateway {
  database: TestDatabase;
  store: Store;
  apollo: ApolloServer<Context>;
  key: IssuedKey;
  /** SQL of statements that failed, in order. */
  failed: string[];
}

async function gateway(busyTimeoutMs: number): Promise<Gateway> {
  const database = await createTestDatabase();
  const failed: string[] = [];
  const store = database.open({ busyTimeoutMs, onQuery: (event) => void (event.level === 'error' && failed.push(event.query.sql)) });
  await migrateToLatest(store.db);
  const key = await issueKey(store.db, { workspace: 'locks' });
  const apollo = createApolloServer({ logger: silentLogger });
  await apollo.start();
  return { database, store, apollo, key, failed };
}

function run(g: Gateway, query: string, variables?: Record<string, unknown>) {
  const contextValue = createContext(
    { db: g.store.db, publicUrl: PUBLIC_URL, logger: silentLogger },
    { workspace: g.key.workspace, apiKey: g.key.record, actor: null, via: null },
  );
  return g.apollo.executeOperation<Record<string, any>>({ query, variables }, { contextValue });
}

const CREATE = 'mutation($email: String!) { createCustomer(input: { email: $email }) { customer { email } userErrors { code } } }';
const READ = '{ customers(first: 5) { edges { node { email } } } }';

function singleResult(response: Awaited<ReturnType<typeof run>>) {
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  return response.body.singleResult;
}

/** Resolves once the gateway has tried to take the write lock and found it held. */
async function lockRefused(g: Gateway): Promise<void> {
  while (!g.failed.some((q) => /begin immediate/i.test(q))) await new Promise((resolve) => setImmediate(resolve));
}

describeSqlite('a write waiting for the SQLite write lock held by another connection', () => {
  let g: Gateway | undefined;
  let locker: SqliteDatabase.Database | undefined;

  afterEach(async () => {
    if (locker?.inTransaction) locker.exec('rollback');
    locker?.close();
    locker = undefined;
    await g?.apollo.stop();
    await g?.store.close();
    await g?.database.drop();
    g = undefined;
  });

  test('does not stall reads: a read answers while the lock is held, then the write completes', async () => {
    g = await gateway(60_000);
    await run(g, CREATE, { email: 'before@example.com' });
    locker = new SqliteDatabase(sqlitePath(g.database.options));
    locker.exec('begin immediate');

    let writeSettled = false;
    const writing = run(g, CREATE, { email: 'waiting@example.com' }).finally(() => (writeSettled = true));
    await lockRefused(g);

    const read = singleResult(await run(g, READ));
    expect(read.errors).toBeUndefined();
    expect(read.data?.customers.edges.map((e: { node: { email: string } }) => e.node.email)).toEqual(['before@example.com']);
    expect(writeSettled).toBe(false);

    locker.exec('commit');
    const written = singleResult(await writing);
    expect(written.errors).toBeUndefined();
    expect(written.data?.createCustomer).toEqual({ customer: { email: 'waiting@example.com' }, userErrors: [] });
  });

  test('past the wait budget answers 503 SERVICE_UNAVAILABLE with Retry-After and writes nothing', async () => {
    g = await gateway(20);
    locker = new SqliteDatabase(sqlitePath(g.database.options));
    locker.exec('begin immediate');

    const response = await run(g, CREATE, { email: 'late@example.com' });
    const result = singleResult(response);
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(response.http.status).toBe(503);
    expect(response.http.headers.get('retry-after')).toBe('1');

    locker.exec('rollback');
    expect(singleResult(await run(g, READ)).data?.customers.edges).toEqual([]);
  });
});
