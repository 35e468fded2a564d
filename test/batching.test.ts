/**
 * The statement-count proof: nested connections, node lookups, aliased lookups and federation
 * entity resolution cost a constant number of SQL statements, whatever the number of rows.
 */
import { createCustomer, createTestEnv, NO_COST_LIMIT, type TestEnv } from './helpers';

const NESTED = (n: number) =>
  `query { customers(first: ${n}) { nodes { id members(first: 10) { nodes { id } } actions(first: 5) { nodes { type } } customFields { key value } } } }`;

interface Seeded {
  id: string;
  members: string[];
  /** Action types in the order they were written (oldest first). */
  actions: string[];
  customFields: { key: string; value: unknown }[];
}

/** Fails with every statement listed when the count is over `max`. */
function expectAtMost(statements: string[], max: number, what: string) {
  if (statements.length > max) {
    throw new Error(`${what}: ${statements.length} statements (at most ${max} expected):\n${statements.map((s, i) => `${i + 1}. ${s}`).join('\n')}`);
  }
}

/** Fails with both statement lists when two runs differ in statement count. */
function expectSameCount(small: string[], large: string[], what: string) {
  if (small.length !== large.length) {
    throw new Error(
      `${what}: ${small.length} statements for the small request but ${large.length} for the large one\n` +
        `small:\n${small.join('\n')}\n\nlarge:\n${large.join('\n')}`,
    );
  }
}

const fromTable = (statements: string[], table: string) => statements.filter((s) => new RegExp(`from "${table}"`, 'i').test(s));

let env: TestEnv;
let seeded: Seeded[];
let otherWorkspaceCustomer: string;

beforeAll(async () => {
  // 50 aliased lookups in one document: more aliases and tokens than the default limits allow;
  // customers(first: 100) with nested pages costs more than the default MAX_QUERY_COST.
  env = await createTestEnv({ ...NO_COST_LIMIT, limits: { maxAliases: 100, maxTokens: 5000 } });
  for (const [key, valueType] of [
    ['tier', 'STRING'],
    ['seats', 'NUMBER'],
  ] as const) {
    const defined = await env.data<{ defineCustomField: { userErrors: unknown[] } }>(
      `mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) { customFieldDefinition { key } userErrors { code } } }`,
      { input: { key, label: key, valueType, searchable: key === 'tier' } },
    );
    expect(defined.defineCustomField.userErrors).toEqual([]);
  }
  seeded = [];
  for (let i = 0; i < 100; i++) {
    const isTeam = i % 3 === 0;
    const customFields: { key: string; value: unknown }[] = [{ key: 'tier', value: `tier-${i % 4}` }];
    if (i % 2 === 0) customFields.push({ key: 'seats', value: i });
    const customer = await createCustomer(env, {
      email: `b${i}@batching.example`,
      externalId: `ext-${i}`,
      firstName: `First${i}`,
      type: isTeam ? 'TEAM' : 'INDIVIDUAL',
      customFields,
    });
    const entry: Seeded = { id: customer.id, members: [], actions: ['CUSTOMER_CREATED'], customFields };
    if (isTeam) {
      for (let m = 0; m < 2 + (i % 2); m++) {
        const added = await env.data<{ addMember: { member: { id: string }; userErrors: unknown[] } }>(
          `mutation($input: AddMemberInput!) { addMember(input: $input) { member { id } userErrors { code } } }`,
          { input: { customerId: customer.id, email: `m${m}.${i}@batching.example` } },
        );
        expect(added.addMember.userErrors).toEqual([]);
        entry.members.push(added.addMember.member.id);
        entry.actions.push('MEMBER_ADDED');
      }
    }
    for (let u = 0; u < 1 + (i % 6); u++) {
      const updated = await env.data<{ updateCustomer: { userErrors: unknown[] } }>(
        `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { userErrors { code } } }`,
        { input: { id: customer.id, internalNote: `note ${u}` } },
      );
      expect(updated.updateCustomer.userErrors).toEqual([]);
      entry.actions.push('CUSTOMER_UPDATED');
    }
    seeded.push(entry);
  }
  // Same externalId as one of ours: only the caller's workspace may answer for it.
  otherWorkspaceCustomer = (await createCustomer(env, { email: 'other@batching.example', externalId: 'ext-7' }, { key: env.b })).id;
});
afterAll(() => env.close());

