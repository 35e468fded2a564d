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

  it('declares Customer as an entity keyed by externalId as well', () => {
    expect(sdl).toMatch(/type Customer implements Node\s+@key\(fields: "id"\)\s+@key\(fields: "externalId"\)/);
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

describe('_entities by externalId', () => {
  const BY_EXTERNAL_ID = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id externalId email } } }`;
  let alpha: Record<string, any>;
  let alphaShared: Record<string, any>;
  let betaShared: Record<string, any>;
  let betaOnly: Record<string, any>;

  beforeAll(async () => {
    alpha = await createCustomer(env, { email: 'ext@alpha.test', externalId: 'crm-1001' });
    // The same externalId in two workspaces: each key sees only its own customer.
    alphaShared = await createCustomer(env, { email: 'shared@alpha.test', externalId: 'shared-7' });
    betaShared = await createCustomer(env, { email: 'shared@beta.test', externalId: 'shared-7' }, { key: env.b });
    betaOnly = await createCustomer(env, { email: 'only@beta.test', externalId: 'beta-only-1' }, { key: env.b });
  });

  it('resolves a Customer representation keyed by externalId', async () => {
    const data = await env.data(BY_EXTERNAL_ID, { r: [{ __typename: 'Customer', externalId: 'crm-1001' }] });
    expect(data._entities).toEqual([{ id: alpha.id, externalId: 'crm-1001', email: 'ext@alpha.test' }]);
  });

  it("returns null for another workspace's externalId, and the caller's own customer for a shared one", async () => {
    const r = [
      { __typename: 'Customer', externalId: 'beta-only-1' },
      { __typename: 'Customer', externalId: 'shared-7' },
    ];
    const asAlpha = await env.data(BY_EXTERNAL_ID, { r });
    expect(asAlpha._entities).toEqual([null, { id: alphaShared.id, externalId: 'shared-7', email: 'shared@alpha.test' }]);
    const asBeta = await env.data(BY_EXTERNAL_ID, { r }, { key: env.b });
    expect(asBeta._entities).toEqual([
      { id: betaOnly.id, externalId: 'beta-only-1', email: 'only@beta.test' },
      { id: betaShared.id, externalId: 'shared-7', email: 'shared@beta.test' },
    ]);
  });

  it("returns null for another workspace's customer whichever key the representation uses", async () => {
    const data = await env.data(BY_EXTERNAL_ID, {
      r: [
        { __typename: 'Customer', id: betaOnly.id },
        { __typename: 'Customer', externalId: betaOnly.externalId },
      ],
    });
    expect(data._entities).toEqual([null, null]);
  });

  it('mixes both key kinds in one request, in the order given', async () => {
    const data = await env.data(BY_EXTERNAL_ID, {
      r: [
        { __typename: 'Customer', externalId: 'shared-7' },
        { __typename: 'Customer', id: alpha.id },
        { __typename: 'Customer', externalId: 'crm-1001' },
      ],
    });
    expect((data._entities as { id: string }[]).map((e) => e.id)).toEqual([alphaShared.id, alpha.id, alpha.id]);
  });
});

describe('_entities with malformed representations', () => {
  const ANY = `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Customer { id } ... on Member { id } } }`;

  it('resolves keys of the wrong type or shape to null, without an error', async () => {
    const result = await env.exec(ANY, {
      r: [
        { __typename: 'Customer', id: 42 },
        { __typename: 'Customer', id: { $ne: null } },
        { __typename: 'Customer', id: null, externalId: 'crm-1001' },
        { __typename: 'Customer', externalId: 1001 },
        { __typename: 'Customer', externalId: '   ' },
        { __typename: 'Customer', externalId: ['crm-1001'] },
        { __typename: 'Customer' },
        { __typename: 'Member', id: ['0190a0a0-0000-7000-8000-000000000000'] },
        { __typename: 'Member', externalId: 'x' },
      ],
    });
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toEqual([null, null, null, null, null, null, null, null, null]);
  });

  it.each([
    ['a type that is not an entity', { __typename: 'Workspace', id: '0190a0a0-0000-7000-8000-000000000000', name: 'forged' }, '"Workspace"'],
    ['a type that does not exist', { __typename: 'Order', id: '1' }, '"Order"'],
    ['no __typename', { id: '0190a0a0-0000-7000-8000-000000000000' }, 'null'],
    ['not an object', 'Customer:1', 'string'],
  ])('refuses a representation of %s with BAD_USER_INPUT naming its position', async (_, representation, got) => {
    const result = await env.exec(ANY, { r: [{ __typename: 'Customer', id: '0190a0a0-0000-7000-8000-000000000000' }, representation] });
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors![0].message).toContain('representations[1]');
    expect(result.errors![0].message).toContain('(Customer, Member)');
    expect(result.errors![0].message).toContain(got);
  });
});
