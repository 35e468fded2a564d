/**
 * Workspace-defined custom fields through the public GraphQL API: definitions, values on
 * customers, their audit trail and filtering on searchable fields.
 */
import { createCustomer, createTestEnv, snapshot, USER_ERRORS, type CallerOptions, type TestEnv } from './helpers';

interface UserError {
  field: string[] | null;
  message: string;
  code: string;
}

interface Definition {
  key: string;
  label: string;
  valueType: string;
  searchable: boolean;
  createdAt: unknown;
  updatedAt: unknown;
}

const DEFINE = `mutation($input: DefineCustomFieldInput!) {
  defineCustomField(input: $input) { customFieldDefinition { key label valueType searchable createdAt updatedAt } ${USER_ERRORS} }
}`;
const DEFINITIONS = `{ customFieldDefinitions { key label valueType searchable } }`;
const UPDATE = `mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { id version firstName customFields { key value } } ${USER_ERRORS} }
}`;
const CREATE = `mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id customFields { key value } } ${USER_ERRORS} }
}`;
const GET = `query($id: ID!) { customer(id: $id) { id version firstName customFields { key value } } }`;
const ACTIONS = `query($id: ID!) { customer(id: $id) { actions(first: 10) { nodes { type changes } } } }`;
const FILTER = `query($filter: CustomerFilter) { customers(filter: $filter) { totalCount nodes { email } } }`;

let env: TestEnv;

beforeEach(async () => {
  env = await createTestEnv();
});

afterEach(async () => {
  await env.close();
});

async function define(
  input: Record<string, unknown>,
  as?: Partial<CallerOptions>,
): Promise<{ customFieldDefinition: Definition | null; userErrors: UserError[] }> {
  return (await env.data<{ defineCustomField: any }>(DEFINE, { input }, as)).defineCustomField;
}

async function defined(input: Record<string, unknown>): Promise<Definition> {
  const { customFieldDefinition, userErrors } = await define(input);
  expect(userErrors).toEqual([]);
  return customFieldDefinition as Definition;
}

async function definitions(as?: Partial<CallerOptions>) {
  return (await env.data<{ customFieldDefinitions: Omit<Definition, 'createdAt' | 'updatedAt'>[] }>(DEFINITIONS, {}, as)).customFieldDefinitions;
}

function codes(errors: UserError[]): Array<[string[] | null, string]> {
  return errors.map((e) => [e.field, e.code]);
}

async function update(input: Record<string, unknown>) {
  return (await env.data<{ updateCustomer: { customer: any; userErrors: UserError[] } }>(UPDATE, { input })).updateCustomer;
}

async function get(id: string) {
  return (await env.data<{ customer: any }>(GET, { id })).customer;
}

async function filtered(customFields: { key: string; value: unknown }[]): Promise<string[]> {
  const data = await env.data<{ customers: { totalCount: number; nodes: { email: string }[] } }>(FILTER, { filter: { customFields } });
  const emails = data.customers.nodes.map((n) => n.email).sort();
  expect(data.customers.totalCount).toBe(emails.length);
  return emails;
}

async function filterError(customFields: { key: string; value: unknown }[]) {
  const result = await env.exec(FILTER, { filter: { customFields } });
  expect(result.data ?? null).toBeNull();
  expect(result.errors).toHaveLength(1);
  return result.errors![0];
}

/** The four value types, each with a valid value. */
async function defineAllTypes(searchable = false) {
  await defined({ key: 'tier', label: 'Tier', valueType: 'STRING', searchable });
  await defined({ key: 'seats', label: 'Seats', valueType: 'NUMBER', searchable });
  await defined({ key: 'beta_tester', label: 'Beta tester', valueType: 'BOOLEAN', searchable });
  await defined({ key: 'renewal_date', label: 'Renewal date', valueType: 'DATE', searchable });
}

