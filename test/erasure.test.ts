/**
 * eraseCustomer through the public API on a real migrated database (SQLite, or PostgreSQL with
 * TEST_DATABASE_URL): the tombstone, what goes (personal fields, members, custom field values,
 * metadata, audit values), the change feed, ALREADY_ERASED and the other userErrors, no
 * resurrection through createCustomer or updateCustomer, tenant isolation and the scope.
 */
import { issueKey, type IssuedKey } from '../src/services/keys';
import { createCustomer, createTestEnv, snapshot, USER_ERRORS, type TestEnv } from './helpers';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
  await env.data(`mutation { defineCustomField(input: { key: "shoe_size", label: "Shoe size", valueType: NUMBER }) { userErrors { code } } }`);
});

afterAll(async () => {
  await env.close();
});

const ERASE = `mutation($input: EraseCustomerInput!) {
  eraseCustomer(input: $input) {
    customer { id externalId email firstName lastName name phone internalNote metadata status erasedAt erasedBy erasedVia version
      customFields { key value } members { totalCount } billingAddress { country } profile { bio } }
    ${USER_ERRORS}
  }
}`;

interface ErasePayload {
  eraseCustomer: { customer: Record<string, any> | null; userErrors: { field: string[] | null; code: string; message: string }[] };
}

let counter = 0;
/** A TEAM customer with every kind of personal data, a member, a custom field value, and an update in its history. */
async function personWithHistory(): Promise<{ id: string; email: string; externalId: string; version: number }> {
  const n = ++counter;
  const customer = await createCustomer(env, {
    email: `Erin.Erasable${n}@Example.com`,
    externalId: `ext-erase-${n}`,
    firstName: 'Erin',
    lastName: `Erasable${n}`,
    phone: '+14155550123',
    internalNote: `note about erin ${n}`,
    type: 'TEAM',
    metadata: { plan: 'gold' },
    customFields: [{ key: 'shoe_size', value: 42 }],
    billingAddress: { line1: '1 Main St', city: 'Madison', state: 'WI', country: 'US' },
    profile: { bio: 'loves boots' },
  });
  await env.data(`mutation($input: AddMemberInput!) { addMember(input: $input) { ${USER_ERRORS} } }`, {
    input: { customerId: customer.id, email: `member${n}@example.com`, name: 'Mem Ber' },
  });
  const updated = await env.data<{ updateCustomer: { customer: { version: number } } }>(
    `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { version } ${USER_ERRORS} } }`,
    { input: { id: customer.id, firstName: 'Erina' } },
  );
  return { id: customer.id, email: `erin.erasable${n}@example.com`, externalId: `ext-erase-${n}`, version: updated.updateCustomer.customer.version };
}