interface NestedResult {
  customers: {
    nodes: {
      id: string;
      members: { nodes: { id: string }[] };
      actions: { nodes: { type: string }[] };
      customFields: { key: string; value: unknown }[];
    }[];
  };
}

async function run(query: string, variables?: Record<string, unknown>) {
  env.statements.length = 0;
  const data = await env.data<any>(query, variables);
  return { data, statements: [...env.statements] };
}

describe('customers(first: N) and the custom field definitions', () => {
  it('reads the definitions only when the filter names custom fields', async () => {
    const plain = await run('query { customers(first: 5) { nodes { id } } }');
    expect(plain.data.customers.nodes).toHaveLength(5);
    expect(fromTable(plain.statements, 'custom_field_definitions')).toHaveLength(0);
    const empty = await run('query { customers(first: 5, filter: { customFields: [] }) { nodes { id } } }');
    expect(empty.data.customers.nodes).toHaveLength(5);
    expect(fromTable(empty.statements, 'custom_field_definitions')).toHaveLength(0);
    const filtered = await run('query { customers(first: 100, filter: { customFields: [{ key: "tier", value: "tier-1" }] }) { nodes { id } } }');
    expect(filtered.data.customers.nodes.map((c: { id: string }) => c.id)).toEqual(seeded.filter((_, i) => i % 4 === 1).map((c) => c.id));
    expect(fromTable(filtered.statements, 'custom_field_definitions')).toHaveLength(1);
  });
});

describe('nested connections under customers(first: N)', () => {
  it('cost the same small number of statements for 10 and for 100 customers', async () => {
    const small = await run(NESTED(10));
    const large = await run(NESTED(100));
    expect(small.data.customers.nodes).toHaveLength(10);
    expect(large.data.customers.nodes).toHaveLength(100);
    expectAtMost(small.statements, 6, 'customers(first: 10) with nested members, actions and custom fields');
    expectAtMost(large.statements, 6, 'customers(first: 100) with nested members, actions and custom fields');
    expectSameCount(small.statements, large.statements, 'nested connections');
    expect(fromTable(large.statements, 'customers')).toHaveLength(1);
    expect(fromTable(large.statements, 'members')).toHaveLength(1);
    expect(fromTable(large.statements, 'actions')).toHaveLength(1);
    expect(fromTable(large.statements, 'custom_field_values')).toHaveLength(1);
  });

  it('returns each customer’s own members (oldest first), newest five actions and custom fields', async () => {
    const { data } = await run(NESTED(100));
    const result = (data as NestedResult).customers.nodes;
    expect(result.map((c) => c.id)).toEqual(seeded.map((s) => s.id));
    for (const [i, customer] of result.entries()) {
      const expected = seeded[i];
      expect({ id: customer.id, members: customer.members.nodes.map((m) => m.id) }).toEqual({ id: expected.id, members: expected.members });
      const newestFirst = [...expected.actions].reverse().slice(0, 5);
      expect({ id: customer.id, actions: customer.actions.nodes.map((a) => a.type) }).toEqual({ id: expected.id, actions: newestFirst });
      const fields = [...expected.customFields].sort((a, b) => a.key.localeCompare(b.key));
      expect({ id: customer.id, customFields: customer.customFields }).toEqual({ id: expected.id, customFields: fields });
    }
    // the seed really exercises the limits: some customers have more than 5 actions, teams 2 and 3 members
    expect(seeded.some((s) => s.actions.length > 5)).toBe(true);
    expect(new Set(seeded.filter((s) => s.members.length > 0).map((s) => s.members.length))).toEqual(new Set([2, 3]));
    expect(result.filter((c) => c.members.nodes.length > 0)).toHaveLength(34);
  });

  it('totalCount of nested connections and the parents of nested nodes are batched too', async () => {
    const query = (n: number) => `query { customers(first: ${n}) { totalCount nodes { id
      members(first: 10) { totalCount nodes { id customer { id } } }
      actions(first: 5) { totalCount nodes { type customer { id } member { id } } }
    } } }`;
    const small = await run(query(10));
    const large = await run(query(100));
    // `member { id }` under actions is answered from the cache the members page primes, or by one
    // batched lookup by id when the database answers the actions page first (on PostgreSQL either
    // can come first): never more than one statement, whatever the page size.
    const memberLookup = (statement: string) => /from "members" where "workspace_id" = (\$1|\?) and "id" in/i.test(statement);
    for (const run of [small, large]) expect(run.statements.filter(memberLookup).length).toBeLessThanOrEqual(1);
    const others = (statements: string[]) => statements.filter((statement) => !memberLookup(statement));
    expectSameCount(others(small.statements), others(large.statements), 'nested connections with totalCount and parents');
    expectAtMost(large.statements, 10, 'nested connections with totalCount and parents');
    const nodes = large.data.customers.nodes as any[];
    expect(large.data.customers.totalCount).toBe(100);
    for (const [i, node] of nodes.entries()) {
      expect(node.members.totalCount).toBe(seeded[i].members.length);
      expect(node.actions.totalCount).toBe(seeded[i].actions.length);
      for (const member of node.members.nodes) expect(member.customer.id).toBe(node.id);
      for (const action of node.actions.nodes) expect(action.customer.id).toBe(node.id);
      const memberActions = node.actions.nodes.filter((a: any) => a.type === 'MEMBER_ADDED');
      for (const action of memberActions) expect(seeded[i].members).toContain(action.member.id);
    }
  });

  it('second pages of nested connections (same cursor shape per parent) stay constant too', async () => {
    // each customer's own `after` cursor is a different key: still one statement per shape at most per request
    const firstPage = await run(`query { customers(first: 100) { nodes { id actions(first: 2) { pageInfo { endCursor } } } } }`);
    const cursors = (firstPage.data.customers.nodes as any[]).slice(0, 3).map((n) => n.actions.pageInfo.endCursor);
    const aliased = cursors.map((_, k) => `c${k}: customer(id: "${seeded[k].id}") { actions(first: 2, after: "${cursors[k]}") { nodes { type } } }`).join('\n');
    const second = await run(`query { ${aliased} }`);
    for (let k = 0; k < 3; k++) {
      const expected = [...seeded[k].actions].reverse().slice(2, 4);
      expect(second.data[`c${k}`].actions.nodes.map((a: any) => a.type)).toEqual(expected);
    }
    expect(fromTable(second.statements, 'customers')).toHaveLength(1);
  });
});

