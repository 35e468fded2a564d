/**
 * Customer behaviour through the public GraphQL API: create, update, archive, restore, the
 * audit log they write, and the lookups. Every test runs against a fresh migrated database.
 */
import { createHash } from 'node:crypto';
import * as customersRepository from '../src/store/customers.repository';
import {
  createCustomer,
  createTestEnv,
  CUSTOMER_FIELDS,
  PUBLIC_URL,
  snapshot,
  USER_ERRORS,
  type CallerOptions,
  type TestEnv,
} from './helpers';

interface UserError {
  field: string[] | null;
  message: string;
  code: string;
}

interface Payload {
  customer: Record<string, any> | null;
  userErrors: UserError[];
}

const CREATE = `mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { ${CUSTOMER_FIELDS} } ${USER_ERRORS} }
}`;
const UPDATE = `mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { ${CUSTOMER_FIELDS} } ${USER_ERRORS} }
}`;
const ARCHIVE = `mutation($input: ArchiveCustomerInput!) {
  archiveCustomer(input: $input) { customer { ${CUSTOMER_FIELDS} } ${USER_ERRORS} }
}`;
const RESTORE = `mutation($input: RestoreCustomerInput!) {
  restoreCustomer(input: $input) { customer { ${CUSTOMER_FIELDS} } ${USER_ERRORS} }
}`;
const GET = `query($id: ID!) { customer(id: $id) { ${CUSTOMER_FIELDS} } }`;
const ACTIONS = `query($id: ID!) {
  customer(id: $id) { version actions(first: 10) { totalCount nodes { type actor via changes } } }
}`;

let env: TestEnv;

beforeEach(async () => {
  env = await createTestEnv();
});

afterEach(async () => {
  jest.restoreAllMocks();
  await env.close();
});

async function create(input: Record<string, unknown>, as?: Partial<CallerOptions>): Promise<Payload> {
  return (await env.data<{ createCustomer: Payload }>(CREATE, { input }, as)).createCustomer;
}

async function update(input: Record<string, unknown>, as?: Partial<CallerOptions>): Promise<Payload> {
  return (await env.data<{ updateCustomer: Payload }>(UPDATE, { input }, as)).updateCustomer;
}

async function archive(input: Record<string, unknown>, as?: Partial<CallerOptions>): Promise<Payload> {
  return (await env.data<{ archiveCustomer: Payload }>(ARCHIVE, { input }, as)).archiveCustomer;
}

async function restore(input: Record<string, unknown>, as?: Partial<CallerOptions>): Promise<Payload> {
  return (await env.data<{ restoreCustomer: Payload }>(RESTORE, { input }, as)).restoreCustomer;
}

async function get(id: string, as?: Partial<CallerOptions>): Promise<Record<string, any> | null> {
  return (await env.data<{ customer: Record<string, any> | null }>(GET, { id }, as)).customer;
}

interface ActionView {
  type: string;
  actor: string | null;
  via: string | null;
  changes: Record<string, { from: unknown; to: unknown }>;
}

async function actionsOf(id: string): Promise<{ version: number; totalCount: number; nodes: ActionView[] }> {
  const data = await env.data<{ customer: { version: number; actions: { totalCount: number; nodes: ActionView[] } } }>(ACTIONS, { id });
  return { version: data.customer.version, ...data.customer.actions };
}

/** (field, code) pairs, for comparing errors without their human-readable wording. */
function codes(errors: UserError[]): Array<[string[] | null, string]> {
  return errors.map((e) => [e.field, e.code]);
}

/** A DateTime field as an ISO string (the executor may hand back Date objects). */
function iso(value: unknown): string | null {
  return value === null || value === undefined ? null : new Date(value as string).toISOString();
}

function gravatar(email: string): string {
  return `https://www.gravatar.com/avatar/${createHash('sha256').update(email).digest('hex')}?d=404`;
}

