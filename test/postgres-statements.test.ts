/**
 * Named (prepared) statements on PostgreSQL (src/store/postgres-statements.ts), proven from the
 * server's side: pg_prepared_statements lists what each session prepared and how often each
 * statement ran (generic_plans + custom_plans). Skipped without TEST_DATABASE_URL.
 */
import { sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import { Pool } from 'pg';
import { namingPool } from '../src/store/postgres-statements';
import { startTestApp, type RunningApp } from './app-harness';
import { createTestDatabase, testEngine, type TestDatabase } from './databases';

const onPostgres = testEngine === 'postgres' ? describe : describe.skip;

interface Prepared {
  name: string;
  statement: string;
  runs: number;
}

/** What this session has prepared and how often each ran (no parameters: it stays unnamed itself). */
const PREPARED_STATEMENTS = 'select name, statement, (generic_plans + custom_plans)::text as runs from pg_prepared_statements order by name';

type PreparedRow = { name: string; statement: string; runs: string };
const preparedOf = (rows: PreparedRow[]): Prepared[] => rows.map((row) => ({ name: row.name, statement: row.statement, runs: Number(row.runs) }));

async function preparedOn(client: PostgresPoolClient): Promise<Prepared[]> {
  return preparedOf((await client.query<PreparedRow>(PREPARED_STATEMENTS, [])).rows);
}

const statementsOf = (prepared: Prepared[]) => prepared.map((p) => p.statement).sort();

onPostgres('the naming pool', () => {
  let database: TestDatabase;
  let pool: Pool;
  let naming: PostgresPool;
  /** Checked out by the test; given back after it, even when it failed half-way. */
  let held: PostgresPoolClient[];

  const open = (size: number) => {
    pool = new Pool({ connectionString: database.options.databaseUrl, max: 2 });
    naming = namingPool(pool, size);
  };
  const take = async () => {
    const client = await naming.connect();
    held.push(client);
    return client;
  };

  beforeEach(async () => {
    database = await createTestDatabase();
    held = [];
  });

  afterEach(async () => {
    for (const client of held) client.release();
    await naming.end();
    await database.drop();
  });

  it('prepares a statement with parameters once per connection and runs it each time', async () => {
    open(10);
    const client = await take();
    for (let i = 0; i < 5; i++) {
      const result = await client.query<{ n: number }>('select $1::int + 1 as n', [i]);
      expect(result.rows).toEqual([{ n: i + 1 }]);
    }
    await client.query('select 1 as one', []);
    expect(await preparedOn(client)).toEqual([{ name: expect.stringMatching(/^cg_/) as string, statement: 'select $1::int + 1 as n', runs: 5 }]);
  });

  it('keeps at most its size of names, deallocating the least recently used', async () => {
    open(3);
    const client = await take();
    const text = (i: number) => `select $1::int + ${i} as n`;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 8; i++) expect((await client.query<{ n: number }>(text(i), [1])).rows).toEqual([{ n: 1 + i }]);
      // The hot one, used between every other: never evicted.
      await client.query(text(0), [1]);
    }
    // The last three used; every evicted one was deallocated on the server.
    expect(statementsOf(await preparedOn(client))).toEqual([text(0), text(6), text(7)].sort());
  });

  it('deallocates inside a transaction too, and what was prepared in a rolled-back one stays usable', async () => {
    open(2);
    const client = await take();
    await client.query('begin', []);
    for (let i = 0; i < 4; i++) await client.query(`select $1::int + ${i} as n`, [1]);
    await client.query('rollback', []);
    expect((await client.query<{ n: number }>('select $1::int + 3 as n', [1])).rows).toEqual([{ n: 4 }]);
    expect(statementsOf(await preparedOn(client))).toEqual(['select $1::int + 2 as n', 'select $1::int + 3 as n']);

    // In a failed transaction a new statement is refused (never prepared), and the name it
    // evicted is deallocated all the same.
    await client.query('begin', []);
    await expect(client.query('select 1 / $1::int', [0])).rejects.toMatchObject({ code: '22012' });
    await expect(client.query('select $1::int + 4 as n', [1])).rejects.toMatchObject({ code: '25P02' });
    await client.query('rollback', []);
    expect(statementsOf(await preparedOn(client))).toEqual(['select 1 / $1::int']);
  });

  it('prepares again and retries once when a migration changed a statement’s result columns', async () => {
    open(10);
    await pool.query('create table t (a int)');
    await pool.query('insert into t values (1)');
    const [one, two] = [await take(), await take()];
    const read = 'select * from t where a = $1';
    for (const client of [one, two]) expect((await client.query(read, [1])).rows).toEqual([{ a: 1 }]);

    // Another process migrates.
    const other = new Pool({ connectionString: database.options.databaseUrl, max: 1 });
    await other.query('alter table t add column b int default 2');
    await other.end();

    // Outside a transaction: retried after preparing anew.
    expect((await one.query(read, [1])).rows).toEqual([{ a: 1, b: 2 }]);
    // The other connection learnt from the first that its names predate the change: inside a
    // transaction it prepares anew before running, and the transaction goes on.
    await two.query('begin', []);
    expect((await two.query(read, [1])).rows).toEqual([{ a: 1, b: 2 }]);
    await two.query('commit', []);
    for (const client of [one, two]) expect(statementsOf(await preparedOn(client))).toEqual([read]);
  });

  it('fails a transaction that meets a changed result type once, and the next one succeeds', async () => {
    open(10);
    const client = await take();
    await client.query('create table t (a int)', []);
    await client.query('insert into t values (1)', []);
    const read = 'select * from t where a = $1';
    await client.query(read, [1]);
    const other = new Pool({ connectionString: database.options.databaseUrl, max: 1 });
    await other.query('alter table t add column b int default 2');
    await other.end();

    await client.query('begin', []);
    await expect(client.query(read, [1])).rejects.toMatchObject({ code: '0A000', routine: 'RevalidateCachedQuery' });
    await client.query('rollback', []);
    await client.query('begin', []);
    expect((await client.query(read, [1])).rows).toEqual([{ a: 1, b: 2 }]);
    await client.query('commit', []);
  });
});

