/**
 * The query cost model (Shopify's rules: objects 1, scalars 0, connections 2 + page size x one
 * item, mutations 10), the MAX_QUERY_COST limit checked before anything runs, and
 * `extensions.cost` on every response.
 */
import { CUSTOMER_FIELDS, NO_COST_LIMIT, createCustomer, createTestEnv, snapshot, type Result, type TestEnv } from './helpers';

let env: TestEnv;
/** The same database with MAX_QUERY_COST=0. */
let unlimited: TestEnv;
let team: Record<string, any>;
let single: Record<string, any>;

async function seed(target: TestEnv) {
  const teamCustomer = await createCustomer(target, { email: 'team@cost.example', type: 'TEAM' });
  for (const email of ['m1@cost.example', 'm2@cost.example']) {
    await target.data(`mutation($input: AddMemberInput!) { addMember(input: $input) { userErrors { code } } }`, { input: { customerId: teamCustomer.id, email } });
  }
  const one = await createCustomer(target, { email: 'one@cost.example' });
  await createCustomer(target, { email: 'two@cost.example' });
  return { teamCustomer, one };
}

beforeAll(async () => {
  env = await createTestEnv();
  unlimited = await createTestEnv(NO_COST_LIMIT);
  ({ teamCustomer: team, one: single } = await seed(env));
  await seed(unlimited);
});

afterAll(async () => {
  await env.close();
  await unlimited.close();
});

const costOf = (result: Result<unknown>) => result.extensions?.cost as { requestedQueryCost: number; actualQueryCost: number | null; throttleStatus: Record<string, number> };

async function requested(query: string, variables?: Record<string, unknown>): Promise<number> {
  const result = await env.exec(query, variables);
  expect(result.errors).toBeUndefined();
  return costOf(result).requestedQueryCost;
}

const SCALARS_15 = 'id externalId email emailVerified firstName lastName name phone phoneCountry birthDate gender avatarUrl type unsubscribed version';
const NESTED = (customers: number) => `{ customers(first: ${customers}) { nodes { id members(first: 10) { nodes { id } } } } }`;

describe('requested cost', () => {
  it('a customer with 15 scalar fields costs 1: one object, scalars are free', async () => {
    expect(await requested(`query($id: ID!) { customer(id: $id) { ${SCALARS_15} } }`, { id: single.id })).toBe(1);
  });

  it('every nested object costs 1', async () => {
    expect(await requested(`query($id: ID!) { customer(id: $id) { id profile { bio socials { twitter } } billingAddress { city } } }`, { id: single.id })).toBe(4);
  });

  it('a connection costs 2 plus its page size times one item; edges, pageInfo and totalCount add nothing', async () => {
    expect(await requested(`{ customers(first: 5) { edges { cursor node { id } } pageInfo { hasNextPage } totalCount } }`)).toBe(2 + 5 * 1);
    expect(await requested(`{ customers(last: 7) { nodes { id } } }`)).toBe(2 + 7);
    // No first or last: the default page size of 20 (100 for the export feed).
    expect(await requested(`{ customers { nodes { id } } }`)).toBe(2 + 20);
    expect(await requested(`{ exportCustomers { nodes { id } } }`)).toBe(2 + 100);
  });

  it('nested connections multiply: customers(first: 50) with members(first: 10) costs 2 + 50 x (1 + 2 + 10)', async () => {
    expect(await requested(NESTED(50))).toBe(2 + 50 * (1 + 2 + 10));
  });

  it('counts fragments and inline fragments as if written out', async () => {
    const query = `
      query { customers(first: 10) { nodes { ...Card ... on Customer { billingAddress { city } } } } }
      fragment Card on Customer { id profile { bio } members(first: 3) { nodes { ...Person } } }
      fragment Person on Member { id email }`;
    expect(await requested(query)).toBe(2 + 10 * (1 + 1 + (2 + 3 * 1) + 1));
  });

  it('takes page sizes from variables, and their defaults', async () => {
    const query = `query($n: Int) { customers(first: $n) { nodes { id } } }`;
    expect(await requested(query, { n: 7 })).toBe(2 + 7);
    expect(await requested(query, {})).toBe(2 + 20);
    expect(await requested(`query($n: Int = 3) { customers(first: $n) { nodes { id } } }`)).toBe(2 + 3);
  });

  it('leaves out what @skip and @include leave out', async () => {
    const query = `query($skip: Boolean!) { customers(first: 10) { nodes { id members(first: 10) @skip(if: $skip) { nodes { id } } actions(first: 5) @include(if: $skip) { nodes { id } } } } }`;
    expect(await requested(query, { skip: true })).toBe(2 + 10 * (1 + 2 + 5));
    expect(await requested(query, { skip: false })).toBe(2 + 10 * (1 + 2 + 10));
  });

  it('an interface costs its dearest possible selection; nodes(ids) costs one item per id', async () => {
    const node = `query($id: ID!) { node(id: $id) { id ... on Customer { profile { bio } } ... on Member { customer { id profile { bio } } } } }`;
    expect(await requested(node, { id: single.id })).toBe(1 + 2);
    expect(await requested(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [single.id, team.id, single.id] })).toBe(3);
  });

  it('a mutation costs 10; a connection in its payload adds its own cost', async () => {
    const plain = await env.exec(`mutation { createCustomer(input: { email: "m10@cost.example" }) { customer { id profile { bio } } userErrors { code } } }`);
    expect(costOf(plain)).toMatchObject({ requestedQueryCost: 10 + 1, actualQueryCost: 10 + 1 });
    const nested = await env.exec(`mutation { createCustomer(input: { email: "m17@cost.example" }) { customer { id members(first: 5) { nodes { id } } } userErrors { code } } }`);
    expect(costOf(nested)).toMatchObject({ requestedQueryCost: 10 + 2 + 5, actualQueryCost: 10 + 2 });
  });
});

