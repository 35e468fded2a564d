/**
 * mergeCustomers and customerMergePreview through the public API on a real migrated database
 * (SQLite, or PostgreSQL with TEST_DATABASE_URL): values, overrides, members, custom fields,
 * metadata and history; every lookup of a merged id answering the survivor, chains shortened;
 * blockers and version conflicts writing nothing; the preview; erasing a survivor; scopes;
 * and constant statement counts for lookups that meet merged customers.
 */
import { issueKey } from '../src/services/keys';
import { createCustomer, createTestEnv, snapshot, USER_ERRORS, type TestEnv } from './helpers';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
  for (const key of ['tier', 'seats']) {
    await env.data(`mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) { userErrors { code } } }`, {
      input: { key, label: key, valueType: key === 'tier' ? 'STRING' : 'NUMBER' },
    });
  }
});

afterAll(async () => {
  await env.close();
});

const MERGE = `mutation($input: MergeCustomersInput!) {
  mergeCustomers(input: $input) {
    customer { id email externalId firstName lastName phone type metadata version mergedIds
      customFields { key value } members(first: 10) { nodes { email } } profile { bio } }
    ${USER_ERRORS}
  }
}`;

interface MergePayload {
  mergeCustomers: { customer: Record<string, any> | null; userErrors: { field: string[] | null; code: string; message: string }[] };
}

let n = 0;
async function customer(input: Record<string, unknown> = {}) {
  const i = ++n;
  return createCustomer(env, { email: `dup${i}@merge.example`, externalId: `m-ext-${i}`, ...input });
}

async function addMember(customerId: string, email: string) {
  await env.data(`mutation($input: AddMemberInput!) { addMember(input: $input) { ${USER_ERRORS} } }`, { input: { customerId, email } });
}

async function merge(survivorId: string, mergedId: string, extra: Record<string, unknown> = {}) {
  return env.data<MergePayload>(MERGE, { input: { survivorId, mergedId, ...extra } });
}

