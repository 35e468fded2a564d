/**
 * Nested pages (members oldest first, actions newest first) for many customers in one
 * statement: a per-parent LIMIT subquery (SQLite over json_each, PostgreSQL a lateral join)
 * where a window function used to number every child. It must give, per customer, exactly the
 * rows a plain sort and cut would: the same rows, order, cursor filter and workspace filter,
 * for every page size.
 */
import { sql } from 'kysely';
import { newId } from '../src/shared/ids';
import type { Selectable } from 'kysely';
import { listChildPages, type ChildTable } from '../src/store/child-pages';
import type { KeysetPosition } from '../src/store/customers.repository';
import { isoOf, type Db } from '../src/store/engine';
import type { Database } from '../src/store/tables';
import { createCustomer, createTestEnv, NO_COST_LIMIT, type TestEnv } from './helpers';
import { testEngine } from './databases';

interface Child {
  id: string;
  customerId: string;
  workspaceId: string;
  createdAt: string;
}

let env: TestEnv;
let customers: string[];
/** Every seeded child row of both tables, the oracle's input. */
const seeded: Record<ChildTable, Child[]> = { members: [], actions: [] };

/** Timestamps from a small set, so many rows tie on created_at and the id decides. */
const stamp = (i: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, i % 7)).toISOString();

async function seedChildren(customerId: string, count: number, workspaceId: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const row = { id: newId(), workspaceId, customerId, createdAt: stamp(i * 3 + count) };
    seeded.members.push(row);
    seeded.actions.push({ ...row, id: newId() });
    await env.store.db
      .insertInto('members')
      .values({ id: row.id, workspace_id: workspaceId, customer_id: customerId, email: `m${i}.${row.id}@pages.example`, name: null, external_id: null, role: 'MEMBER', created_at: row.createdAt, updated_at: row.createdAt })
      .execute();
    await env.store.db
      .insertInto('actions')
      .values({ id: seeded.actions[seeded.actions.length - 1].id, workspace_id: workspaceId, customer_id: customerId, member_id: null, type: 'CUSTOMER_UPDATED', actor: null, via: null, changes: '{}', created_at: row.createdAt })
      .execute();
  }
}

beforeAll(async () => {
  env = await createTestEnv(NO_COST_LIMIT);
  customers = [];
  for (let i = 0; i < 6; i++) customers.push((await createCustomer(env, { email: `p${i}@pages.example`, type: 'TEAM' })).id);
  // 0: none; 1: one; 2: a few; 3: more than the largest page (101 rows fetched); 4, 5: a dozen.
  const counts = [0, 1, 3, 130, 12, 12];
  for (const [i, id] of customers.entries()) await seedChildren(id, counts[i], env.a.workspace.id);
  // Rows under customer 4 that claim another workspace (inconsistent data): never shown, and
  // they must not use up the page either (the workspace filter applies before the cut).
  await seedChildren(customers[4], 5, env.b.workspace.id);
  // The creation actions written by createCustomer are part of the oracle too.
  const created = await env.store.db.selectFrom('actions').select(['id', 'customer_id', 'workspace_id', 'created_at']).where('type', '=', 'CUSTOMER_CREATED').execute();
  for (const a of created) seeded.actions.push({ id: a.id, customerId: a.customer_id, workspaceId: a.workspace_id, createdAt: isoOf(a.created_at) });
});

afterAll(() => env.close());

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The page by definition: the workspace's rows of each customer, sorted, after the cursor, cut. */
function expectedPage(table: ChildTable, parents: string[], limit: number, after: KeysetPosition | null, descending: boolean): string[] {
  const sign = descending ? -1 : 1;
  const order = (x: Child, y: Child) => sign * (compare(x.createdAt, y.createdAt) || compare(x.id, y.id));
  const position = after ? { id: after.id, customerId: '', workspaceId: '', createdAt: after.value } : null;
  return [...parents]
    .sort(compare)
    .flatMap((parent) =>
      seeded[table]
        .filter((c) => c.customerId === parent && c.workspaceId === env.a.workspace.id)
        .filter((c) => position === null || order(c, position) > 0)
        .sort(order)
        .slice(0, limit),
    )
    .map((c) => c.id);
}

/**
 * The statement these pages used before (a window function numbering each parent's rows),
 * kept as a second reference on both engines.
 */
