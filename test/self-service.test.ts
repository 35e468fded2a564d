/**
 * Customer self-service over real HTTP: an end user's JWT (scope `customer:self`, `sub` = their
 * customer's externalId) reads and changes only their own record through `me` and `updateMe`,
 * cannot use any other mutation or staff-only field, and, by a property test over every entry
 * point, never sees another customer's id, email, externalId or member.
 */
import crypto from 'node:crypto';
import fc from 'fast-check';
import { buildSchema } from '../src/graphql/server';
import { KEY_SCOPES } from '../src/services/scopes';
import { snapshot } from './helpers';
import { gql, gqlData, startJwtApp, type Answer, type JwtApp } from './jwt-app';

interface Seeded {
  id: string;
  email: string;
  externalId: string | null;
  memberIds: string[];
  memberEmails: string[];
}

const tag = crypto.randomBytes(3).toString('hex');
const ext = (name: string) => `ext-${name}-${tag}`;
const SELF = 'customer:self';

let app: JwtApp;
/** Customers of workspace alpha, by short name; `other` is in workspace beta and shares ada's externalId. */
const seeded: Record<'ada' | 'bob' | 'team' | 'plain' | 'other', Seeded> = {} as never;

async function create(key: string, input: Record<string, unknown>): Promise<Seeded> {
  const data = await gqlData<{ createCustomer: { customer: { id: string; email: string; externalId: string | null }; userErrors: unknown[] } }>(
    app.url,
    key,
    'mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id email externalId } userErrors { code message } } }',
    { input },
  );
  if (data.createCustomer.userErrors.length) throw new Error(`seeding failed: ${JSON.stringify(data.createCustomer.userErrors)}`);
  return { ...data.createCustomer.customer, memberIds: [], memberEmails: [] };
}

async function addMember(customer: Seeded, email: string): Promise<void> {
  const data = await gqlData<{ addMember: { member: { id: string } } }>(
    app.url,
    app.a.key,
    'mutation($input: AddMemberInput!) { addMember(input: $input) { member { id } userErrors { code } } }',
    { input: { customerId: customer.id, email, externalId: `${email}-ext` } },
  );
  customer.memberIds.push(data.addMember.member.id);
  customer.memberEmails.push(email);
}

beforeAll(async () => {
  app = await startJwtApp();
  for (const input of [
    { key: 'nickname', label: 'Nickname', valueType: 'STRING', selfEditable: true },
    { key: 'tier', label: 'Tier', valueType: 'STRING' },
  ]) {
    await gqlData(app.url, app.a.key, 'mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) { userErrors { code } } }', { input });
  }
  seeded.ada = await create(app.a.key, {
    email: `ada-${tag}@example.com`,
    externalId: ext('ada'),
    firstName: 'Ada',
    internalNote: 'staff only',
    customFields: [{ key: 'tier', value: 'gold' }],
  });
  seeded.bob = await create(app.a.key, { email: `bob-${tag}@example.com`, externalId: ext('bob'), firstName: 'Bob' });
  seeded.team = await create(app.a.key, { email: `team-${tag}@example.com`, externalId: ext('team'), type: 'TEAM', name: 'Team' });
  seeded.plain = await create(app.a.key, { email: `plain-${tag}@example.com` });
  seeded.other = await create(app.b.key, { email: `other-${tag}@example.com`, externalId: ext('ada') });
  await addMember(seeded.team, `member-one-${tag}@example.com`);
  await addMember(seeded.team, `member-two-${tag}@example.com`);
});

afterAll(async () => {
  await app?.close();
});

const selfToken = (sub: string, scope = SELF) => app.token({ sub, scope });

const ME = '{ me { id email externalId firstName } }';
const UPDATE_ME = `mutation($input: UpdateMeInput!) { updateMe(input: $input) {
  customer { id name phone billingAddress { line1 city postalCode country } unsubscribed customFields { key value } version }
  userErrors { field code message } } }`;