describe('mergeCustomers', () => {
  test('the survivor keeps its values, fills empty ones, combines metadata and custom fields, and takes members de-duplicated by email', async () => {
    const survivor = await customer({ firstName: 'Sam', type: 'TEAM', metadata: { plan: 'gold', a: 1 }, customFields: [{ key: 'tier', value: 'vip' }] });
    const merged = await customer({
      firstName: 'Samuel',
      lastName: 'Dupont',
      phone: '+14155550100',
      profile: { bio: 'duplicate bio' },
      type: 'TEAM',
      metadata: { plan: 'silver', b: 2 },
      customFields: [{ key: 'tier', value: 'basic' }, { key: 'seats', value: 5 }],
    });
    await addMember(survivor.id, 'shared@team.example');
    await addMember(merged.id, 'SHARED@team.example');
    await addMember(merged.id, 'only-merged@team.example');
    const { mergeCustomers } = await merge(survivor.id, merged.id);
    expect(mergeCustomers.userErrors).toEqual([]);
    expect(mergeCustomers.customer).toMatchObject({
      id: survivor.id,
      email: survivor.email,
      externalId: survivor.externalId,
      firstName: 'Sam',
      lastName: 'Dupont',
      phone: '+14155550100',
      profile: { bio: 'duplicate bio' },
      metadata: { plan: 'gold', a: 1, b: 2 },
      customFields: [{ key: 'seats', value: 5 }, { key: 'tier', value: 'vip' }],
      members: { nodes: [{ email: 'shared@team.example' }, { email: 'only-merged@team.example' }] },
      mergedIds: [merged.id],
    });
  });

  test('override picks the merged value per field; email and externalId cannot be overridden', async () => {
    const survivor = await customer({ firstName: 'Sam', metadata: { plan: 'gold' }, customFields: [{ key: 'tier', value: 'vip' }] });
    const merged = await customer({ firstName: 'Samuel', metadata: { plan: 'silver' }, customFields: [{ key: 'tier', value: 'basic' }] });
    const refused = await merge(survivor.id, merged.id, { override: ['email', 'nonsense'] });
    expect(refused.mergeCustomers.userErrors.map((e) => [e.field, e.code])).toEqual([
      [['override', '0'], 'INVALID'],
      [['override', '1'], 'INVALID'],
    ]);
    const { mergeCustomers } = await merge(survivor.id, merged.id, { override: ['firstName', 'metadata', 'customFields.tier'] });
    expect(mergeCustomers.customer).toMatchObject({ firstName: 'Samuel', metadata: { plan: 'silver' }, customFields: [{ key: 'tier', value: 'basic' }] });
  });

  test('history moves: the survivor lists both histories, and both get a CUSTOMER_MERGED action', async () => {
    const survivor = await customer();
    const merged = await customer({ firstName: 'Mergee' });
    await env.data(`mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { ${USER_ERRORS} } }`, { input: { id: merged.id, lastName: 'Later' } });
    await merge(survivor.id, merged.id);
    const { customer: read } = await env.data<{ customer: { actions: { nodes: { type: string; changes: Record<string, unknown> }[] } } }>(
      `query($id: ID!) { customer(id: $id) { actions(first: 20) { nodes { type changes } } } }`,
      { id: survivor.id },
    );
    expect(read.actions.nodes.map((a) => a.type).sort()).toEqual(['CUSTOMER_CREATED', 'CUSTOMER_CREATED', 'CUSTOMER_MERGED', 'CUSTOMER_UPDATED']);
    const tombstoneActions = await env.store.db.selectFrom('actions').select(['type', 'changes']).where('customer_id', '=', merged.id).execute();
    expect(tombstoneActions.map((a) => a.type)).toEqual(['CUSTOMER_MERGED']);
  });

  test('the merged customer becomes a MERGED tombstone; its id, externalId and email answer the survivor in every lookup', async () => {
    const survivor = await customer({ firstName: 'Keeper' });
    const merged = await customer({ firstName: 'Gone', internalNote: 'dup note' });
    await merge(survivor.id, merged.id);
    const lookups = await env.data<Record<string, { id: string; firstName: string; status: string } | null>>(
      `query($id: ID!, $ext: String!, $email: String!) {
        byId: customer(id: $id) { id firstName status }
        byExternalId: customerByExternalId(externalId: $ext) { id firstName status }
        byEmail: customerByEmail(email: $email) { id firstName status }
        node: node(id: $id) { ... on Customer { id firstName status } }
      }`,
      { id: merged.id, ext: merged.externalId, email: merged.email },
    );
    for (const answer of Object.values(lookups)) expect(answer).toEqual({ id: survivor.id, firstName: 'Keeper', status: 'ACTIVE' });
    const { customers } = await env.data<{ customers: { nodes: { id: string; mergedInto: string; firstName: string | null; internalNote: string | null }[] } }>(
      `{ customers(first: 100, filter: { status: [MERGED] }) { nodes { id mergedInto firstName internalNote } } }`,
    );
    expect(customers.nodes).toContainEqual({ id: merged.id, mergedInto: survivor.id, firstName: null, internalNote: null });
  });

  test('chains are shortened: A into B, then B into C resolves A to C', async () => {
    const a = await customer();
    const b = await customer();
    const c = await customer();
    await merge(b.id, a.id);
    await merge(c.id, b.id);
    const read = await env.data<{ customer: { id: string; mergedIds: string[] } }>(`query($id: ID!) { customer(id: $id) { id mergedIds } }`, { id: a.id });
    expect(read.customer.id).toBe(c.id);
    expect([...read.customer.mergedIds].sort()).toEqual([a.id, b.id].sort());
    const rows = await env.store.db.selectFrom('customers').select(['id', 'merged_into']).where('id', 'in', [a.id, b.id]).execute();
    expect(rows.map((r) => r.merged_into)).toEqual([c.id, c.id]);
  });

  test('blockers: the same customer, an erased or merged customer, unknown and cross-workspace ids, a version conflict; nothing is written', async () => {
    const survivor = await customer();
    const erased = await customer();
    const merged = await customer();
    const other = await customer();
    await env.data(`mutation($input: EraseCustomerInput!) { eraseCustomer(input: $input) { ${USER_ERRORS} } }`, { input: { id: erased.id } });
    await merge(other.id, merged.id);
    const foreign = await createCustomer(env, { email: 'foreign@merge.example' }, { key: env.b });
    const before = await snapshot(env.store);
    const codes = async (s: string, m: string, extra: Record<string, unknown> = {}) =>
      (await merge(s, m, extra)).mergeCustomers.userErrors.map((e) => [e.field, e.code]);
    expect(await codes(survivor.id, survivor.id)).toEqual([[['mergedId'], 'SAME_CUSTOMER']]);
    expect(await codes(survivor.id, erased.id)).toEqual([[['mergedId'], 'ERASED']]);
    expect(await codes(erased.id, survivor.id)).toEqual([[['survivorId'], 'ERASED']]);
    expect(await codes(survivor.id, merged.id)).toEqual([[['mergedId'], 'MERGED']]);
    expect(await codes(survivor.id, '00000000-0000-4000-8000-000000000000')).toEqual([[['mergedId'], 'NOT_FOUND']]);
    expect(await codes(survivor.id, foreign.id)).toEqual([[['mergedId'], 'NOT_FOUND']]);
    expect(await codes(survivor.id, other.id, { expectedVersions: { survivor: survivor.version + 1, merged: 2 } })).toEqual([[['expectedVersions', 'survivor'], 'VERSION_CONFLICT']]);
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('a mutation aimed at a merged customer is refused with MERGED naming the survivor', async () => {
    const survivor = await customer();
    const merged = await customer();
    await merge(survivor.id, merged.id);
    const result = await env.data<{ updateCustomer: { userErrors: { code: string; message: string }[] } }>(
      `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { ${USER_ERRORS} } }`,
      { input: { id: merged.id, firstName: 'x' } },
    );
    expect(result.updateCustomer.userErrors).toEqual([{ field: ['id'], code: 'MERGED', message: expect.stringContaining(survivor.id) }]);
  });

  test('erasing a survivor erases the tombstones merged into it; their ids answer the erased tombstone', async () => {
    const survivor = await customer({ firstName: 'Will' });
    const merged = await customer({ firstName: 'Also Will' });
    await merge(survivor.id, merged.id);
    await env.data(`mutation($input: EraseCustomerInput!) { eraseCustomer(input: $input) { ${USER_ERRORS} } }`, { input: { id: survivor.id } });
    const read = await env.data<{ customer: { id: string; status: string } }>(`query($id: ID!) { customer(id: $id) { id status } }`, { id: merged.id });
    expect(read.customer).toEqual({ id: survivor.id, status: 'ERASED' });
    const rows = await env.store.db.selectFrom('customers').select(['status', 'email']).where('id', '=', merged.id).execute();
    expect(rows).toEqual([{ status: 'ERASED', email: merged.id }]);
    const again = await env.data<{ createCustomer: { userErrors: { code: string }[] } }>(
      `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { ${USER_ERRORS} } }`,
      { input: { email: merged.email } },
    );
    expect(again.createCustomer.userErrors.map((e) => e.code)).toEqual(['ERASED']);
  });

  test('needs customers:write: a read-only key is FORBIDDEN and nothing is written', async () => {
    const survivor = await customer();
    const merged = await customer();
    const reader = await issueKey(env.store.db, { workspace: 'alpha', name: 'reader', scopes: ['customers:read'] });
    const before = await snapshot(env.store);
    const result = await env.exec(MERGE, { input: { survivorId: survivor.id, mergedId: merged.id } }, { key: reader });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScopes: [['customers:write']] });
    expect(await snapshot(env.store)).toEqual(before);
  });
});

