/**
 * The subgraph contract a federated supergraph relies on: the `_service { sdl }` it composes
 * from, and `_entities` resolving Customer and Member references within the caller's workspace.
 */
import { createCustomer, createTestEnv, USER_ERRORS, type TestEnv } from './helpers';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(() => env.close());

async function addMember(customerId: string, email: string, as?: { key: TestEnv['b'] }) {
  const data = await env.data<{ addMember: { member: { id: string } | null; userErrors: unknown[] } }>(
    `mutation($input: AddMemberInput!) { addMember(input: $input) { member { id } ${USER_ERRORS} } }`,
    { input: { customerId, email } },
    as,
  );
  expect(data.addMember.userErrors).toEqual([]);
  return data.addMember.member!.id;
}

const ENTITIES = `query($r: [_Any!]!) {
  _entities(representations: $r) {
    __typename
    ... on Customer { id email }
    ... on Member { id email customer { id } }
  }
}`;

describe('_service { sdl }', () => {
  let sdl: string;

  beforeAll(async () => {
    const data = await env.data<{ _service: { sdl: string } }>(`{ _service { sdl } }`);
    sdl = data._service.sdl;
  });

  it('declares Customer as an entity keyed by id', () => {
    expect(sdl).toMatch(/type Customer implements Node\s+@key\(fields: "id"\)/);
  });

  it('declares Member as an entity keyed by id', () => {
    expect(sdl).toMatch(/type Member implements Node\s+@key\(fields: "id"\)/);
  });

  it('links the federation v2 spec with the directives it imports', () => {
    expect(sdl).toMatch(/@link\(\s*url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+"/);
    expect(sdl).toContain('"@key"');
  });

  it('names Customer and Member, and only those, as resolvable entities', () => {
    expect(sdl).toMatch(/union _Entity = Customer \| Member\s*$/m);
  });

  it("carries the project's own queries and the shareable PageInfo", () => {
    expect(sdl).toContain('customer(id: ID!): Customer');
    expect(sdl).toContain('nodes(ids: [ID!]!): [Node]!');
    expect(sdl).toMatch(/type PageInfo\s+@shareable/);
  });
});

describe('_entities', () => {
  let alphaTeam: Record<string, any>;
  let alphaOther: Record<string, any>;
  let alphaMemberId: string;
  let betaCustomer: Record<string, any>;
  let betaMemberId: string;

  beforeAll(async () => {
    alphaTeam = await createCustomer(env, { email: 'team@alpha.test', type: 'TEAM' });
    alphaOther = await createCustomer(env, { email: 'solo@alpha.test' });
    alphaMemberId = await addMember(alphaTeam.id, 'member@alpha.test');
    betaCustomer = await createCustomer(env, { email: 'team@beta.test', type: 'TEAM' }, { key: env.b });
    betaMemberId = await addMember(betaCustomer.id, 'member@beta.test', { key: env.b });
  });

  it("resolves Customer and Member representations of the caller's workspace, in the order given", async () => {
    const data = await env.data(ENTITIES, {
      r: [
        { __typename: 'Member', id: alphaMemberId },
        { __typename: 'Customer', id: alphaOther.id },
        { __typename: 'Customer', id: alphaTeam.id },
      ],
    });
    expect(data._entities).toEqual([
      { __typename: 'Member', id: alphaMemberId, email: 'member@alpha.test', customer: { id: alphaTeam.id } },
      { __typename: 'Customer', id: alphaOther.id, email: 'solo@alpha.test' },
      { __typename: 'Customer', id: alphaTeam.id, email: 'team@alpha.test' },
    ]);
  });

  it('resolves the same representation given twice', async () => {
    const data = await env.data(ENTITIES, {
      r: [
        { __typename: 'Customer', id: alphaTeam.id },
        { __typename: 'Customer', id: alphaTeam.id },
      ],
    });
    expect(data._entities).toEqual([
      { __typename: 'Customer', id: alphaTeam.id, email: 'team@alpha.test' },
      { __typename: 'Customer', id: alphaTeam.id, email: 'team@alpha.test' },
    ]);
  });

  it('returns null for ids that do not exist, keeping the other positions', async () => {
    const missing = '0190a0a0-0000-7000-8000-000000000000';
    const data = await env.data(ENTITIES, {
      r: [
        { __typename: 'Customer', id: missing },
        { __typename: 'Customer', id: alphaOther.id },
        { __typename: 'Member', id: missing },
      ],
    });
    expect(data._entities).toEqual([null, { __typename: 'Customer', id: alphaOther.id, email: 'solo@alpha.test' }, null]);
  });

  it("returns null for another workspace's Customer and Member ids", async () => {
    const data = await env.data(ENTITIES, {
      r: [
        { __typename: 'Customer', id: betaCustomer.id },
        { __typename: 'Member', id: betaMemberId },
        { __typename: 'Customer', id: alphaTeam.id },
      ],
    });
    expect(data._entities).toEqual([null, null, { __typename: 'Customer', id: alphaTeam.id, email: 'team@alpha.test' }]);
  });

  it("resolves the other workspace's ids for that workspace", async () => {
    const data = await env.data(
      ENTITIES,
      {
        r: [
          { __typename: 'Customer', id: betaCustomer.id },
          { __typename: 'Member', id: betaMemberId },
        ],
      },
      { key: env.b },
    );
    expect(data._entities).toEqual([
      { __typename: 'Customer', id: betaCustomer.id, email: 'team@beta.test' },
      { __typename: 'Member', id: betaMemberId, email: 'member@beta.test', customer: { id: betaCustomer.id } },
    ]);
  });

  it('returns null for a non-UUID id without an error', async () => {
    const result = await env.exec(ENTITIES, {
      r: [
        { __typename: 'Customer', id: 'not-a-uuid' },
        { __typename: 'Member', id: "1' OR '1'='1" },
      ],
    });
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toEqual([null, null]);
  });

  it('batches the lookups: one statement per entity type, whatever the number of representations', async () => {
    const extra = await createCustomer(env, { email: 'third@alpha.test' });
    env.statements.length = 0;
    const data = await env.data(ENTITIES, {
      r: [
        { __typename: 'Customer', id: alphaTeam.id },
        { __typename: 'Member', id: alphaMemberId },
        { __typename: 'Customer', id: alphaOther.id },
        { __typename: 'Customer', id: extra.id },
        { __typename: 'Member', id: '0190a0a0-0000-7000-8000-000000000001' },
      ],
    });
    expect((data._entities as unknown[]).map((e) => (e as { id?: string } | null)?.id ?? null)).toEqual([
      alphaTeam.id,
      alphaMemberId,
      alphaOther.id,
      extra.id,
      null,
    ]);
    const customerReads = env.statements.filter((sql) => /from "customers"/i.test(sql));
    const memberReads = env.statements.filter((sql) => /from "members"/i.test(sql));
    // Member.customer for the one member is served from the same customer batch.
    expect(customerReads).toHaveLength(1);
    expect(memberReads).toHaveLength(1);
  });

  it('does not resolve a Customer id as a Member or a Member id as a Customer', async () => {
    const data = await env.data(ENTITIES, {
      r: [
        { __typename: 'Member', id: alphaTeam.id },
        { __typename: 'Customer', id: alphaMemberId },
      ],
    });
    expect(data._entities).toEqual([null, null]);
  });
});