describe('defineCustomField', () => {
  test('defineCustomField creates a definition that is not searchable by default', async () => {
    const definition = await defined({ key: 'loyalty_tier', label: '  Loyalty tier ', valueType: 'STRING' });
    expect(definition).toMatchObject({ key: 'loyalty_tier', label: 'Loyalty tier', valueType: 'STRING', searchable: false });
    expect(await definitions()).toEqual([{ key: 'loyalty_tier', label: 'Loyalty tier', valueType: 'STRING', searchable: false }]);
  });

  test('defineCustomField keeps an explicit searchable: true', async () => {
    const definition = await defined({ key: 'region', label: 'Region', valueType: 'STRING', searchable: true });
    expect(definition.searchable).toBe(true);
  });

  test('customFieldDefinitions lists the definitions sorted by key', async () => {
    await defined({ key: 'zeta', label: 'Zeta', valueType: 'BOOLEAN' });
    await defined({ key: 'alpha', label: 'Alpha', valueType: 'NUMBER', searchable: true });
    await defined({ key: 'mid_2', label: 'Mid', valueType: 'DATE' });
    expect(await definitions()).toEqual([
      { key: 'alpha', label: 'Alpha', valueType: 'NUMBER', searchable: true },
      { key: 'mid_2', label: 'Mid', valueType: 'DATE', searchable: false },
      { key: 'zeta', label: 'Zeta', valueType: 'BOOLEAN', searchable: false },
    ]);
  });

  test('customFieldDefinitions lists only the caller workspace definitions', async () => {
    await defined({ key: 'mine', label: 'Mine', valueType: 'STRING' });
    await define({ key: 'theirs', label: 'Theirs', valueType: 'NUMBER' }, { key: env.b });
    expect((await definitions()).map((d) => d.key)).toEqual(['mine']);
    expect((await definitions({ key: env.b })).map((d) => d.key)).toEqual(['theirs']);
  });

  test('defineCustomField again changes the label and searchability and keeps createdAt', async () => {
    const first = await defined({ key: 'tier', label: 'Tier', valueType: 'STRING' });
    const second = await defined({ key: 'tier', label: 'Customer tier', valueType: 'STRING', searchable: true });
    expect(second).toMatchObject({ key: 'tier', label: 'Customer tier', valueType: 'STRING', searchable: true });
    expect(new Date(second.createdAt as string).toISOString()).toBe(new Date(first.createdAt as string).toISOString());
    expect(await definitions()).toEqual([{ key: 'tier', label: 'Customer tier', valueType: 'STRING', searchable: true }]);
  });

  test('defineCustomField again without searchable keeps the current searchability', async () => {
    await defined({ key: 'tier', label: 'Tier', valueType: 'STRING', searchable: true });
    const again = await defined({ key: 'tier', label: 'Renamed', valueType: 'STRING' });
    expect(again.searchable).toBe(true);
    expect(await definitions()).toEqual([{ key: 'tier', label: 'Renamed', valueType: 'STRING', searchable: true }]);
  });

  test('defineCustomField rejects a change of valueType as IMMUTABLE and keeps the definition', async () => {
    await defined({ key: 'seats', label: 'Seats', valueType: 'NUMBER' });
    const before = await snapshot(env.store);
    const { customFieldDefinition, userErrors } = await define({ key: 'seats', label: 'Seats (text)', valueType: 'STRING' });
    expect(customFieldDefinition).toBeNull();
    expect(codes(userErrors)).toEqual([[['valueType'], 'IMMUTABLE']]);
    expect(await snapshot(env.store)).toEqual(before);
  });

  test.each([['Bad Key'], ['1abc'], ['UPPER'], ['with-dash'], ['_leading'], ['']])(
    'defineCustomField rejects the key %p as INVALID',
    async (key) => {
      const { customFieldDefinition, userErrors } = await define({ key, label: 'Label', valueType: 'STRING' });
      expect(customFieldDefinition).toBeNull();
      expect(codes(userErrors)).toEqual([[['key'], 'INVALID']]);
      expect(await definitions()).toEqual([]);
    },
  );

  test('defineCustomField rejects an empty label as REQUIRED', async () => {
    for (const label of ['', '   ']) {
      const { customFieldDefinition, userErrors } = await define({ key: 'tier', label, valueType: 'STRING' });
      expect(customFieldDefinition).toBeNull();
      expect(codes(userErrors)).toEqual([[['label'], 'REQUIRED']]);
    }
    expect(await definitions()).toEqual([]);
  });

  test('defineCustomField rejects a 41-character key as TOO_LONG and accepts 40', async () => {
    const { userErrors } = await define({ key: 'k'.repeat(41), label: 'Long', valueType: 'STRING' });
    expect(codes(userErrors)).toEqual([[['key'], 'TOO_LONG']]);
    expect(await definitions()).toEqual([]);
    expect((await defined({ key: 'k'.repeat(40), label: 'Long', valueType: 'STRING' })).key).toBe('k'.repeat(40));
  });

  test('defineCustomField rejects a label over 256 characters as TOO_LONG', async () => {
    const { userErrors } = await define({ key: 'tier', label: 'l'.repeat(257), valueType: 'STRING' });
    expect(codes(userErrors)).toEqual([[['label'], 'TOO_LONG']]);
    expect(await definitions()).toEqual([]);
  });

  test('defineCustomField rejects a 101st field as LIMIT_EXCEEDED but still lets existing ones be redefined', async () => {
    for (let i = 0; i < 100; i++) await defined({ key: `f${String(i).padStart(3, '0')}`, label: `F${i}`, valueType: 'STRING' });
    const { userErrors } = await define({ key: 'one_too_many', label: 'Too many', valueType: 'STRING' });
    expect(codes(userErrors)).toEqual([[['key'], 'LIMIT_EXCEEDED']]);
    expect((await defined({ key: 'f000', label: 'Renamed', valueType: 'STRING', searchable: true })).label).toBe('Renamed');
    expect(await definitions()).toHaveLength(100);
  });

  test('defineCustomField reports a bad key and an empty label at once', async () => {
    const { userErrors } = await define({ key: 'Bad Key', label: ' ', valueType: 'STRING' });
    expect(codes(userErrors)).toEqual([
      [['key'], 'INVALID'],
      [['label'], 'REQUIRED'],
    ]);
  });
});

