/**
 * Queries read only the member columns their fields need (src/graphql/projection.ts): every
 * Member field asked for alone, through every way a query reaches members, answers what it
 * answers among every field; a page that asks for no member timestamp reads no timestamp
 * column (on PostgreSQL a timestamp read is a Date parsed and formatted back); cursors, built
 * from createdAt, still page right when createdAt itself is not asked for. The test server
 * asks for checked records, so a field read outside its declared columns throws.
 */
import { getNamedType, isLeafType, type GraphQLObjectType } from 'graphql';
import { MEMBER_CONNECTION_READS, MEMBER_FIELD_READS, readsOf } from '../src/graphql/projection';
import { buildSchema } from '../src/graphql/server';
import { createCustomer, createTestEnv, NO_COST_LIMIT, USER_ERRORS, type TestEnv } from './helpers';
import { testEngine } from './databases';
import { parse } from 'graphql';

const schema = buildSchema();
const memberType = schema.getType('Member') as GraphQLObjectType;
const FIELDS = Object.values(memberType.getFields()).map((field) => (isLeafType(getNamedType(field.type)) ? field.name : `${field.name} { id }`));
const EVERY_FIELD = FIELDS.join(' ');

/** Stored instants with milliseconds, distinct per column, to see each come back exactly. */
const CREATED = '2024-05-01T10:00:00.123Z';
const UPDATED = '2024-06-02T11:22:33.456Z';

let env: TestEnv;
let teamId: string;
const memberIds: string[] = [];

interface Route {
  name: string;
  query: (selection: string, memberId: string) => string;
  pick: (data: Record<string, any>) => unknown;
}

const ROUTES: Route[] = [
  {
    name: 'customer.members page',
    query: (s) => `{ customer(id: "${teamId}") { members(first: 10) { nodes { ${s} } } } }`,
    pick: (d) => d.customer.members.nodes,
  },
  {
    name: 'customers page with members',
    query: (s) => `{ customers(first: 10, filter: { type: TEAM }) { nodes { members(first: 2) { edges { node { ${s} } } } } } }`,
    pick: (d) => d.customers.nodes.map((c: any) => c.members.edges.map((e: any) => e.node)),
  },
  { name: 'node(id)', query: (s, id) => `{ node(id: "${id}") { ... on Member { ${s} } } }`, pick: (d) => d.node },
  {
    name: '_entities',
    query: (s, id) => `{ _entities(representations: [{ __typename: "Member", id: "${id}" }]) { ... on Member { ${s} } } }`,
    pick: (d) => d._entities[0],
  },
  {
    name: 'action.member',
    query: (s) => `{ customer(id: "${teamId}") { actions(first: 10) { nodes { member { ${s} } } } } }`,
    pick: (d) => d.customer.actions.nodes.map((a: any) => a.member),
  },
];

/**
 * The member columns a statement reading a page of members sends back (the ordering reads
 * created_at inside it either way): the outer select list of a members page, or the values of
 * each member of a page that came with its customers (PostgreSQL: json_build_array).
 */