describe('nodes(ids)', () => {
  const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`;

  it('costs a constant number of statements for 10 and for 100 ids', async () => {
    const ids = seeded.map((s) => s.id);
    const small = await run(NODES, { ids: ids.slice(0, 10) });
    const large = await run(NODES, { ids });
    expect(small.data.nodes.map((n: { id: string }) => n.id)).toEqual(ids.slice(0, 10));
    expect(large.data.nodes.map((n: { id: string }) => n.id)).toEqual(ids);
    expectSameCount(small.statements, large.statements, 'nodes(ids)');
    expectAtMost(large.statements, 3, 'nodes(ids) with 100 customer ids');
    expect(fromTable(large.statements, 'customers')).toHaveLength(1);
  });
});

describe('aliased customer(id) lookups', () => {
  it('batch 50 lookups into one statement for customers', async () => {
    const chosen = seeded.slice(25, 75).map((s) => s.id);
    const query = `query { ${chosen.map((id, k) => `c${k}: customer(id: "${id}") { id email }`).join('\n')} }`;
    const { data, statements } = await run(query);
    for (let k = 0; k < 50; k++) expect(data[`c${k}`]).toEqual({ id: chosen[k], email: `b${25 + k}@batching.example` });
    expect(fromTable(statements, 'customers')).toHaveLength(1);
    expectAtMost(statements, 1, '50 aliased customer(id) lookups');
  });

  it('batch 30 lookups by email into one statement', async () => {
    const query = `query { ${Array.from({ length: 30 }, (_, k) => `e${k}: customerByEmail(email: "B${k}@Batching.example") { id }`).join('\n')} }`;
    const { data, statements } = await run(query);
    for (let k = 0; k < 30; k++) expect(data[`e${k}`]).toEqual({ id: seeded[k].id });
    expectAtMost(statements, 1, '30 aliased customerByEmail lookups');
  });
});

describe('federation _entities', () => {
  const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id email } } }`;

  it('resolves 100 Customer representations in order, null for unknown and other-workspace ids, in one statement', async () => {
    const known = [...seeded].reverse().slice(0, 98);
    const unknown = '01900000-0000-7000-8000-000000000000';
    const representations = [
      ...known.slice(0, 40).map((s) => ({ __typename: 'Customer', id: s.id })),
      { __typename: 'Customer', id: unknown },
      ...known.slice(40, 70).map((s) => ({ __typename: 'Customer', id: s.id })),
      { __typename: 'Customer', id: otherWorkspaceCustomer },
      ...known.slice(70).map((s) => ({ __typename: 'Customer', id: s.id })),
    ];
    expect(representations).toHaveLength(100);
    const large = await run(ENTITIES, { r: representations });
    const emailOf = (id: string) => `b${seeded.findIndex((s) => s.id === id)}@batching.example`;
    expect(large.data._entities).toEqual(
      representations.map((r) => (r.id === unknown || r.id === otherWorkspaceCustomer ? null : { id: r.id, email: emailOf(r.id) })),
    );
    expect(large.data._entities[40]).toBeNull();
    expect(large.data._entities[71]).toBeNull();
    expect(fromTable(large.statements, 'customers')).toHaveLength(1);
    expectAtMost(large.statements, 1, '_entities with 100 Customer representations');
    const small = await run(ENTITIES, { r: representations.slice(0, 10) });
    expect(small.data._entities).toHaveLength(10);
    expectSameCount(small.statements, large.statements, '_entities');
  });

  it('the other workspace resolves its own customer and none of ours', async () => {
    const result = await env.data<{ _entities: unknown[] }>(
      ENTITIES,
      { r: [{ __typename: 'Customer', id: otherWorkspaceCustomer }, { __typename: 'Customer', id: seeded[0].id }] },
      { key: env.b },
    );
    expect(result._entities).toEqual([{ id: otherWorkspaceCustomer, email: 'other@batching.example' }, null]);
  });

  it('resolves 100 representations mixing id keys, externalId keys and members: one statement per key kind', async () => {
    const MIXED = `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Customer { id externalId } ... on Member { id } } }`;
    const members = seeded.flatMap((s) => s.members);
    type Rep = { __typename: 'Customer'; id: string } | { __typename: 'Customer'; externalId: string } | { __typename: 'Member'; id: string };
    const representations: Rep[] = [];
    const expected: unknown[] = [];
    for (let i = 0; i < 100; i++) {
      const s = seeded[(i * 37) % seeded.length];
      if (i % 3 === 0) {
        representations.push({ __typename: 'Customer', id: s.id });
        expected.push({ __typename: 'Customer', id: s.id, externalId: `ext-${seeded.indexOf(s)}` });
      } else if (i % 3 === 1) {
        representations.push({ __typename: 'Customer', externalId: `ext-${seeded.indexOf(s)}` });
        expected.push({ __typename: 'Customer', id: s.id, externalId: `ext-${seeded.indexOf(s)}` });
      } else {
        const member = members[i % members.length];
        representations.push({ __typename: 'Member', id: member });
        expected.push({ __typename: 'Member', id: member });
      }
    }
    representations[98] = { __typename: 'Customer', externalId: 'no-such-external-id' };
    expected[98] = null;
    const large = await run(MIXED, { r: representations });
    expect(large.data._entities).toEqual(expected);
    const byId = fromTable(large.statements, 'customers').filter((sql) => /"id" in/i.test(sql));
    const byExternalId = fromTable(large.statements, 'customers').filter((sql) => /"external_id" in/i.test(sql));
    expect(byId).toHaveLength(1);
    expect(byExternalId).toHaveLength(1);
    expect(fromTable(large.statements, 'members')).toHaveLength(1);
    expectAtMost(large.statements, 3, '_entities with 100 mixed representations');
    const small = await run(MIXED, { r: representations.slice(0, 10) });
    expect(small.data._entities).toEqual(expected.slice(0, 10));
    expectSameCount(small.statements, large.statements, 'mixed _entities');
  });

  it('resolves Member representations in one statement', async () => {
    const members = seeded.flatMap((s) => s.members);
    const { data, statements } = await run(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Member { id } } }`,
      { r: members.map((id) => ({ __typename: 'Member', id })) },
    );
    expect(data._entities.map((m: { id: string }) => m.id)).toEqual(members);
    expectAtMost(statements, 1, '_entities with Member representations');
  });
});