/** What only staff can see of a customer, read with an API key. */
async function staffView(id: string) {
  const data = await gqlData(app.url, app.a.key, 'query($id: ID!) { customer(id: $id) { updatedBy version customFields { key value } actions(first: 1) { nodes { type actor via } } } }', { id });
  return data.customer;
}

describe('me', () => {
  test("answers the customer whose externalId is the token's subject", async () => {
    const data = await gqlData(app.url, await selfToken(seeded.ada.externalId!), ME);
    expect(data.me).toEqual({ id: seeded.ada.id, email: seeded.ada.email, externalId: seeded.ada.externalId, firstName: 'Ada' });
  });

  test('is null when no customer has that externalId, and updateMe answers NOT_FOUND writing nothing', async () => {
    const token = await selfToken(ext('nobody'));
    expect(await gqlData(app.url, token, ME)).toEqual({ me: null });
    const before = await snapshot(app.app.store);
    const data = await gqlData(app.url, token, UPDATE_ME, { input: { name: 'Nobody' } });
    expect(data.updateMe).toEqual({ customer: null, userErrors: [expect.objectContaining({ code: 'NOT_FOUND' })] });
    expect(await snapshot(app.app.store)).toEqual(before);
  });

  test('follows a merge: a person whose customer was merged away reaches the survivor', async () => {
    const survivor = await create(app.a.key, { email: `keeper-${tag}@example.com`, externalId: ext('keeper'), firstName: 'Keeper' });
    const duplicate = await create(app.a.key, { email: `dupe-${tag}@example.com`, externalId: ext('dupe'), firstName: 'Dupe' });
    const merged = await gqlData(app.url, app.a.key, 'mutation($input: MergeCustomersInput!) { mergeCustomers(input: $input) { userErrors { code } } }', {
      input: { survivorId: survivor.id, mergedId: duplicate.id },
    });
    expect(merged.mergeCustomers.userErrors).toEqual([]);
    const data = await gqlData(app.url, await selfToken(ext('dupe')), ME);
    expect(data.me).toEqual({ id: survivor.id, email: survivor.email, externalId: survivor.externalId, firstName: 'Keeper' });
  });

  test.each(['internalNote', 'netRevenue', 'actions { nodes { id } }'])('refuses the staff-only field %s with 403', async (field) => {
    const answer = await gql(app.url, await selfToken(seeded.ada.externalId!), `{ me { id ${field} } }`);
    expect(answer.status).toBe(403);
    expect(answer.body.data ?? null).toBeNull();
    expect(answer.body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', requiredScopes: expect.any(Array) });
    expect(answer.text).not.toContain('staff only');
  });
});

describe('updateMe', () => {
  test('changes name, phone, billing address, unsubscribed and a self-editable custom field, audited with the subject as actor', async () => {
    const token = await selfToken(seeded.bob.externalId!);
    const answer = await gql(
      app.url,
      token,
      UPDATE_ME,
      {
        input: {
          name: 'Robert',
          phone: '+44 20 7946 0958',
          billingAddress: { line1: '1 Main St', city: 'London', postalCode: 'SW1A 1AA', country: 'GB' },
          unsubscribed: true,
          customFields: [{ key: 'nickname', value: 'Bobby' }],
        },
      },
      { 'x-actor': 'someone-else', 'x-via': 'account-page' },
    );
    expect(answer.status).toBe(200);
    expect(answer.body.data?.updateMe).toEqual({
      customer: {
        id: seeded.bob.id,
        name: 'Robert',
        phone: '+442079460958',
        billingAddress: { line1: '1 Main St', city: 'London', postalCode: 'SW1A 1AA', country: 'GB' },
        unsubscribed: true,
        customFields: [{ key: 'nickname', value: 'Bobby' }],
        version: 2,
      },
      userErrors: [],
    });
    expect(await staffView(seeded.bob.id)).toMatchObject({
      updatedBy: seeded.bob.externalId,
      actions: { nodes: [{ type: 'CUSTOMER_UPDATED', actor: seeded.bob.externalId, via: 'account-page' }] },
    });
  });

  test('refuses a custom field that is not self-editable, writing nothing', async () => {
    const token = await selfToken(seeded.ada.externalId!);
    const before = await snapshot(app.app.store);
    const data = await gqlData(app.url, token, UPDATE_ME, { input: { name: 'Ada L.', customFields: [{ key: 'tier', value: 'platinum' }] } });
    // An update that fails answers the customer as it still is.
    expect(data.updateMe.customer).toMatchObject({ id: seeded.ada.id, name: 'Ada', customFields: [{ key: 'tier', value: 'gold' }], version: 1 });
    expect(data.updateMe.userErrors).toEqual([{ field: ['customFields', '0', 'key'], code: 'INVALID', message: expect.stringMatching(/"tier" is not self-editable/) }]);
    expect(await snapshot(app.app.store)).toEqual(before);
    expect((await staffView(seeded.ada.id)).customFields).toEqual([{ key: 'tier', value: 'gold' }]);
  });

  test.each([
    ['email', '"mallory@example.com"'],
    ['internalNote', '"vip"'],
    ['externalId', '"someone-else"'],
    ['status', 'ARCHIVED'],
  ])('cannot be sent %s: the input type has no such field (GraphQL validation)', async (field, value) => {
    const before = await snapshot(app.app.store);
    const answer = await gql(app.url, await selfToken(seeded.ada.externalId!), `mutation { updateMe(input: { ${field}: ${value} }) { userErrors { code } } }`);
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(answer.body.errors?.[0].message).toContain(`"${field}" is not defined by type "UpdateMeInput"`);
    expect(await snapshot(app.app.store)).toEqual(before);
  });
});

describe('every other mutation is 403 for a customer:self token, and writes nothing', () => {
  const own = () => seeded.ada;
  /** Refused before any lookup, so no endpoint needs to exist. */
  const SOME_ENDPOINT = '00000000-0000-4000-8000-000000000001';
  const mutations: Record<string, () => [string, Record<string, unknown>]> = {
    createCustomer: () => ['CreateCustomerInput', { email: `new-${tag}@example.com` }],
    updateCustomer: () => ['UpdateCustomerInput', { id: own().id, name: 'Changed' }],
    archiveCustomer: () => ['ArchiveCustomerInput', { id: own().id }],
    restoreCustomer: () => ['RestoreCustomerInput', { id: own().id }],
    addMember: () => ['AddMemberInput', { customerId: seeded.team.id, email: `intruder-${tag}@example.com` }],
    updateMember: () => ['UpdateMemberInput', { id: seeded.team.memberIds[0], name: 'Changed' }],
    removeMember: () => ['RemoveMemberInput', { id: seeded.team.memberIds[0] }],
    defineCustomField: () => ['DefineCustomFieldInput', { key: 'nickname', label: 'Changed', valueType: 'STRING', selfEditable: false }],
    eraseCustomer: () => ['EraseCustomerInput', { id: own().id }],
    mergeCustomers: () => ['MergeCustomersInput', { survivorId: own().id, mergedId: seeded.team.id }],
    createWebhookEndpoint: () => ['CreateWebhookEndpointInput', { url: 'https://hooks.example.test/in', events: ['CUSTOMER_UPDATED'] }],
    updateWebhookEndpoint: () => ['UpdateWebhookEndpointInput', { id: SOME_ENDPOINT, enabled: false }],
    deleteWebhookEndpoint: () => ['DeleteWebhookEndpointInput', { id: SOME_ENDPOINT }],
    rotateWebhookSecret: () => ['RotateWebhookSecretInput', { id: SOME_ENDPOINT }],
    redeliverWebhookEvents: () => ['RedeliverWebhookEventsInput', { endpointId: SOME_ENDPOINT, since: '2026-01-01T00:00:00Z' }],
  };

  test('the table covers every mutation but updateMe', () => {
    const all = Object.keys(buildSchema().getMutationType()!.getFields()).filter((name) => name !== 'updateMe');
    expect(Object.keys(mutations).sort()).toEqual(all.sort());
  });

  test.each(Object.keys(mutations))('%s', async (name) => {
    const [inputType, input] = mutations[name]();
    const before = await snapshot(app.app.store);
    for (const sub of [seeded.ada.externalId!, seeded.team.externalId!]) {
      const answer = await gql(app.url, await selfToken(sub), `mutation($input: ${inputType}!) { ${name}(input: $input) { __typename } }`, { input });
      expect(answer.status).toBe(403);
      expect(answer.body.data ?? null).toBeNull();
      expect(answer.body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', requiredScopes: expect.any(Array) });
    }
    expect(await snapshot(app.app.store)).toEqual(before);
  });
});

describe('no other customer is ever visible to a customer:self token (property)', () => {
  type Entry = (pick: Picks) => { path: 'graphql'; query: string; variables: Record<string, unknown> } | { path: 'ndjson' };
  interface Picks {
    customer: Seeded;
    member: string;
    memberOf: Seeded;
  }

  const CUSTOMER = 'id email externalId members { nodes { id email externalId customer { id email externalId } } }';
  const MEMBER = `id email externalId customer { ${CUSTOMER} }`;
  const entries: Record<string, Entry> = {
    me: () => ({ path: 'graphql', query: `{ me { ${CUSTOMER} } }`, variables: {} }),
    customer: ({ customer }) => ({ path: 'graphql', query: `query($id: ID!) { customer(id: $id) { ${CUSTOMER} } }`, variables: { id: customer.id } }),
    customerByExternalId: ({ customer }) => ({
      path: 'graphql',
      query: `query($v: String!) { customerByExternalId(externalId: $v) { ${CUSTOMER} } }`,
      variables: { v: customer.externalId ?? customer.email },
    }),
    customerByEmail: ({ customer }) => ({ path: 'graphql', query: `query($v: String!) { customerByEmail(email: $v) { ${CUSTOMER} } }`, variables: { v: customer.email } }),
    nodeCustomer: ({ customer }) => ({ path: 'graphql', query: `query($id: ID!) { node(id: $id) { id ... on Customer { ${CUSTOMER} } } }`, variables: { id: customer.id } }),
    nodeMember: ({ member }) => ({ path: 'graphql', query: `query($id: ID!) { node(id: $id) { id ... on Member { ${MEMBER} } } }`, variables: { id: member } }),
    nodes: ({ customer, member }) => ({
      path: 'graphql',
      query: `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Customer { ${CUSTOMER} } ... on Member { ${MEMBER} } } }`,
      variables: { ids: [customer.id, member, ...Object.values(seeded).map((c) => c.id)] },
    }),
    entities: ({ customer, member }) => ({
      path: 'graphql',
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { ${CUSTOMER} } ... on Member { ${MEMBER} } } }`,
      variables: {
        r: [
          { __typename: 'Customer', id: customer.id },
          ...(customer.externalId ? [{ __typename: 'Customer', externalId: customer.externalId }] : []),
          { __typename: 'Member', id: member },
        ],
      },
    }),
    customers: () => ({ path: 'graphql', query: `{ customers(first: 50) { totalCount nodes { ${CUSTOMER} } } }`, variables: {} }),
    customersSearch: ({ customer }) => ({
      path: 'graphql',
      query: `query($q: String!) { customers(first: 50, filter: { search: $q }) { totalCount nodes { id email } } }`,
      variables: { q: customer.email },
    }),
    exportCustomers: () => ({ path: 'graphql', query: `{ exportCustomers(first: 50) { nodes { ${CUSTOMER} } } }`, variables: {} }),
    ndjsonExport: () => ({ path: 'ndjson' }),
  };

  /** Everything that identifies a customer (and its members) other than `own`. */
  function foreignMarks(own: Seeded | undefined): string[] {
    return Object.values(seeded)
      .filter((customer) => customer !== own)
      .flatMap((customer) => [customer.id, customer.email, ...(customer.externalId && customer.externalId !== own?.externalId ? [customer.externalId] : []), ...customer.memberIds, ...customer.memberEmails]);
  }

  const tokens = new Map<string, Promise<string>>();
  function tokenFor(sub: string, scope: string): Promise<string> {
    const key = `${sub} ${scope}`;
    if (!tokens.has(key)) tokens.set(key, selfToken(sub, scope));
    return tokens.get(key)!;
  }

  async function ask(entry: ReturnType<Entry>, token: string): Promise<Answer | { status: number; text: string }> {
    if (entry.path === 'graphql') return gql(app.url, token, entry.query, entry.variables);
    const response = await fetch(`${app.url}/export/customers.ndjson`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, text: await response.text() };
  }

  test('for random tokens and random queries over every entry point', async () => {
    const alpha = [seeded.ada, seeded.bob, seeded.team, seeded.plain];
    const everyone = Object.values(seeded);
    const members = [...seeded.team.memberIds, crypto.randomUUID()];
    const subjects = [seeded.ada.externalId!, seeded.bob.externalId!, seeded.team.externalId!, ext('nobody'), seeded.plain.email];
    const asked = new Set<string>();
    let ownSeen = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...subjects),
        // Staff scopes next to customer:self must not widen what the end user reaches.
        fc.subarray([...KEY_SCOPES]),
        fc.array(fc.constantFrom(...Object.keys(entries)), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(...everyone),
        fc.constantFrom(...members),
        async (sub, extraScopes, names, customer, member) => {
          const own = alpha.find((c) => c.externalId === sub);
          const token = await tokenFor(sub, [SELF, ...extraScopes].join(' '));
          const marks = foreignMarks(own);
          for (const name of names) {
            asked.add(name);
            const answer = await ask(entries[name]({ customer, member, memberOf: seeded.team }), token);
            expect(answer.status).toBeLessThan(500);
            if (own && answer.text.includes(own.id)) ownSeen += 1;
            for (const mark of marks) {
              if (answer.text.includes(mark)) throw new Error(`${name} as ${sub} (${extraScopes.join(' ') || 'no extra scopes'}) showed ${mark}: ${answer.text.slice(0, 500)}`);
            }
          }
        },
      ),
      { seed: 1414, numRuns: 60 },
    );
    expect([...asked].sort()).toEqual(Object.keys(entries).sort());
    // Not vacuous: the end user's own record did come back through the entry points.
    expect(ownSeen).toBeGreaterThan(10);
  });

  test('staff scopes next to customer:self do not widen it: no list, no export, no staff mutation', async () => {
    const token = await selfToken(seeded.ada.externalId!, `${SELF} ${KEY_SCOPES.join(' ')}`);
    expect((await gqlData(app.url, token, ME)).me.id).toBe(seeded.ada.id);
    for (const query of ['{ customers(first: 5) { nodes { id } } }', '{ exportCustomers(first: 5) { nodes { id } } }', 'mutation { createCustomer(input: { email: "x@example.com" }) { userErrors { code } } }']) {
      const answer = await gql(app.url, token, query);
      expect(answer.status).toBe(403);
      expect(answer.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    const ndjson = await fetch(`${app.url}/export/customers.ndjson`, { headers: { authorization: `Bearer ${token}` } });
    expect(ndjson.status).toBe(403);
  });

  test("an end user's own team members are visible to them", async () => {
    const data = await gqlData(app.url, await selfToken(seeded.team.externalId!), `{ me { members { nodes { id } } } }`);
    expect(data.me.members.nodes.map((m: { id: string }) => m.id).sort()).toEqual([...seeded.team.memberIds].sort());
  });
});