async function listChildPagesWindowed<T extends ChildTable>(
  db: Db,
  table: T,
  workspaceId: string,
  customerIds: readonly string[],
  limit: number,
  after: KeysetPosition | null,
  descending: boolean,
): Promise<Selectable<Database[T]>[]> {
  const direction = descending ? 'desc' : 'asc';
  // Widened to the union: Kysely's selectFrom cannot resolve its overloads on a generic table name.
  const source: ChildTable = table;
  const numbered = db
    .selectFrom(source)
    .selectAll()
    .select((eb) =>
      eb.fn
        .agg<number>('row_number')
        .over((ob) => ob.partitionBy('customer_id').orderBy('created_at', direction).orderBy('id', direction))
        .as('position'),
    )
    .where('workspace_id', '=', workspaceId)
    .where('customer_id', 'in', customerIds)
    .$if(after !== null, (q) =>
      q.where((eb) => eb(eb.refTuple('created_at', 'id'), descending ? '<' : '>', eb.tuple(after?.value ?? '', after?.id ?? ''))),
    );
  const rows = await db.selectFrom(numbered.as('page')).selectAll().where('position', '<=', limit).orderBy('customer_id').orderBy('position').execute();
  return rows as unknown as Selectable<Database[T]>[];
}

type Lister = typeof listChildPages;

async function idsOf(list: Lister, table: ChildTable, parents: string[], limit: number, after: KeysetPosition | null, descending: boolean) {
  const rows = await list(env.store.db, table, env.a.workspace.id, parents, limit, after, descending);
  return rows.map((row) => row.id);
}

/** A cursor position taken from the middle of the large customer's rows (a tied timestamp). */
function middleOf(table: ChildTable): KeysetPosition {
  const row = seeded[table].filter((c) => c.customerId === customers[3])[40];
  return { value: row.createdAt, id: row.id };
}

describe.each([
  ['members', false],
  ['actions', true],
] as const)('%s pages (descending: %s)', (table, descending) => {
  it.each([1, 2, 3, 11, 101])('the first %i rows of each customer are the sorted rows cut at the limit, on both statements', async (limit) => {
    for (const lister of [listChildPages, listChildPagesWindowed]) {
      expect(await idsOf(lister, table, customers, limit, null, descending)).toEqual(expectedPage(table, customers, limit, null, descending));
    }
  });

  it('a page after a cursor (on a tied timestamp) continues in order, on both statements', async () => {
    const after = middleOf(table);
    for (const limit of [1, 5, 101]) {
      for (const lister of [listChildPages, listChildPagesWindowed]) {
        expect(await idsOf(lister, table, customers, limit, after, descending)).toEqual(expectedPage(table, customers, limit, after, descending));
      }
    }
  });

  it('a parent listed twice, an unknown parent and a single parent get the same rows as once', async () => {
    const parents = [customers[2], customers[3], customers[2], newId()];
    const expected = expectedPage(table, [customers[2], customers[3]], 11, null, descending);
    expect(await idsOf(listChildPages, table, parents, 11, null, descending)).toEqual(expected);
    expect(await idsOf(listChildPages, table, [customers[3]], 4, null, descending)).toEqual(expectedPage(table, [customers[3]], 4, null, descending));
  });
});

describe('members of a large team through the API', () => {
  it('pages through 130 members oldest first, 100 then 30, with hasNextPage and the cursors of the edges', async () => {
    const query = `query($id: ID!, $after: String) { customer(id: $id) { members(first: 100, after: $after) {
      edges { cursor node { id } } nodes { id } pageInfo { hasNextPage startCursor endCursor } } } }`;
    type Page = { customer: { members: { edges: { cursor: string; node: { id: string } }[]; nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; startCursor: string; endCursor: string } } } };
    const first = (await env.data<Page>(query, { id: customers[3] })).customer.members;
    const second = (await env.data<Page>(query, { id: customers[3], after: first.pageInfo.endCursor })).customer.members;
    const all = expectedPage('members', [customers[3]], 1000, null, false);
    expect(first.nodes.map((n) => n.id)).toEqual(all.slice(0, 100));
    expect(first.edges.map((e) => e.node.id)).toEqual(all.slice(0, 100));
    expect(first.pageInfo).toEqual({ hasNextPage: true, startCursor: first.edges[0].cursor, endCursor: first.edges[99].cursor });
    expect(second.nodes.map((n) => n.id)).toEqual(all.slice(100));
    expect(second.pageInfo.hasNextPage).toBe(false);
  });
});

(testEngine === 'sqlite' ? describe : describe.skip)('the SQLite statement', () => {
  it('walks the child index once per parent and reads rows by rowid, never scanning the table', async () => {
    env.statements.length = 0;
    await listChildPages(env.store.db, 'members', env.a.workspace.id, customers, 11, middleOf('members'), false);
    const [statement] = env.statements;
    const plan = await sql<{ detail: string }>`explain query plan ${sql.raw(statement.replace(/\?/g, "'x'"))}`.execute(env.store.db);
    const details = plan.rows.map((row) => row.detail).join(' | ');
    expect(details).toMatch(/SEARCH x USING (COVERING )?INDEX members_customer_idx \(customer_id=\? AND \(created_at,id\)>\(\?,\?\)\)/);
    expect(details).toMatch(/SEARCH child USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    expect(details).not.toMatch(/SCAN (x|child|members)\b/);
  });
});
