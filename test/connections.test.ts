/**
 * Connection objects encode cursors only when a query reads them (edges, startCursor,
 * endCursor). Whatever a query selects, the cursors it gets are the same strings: selected
 * alone, together, or in another order, forward and backward, top-level and nested.
 */
import { createCustomer, createTestEnv, NO_COST_LIMIT, type TestEnv } from './helpers';
import { getNamedType, isObjectType } from 'graphql';
import { buildSchema } from '../src/graphql/server';
import { BY_IDS, CONNECTIONS } from '../src/services/connections';

let env: TestEnv;
let team: string;

beforeAll(async () => {
  env = await createTestEnv(NO_COST_LIMIT);
  for (let i = 0; i < 7; i++) await createCustomer(env, { email: `c${i}@connections.example` });
  team = (await createCustomer(env, { email: 'team@connections.example', type: 'TEAM' })).id;
  for (let m = 0; m < 5; m++) {
    const added = await env.data<{ addMember: { userErrors: unknown[] } }>(
      `mutation($input: AddMemberInput!) { addMember(input: $input) { userErrors { code } } }`,
      { input: { customerId: team, email: `m${m}@connections.example` } },
    );
    expect(added.addMember.userErrors).toEqual([]);
  }
});

afterAll(() => env.close());

interface Connection {
  edges?: { cursor: string; node: { id: string } }[];
  nodes?: { id: string }[];
  pageInfo?: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const EDGES = 'edges { cursor node { id } }';
const PAGE_INFO = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';

/** The connection at `path` of a query whose connection selects `selection`. */
async function connection(query: (selection: string) => string, path: (data: any) => Connection, selection: string, variables = {}) {
  return path(await env.data(query(selection), variables));
}

const cases: [string, (selection: string) => string, (data: any) => Connection, Record<string, unknown>][] = [
  ['customers forward', (s) => `query($after: String) { customers(first: 3, after: $after) { ${s} } }`, (d) => d.customers, {}],
  ['customers backward', (s) => `{ customers(last: 3) { ${s} } }`, (d) => d.customers, {}],
  ['customers backward, sorted by email descending', (s) => `{ customers(last: 4, sort: { field: EMAIL, direction: DESC }) { ${s} } }`, (d) => d.customers, {}],
  ['members of a team', (s) => `query($id: ID!) { customer(id: $id) { members(first: 3) { ${s} } } }`, (d) => d.customer.members, { id: '' }],
  ['actions of a team (newest first)', (s) => `query($id: ID!) { customer(id: $id) { actions(first: 4) { ${s} } } }`, (d) => d.customer.actions, { id: '' }],
  ['members nested in a customers page', (s) => `{ customers(last: 1) { nodes { members(first: 2) { ${s} } } } }`, (d) => d.customers.nodes[0].members, {}],
];

describe.each(cases)('%s', (_, query, path, variables) => {
  const vars = () => ('id' in variables ? { id: team } : variables);

  it('gives the same cursors whether edges, pageInfo or both are selected, in either order', async () => {
    const both = await connection(query, path, `${EDGES} ${PAGE_INFO}`, vars());
    const edges = both.edges ?? [];
    expect(edges.length).toBeGreaterThan(1);
    expect(both.pageInfo?.startCursor).toBe(edges[0].cursor);
    expect(both.pageInfo?.endCursor).toBe(edges[edges.length - 1].cursor);
    expect(await connection(query, path, `${PAGE_INFO} ${EDGES}`, vars())).toEqual(both);
    expect(await connection(query, path, PAGE_INFO, vars())).toEqual({ pageInfo: both.pageInfo });
    expect(await connection(query, path, EDGES, vars())).toEqual({ edges });
    expect(await connection(query, path, 'nodes { id }', vars())).toEqual({ nodes: edges.map((e) => e.node) });
    expect(await connection(query, path, `pageInfo { endCursor } ${EDGES} pageInfo { startCursor }`, vars())).toEqual({
      pageInfo: { endCursor: both.pageInfo?.endCursor, startCursor: both.pageInfo?.startCursor },
      edges,
    });
  });

  it('aliases of edges and pageInfo on one connection agree', async () => {
    const data = path(
      await env.data(query(`a: edges { cursor } b: edges { cursor } s: pageInfo { startCursor } e: pageInfo { endCursor }`), vars()),
    ) as unknown as { a: { cursor: string }[]; b: { cursor: string }[]; s: { startCursor: string }; e: { endCursor: string } };
    expect(data.a).toEqual(data.b);
    expect(data.s.startCursor).toBe(data.a[0].cursor);
    expect(data.e.endCursor).toBe(data.a[data.a.length - 1].cursor);
  });
});

it('a cursor read from pageInfo alone pages on exactly like one read from the edges', async () => {
  const first = await connection(cases[0][1], cases[0][2], PAGE_INFO);
  const viaEdges = await connection(cases[0][1], cases[0][2], EDGES);
  const edges = viaEdges.edges ?? [];
  const next = await connection(cases[0][1], cases[0][2], `${EDGES} ${PAGE_INFO}`, { after: first.pageInfo?.endCursor });
  const nextViaEdges = await connection(cases[0][1], cases[0][2], `${EDGES} ${PAGE_INFO}`, { after: edges[edges.length - 1].cursor });
  expect(next).toEqual(nextViaEdges);
  expect(next.edges?.length).toBe(3);
});

it('the last page of a team’s members and the empty page after it keep their cursors consistent', async () => {
  const query = `query($id: ID!, $after: String) { customer(id: $id) { members(first: 3, after: $after) { ${EDGES} ${PAGE_INFO} } } }`;
  const page = async (after: string | null | undefined) =>
    (await env.data<{ customer: { members: Required<Connection> } }>(query, { id: team, after })).customer.members;
  // 5 members: 3, then the remaining 2, then nothing.
  const first = await page(null);
  const rest = await page(first.pageInfo.endCursor);
  expect(rest.edges).toHaveLength(2);
  expect(rest.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: rest.edges[0].cursor, endCursor: rest.edges[1].cursor });
  expect(await page(rest.pageInfo.endCursor)).toEqual({
    edges: [],
    pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
  });
});

test('the connection table lists every paged field of the schema, and the by-ids fields exist', () => {
  const schema = buildSchema();
  const paged: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (getNamedType(field.type).name.endsWith('Connection') && field.args.some((arg) => arg.name === 'first')) paged.push(`${type.name}.${field.name}`);
    }
  }
  expect(paged.sort()).toEqual(Object.keys(CONNECTIONS).sort());
  for (const [coordinate, { argument }] of Object.entries(BY_IDS)) {
    const [typeName, fieldName] = coordinate.split('.');
    const type = schema.getType(typeName);
    if (!isObjectType(type)) throw new Error(`expected an object type ${typeName}`);
    expect(type.getFields()[fieldName]?.args.map((arg) => arg.name)).toContain(argument);
  }
});