describe('customerMergePreview', () => {
  const PREVIEW = `query($s: ID!, $m: ID!, $o: [String!]) {
    customerMergePreview(survivorId: $s, mergedId: $m, override: $o) {
      customer { id firstName lastName metadata }
      conflicts { field survivorValue mergedValue overridden }
      customFields { key value }
      membersMoved
      blockers { field code }
    }
  }`;

  test('shows the result, the conflicts and the moved members, and writes nothing', async () => {
    const survivor = await customer({ firstName: 'Ann', metadata: { x: 1 }, customFields: [{ key: 'tier', value: 'a' }] });
    const merged = await customer({ firstName: 'Anna', lastName: 'Lee', type: 'TEAM', metadata: { x: 2 }, customFields: [{ key: 'tier', value: 'b' }] });
    await addMember(merged.id, 'kid@team.example');
    const before = await snapshot(env.store);
    const { customerMergePreview } = await env.data<{ customerMergePreview: Record<string, any> }>(PREVIEW, { s: survivor.id, m: merged.id, o: ['firstName'] });
    expect(customerMergePreview).toEqual({
      customer: { id: survivor.id, firstName: 'Anna', lastName: 'Lee', metadata: { x: 1 } },
      conflicts: [
        { field: 'firstName', survivorValue: 'Ann', mergedValue: 'Anna', overridden: true },
        { field: 'metadata.x', survivorValue: 1, mergedValue: 2, overridden: false },
        { field: 'customFields.tier', survivorValue: 'a', mergedValue: 'b', overridden: false },
      ],
      customFields: [{ key: 'tier', value: 'a' }],
      membersMoved: 1,
      blockers: [],
    });
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('shows blockers; another workspace sees NOT_FOUND; a feed-only key is FORBIDDEN', async () => {
    const survivor = await customer();
    const { customerMergePreview } = await env.data<{ customerMergePreview: { blockers: unknown[]; customer: unknown } }>(PREVIEW, { s: survivor.id, m: survivor.id });
    expect(customerMergePreview).toMatchObject({ customer: null, blockers: [{ field: ['mergedId'], code: 'SAME_CUSTOMER' }] });
    const other = await customer();
    const cross = await env.data<{ customerMergePreview: { blockers: unknown[] } }>(PREVIEW, { s: survivor.id, m: other.id }, { key: env.b });
    expect(cross.customerMergePreview.blockers).toEqual([{ field: ['survivorId'], code: 'NOT_FOUND' }, { field: ['mergedId'], code: 'NOT_FOUND' }]);
    const feed = await issueKey(env.store.db, { workspace: 'alpha', name: 'feed', scopes: ['export:read'] });
    const refused = await env.exec(PREVIEW, { s: survivor.id, m: other.id }, { key: feed });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('lookups that meet merged customers', () => {
  test('cost the same number of statements for 3 merged ids as for 30', async () => {
    const pairs: { survivor: string; merged: string }[] = [];
    for (let i = 0; i < 30; i++) {
      const survivor = await customer();
      const merged = await customer();
      await merge(survivor.id, merged.id);
      pairs.push({ survivor: survivor.id, merged: merged.id });
    }
    const run = async (count: number) => {
      env.statements.length = 0;
      const { nodes } = await env.data<{ nodes: { id: string }[] }>(`query($ids: [ID!]!) { nodes(ids: $ids) { ... on Customer { id mergedIds } } }`, {
        ids: pairs.slice(0, count).map((p) => p.merged),
      });
      expect(nodes.map((node) => node.id)).toEqual(pairs.slice(0, count).map((p) => p.survivor));
      return env.statements.length;
    };
    expect(await run(30)).toBe(await run(3));
  });
});