onPostgres('the gateway on PostgreSQL', () => {
  let running: RunningApp;

  beforeAll(async () => {
    // One connection, so that one session holds every statement; every request reads its key.
    running = await startTestApp({ DATABASE_POOL_SIZE: '1', API_KEY_CACHE_TTL_MS: '0' });
  });

  afterAll(() => running.close());

  const post = async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(`${running.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${running.a.key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    return body.data;
  };

  /** Prepared statements of the pool's one connection. */
  const prepared = async (): Promise<Prepared[]> => {
    return preparedOf((await sql<PreparedRow>`${sql.raw(PREPARED_STATEMENTS)}`.execute(running.app.store.db)).rows);
  };

  const runsOf = (all: Prepared[], pattern: RegExp) => all.filter((p) => pattern.test(p.statement));

  it('prepares each hot statement once and runs it for every request', async () => {
    const created = (await post(`mutation { createCustomer(input: { email: "p@statements.example", type: TEAM }) { customer { id } userErrors { code } } }`)) as {
      createCustomer: { customer: { id: string } };
    };
    const id = created.createCustomer.customer.id;
    await post(`mutation($id: ID!) { addMember(input: { customerId: $id, email: "m@statements.example" }) { member { id } userErrors { code } } }`, { id });

    const before = await prepared();
    const N = 12;
    for (let i = 0; i < N; i++) {
      await post(`query($id: ID!) { customer(id: $id) { id email } }`, { id });
      await post(`{ customers(first: 10) { nodes { id members(first: 10) { nodes { email } } } } }`);
    }
    const after = await prepared();

    // Prepared once: no text twice in the session.
    const texts = after.map((p) => p.statement);
    expect(new Set(texts).size).toBe(texts.length);
    const ranMore = (pattern: RegExp) => {
      const ran = runsOf(after, pattern).map((p) => p.runs - (runsOf(before, pattern).find((q) => q.name === p.name)?.runs ?? 0));
      return ran.filter((runs) => runs > 0);
    };
    // The key lookup (every request reads it: no key cache here): two requests per round.
    expect(ranMore(/from "api_keys"/)).toEqual([2 * N]);
    // customer(id): the compiled lookup by id, one per round.
    expect(ranMore(/from "customers" where "workspace_id" = \$1 and "id" in \(\$2\)/)).toEqual([N]);
    // The members of the page (in its own statement or in the page's), one per round.
    expect(ranMore(/"members"/)).toEqual([N]);
  });
});