function memberPageSelect(statements: string[]): string {
  for (const statement of statements.filter((s) => s.includes('"members"'))) {
    const read = /^select (.*?) from (json_each|unnest)\(/s.exec(statement) ?? /json_build_array\((.*?)\) order by/s.exec(statement);
    if (read) return read[1];
  }
  throw new Error(`no members page statement among:\n${statements.join('\n')}`);
}

beforeAll(async () => {
  env = await createTestEnv(NO_COST_LIMIT);
  teamId = String((await createCustomer(env, { email: 'team@members.example', type: 'TEAM' })).id);
  for (const [i, input] of [
    { email: 'a@members.example', name: 'Ann', externalId: 'm-1', role: 'OWNER' },
    { email: 'b@members.example' },
    { email: 'c@members.example', name: 'Cy' },
  ].entries()) {
    const data = await env.data<{ addMember: { member: { id: string } } }>(
      `mutation($input: AddMemberInput!) { addMember(input: $input) { member { id } ${USER_ERRORS} } }`,
      { input: { customerId: teamId, ...input } },
    );
    memberIds.push(data.addMember.member.id);
    // Distinct instants, in page order (oldest first), each column its own.
    await env.store.db
      .updateTable('members')
      .set({ created_at: CREATED.replace('10:00', `10:0${i}`), updated_at: UPDATED.replace('11:22', `11:2${i}`) })
      .where('id', '=', data.addMember.member.id)
      .execute();
  }
});

afterAll(() => env.close());

test('the read tables name every Member and MemberConnection field of the schema, and nothing else', () => {
  expect(Object.keys(MEMBER_FIELD_READS).sort()).toEqual(Object.keys(memberType.getFields()).sort());
  const connection = schema.getType('MemberConnection') as GraphQLObjectType;
  expect(Object.keys(MEMBER_CONNECTION_READS).sort()).toEqual(Object.keys(connection.getFields()).sort());
});

test('member fields selected anywhere count, and cursors of a members page read createdAt', () => {
  const reads = (text: string) => [...readsOf(schema, parse(text)).member].sort();
  expect(reads('{ node(id: "x") { id ... on Member { email } } }')).toEqual(['email', 'id']);
  expect(reads('{ customer(id: "x") { members { nodes { role } } } }')).toEqual(['role']);
  expect(reads('{ customer(id: "x") { members { pageInfo { hasNextPage } } } }')).toEqual(['createdAt']);
  expect(reads('{ customer(id: "x") { members { edges { cursor } } } }')).toEqual(['createdAt']);
  expect(reads('{ customer(id: "x") { email } }')).toEqual([]);
});

describe.each(ROUTES)('$name', (route) => {
  test('each field asked for alone answers what it answers among every field', async () => {
    for (const id of memberIds) {
      const whole = route.pick(await env.data(route.query(EVERY_FIELD, id)));
      expect(whole).not.toBeNull();
      for (const field of FIELDS) {
        const name = field.split(' ')[0];
        const alone = route.pick(await env.data(route.query(field, id)));
        const only = (m: any): unknown => (m === null ? null : Array.isArray(m) ? m.map(only) : { [name]: m[name] });
        expect({ field: name, value: alone }).toEqual({ field: name, value: only(whole) });
      }
    }
  });
});

test('a page that asks for no member timestamp reads no timestamp column', async () => {
  env.statements.length = 0;
  await env.data(`{ customers(first: 10) { nodes { id members(first: 10) { nodes { id email name role } } } } }`);
  const select = memberPageSelect(env.statements);
  expect(select).toContain('"email"');
  expect(select).toContain('"role"');
  expect(select).not.toMatch(/created_at|updated_at|external_id|workspace_id|\*/);
});

describe.each([
  { name: 'a customer’s page', query: `{ customer(id: "TEAM") { members(first: 10) { nodes { id createdAt updatedAt } } } }`, pick: (d: any) => d.customer },
  {
    name: 'the pages of a customers page',
    query: `{ customers(first: 10, filter: { type: TEAM }) { nodes { members(first: 10) { nodes { id createdAt updatedAt } } } } }`,
    pick: (d: any) => d.customers.nodes[0],
  },
])('$name', ({ query, pick }) => {
  test('asking for the timestamps reads them and answers them exactly, on either engine', async () => {
    env.statements.length = 0;
    const data = await env.data(query.replace('TEAM"', `${teamId}"`));
    expect(memberPageSelect(env.statements)).toMatch(/created_at.*updated_at/);
    expect(pick(data).members.nodes).toEqual(
      memberIds.map((id, i) => ({ id, createdAt: CREATED.replace('10:00', `10:0${i}`), updatedAt: UPDATED.replace('11:22', `11:2${i}`) })),
    );
  });
});

test('a customers page reads its members in its own statement on PostgreSQL (one round trip), in a second one on SQLite', async () => {
  for (const query of [
    `{ customers(first: 10) { edges { node { id members(first: 3) { nodes { id email } } } } } }`,
    `{ customers(first: 10) { nodes { ...C } } } fragment C on Customer { id ... on Customer { members(first: 3) { nodes { id email } } } }`,
  ]) {
    env.statements.length = 0;
    const data = await env.data<any>(query);
    const team = (data.customers.edges?.map((e: any) => e.node) ?? data.customers.nodes).find((c: any) => c.id === teamId);
    expect(team.members.nodes.map((m: any) => m.id)).toEqual(memberIds);
    const reads = env.statements.filter((s) => s.includes('"customers"') || s.includes('"members"'));
    expect(reads).toHaveLength(testEngine === 'postgres' ? 1 : 2);
  }
});

test('members pages of other shapes (a cursor, two sizes) come from their own statements, right', async () => {
  const cursor = (await env.data<any>(`{ customer(id: "${teamId}") { members(first: 1) { edges { cursor } } } }`)).customer.members.edges[0].cursor as string;
  const data = await env.data<any>(
    `query($after: String) { customers(first: 10, filter: { type: TEAM }) { nodes { a: members(first: 1) { nodes { id } } b: members(first: 2, after: $after) { nodes { id } } } } }`,
    { after: cursor },
  );
  expect(data.customers.nodes[0]).toEqual({ a: { nodes: [{ id: memberIds[0] }] }, b: { nodes: [{ id: memberIds[1] }, { id: memberIds[2] }] } });
});

test('cursors page right when only ids are asked for (createdAt is read for them, not shown)', async () => {
  env.statements.length = 0;
  const seen: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 5; page++) {
    const data: { customer: { members: { edges: { cursor: string; node: { id: string } }[]; pageInfo: { hasNextPage: boolean } } } } = await env.data(
      `query($after: String) { customer(id: "${teamId}") { members(first: 1, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage } } } }`,
      { after },
    );
    const { edges, pageInfo } = data.customer.members;
    seen.push(...edges.map((e) => e.node.id));
    if (!pageInfo.hasNextPage) break;
    after = edges[edges.length - 1].cursor;
  }
  expect(seen).toEqual(memberIds);
  const select = memberPageSelect(env.statements);
  expect(select).toContain('created_at');
  expect(select).not.toContain('updated_at');
});

(testEngine === 'postgres' ? test : test.skip)('PostgreSQL: an instant with microseconds answers the same through a page that came with its customers as through a Date', async () => {
  await env.store.db.updateTable('members').set({ updated_at: '2024-07-03T04:05:06.789999Z' }).where('id', '=', memberIds[2]).execute();
  const alone = await env.data<any>(`{ node(id: "${memberIds[2]}") { ... on Member { updatedAt } } }`);
  const withPage = await env.data<any>(`{ customers(first: 10, filter: { type: TEAM }) { nodes { members(first: 10) { nodes { updatedAt } } } } }`);
  expect(alone.node.updatedAt).toBe('2024-07-03T04:05:06.789Z');
  expect(withPage.customers.nodes[0].members.nodes[2].updatedAt).toBe(alone.node.updatedAt);
  await env.store.db.updateTable('members').set({ updated_at: UPDATED.replace('11:22', `11:2${2}`) }).where('id', '=', memberIds[2]).execute();
});
