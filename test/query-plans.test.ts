/**
 * Batched lookups stay index probes as the table grows: the statement a request issues is
 * explained on the real (SQLite) database and must not walk a whole workspace.
 */
import { sql } from 'kysely';
import { createCustomer, createTestEnv, type TestEnv } from './helpers';
import { testEngine } from './databases';

let env: TestEnv;
let ids: string[];

beforeAll(async () => {
  env = await createTestEnv();
  ids = [];
  for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) ids.push((await createCustomer(env, { email })).id);
});

afterAll(() => env.close());

/** EXPLAIN QUERY PLAN of a statement text, with every parameter bound to a placeholder value. */
async function planOf(statement: string): Promise<string> {
  const text = statement.replace(/\?/g, () => "'x'");
  const rows = await sql<{ detail: string }>`explain query plan ${sql.raw(text)}`.execute(env.store.db);
  return rows.rows.map((row) => row.detail).join(' | ');
}

(testEngine === 'sqlite' ? describe : describe.skip)('query plans on SQLite', () => {
  it('_entities with several customers probes the primary key, not the workspace', async () => {
    env.statements.length = 0;
    const data = await env.data<{ _entities: { id: string }[] }>(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id } } }',
      { r: ids.map((id) => ({ __typename: 'Customer', id })) },
    );
    expect(data._entities.map((c) => c.id)).toEqual(ids);
    const lookup = env.statements.find((s) => /from "customers"/.test(s) && /"id" in \(/.test(s));
    expect(lookup).toBeDefined();
    const plan = await planOf(lookup as string);
    expect(plan).toMatch(/USING INDEX sqlite_autoindex_customers_1 \(id=\?\)/);
    expect(plan).not.toMatch(/\(workspace_id=\?\)/);
  });
});