describe('custom field values on customers', () => {
  test('createCustomer stores a value of every type and reads them back typed, ordered by key', async () => {
    await defineAllTypes();
    const customer = await createCustomer(env, {
      email: 'typed@example.com',
      customFields: [
        { key: 'tier', value: 'Gold' },
        { key: 'seats', value: 12.5 },
        { key: 'beta_tester', value: true },
        { key: 'renewal_date', value: '2027-02-28' },
      ],
    });
    const expected = [
      { key: 'beta_tester', value: true },
      { key: 'renewal_date', value: '2027-02-28' },
      { key: 'seats', value: 12.5 },
      { key: 'tier', value: 'Gold' },
    ];
    expect(customer.customFields).toEqual(expected);
    expect((await get(customer.id)).customFields).toEqual(expected);
  });

  test('createCustomer keeps false and 0 as values', async () => {
    await defineAllTypes();
    const customer = await createCustomer(env, {
      email: 'falsy@example.com',
      customFields: [
        { key: 'beta_tester', value: false },
        { key: 'seats', value: 0 },
      ],
    });
    expect((await get(customer.id)).customFields).toEqual([
      { key: 'beta_tester', value: false },
      { key: 'seats', value: 0 },
    ]);
  });

  test.each([
    ['tier', 42],
    ['seats', '12'],
    ['beta_tester', 'yes'],
    ['renewal_date', '2027-02-30'],
    ['renewal_date', '28/02/2027'],
  ])('createCustomer rejects %p = %p as INVALID on the value and writes nothing', async (key, value) => {
    await defineAllTypes();
    const before = await snapshot(env.store);
    const result = (await env.data<{ createCustomer: { customer: unknown; userErrors: UserError[] } }>(CREATE, {
      input: { email: 'bad@example.com', customFields: [key === 'tier' ? { key: 'seats', value: 1 } : { key: 'tier', value: 'ok' }, { key, value }] },
    })).createCustomer;
    expect(result.customer).toBeNull();
    expect(codes(result.userErrors)).toEqual([[['customFields', '1', 'value'], 'INVALID']]);
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('createCustomer rejects a string custom field value over 10000 characters as TOO_LONG', async () => {
    await defineAllTypes();
    const result = (await env.data<{ createCustomer: { customer: unknown; userErrors: UserError[] } }>(CREATE, {
      input: { email: 'long@example.com', customFields: [{ key: 'tier', value: 't'.repeat(10001) }] },
    })).createCustomer;
    expect(codes(result.userErrors)).toEqual([[['customFields', '0', 'value'], 'TOO_LONG']]);
  });

  test('createCustomer rejects a custom field given twice as INVALID', async () => {
    await defineAllTypes();
    const result = (await env.data<{ createCustomer: { customer: unknown; userErrors: UserError[] } }>(CREATE, {
      input: { email: 'twice@example.com', customFields: [{ key: 'tier', value: 'a' }, { key: 'tier', value: 'b' }] },
    })).createCustomer;
    expect(codes(result.userErrors)).toEqual([[['customFields', '1', 'key'], 'INVALID']]);
  });

  test('createCustomer rejects a custom field defined only in another workspace as INVALID', async () => {
    await define({ key: 'theirs', label: 'Theirs', valueType: 'STRING' }, { key: env.b });
    const result = (await env.data<{ createCustomer: { customer: unknown; userErrors: UserError[] } }>(CREATE, {
      input: { email: 'x@example.com', customFields: [{ key: 'theirs', value: 'v' }] },
    })).createCustomer;
    expect(codes(result.userErrors)).toEqual([[['customFields', '0', 'key'], 'INVALID']]);
  });

  test('updateCustomer with a null value removes that value and leaves the other fields alone', async () => {
    await defineAllTypes();
    const customer = await createCustomer(env, {
      email: 'remove@example.com',
      firstName: 'Kept',
      customFields: [
        { key: 'tier', value: 'Gold' },
        { key: 'seats', value: 3 },
      ],
    });
    const { customer: after, userErrors } = await update({ id: customer.id, customFields: [{ key: 'tier', value: null }] });
    expect(userErrors).toEqual([]);
    expect(after).toMatchObject({ version: 2, firstName: 'Kept', customFields: [{ key: 'seats', value: 3 }] });
    expect(await get(customer.id)).toMatchObject({ version: 2, firstName: 'Kept', customFields: [{ key: 'seats', value: 3 }] });
  });

  test('updateCustomer sets and replaces values and leaves unlisted ones alone', async () => {
    await defineAllTypes();
    const customer = await createCustomer(env, {
      email: 'set@example.com',
      customFields: [
        { key: 'tier', value: 'Gold' },
        { key: 'seats', value: 3 },
      ],
    });
    const { customer: after } = await update({
      id: customer.id,
      customFields: [
        { key: 'seats', value: 4 },
        { key: 'beta_tester', value: true },
      ],
    });
    expect(after.customFields).toEqual([
      { key: 'beta_tester', value: true },
      { key: 'seats', value: 4 },
      { key: 'tier', value: 'Gold' },
    ]);
    expect(after.version).toBe(2);
  });

  test('updateCustomer that sets a custom field to its current value or removes an unset one changes nothing', async () => {
    await defineAllTypes();
    const customer = await createCustomer(env, { email: 'same@example.com', customFields: [{ key: 'tier', value: 'Gold' }] });
    const before = await snapshot(env.store);
    const { customer: after, userErrors } = await update({
      id: customer.id,
      customFields: [
        { key: 'tier', value: 'Gold' },
        { key: 'seats', value: null },
      ],
    });
    expect(userErrors).toEqual([]);
    expect(after.version).toBe(1);
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('updateCustomer with an invalid custom field value writes nothing, not even the valid fields', async () => {
    await defineAllTypes();
    const customer = await createCustomer(env, { email: 'atomic@example.com', customFields: [{ key: 'tier', value: 'Gold' }] });
    const before = await snapshot(env.store);
    const { userErrors } = await update({
      id: customer.id,
      firstName: 'Changed',
      customFields: [
        { key: 'tier', value: 'Silver' },
        { key: 'seats', value: 'many' },
        { key: 'nope', value: 1 },
      ],
    });
    expect(codes(userErrors)).toEqual([
      [['customFields', '1', 'value'], 'INVALID'],
      [['customFields', '2', 'key'], 'INVALID'],
    ]);
    expect(await snapshot(env.store)).toEqual(before);
    expect(await get(customer.id)).toMatchObject({ version: 1, firstName: null, customFields: [{ key: 'tier', value: 'Gold' }] });
  });

  test('the audit log records custom field changes as customFields.<key>', async () => {
    await defineAllTypes();
    const customer = await createCustomer(env, {
      email: 'audit@example.com',
      customFields: [
        { key: 'tier', value: 'Gold' },
        { key: 'seats', value: 3 },
      ],
    });
    await update({
      id: customer.id,
      customFields: [
        { key: 'tier', value: null },
        { key: 'seats', value: 5 },
        { key: 'renewal_date', value: '2027-01-01' },
      ],
    });
    const nodes = (await env.data<{ customer: { actions: { nodes: { type: string; changes: any }[] } } }>(ACTIONS, { id: customer.id }))
      .customer.actions.nodes;
    expect(nodes).toEqual([
      {
        type: 'CUSTOMER_UPDATED',
        changes: {
          'customFields.tier': { from: 'Gold', to: null },
          'customFields.seats': { from: 3, to: 5 },
          'customFields.renewal_date': { from: null, to: '2027-01-01' },
        },
      },
      {
        type: 'CUSTOMER_CREATED',
        changes: {
          email: { from: null, to: 'audit@example.com' },
          type: { from: null, to: 'INDIVIDUAL' },
          status: { from: null, to: 'ACTIVE' },
          'customFields.tier': { from: null, to: 'Gold' },
          'customFields.seats': { from: null, to: 3 },
        },
      },
    ]);
  });
});

describe('filtering customers on custom fields', () => {
  async function seed() {
    await defineAllTypes(true);
    await defined({ key: 'private_note', label: 'Private', valueType: 'STRING', searchable: false });
    await createCustomer(env, {
      email: 'gold@example.com',
      customFields: [
        { key: 'tier', value: 'Gold' },
        { key: 'seats', value: 10 },
        { key: 'beta_tester', value: true },
        { key: 'renewal_date', value: '2027-03-01' },
        { key: 'private_note', value: 'secret' },
      ],
    });
    await createCustomer(env, {
      email: 'silver@example.com',
      customFields: [
        { key: 'tier', value: 'silver' },
        { key: 'seats', value: 2 },
        { key: 'beta_tester', value: false },
      ],
    });
    await createCustomer(env, { email: 'plain@example.com' });
  }

  test('customers filters on a searchable string field, case-insensitively and exactly', async () => {
    await seed();
    expect(await filtered([{ key: 'tier', value: 'gold' }])).toEqual(['gold@example.com']);
    expect(await filtered([{ key: 'tier', value: 'SILVER' }])).toEqual(['silver@example.com']);
    expect(await filtered([{ key: 'tier', value: 'gol' }])).toEqual([]);
  });

  test('customers filters on searchable number, boolean and date fields', async () => {
    await seed();
    expect(await filtered([{ key: 'seats', value: 2 }])).toEqual(['silver@example.com']);
    expect(await filtered([{ key: 'beta_tester', value: true }])).toEqual(['gold@example.com']);
    expect(await filtered([{ key: 'beta_tester', value: false }])).toEqual(['silver@example.com']);
    expect(await filtered([{ key: 'renewal_date', value: '2027-03-01' }])).toEqual(['gold@example.com']);
  });

  test('customers requires every custom field filter to match', async () => {
    await seed();
    expect(await filtered([{ key: 'tier', value: 'Gold' }, { key: 'seats', value: 10 }])).toEqual(['gold@example.com']);
    expect(await filtered([{ key: 'tier', value: 'Gold' }, { key: 'seats', value: 2 }])).toEqual([]);
  });

  test('customers filtering sees values changed and removed by updates', async () => {
    await seed();
    const silver = (await env.data<{ customerByEmail: { id: string } }>(`{ customerByEmail(email: "silver@example.com") { id } }`)).customerByEmail;
    await update({ id: silver.id, customFields: [{ key: 'tier', value: 'Gold' }] });
    expect(await filtered([{ key: 'tier', value: 'gold' }])).toEqual(['gold@example.com', 'silver@example.com']);
    await update({ id: silver.id, customFields: [{ key: 'tier', value: null }] });
    expect(await filtered([{ key: 'tier', value: 'gold' }])).toEqual(['gold@example.com']);
  });

  test('customers rejects a filter on a non-searchable field with BAD_USER_INPUT naming the key', async () => {
    await seed();
    const error = await filterError([{ key: 'private_note', value: 'secret' }]);
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('private_note');
    expect(error.message).toContain('not searchable');
  });

  test('customers rejects a filter on an unknown field with BAD_USER_INPUT naming the key', async () => {
    await seed();
    const error = await filterError([{ key: 'no_such_field', value: 'x' }]);
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('no_such_field');
  });

  test('customers rejects a filter value of the wrong type with BAD_USER_INPUT naming the key', async () => {
    await seed();
    const error = await filterError([{ key: 'seats', value: 'ten' }]);
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('seats');
  });

  test('making a field searchable makes the values set before filterable', async () => {
    await defined({ key: 'segment', label: 'Segment', valueType: 'STRING' });
    await createCustomer(env, { email: 'smb@example.com', customFields: [{ key: 'segment', value: 'SMB' }] });
    await createCustomer(env, { email: 'ent@example.com', customFields: [{ key: 'segment', value: 'Enterprise' }] });
    expect((await filterError([{ key: 'segment', value: 'smb' }])).extensions?.code).toBe('BAD_USER_INPUT');
    await defined({ key: 'segment', label: 'Segment', valueType: 'STRING', searchable: true });
    expect(await filtered([{ key: 'segment', value: 'smb' }])).toEqual(['smb@example.com']);
    expect(await filtered([{ key: 'segment', value: 'ENTERPRISE' }])).toEqual(['ent@example.com']);
  });

  test('making a field searchable and back again makes it unfilterable again', async () => {
    await defined({ key: 'segment', label: 'Segment', valueType: 'STRING', searchable: true });
    await createCustomer(env, { email: 'smb@example.com', customFields: [{ key: 'segment', value: 'SMB' }] });
    expect(await filtered([{ key: 'segment', value: 'smb' }])).toEqual(['smb@example.com']);
    await defined({ key: 'segment', label: 'Segment', valueType: 'STRING', searchable: false });
    const error = await filterError([{ key: 'segment', value: 'smb' }]);
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('segment');
  });

  test('customers filtering on a custom field never returns customers of another workspace', async () => {
    await defined({ key: 'tier', label: 'Tier', valueType: 'STRING', searchable: true });
    await define({ key: 'tier', label: 'Tier', valueType: 'STRING', searchable: true }, { key: env.b });
    await createCustomer(env, { email: 'mine@example.com', customFields: [{ key: 'tier', value: 'gold' }] });
    await createCustomer(env, { email: 'theirs@example.com', customFields: [{ key: 'tier', value: 'gold' }] }, { key: env.b });
    expect(await filtered([{ key: 'tier', value: 'gold' }])).toEqual(['mine@example.com']);
  });
});