describe('actual cost', () => {
  it('charges each connection for the items that came back (Shopify refunds the difference)', async () => {
    const result = await env.exec(`{ customers(first: 50, filter: { search: "cost.example" }) { nodes { id members(first: 10) { nodes { id } } } } }`);
    expect(result.errors).toBeUndefined();
    const customers = (result.data as any).customers.nodes as { members: { nodes: unknown[] } }[];
    const expected = 2 + customers.reduce((sum, c) => sum + 1 + 2 + c.members.nodes.length, 0);
    expect(costOf(result)).toMatchObject({ requestedQueryCost: 2 + 50 * 13, actualQueryCost: expected });
    expect(expected).toBeLessThan(2 + 50 * 13);
  });

  it('an object that came back null still costs its lookup; skipped fields cost nothing', async () => {
    const result = await env.exec(`query($id: ID!) { customer(id: $id) { id profile @skip(if: true) { bio } } }`, { id: '00000000-0000-4000-8000-000000000000' });
    expect(costOf(result)).toMatchObject({ requestedQueryCost: 1, actualQueryCost: 1 });
  });

  it('follows fragments on interfaces to the type that came back', async () => {
    const query = `query($ids: [ID!]!) { nodes(ids: $ids) { ...on Customer { members(first: 10) { nodes { id } } } } }`;
    const result = await env.exec(query, { ids: [team.id, single.id] });
    expect(costOf(result)).toMatchObject({ requestedQueryCost: 2 * (1 + 2 + 10), actualQueryCost: 1 + 2 + 2 + (1 + 2) });
  });
});

describe('MAX_QUERY_COST', () => {
  it('rejects an operation over the limit with QUERY_TOO_COMPLEX naming the cost and the limit, running nothing', async () => {
    env.statements.length = 0;
    const result = await env.exec(NESTED(100));
    expect(result.data).toBeUndefined();
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', requestedQueryCost: 1302, maxQueryCost: 1000 });
    expect(result.errors![0].message).toContain('1302');
    expect(result.errors![0].message).toContain('1000');
    expect(env.statements).toEqual([]);
    expect(costOf(result)).toMatchObject({ requestedQueryCost: 1302, actualQueryCost: null });
  });

  it('rejects an expensive mutation before it writes anything', async () => {
    const before = await snapshot(env.store);
    const result = await env.exec(`mutation { createCustomer(input: { email: "never@cost.example" }) { customer { members(first: 100) { nodes { customer { actions(first: 100) { nodes { id } } } } } } userErrors { code } } }`);
    expect(result.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(await snapshot(env.store)).toEqual(before);
  });

  it('runs the same operation when MAX_QUERY_COST=0 and reports its cost', async () => {
    const result = await unlimited.exec(NESTED(100));
    expect(result.errors).toBeUndefined();
    expect(costOf(result).requestedQueryCost).toBe(2 + 100 * (1 + 2 + 10));
  });

  it('gives up on fragment bombs that expand past what can be costed', async () => {
    const levels = Array.from({ length: 8 }, (_, i) => `fragment F${i} on Customer { ...F${i + 1} ...F${i + 1} ...F${i + 1} ...F${i + 1} }`).join('\n');
    const query = `query($id: ID!) { customer(id: $id) { ...F0 } }\n${levels}\nfragment F8 on Customer { id }`;
    env.statements.length = 0;
    const result = await env.exec(query, { id: single.id });
    expect(result.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(env.statements).toEqual([]);
  });
});

describe('extensions.cost', () => {
  const shape = {
    requestedQueryCost: expect.any(Number),
    throttleStatus: { maximumAvailable: 1000, currentlyAvailable: 1000, restoreRate: 100 },
  };

  it('is on successes, user errors, bad input, validation failures and rejections alike', async () => {
    const responses = [
      await env.exec(`{ workspace { name } }`),
      await env.exec(`mutation { createCustomer(input: { email: "not-an-email" }) { userErrors { code } } }`),
      await env.exec(`{ customers(first: 101) { nodes { id } } }`),
      await env.exec(`{ customers { nope } }`),
      await env.exec(NESTED(100)),
      await env.exec(`query($id: ID!) { customer(id: $id) { ${CUSTOMER_FIELDS} } }`, { id: single.id }),
    ];
    const codes = responses.map((r) => r.errors?.[0]?.extensions?.code ?? 'ok');
    expect(codes).toEqual(['ok', 'ok', 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 'QUERY_TOO_COMPLEX', 'ok']);
    for (const response of responses) expect(costOf(response)).toMatchObject(shape);
    expect(costOf(responses[3])).toMatchObject({ requestedQueryCost: 0, actualQueryCost: null });
  });
});