describe('eraseCustomer', () => {
  test('leaves a tombstone with id, externalId, version and erasure stamps, and nothing about the person', async () => {
    const person = await personWithHistory();
    const { eraseCustomer } = await env.data<ErasePayload>(ERASE, { input: { id: person.id, reason: 'ticket 4711' } }, { actor: 'dpo@shop', via: 'privacy-desk' });
    expect(eraseCustomer.userErrors).toEqual([]);
    expect(eraseCustomer.customer).toEqual({
      id: person.id,
      externalId: person.externalId,
      email: '',
      firstName: null,
      lastName: null,
      name: null,
      phone: null,
      internalNote: null,
      metadata: {},
      status: 'ERASED',
      erasedAt: expect.any(String),
      erasedBy: 'dpo@shop',
      erasedVia: 'privacy-desk',
      version: person.version + 1,
      customFields: [],
      members: { totalCount: 0 },
      billingAddress: null,
      profile: { bio: null },
    });
    const read = await env.data<{ customer: Record<string, any> }>(`query($id: ID!) { customer(id: $id) { id status email customFields { key } members { totalCount } } }`, { id: person.id });
    expect(read.customer).toEqual({ id: person.id, status: 'ERASED', email: '', customFields: [], members: { totalCount: 0 } });
  });

  test('redacts every audit value and keeps field names; one CUSTOMER_ERASED action is added', async () => {
    const person = await personWithHistory();
    await env.data<ErasePayload>(ERASE, { input: { id: person.id } });
    const { customer } = await env.data<{ customer: { actions: { nodes: { type: string; changes: Record<string, { from: unknown; to: unknown }> }[] } } }>(
      `query($id: ID!) { customer(id: $id) { actions(first: 50) { nodes { type changes } } } }`,
      { id: person.id },
    );
    const types = customer.actions.nodes.map((a) => a.type);
    expect(types).toEqual(['CUSTOMER_ERASED', 'CUSTOMER_UPDATED', 'MEMBER_ADDED', 'CUSTOMER_CREATED']);
    const [erased, ...earlier] = customer.actions.nodes;
    for (const action of earlier) {
      expect(Object.keys(action.changes).length).toBeGreaterThan(0);
      for (const change of Object.values(action.changes)) expect(change).toEqual({ from: '[redacted]', to: '[redacted]' });
    }
    expect(Object.keys(earlier[2].changes)).toEqual(expect.arrayContaining(['email', 'firstName', 'phone', 'internalNote']));
    expect(erased.changes.status).toEqual({ from: 'ACTIVE', to: 'ERASED' });
    const text = JSON.stringify(customer);
    for (const value of [person.email, 'Erin', 'Erina', '+14155550123', 'note about erin', 'member', 'boots']) expect(text).not.toContain(value);
  });

  test('the change feed carries the tombstone', async () => {
    const person = await personWithHistory();
    await env.data<ErasePayload>(ERASE, { input: { id: person.id } });
    const { exportCustomers } = await env.data<{ exportCustomers: { nodes: { id: string; status: string; email: string; erasedAt: string | null }[] } }>(
      `{ exportCustomers(first: 100) { nodes { id status email erasedAt } } }`,
    );
    const last = exportCustomers.nodes[exportCustomers.nodes.length - 1];
    expect(last).toEqual({ id: person.id, status: 'ERASED', email: '', erasedAt: expect.any(String) });
  });

  test('erasing twice gives ALREADY_ERASED', async () => {
    const person = await personWithHistory();
    await env.data<ErasePayload>(ERASE, { input: { id: person.id } });
    const before = await snapshot(env.store);
    const again = await env.data<ErasePayload>(ERASE, { input: { id: person.id } });
    expect(again.eraseCustomer).toEqual({ customer: null, userErrors: [{ field: ['id'], code: 'ALREADY_ERASED', message: expect.any(String) }] });
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('unknown ids, ids of another workspace and a stale expectedVersion are userErrors, and nothing is written', async () => {
    const person = await personWithHistory();
    const before = await snapshot(env.store);
    const unknown = await env.data<ErasePayload>(ERASE, { input: { id: '00000000-0000-4000-8000-000000000000' } });
    expect(unknown.eraseCustomer.userErrors).toEqual([{ field: ['id'], code: 'NOT_FOUND', message: expect.any(String) }]);
    const notUuid = await env.data<ErasePayload>(ERASE, { input: { id: 'nope' } });
    expect(notUuid.eraseCustomer.userErrors.map((e) => e.code)).toEqual(['NOT_FOUND']);
    const crossWorkspace = await env.data<ErasePayload>(ERASE, { input: { id: person.id } }, { key: env.b });
    expect(crossWorkspace.eraseCustomer.userErrors.map((e) => e.code)).toEqual(['NOT_FOUND']);
    const stale = await env.data<ErasePayload>(ERASE, { input: { id: person.id, expectedVersion: person.version - 1 } });
    expect(stale.eraseCustomer.userErrors).toEqual([{ field: ['expectedVersion'], code: 'VERSION_CONFLICT', message: expect.any(String) }]);
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('needs the customers:erase scope: customers:write is FORBIDDEN and writes nothing', async () => {
    const person = await personWithHistory();
    const writer: IssuedKey = await issueKey(env.store.db, { workspace: 'alpha', name: 'writer', scopes: ['customers:write'] });
    const eraser: IssuedKey = await issueKey(env.store.db, { workspace: 'alpha', name: 'eraser', scopes: ['customers:erase'] });
    const before = await snapshot(env.store);
    const refused = await env.exec(`mutation($input: EraseCustomerInput!) { eraseCustomer(input: $input) { customer { id status } ${USER_ERRORS} } }`, { input: { id: person.id } }, { key: writer });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScopes: [['customers:erase']] });
    expect(await snapshot(env.store)).toEqual(before);
    const allowed = await env.data<ErasePayload>(`mutation($input: EraseCustomerInput!) { eraseCustomer(input: $input) { customer { id status } ${USER_ERRORS} } }`, { input: { id: person.id } }, { key: eraser });
    expect(allowed.eraseCustomer.customer).toEqual({ id: person.id, status: 'ERASED' });
  });

  test('an erased customer cannot be updated, archived or given members', async () => {
    const person = await personWithHistory();
    await env.data<ErasePayload>(ERASE, { input: { id: person.id } });
    const update = await env.data<{ updateCustomer: { userErrors: { code: string }[] } }>(
      `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { ${USER_ERRORS} } }`,
      { input: { id: person.id, firstName: 'Back' } },
    );
    expect(update.updateCustomer.userErrors.map((e) => e.code)).toEqual(['ERASED']);
    const member = await env.data<{ addMember: { userErrors: { code: string }[] } }>(
      `mutation($input: AddMemberInput!) { addMember(input: $input) { ${USER_ERRORS} } }`,
      { input: { customerId: person.id, email: 'again@example.com' } },
    );
    expect(member.addMember.userErrors.map((e) => e.code)).toEqual(['ERASED']);
  });
});

describe('no resurrection', () => {
  const CREATE = `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } ${USER_ERRORS} } }`;

  test('createCustomer refuses an erased email (in any case and spacing) and an erased externalId with ERASED', async () => {
    const person = await personWithHistory();
    await env.data<ErasePayload>(ERASE, { input: { id: person.id } });
    const before = await snapshot(env.store);
    const byEmail = await env.data<{ createCustomer: { customer: null; userErrors: { field: string[]; code: string }[] } }>(CREATE, { input: { email: `  ${person.email.toUpperCase()} ` } });
    expect(byEmail.createCustomer).toEqual({ customer: null, userErrors: [{ field: ['email'], code: 'ERASED', message: expect.any(String) }] });
    const byExternalId = await env.data<{ createCustomer: { userErrors: { field: string[]; code: string }[] } }>(CREATE, { input: { email: 'someone.new@example.com', externalId: person.externalId } });
    expect(byExternalId.createCustomer.userErrors.map((e) => [e.field, e.code])).toEqual([[['externalId'], 'ERASED']]);
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('updateCustomer refuses to move another customer onto an erased email', async () => {
    const person = await personWithHistory();
    await env.data<ErasePayload>(ERASE, { input: { id: person.id } });
    const other = await createCustomer(env, { email: `other${counter}@example.com` });
    const result = await env.data<{ updateCustomer: { userErrors: { field: string[]; code: string }[] } }>(
      `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { ${USER_ERRORS} } }`,
      { input: { id: other.id, email: person.email } },
    );
    expect(result.updateCustomer.userErrors.map((e) => [e.field, e.code])).toEqual([[['email'], 'ERASED']]);
  });

  test('the erased values are stored only as keyed hashes', async () => {
    const person = await personWithHistory();
    await env.data<ErasePayload>(ERASE, { input: { id: person.id } });
    const rows = await env.store.db.selectFrom('erased_identities').selectAll().where('customer_id', '=', person.id).execute();
    expect(rows.map((r) => r.kind).sort()).toEqual(['email', 'externalId']);
    for (const row of rows) {
      expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(row)).not.toContain(person.email);
      expect(JSON.stringify(row)).not.toContain(person.externalId);
    }
  });

  test('an erasure in one workspace does not refuse the same email in another', async () => {
    const person = await personWithHistory();
    await env.data<ErasePayload>(ERASE, { input: { id: person.id } });
    const created = await env.data<{ createCustomer: { customer: { id: string } | null; userErrors: unknown[] } }>(CREATE, { input: { email: person.email } }, { key: env.b });
    expect(created.createCustomer.userErrors).toEqual([]);
  });
});

describe('customerDataExport', () => {
  test('returns the record, members, custom fields and full history of one customer; null for another workspace', async () => {
    const person = await personWithHistory();
    const { customerDataExport } = await env.data<{ customerDataExport: Record<string, any> }>(`query($id: ID!) { customerDataExport(id: $id) }`, { id: person.id });
    expect(customerDataExport.customer).toMatchObject({
      id: person.id,
      email: person.email,
      firstName: 'Erina',
      internalNote: expect.stringContaining('note about erin'),
      metadata: { plan: 'gold' },
      customFields: [{ key: 'shoe_size', value: 42 }],
      members: [expect.objectContaining({ email: `member${counter}@example.com`, name: 'Mem Ber' })],
    });
    expect(customerDataExport.history.map((a: { type: string }) => a.type)).toEqual(['CUSTOMER_CREATED', 'MEMBER_ADDED', 'CUSTOMER_UPDATED']);
    expect(customerDataExport.history[2].changes).toEqual({ firstName: { from: 'Erin', to: 'Erina' } });
    const other = await env.data<{ customerDataExport: unknown }>(`query($id: ID!) { customerDataExport(id: $id) }`, { id: person.id }, { key: env.b });
    expect(other.customerDataExport).toBeNull();
  });

  test('needs a read scope', async () => {
    const exporter = await issueKey(env.store.db, { workspace: 'alpha', name: 'feed-only', scopes: ['export:read'] });
    const result = await env.exec(`{ customerDataExport(id: "00000000-0000-4000-8000-000000000000") }`, {}, { key: exporter });
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