/** A date `days` from today (UTC), as YYYY-MM-DD. */
function daysFromToday(days: number): string {
  return new Date(Date.now() + days * 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
}

const NOT_A_CUSTOMER = '0190a3c8-0000-7000-8000-000000000000';

describe('createCustomer', () => {
  test('createCustomer normalises the email to trimmed lower case', async () => {
    const { customer, userErrors } = await create({ email: '  Ada.Lovelace@Example.COM ' });
    expect(userErrors).toEqual([]);
    expect(customer?.email).toBe('ada.lovelace@example.com');
    expect(await get(customer?.id)).toMatchObject({ email: 'ada.lovelace@example.com' });
  });

  test('createCustomer defaults name to first and last name joined', async () => {
    const customer = await createCustomer(env, { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' });
    expect(customer).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', name: 'Ada Lovelace' });
  });

  test('createCustomer keeps an explicit name over first and last name', async () => {
    const customer = await createCustomer(env, {
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      name: 'Countess of Lovelace',
    });
    expect(customer.name).toBe('Countess of Lovelace');
    expect((await get(customer.id))?.name).toBe('Countess of Lovelace');
  });

  test('createCustomer stores a phone number with a country code in E.164 and derives phoneCountry', async () => {
    const customer = await createCustomer(env, { email: 'gb@example.com', phone: '+44 20 7946 0958' });
    expect(customer).toMatchObject({ phone: '+442079460958', phoneCountry: 'GB' });
  });

  test('createCustomer reads a phone number without a country code in the billing address country', async () => {
    const customer = await createCustomer(env, {
      email: 'us@example.com',
      phone: '415-555-2671',
      billingAddress: { country: 'US' },
    });
    expect(customer).toMatchObject({ phone: '+14155552671', phoneCountry: 'US' });
  });

  test('createCustomer converts an alpha-3 billing country and a prefixed state to their short codes', async () => {
    const customer = await createCustomer(env, {
      email: 'wi@example.com',
      billingAddress: { line1: '1 Main St', line2: 'Apt 2', city: 'Madison', state: 'US-WI', postalCode: '53703', country: 'USA' },
    });
    expect(customer.billingAddress).toEqual({
      line1: '1 Main St',
      line2: 'Apt 2',
      city: 'Madison',
      state: 'WI',
      postalCode: '53703',
      country: 'US',
    });
  });

  test('createCustomer accepts a bare subdivision code as the state', async () => {
    const customer = await createCustomer(env, { email: 'wi@example.com', billingAddress: { state: 'wi', country: 'us' } });
    expect(customer.billingAddress).toEqual({ line1: null, line2: null, city: null, state: 'WI', postalCode: null, country: 'US' });
  });

  test('createCustomer falls back to the Gravatar URL of the normalised email for avatarUrl', async () => {
    const customer = await createCustomer(env, { email: ' Grace@Example.com' });
    expect(customer.avatarUrl).toBe(gravatar('grace@example.com'));
  });

  test('createCustomer keeps an explicit avatarUrl over the Gravatar fallback', async () => {
    const customer = await createCustomer(env, { email: 'grace@example.com', avatarUrl: 'https://cdn.example.com/a/grace.png' });
    expect(customer.avatarUrl).toBe('https://cdn.example.com/a/grace.png');
  });

  test('createCustomer builds the agent url from PUBLIC_URL and starts at version 1, ACTIVE, INDIVIDUAL', async () => {
    const customer = await createCustomer(env, { email: 'new@example.com' });
    expect(customer.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(customer).toMatchObject({
      url: `${PUBLIC_URL}/customers/${customer.id}`,
      version: 1,
      status: 'ACTIVE',
      type: 'INDIVIDUAL',
      emailVerified: false,
      unsubscribed: false,
      metadata: {},
      customFields: [],
      signInCount: 0,
      netRevenue: null,
      archivedAt: null,
      archivedBy: null,
      archivedVia: null,
      archiveReason: null,
      externalId: null,
      name: null,
      phone: null,
      phoneCountry: null,
      billingAddress: null,
    });
    expect(iso(customer.createdAt)).toBe(iso(customer.updatedAt));
  });

  test('createCustomer keeps an explicit TEAM type', async () => {
    const customer = await createCustomer(env, { email: 'team@example.com', type: 'TEAM' });
    expect(customer.type).toBe('TEAM');
  });

  test('createCustomer round-trips metadata, profile and socials', async () => {
    const metadata = { plan: 'pro', seats: 5, trial: false, ratio: 0.25 };
    const profile = {
      bio: 'Writes the first programs',
      location: 'London',
      website: 'https://ada.example.com/about',
      socials: { twitter: '@ada', facebook: 'ada.lovelace', instagram: 'ada_l' },
    };
    const customer = await createCustomer(env, { email: 'ada@example.com', metadata, profile });
    expect(customer.metadata).toEqual(metadata);
    expect(customer.profile).toEqual(profile);
    const read = await get(customer.id);
    expect(read?.metadata).toEqual(metadata);
    expect(read?.profile).toEqual(profile);
  });

  test('createCustomer round-trips the plain fields', async () => {
    const customer = await createCustomer(env, {
      email: 'plain@example.com',
      externalId: 'crm-1',
      birthDate: '1990-05-17',
      gender: 'non-binary',
      emailVerified: true,
      unsubscribed: true,
      internalNote: 'VIP: call before shipping',
    });
    expect(await get(customer.id)).toMatchObject({
      externalId: 'crm-1',
      birthDate: '1990-05-17',
      gender: 'non-binary',
      emailVerified: true,
      unsubscribed: true,
      internalNote: 'VIP: call before shipping',
    });
  });

  test('createCustomer records the acting agent and channel as createdBy/createdVia and updatedBy/updatedVia', async () => {
    const customer = await createCustomer(env, { email: 'agent@example.com' }, { actor: 'agent@x', via: 'crm' });
    expect(customer).toMatchObject({ createdBy: 'agent@x', createdVia: 'crm', updatedBy: 'agent@x', updatedVia: 'crm' });
  });

  test('createCustomer defaults the actor to the API key name and the channel to api', async () => {
    const customer = await createCustomer(env, { email: 'default@example.com' });
    expect(customer).toMatchObject({ createdBy: 'alpha-test', createdVia: 'api', updatedBy: 'alpha-test', updatedVia: 'api' });
  });

  test('createCustomer writes a CUSTOMER_CREATED action with every set field changed from null', async () => {
    const customer = await createCustomer(
      env,
      { email: 'Audit@Example.com', firstName: 'Ada', externalId: 'ext-9', metadata: { plan: 'pro' } },
      { actor: 'agent@x', via: 'crm' },
    );
    const log = await actionsOf(customer.id);
    expect(log.totalCount).toBe(1);
    expect(log.nodes).toEqual([
      {
        type: 'CUSTOMER_CREATED',
        actor: 'agent@x',
        via: 'crm',
        changes: {
          email: { from: null, to: 'audit@example.com' },
          externalId: { from: null, to: 'ext-9' },
          firstName: { from: null, to: 'Ada' },
          metadata: { from: null, to: { plan: 'pro' } },
          type: { from: null, to: 'INDIVIDUAL' },
          status: { from: null, to: 'ACTIVE' },
        },
      },
    ]);
  });

  test('createCustomer allows an email that a customer of another workspace already uses', async () => {
    await createCustomer(env, { email: 'shared@example.com', externalId: 'shared-1' });
    const other = await createCustomer(env, { email: 'shared@example.com', externalId: 'shared-1' }, { key: env.b });
    expect(other.email).toBe('shared@example.com');
  });
});

describe('customer mutation errors', () => {
  async function rejectedCreate(input: Record<string, unknown>): Promise<Array<[string[] | null, string]>> {
    const before = await snapshot(env.store);
    const { customer, userErrors } = await create({ email: 'someone@example.com', ...input });
    expect(customer).toBeNull();
    expect(await snapshot(env.store)).toEqual(before);
    return codes(userErrors);
  }

  test('createCustomer rejects an empty email as REQUIRED', async () => {
    expect(await rejectedCreate({ email: '   ' })).toEqual([[['email'], 'REQUIRED']]);
  });

  test('createCustomer rejects a malformed email as INVALID', async () => {
    expect(await rejectedCreate({ email: 'not-an-email' })).toEqual([[['email'], 'INVALID']]);
    expect(await rejectedCreate({ email: 'two@@example.com' })).toEqual([[['email'], 'INVALID']]);
  });

  test('createCustomer rejects an unparseable phone number as INVALID', async () => {
    expect(await rejectedCreate({ phone: '12' })).toEqual([[['phone'], 'INVALID']]);
  });

  test('createCustomer rejects a phone number without country code when there is no billing country', async () => {
    expect(await rejectedCreate({ phone: '415-555-2671' })).toEqual([[['phone'], 'INVALID']]);
  });

  test('createCustomer rejects an unknown billing country as INVALID', async () => {
    expect(await rejectedCreate({ billingAddress: { country: 'XX' } })).toEqual([[['billingAddress', 'country'], 'INVALID']]);
  });

  test('createCustomer rejects a state that is not a subdivision of the country as INVALID', async () => {
    expect(await rejectedCreate({ billingAddress: { state: 'ZZ', country: 'US' } })).toEqual([[['billingAddress', 'state'], 'INVALID']]);
    // A real subdivision, but of another country.
    expect(await rejectedCreate({ billingAddress: { state: 'CA-ON', country: 'US' } })).toEqual([[['billingAddress', 'state'], 'INVALID']]);
  });

  test('createCustomer rejects a birthDate in the future as INVALID', async () => {
    expect(await rejectedCreate({ birthDate: daysFromToday(3) })).toEqual([[['birthDate'], 'INVALID']]);
  });

  test('createCustomer rejects an avatarUrl that is not an absolute http(s) URL as INVALID', async () => {
    expect(await rejectedCreate({ avatarUrl: 'not a url' })).toEqual([[['avatarUrl'], 'INVALID']]);
    expect(await rejectedCreate({ avatarUrl: 'ftp://files.example.com/a.png' })).toEqual([[['avatarUrl'], 'INVALID']]);
    expect(await rejectedCreate({ avatarUrl: '/relative/a.png' })).toEqual([[['avatarUrl'], 'INVALID']]);
  });

  test('createCustomer rejects a metadata value that is an object as INVALID on that key', async () => {
    expect(await rejectedCreate({ metadata: { ok: 'yes', nested: { a: 1 } } })).toEqual([[['metadata', 'nested'], 'INVALID']]);
  });

  test('createCustomer rejects metadata with more than 50 keys as LIMIT_EXCEEDED', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
    expect(await rejectedCreate({ metadata })).toEqual([[['metadata'], 'LIMIT_EXCEEDED']]);
  });

  test('createCustomer accepts metadata with exactly 50 keys', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    const customer = await createCustomer(env, { email: 'fifty@example.com', metadata });
    expect(Object.keys(customer.metadata)).toHaveLength(50);
  });

  test('createCustomer rejects an unknown custom field key as INVALID', async () => {
    expect(await rejectedCreate({ customFields: [{ key: 'no_such_field', value: 'x' }] })).toEqual([
      [['customFields', '0', 'key'], 'INVALID'],
    ]);
  });

  test('createCustomer rejects a custom field value of the wrong type as INVALID', async () => {
    await env.data(`mutation { defineCustomField(input: { key: "seats", label: "Seats", valueType: NUMBER }) { userErrors { code } } }`);
    expect(await rejectedCreate({ customFields: [{ key: 'seats', value: 'five' }] })).toEqual([
      [['customFields', '0', 'value'], 'INVALID'],
    ]);
  });

  test('createCustomer rejects a firstName of 257 characters as TOO_LONG and accepts 256', async () => {
    expect(await rejectedCreate({ firstName: 'a'.repeat(257) })).toEqual([[['firstName'], 'TOO_LONG']]);
    const customer = await createCustomer(env, { email: 'long@example.com', firstName: 'a'.repeat(256) });
    expect(customer.firstName).toHaveLength(256);
  });

  test('createCustomer rejects an internalNote of 10001 characters as TOO_LONG', async () => {
    expect(await rejectedCreate({ internalNote: 'n'.repeat(10001) })).toEqual([[['internalNote'], 'TOO_LONG']]);
  });

  test('createCustomer rejects the email of another customer as TAKEN, whatever its case', async () => {
    await createCustomer(env, { email: 'taken@example.com' });
    expect(await rejectedCreate({ email: ' TAKEN@Example.com ' })).toEqual([[['email'], 'TAKEN']]);
  });

  test('createCustomer rejects the externalId of another customer as TAKEN', async () => {
    await createCustomer(env, { email: 'first@example.com', externalId: 'ext-1' });
    expect(await rejectedCreate({ externalId: 'ext-1' })).toEqual([[['externalId'], 'TAKEN']]);
  });

  test('updateCustomer rejects email: null as REQUIRED and keeps the email', async () => {
    const customer = await createCustomer(env, { email: 'keep@example.com' });
    const { userErrors } = await update({ id: customer.id, email: null });
    expect(codes(userErrors)).toEqual([[['email'], 'REQUIRED']]);
    expect(await get(customer.id)).toMatchObject({ email: 'keep@example.com', version: 1 });
  });

  test('updateCustomer rejects the email of another customer as TAKEN, whatever its case', async () => {
    await createCustomer(env, { email: 'one@example.com' });
    const two = await createCustomer(env, { email: 'two@example.com' });
    const { userErrors } = await update({ id: two.id, email: 'ONE@example.com' });
    expect(codes(userErrors)).toEqual([[['email'], 'TAKEN']]);
    expect(await get(two.id)).toMatchObject({ email: 'two@example.com', version: 1 });
  });

  test('updateCustomer accepts a change of case of its own email as a no-op', async () => {
    const customer = await createCustomer(env, { email: 'self@example.com' });
    const { customer: after, userErrors } = await update({ id: customer.id, email: 'SELF@Example.com' });
    expect(userErrors).toEqual([]);
    expect(after).toMatchObject({ email: 'self@example.com', version: 1 });
  });

  test('updateCustomer rejects the externalId of another customer as TAKEN', async () => {
    await createCustomer(env, { email: 'one@example.com', externalId: 'ext-1' });
    const two = await createCustomer(env, { email: 'two@example.com' });
    const { userErrors } = await update({ id: two.id, externalId: 'ext-1' });
    expect(codes(userErrors)).toEqual([[['externalId'], 'TAKEN']]);
    expect((await get(two.id))?.externalId).toBeNull();
  });

  test('updateCustomer sets an externalId that was null', async () => {
    const customer = await createCustomer(env, { email: 'late@example.com' });
    const { customer: after, userErrors } = await update({ id: customer.id, externalId: 'ext-late' });
    expect(userErrors).toEqual([]);
    expect(after).toMatchObject({ externalId: 'ext-late', version: 2 });
  });

  test('updateCustomer rejects changing an externalId once set as IMMUTABLE', async () => {
    const customer = await createCustomer(env, { email: 'fixed@example.com', externalId: 'ext-1' });
    const { userErrors } = await update({ id: customer.id, externalId: 'ext-2' });
    expect(codes(userErrors)).toEqual([[['externalId'], 'IMMUTABLE']]);
    expect(await get(customer.id)).toMatchObject({ externalId: 'ext-1', version: 1 });
  });

  test('updateCustomer rejects clearing an externalId once set as IMMUTABLE', async () => {
    const customer = await createCustomer(env, { email: 'fixed@example.com', externalId: 'ext-1' });
    const { userErrors } = await update({ id: customer.id, externalId: null });
    expect(codes(userErrors)).toEqual([[['externalId'], 'IMMUTABLE']]);
    expect(await get(customer.id)).toMatchObject({ externalId: 'ext-1', version: 1 });
  });

  test('updateCustomer accepts the externalId it already has', async () => {
    const customer = await createCustomer(env, { email: 'fixed@example.com', externalId: 'ext-1' });
    const { customer: after, userErrors } = await update({ id: customer.id, externalId: 'ext-1' });
    expect(userErrors).toEqual([]);
    expect(after).toMatchObject({ externalId: 'ext-1', version: 1 });
  });

  test('updateCustomer, archiveCustomer and restoreCustomer report NOT_FOUND for an unknown id', async () => {
    const before = await snapshot(env.store);
    for (const run of [
      () => update({ id: NOT_A_CUSTOMER, firstName: 'X' }),
      () => archive({ id: NOT_A_CUSTOMER }),
      () => restore({ id: NOT_A_CUSTOMER }),
    ]) {
      const { customer, userErrors } = await run();
      expect(customer).toBeNull();
      expect(codes(userErrors)).toEqual([[['id'], 'NOT_FOUND']]);
    }
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('updateCustomer, archiveCustomer and restoreCustomer report NOT_FOUND for an id that is not a UUID', async () => {
    for (const run of [
      () => update({ id: 'not-a-uuid', firstName: 'X' }),
      () => archive({ id: 'not-a-uuid' }),
      () => restore({ id: 'not-a-uuid' }),
    ]) {
      const { customer, userErrors } = await run();
      expect(customer).toBeNull();
      expect(codes(userErrors)).toEqual([[['id'], 'NOT_FOUND']]);
    }
  });

  test('updateCustomer reports NOT_FOUND for a customer of another workspace and leaves it alone', async () => {
    const theirs = await createCustomer(env, { email: 'theirs@example.com' }, { key: env.b });
    const { customer, userErrors } = await update({ id: theirs.id, firstName: 'Mine' });
    expect(customer).toBeNull();
    expect(codes(userErrors)).toEqual([[['id'], 'NOT_FOUND']]);
    expect(await get(theirs.id, { key: env.b })).toMatchObject({ firstName: null, version: 1 });
  });

  test('updateCustomer with a stale expectedVersion reports VERSION_CONFLICT and writes nothing', async () => {
    const customer = await createCustomer(env, { email: 'v@example.com' });
    expect((await update({ id: customer.id, expectedVersion: 1, firstName: 'First' })).userErrors).toEqual([]);
    const before = await snapshot(env.store);
    const { userErrors } = await update({ id: customer.id, expectedVersion: 1, firstName: 'Second' });
    expect(codes(userErrors)).toEqual([[['expectedVersion'], 'VERSION_CONFLICT']]);
    expect(await snapshot(env.store)).toEqual(before);
    expect(await get(customer.id)).toMatchObject({ firstName: 'First', version: 2 });
  });

  test('archiveCustomer and restoreCustomer with a stale expectedVersion report VERSION_CONFLICT', async () => {
    const customer = await createCustomer(env, { email: 'v@example.com' });
    await update({ id: customer.id, firstName: 'Bumped' });
    const archived = await archive({ id: customer.id, expectedVersion: 1 });
    expect(codes(archived.userErrors)).toEqual([[['expectedVersion'], 'VERSION_CONFLICT']]);
    expect((await get(customer.id))?.status).toBe('ACTIVE');
    expect((await archive({ id: customer.id, expectedVersion: 2 })).userErrors).toEqual([]);
    const restored = await restore({ id: customer.id, expectedVersion: 2 });
    expect(codes(restored.userErrors)).toEqual([[['expectedVersion'], 'VERSION_CONFLICT']]);
    expect((await get(customer.id))?.status).toBe('ARCHIVED');
  });

  test('archiveCustomer of an archived customer is INVALID and writes nothing', async () => {
    const customer = await createCustomer(env, { email: 'twice@example.com' });
    expect((await archive({ id: customer.id })).userErrors).toEqual([]);
    const before = await snapshot(env.store);
    const { userErrors } = await archive({ id: customer.id, reason: 'again' });
    expect(codes(userErrors)).toEqual([[['id'], 'INVALID']]);
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('restoreCustomer of an active customer is INVALID and writes nothing', async () => {
    const customer = await createCustomer(env, { email: 'active@example.com' });
    const before = await snapshot(env.store);
    const { userErrors } = await restore({ id: customer.id });
    expect(codes(userErrors)).toEqual([[['id'], 'INVALID']]);
    expect(await snapshot(env.store)).toEqual(before);
  });
});

describe('every invalid field at once', () => {
  test('createCustomer reports every invalid field at once and writes nothing', async () => {
    await createCustomer(env, { email: 'taken@example.com' });
    const before = await snapshot(env.store);
    const { customer, userErrors } = await create({
      email: 'Taken@example.com',
      firstName: 'f'.repeat(257),
      phone: 'call me',
      birthDate: daysFromToday(30),
      avatarUrl: 'nope',
      billingAddress: { state: 'XX', country: 'US' },
      metadata: { deep: { a: 1 } },
      customFields: [{ key: 'unknown_field', value: 1 }],
    });
    expect(customer).toBeNull();
    const reported = codes(userErrors);
    expect(reported).toHaveLength(8);
    expect(reported).toEqual(
      expect.arrayContaining([
        [['email'], 'TAKEN'],
        [['firstName'], 'TOO_LONG'],
        [['phone'], 'INVALID'],
        [['birthDate'], 'INVALID'],
        [['avatarUrl'], 'INVALID'],
        [['billingAddress', 'state'], 'INVALID'],
        [['metadata', 'deep'], 'INVALID'],
        [['customFields', '0', 'key'], 'INVALID'],
      ]),
    );
    for (const error of userErrors) expect(error.message).not.toBe('');
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('updateCustomer reports every invalid field at once, writes nothing and keeps the version', async () => {
    await createCustomer(env, { email: 'other@example.com', externalId: 'other-ext' });
    const customer = await createCustomer(env, { email: 'me@example.com', externalId: 'my-ext', firstName: 'Me' });
    const before = await snapshot(env.store);
    const { customer: returned, userErrors } = await update({
      id: customer.id,
      expectedVersion: 7,
      email: 'OTHER@example.com',
      externalId: 'changed',
      firstName: 'Valid change',
      internalNote: 'x'.repeat(10001),
      billingAddress: { state: 'WI', country: 'Atlantis' },
      metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])),
    });
    expect(codes(userErrors)).toEqual(
      expect.arrayContaining([
        [['expectedVersion'], 'VERSION_CONFLICT'],
        [['email'], 'TAKEN'],
        [['externalId'], 'IMMUTABLE'],
        [['internalNote'], 'TOO_LONG'],
        [['billingAddress', 'country'], 'INVALID'],
        [['metadata'], 'LIMIT_EXCEEDED'],
      ]),
    );
    expect(userErrors).toHaveLength(6);
    // The payload shows the customer as it still is.
    expect(returned).toMatchObject({ email: 'me@example.com', firstName: 'Me', version: 1 });
    expect(await snapshot(env.store)).toEqual(before);
    expect(await get(customer.id)).toMatchObject({ email: 'me@example.com', externalId: 'my-ext', firstName: 'Me', version: 1 });
  });
});

describe('uniqueness under a race', () => {
  test('createCustomer turns a unique-index violation the pre-check missed into TAKEN on email and writes nothing', async () => {
    await createCustomer(env, { email: 'race@example.com' });
    const original = customersRepository.findCustomersBy;
    const spy = jest
      .spyOn(customersRepository, 'findCustomersBy')
      .mockImplementation((db, workspaceId, column, values) => (column === 'email' ? Promise.resolve([]) : original(db, workspaceId, column, values)));
    const before = await snapshot(env.store);
    const result = await env.exec<{ createCustomer: Payload }>(CREATE, { input: { email: 'Race@example.com', firstName: 'Late' } });
    expect(spy).toHaveBeenCalledWith(expect.anything(), expect.any(String), 'email', ['race@example.com']);
    spy.mockRestore();
    expect(result.errors).toBeUndefined();
    expect(result.data?.createCustomer.customer).toBeNull();
    expect(codes(result.data?.createCustomer.userErrors ?? [])).toEqual([[['email'], 'TAKEN']]);
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('updateCustomer turns a unique-index violation on externalId the pre-check missed into TAKEN', async () => {
    await createCustomer(env, { email: 'a@example.com', externalId: 'ext-race' });
    const b = await createCustomer(env, { email: 'b@example.com' });
    const original = customersRepository.findCustomersBy;
    const spy = jest
      .spyOn(customersRepository, 'findCustomersBy')
      .mockImplementation((db, workspaceId, column, values) =>
        column === 'external_id' ? Promise.resolve([]) : original(db, workspaceId, column, values),
      );
    const before = await snapshot(env.store);
    const result = await env.exec<{ updateCustomer: Payload }>(UPDATE, { input: { id: b.id, externalId: 'ext-race' } });
    expect(spy).toHaveBeenCalledWith(expect.anything(), expect.any(String), 'external_id', ['ext-race']);
    spy.mockRestore();
    expect(result.errors).toBeUndefined();
    expect(codes(result.data?.updateCustomer.userErrors ?? [])).toEqual([[['externalId'], 'TAKEN']]);
    expect(await snapshot(env.store)).toEqual(before);
  });
});
