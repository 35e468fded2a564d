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

  test('createCustomer rejects a metadata key over 40 characters and a string value over 500 as TOO_LONG', async () => {
    expect(await rejectedCreate({ metadata: { ['k'.repeat(41)]: 'v', ok: 'x'.repeat(501) } })).toEqual([
      [['metadata', 'k'.repeat(41)], 'TOO_LONG'],
      [['metadata', 'ok'], 'TOO_LONG'],
    ]);
  });

  test('createCustomer rejects a birthDate before 1900 as INVALID and accepts today', async () => {
    expect(await rejectedCreate({ birthDate: '1899-12-31' })).toEqual([[['birthDate'], 'INVALID']]);
    const customer = await createCustomer(env, { email: 'today@example.com', birthDate: daysFromToday(0) });
    expect(customer.birthDate).toBe(daysFromToday(0));
  });

  test('createCustomer rejects an email longer than 254 characters as TOO_LONG', async () => {
    expect(await rejectedCreate({ email: `${'a'.repeat(64)}@${'b'.repeat(190)}.com` })).toEqual([[['email'], 'TOO_LONG']]);
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
    expect(result.errors).toBeUndefined();
    expect(codes(result.data?.updateCustomer.userErrors ?? [])).toEqual([[['externalId'], 'TAKEN']]);
    expect(await snapshot(env.store)).toEqual(before);
  });
});

describe('updateCustomer partial semantics', () => {
  async function fullCustomer() {
    return createCustomer(env, {
      email: 'full@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      phone: '+14155552671',
      gender: 'female',
      internalNote: 'note',
      billingAddress: { city: 'Madison', state: 'WI', country: 'US' },
      metadata: { plan: 'pro' },
      profile: { bio: 'old bio', location: 'London', website: 'https://ada.example.com/home', socials: { twitter: '@ada', instagram: 'ada_i' } },
    });
  }

  test('updateCustomer leaves omitted fields untouched', async () => {
    const customer = await fullCustomer();
    const { customer: after, userErrors } = await update({ id: customer.id, gender: 'woman' });
    expect(userErrors).toEqual([]);
    const { gender, version, updatedAt, ...rest } = after ?? {};
    const { gender: oldGender, version: oldVersion, updatedAt: oldUpdatedAt, ...oldRest } = customer;
    expect([gender, oldGender, version, oldVersion]).toEqual(['woman', 'female', 2, 1]);
    expect(rest).toEqual(oldRest);
    void updatedAt;
    void oldUpdatedAt;
  });

  test('updateCustomer with firstName: null clears it and recomputes the display name', async () => {
    const customer = await fullCustomer();
    const { customer: after } = await update({ id: customer.id, firstName: null });
    expect(after).toMatchObject({ firstName: null, lastName: 'Lovelace', name: 'Lovelace' });
    expect(await get(customer.id)).toMatchObject({ firstName: null, name: 'Lovelace' });
  });

  test('updateCustomer with name: null falls back to first and last name', async () => {
    const customer = await createCustomer(env, { email: 'n@example.com', firstName: 'Ada', lastName: 'Lovelace', name: 'Countess' });
    const { customer: after } = await update({ id: customer.id, name: null });
    expect(after).toMatchObject({ name: 'Ada Lovelace', version: 2 });
  });

  test('updateCustomer with billingAddress: null removes the address', async () => {
    const customer = await fullCustomer();
    const { customer: after } = await update({ id: customer.id, billingAddress: null });
    expect(after?.billingAddress).toBeNull();
    expect((await get(customer.id))?.billingAddress).toBeNull();
  });

  test('updateCustomer replaces the whole billing address', async () => {
    const customer = await fullCustomer();
    const { customer: after } = await update({ id: customer.id, billingAddress: { line1: '10 Downing St', country: 'GBR' } });
    expect(after?.billingAddress).toEqual({ line1: '10 Downing St', line2: null, city: null, state: null, postalCode: null, country: 'GB' });
  });

  test('updateCustomer with metadata: null empties it', async () => {
    const customer = await fullCustomer();
    const { customer: after } = await update({ id: customer.id, metadata: null });
    expect(after?.metadata).toEqual({});
    expect((await get(customer.id))?.metadata).toEqual({});
  });

  test('updateCustomer replaces the whole metadata object', async () => {
    const customer = await fullCustomer();
    const { customer: after } = await update({ id: customer.id, metadata: { seats: 3 } });
    expect(after?.metadata).toEqual({ seats: 3 });
  });

  test('updateCustomer merges the profile: setting bio keeps location, website and socials', async () => {
    const customer = await fullCustomer();
    const { customer: after } = await update({ id: customer.id, profile: { bio: 'new bio', socials: { facebook: 'ada.fb' } } });
    expect(after?.profile).toEqual({
      bio: 'new bio',
      location: 'London',
      website: 'https://ada.example.com/home',
      socials: { twitter: '@ada', facebook: 'ada.fb', instagram: 'ada_i' },
    });
  });

  test('updateCustomer with the URLs exactly as read back changes nothing', async () => {
    const customer = await createCustomer(env, {
      email: 'urls@example.com',
      avatarUrl: 'https://cdn.example.com',
      profile: { website: 'https://ada.example.com' },
    });
    const { customer: after, userErrors } = await update({
      id: customer.id,
      avatarUrl: customer.avatarUrl,
      profile: { website: customer.profile.website },
    });
    expect(userErrors).toEqual([]);
    expect(after?.version).toBe(1);
    expect((await actionsOf(customer.id)).nodes.map((a) => a.type)).toEqual(['CUSTOMER_CREATED']);
  });

  test('createCustomer reads back a URL exactly as it was sent', async () => {
    const customer = await createCustomer(env, {
      email: 'urls@example.com',
      avatarUrl: 'https://cdn.example.com',
      profile: { website: 'https://ada.example.com' },
    });
    expect(customer.avatarUrl).toBe('https://cdn.example.com');
    expect(customer.profile.website).toBe('https://ada.example.com');
  });

  test('updateCustomer with phone: null clears the phone and its country', async () => {
    const customer = await fullCustomer();
    expect(customer).toMatchObject({ phone: '+14155552671', phoneCountry: 'US' });
    const { customer: after } = await update({ id: customer.id, phone: null });
    expect(after).toMatchObject({ phone: null, phoneCountry: null });
    expect(await get(customer.id)).toMatchObject({ phone: null, phoneCountry: null });
  });

  test('updateCustomer with a new email moves the Gravatar fallback to the new email', async () => {
    const customer = await createCustomer(env, { email: 'old@example.com' });
    const { customer: after } = await update({ id: customer.id, email: 'New@Example.com' });
    expect(after).toMatchObject({ email: 'new@example.com', avatarUrl: gravatar('new@example.com'), version: 2 });
  });

  test('updateCustomer with avatarUrl: null falls back to the Gravatar URL again', async () => {
    const customer = await createCustomer(env, { email: 'pic@example.com', avatarUrl: 'https://cdn.example.com/pic.png' });
    const { customer: after } = await update({ id: customer.id, avatarUrl: null });
    expect(after?.avatarUrl).toBe(gravatar('pic@example.com'));
  });

  test('updateCustomer re-reads a national phone number in the billing country given in the same update', async () => {
    const customer = await createCustomer(env, { email: 'phone@example.com' });
    const { customer: after, userErrors } = await update({
      id: customer.id,
      phone: '020 7946 0958',
      billingAddress: { country: 'GB' },
    });
    expect(userErrors).toEqual([]);
    expect(after).toMatchObject({ phone: '+442079460958', phoneCountry: 'GB' });
  });

  test('updateCustomer bumps the version by exactly one per change and stamps updatedBy/updatedVia', async () => {
    const customer = await createCustomer(env, { email: 'v@example.com' }, { actor: 'creator', via: 'import' });
    const first = await update({ id: customer.id, firstName: 'One' }, { actor: 'agent@x', via: 'crm' });
    expect(first.customer).toMatchObject({ version: 2, updatedBy: 'agent@x', updatedVia: 'crm', createdBy: 'creator', createdVia: 'import' });
    const second = await update({ id: customer.id, firstName: 'Two', lastName: 'Three', expectedVersion: 2 });
    expect(second.customer).toMatchObject({ version: 3, updatedBy: 'alpha-test', updatedVia: 'api' });
    expect(iso(second.customer?.createdAt)).toBe(iso(customer.createdAt));
    expect(await get(customer.id)).toMatchObject({ firstName: 'Two', lastName: 'Three', version: 3 });
  });

  test('updateCustomer that changes nothing keeps the version and writes no action', async () => {
    const customer = await fullCustomer();
    const before = await snapshot(env.store);
    const { customer: after, userErrors } = await update(
      {
        id: customer.id,
        email: ' FULL@example.com',
        firstName: 'Ada',
        phone: '(415) 555-2671',
        billingAddress: { city: 'Madison', state: 'US-WI', country: 'USA' },
        metadata: { plan: 'pro' },
        profile: { bio: 'old bio' },
      },
      { actor: 'someone-else', via: 'crm' },
    );
    expect(userErrors).toEqual([]);
    expect(after).toMatchObject({ version: 1, updatedBy: 'alpha-test', updatedVia: 'api' });
    expect(await snapshot(env.store)).toEqual(before);
    const log = await actionsOf(customer.id);
    expect(log.nodes.map((a) => a.type)).toEqual(['CUSTOMER_CREATED']);
  });

  test('updateCustomer writes CUSTOMER_UPDATED with only the fields that changed', async () => {
    const customer = await fullCustomer();
    await update({ id: customer.id, firstName: 'Augusta', lastName: 'Lovelace', profile: { bio: 'new bio', location: 'London' } }, { actor: 'agent@x', via: 'crm' });
    const log = await actionsOf(customer.id);
    expect(log.totalCount).toBe(2);
    expect(log.nodes[0]).toEqual({
      type: 'CUSTOMER_UPDATED',
      actor: 'agent@x',
      via: 'crm',
      changes: {
        firstName: { from: 'Ada', to: 'Augusta' },
        'profile.bio': { from: 'old bio', to: 'new bio' },
      },
    });
    expect(log.nodes[1].type).toBe('CUSTOMER_CREATED');
  });

  test('updateCustomer records cleared fields in the audit log as changed to null', async () => {
    const customer = await fullCustomer();
    await update({ id: customer.id, billingAddress: null, metadata: null });
    const [latest] = (await actionsOf(customer.id)).nodes;
    expect(latest.changes).toEqual({
      billingAddress: {
        from: { line1: null, line2: null, city: 'Madison', state: 'WI', postalCode: null, country: 'US' },
        to: null,
      },
      metadata: { from: { plan: 'pro' }, to: {} },
    });
  });
});

describe('archiveCustomer and restoreCustomer', () => {
  const LIST = `query($filter: CustomerFilter) { customers(filter: $filter) { totalCount nodes { id email status } } }`;

  async function listed(filter?: Record<string, unknown>): Promise<{ totalCount: number; emails: string[] }> {
    const data = await env.data<{ customers: { totalCount: number; nodes: { email: string }[] } }>(LIST, { filter });
    return { totalCount: data.customers.totalCount, emails: data.customers.nodes.map((n) => n.email).sort() };
  }

  test('archiveCustomer marks the customer ARCHIVED with who, when, through what and why', async () => {
    const customer = await createCustomer(env, { email: 'gone@example.com' });
    const started = Date.now();
    const { customer: archived, userErrors } = await archive({ id: customer.id, reason: 'asked to be forgotten' }, { actor: 'agent@x', via: 'crm' });
    expect(userErrors).toEqual([]);
    expect(archived).toMatchObject({
      status: 'ARCHIVED',
      archivedBy: 'agent@x',
      archivedVia: 'crm',
      archiveReason: 'asked to be forgotten',
      updatedBy: 'agent@x',
      updatedVia: 'crm',
      version: 2,
    });
    const at = new Date(archived?.archivedAt).getTime();
    expect(at).toBeGreaterThanOrEqual(started - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await get(customer.id)).toMatchObject({ status: 'ARCHIVED', archivedBy: 'agent@x', archiveReason: 'asked to be forgotten' });
  });

  test('archived customers are hidden from customers by default but listed with status ARCHIVED and found by id', async () => {
    await createCustomer(env, { email: 'stays@example.com' });
    const gone = await createCustomer(env, { email: 'gone@example.com' });
    await archive({ id: gone.id });
    expect(await listed()).toEqual({ totalCount: 1, emails: ['stays@example.com'] });
    expect(await listed({ status: ['ARCHIVED'] })).toEqual({ totalCount: 1, emails: ['gone@example.com'] });
    expect(await listed({ status: ['ACTIVE', 'ARCHIVED'] })).toEqual({ totalCount: 2, emails: ['gone@example.com', 'stays@example.com'] });
    expect(await get(gone.id)).toMatchObject({ email: 'gone@example.com', status: 'ARCHIVED' });
  });

  test('an archived customer keeps its email claim', async () => {
    const gone = await createCustomer(env, { email: 'gone@example.com' });
    await archive({ id: gone.id });
    const { userErrors } = await create({ email: 'gone@example.com' });
    expect(codes(userErrors)).toEqual([[['email'], 'TAKEN']]);
  });

  test('restoreCustomer makes the customer ACTIVE again and clears the archive fields', async () => {
    const customer = await createCustomer(env, { email: 'back@example.com' });
    await archive({ id: customer.id, reason: 'duplicate' });
    const { customer: restored, userErrors } = await restore({ id: customer.id, expectedVersion: 2 }, { actor: 'agent@y', via: 'support' });
    expect(userErrors).toEqual([]);
    expect(restored).toMatchObject({
      status: 'ACTIVE',
      archivedAt: null,
      archivedBy: null,
      archivedVia: null,
      archiveReason: null,
      updatedBy: 'agent@y',
      updatedVia: 'support',
      version: 3,
    });
    expect(await listed()).toEqual({ totalCount: 1, emails: ['back@example.com'] });
  });

  test('archiveCustomer and restoreCustomer write CUSTOMER_ARCHIVED and CUSTOMER_RESTORED actions, newest first', async () => {
    const customer = await createCustomer(env, { email: 'log@example.com' });
    await archive({ id: customer.id, reason: 'fraud' }, { actor: 'agent@x', via: 'crm' });
    await restore({ id: customer.id }, { actor: 'agent@y', via: 'support' });
    const log = await actionsOf(customer.id);
    expect(log.version).toBe(3);
    expect(log.totalCount).toBe(3);
    expect(log.nodes).toEqual([
      {
        type: 'CUSTOMER_RESTORED',
        actor: 'agent@y',
        via: 'support',
        changes: { status: { from: 'ARCHIVED', to: 'ACTIVE' }, archiveReason: { from: 'fraud', to: null } },
      },
      {
        type: 'CUSTOMER_ARCHIVED',
        actor: 'agent@x',
        via: 'crm',
        changes: { status: { from: 'ACTIVE', to: 'ARCHIVED' }, archiveReason: { from: null, to: 'fraud' } },
      },
      expect.objectContaining({ type: 'CUSTOMER_CREATED', actor: 'alpha-test', via: 'api' }),
    ]);
  });

  test('archiveCustomer rejects a reason over 10000 characters as TOO_LONG and keeps the customer active', async () => {
    const customer = await createCustomer(env, { email: 'long@example.com' });
    const { userErrors } = await archive({ id: customer.id, reason: 'r'.repeat(10001) });
    expect(codes(userErrors)).toEqual([[['reason'], 'TOO_LONG']]);
    expect(await get(customer.id)).toMatchObject({ status: 'ACTIVE', version: 1 });
  });

  test('archiveCustomer without a reason records only the status change', async () => {
    const customer = await createCustomer(env, { email: 'quiet@example.com' });
    await archive({ id: customer.id });
    const [latest] = (await actionsOf(customer.id)).nodes;
    expect(latest).toEqual({
      type: 'CUSTOMER_ARCHIVED',
      actor: 'alpha-test',
      via: 'api',
      changes: { status: { from: 'ACTIVE', to: 'ARCHIVED' } },
    });
  });
});

describe('customer lookups', () => {
  const BY_EMAIL = `query($email: String!) { customerByEmail(email: $email) { id email } }`;
  const BY_EXTERNAL_ID = `query($externalId: String!) { customerByExternalId(externalId: $externalId) { id externalId } }`;

  test('customerByEmail finds the customer whatever the case and spacing of the email', async () => {
    const customer = await createCustomer(env, { email: 'find@example.com' });
    const data = await env.data<{ customerByEmail: { id: string } | null }>(BY_EMAIL, { email: '  FIND@Example.com ' });
    expect(data.customerByEmail).toEqual({ id: customer.id, email: 'find@example.com' });
  });

  test('customerByEmail answers null for an unknown email and for a customer of another workspace', async () => {
    await createCustomer(env, { email: 'theirs@example.com' }, { key: env.b });
    expect((await env.data(BY_EMAIL, { email: 'nobody@example.com' })).customerByEmail).toBeNull();
    expect((await env.data(BY_EMAIL, { email: 'theirs@example.com' })).customerByEmail).toBeNull();
  });

  test('customerByExternalId finds the customer', async () => {
    const customer = await createCustomer(env, { email: 'ext@example.com', externalId: 'crm-42' });
    const data = await env.data<{ customerByExternalId: { id: string } | null }>(BY_EXTERNAL_ID, { externalId: 'crm-42' });
    expect(data.customerByExternalId).toEqual({ id: customer.id, externalId: 'crm-42' });
  });

  test('customerByExternalId answers null for an unknown externalId and for a customer of another workspace', async () => {
    await createCustomer(env, { email: 'theirs@example.com', externalId: 'crm-theirs' }, { key: env.b });
    expect((await env.data(BY_EXTERNAL_ID, { externalId: 'crm-none' })).customerByExternalId).toBeNull();
    expect((await env.data(BY_EXTERNAL_ID, { externalId: 'crm-theirs' })).customerByExternalId).toBeNull();
  });

  test('customer(id) answers null for an unknown id, a non-UUID id and a customer of another workspace', async () => {
    const theirs = await createCustomer(env, { email: 'theirs@example.com' }, { key: env.b });
    expect(await get(NOT_A_CUSTOMER)).toBeNull();
    expect(await get('not-a-uuid')).toBeNull();
    expect(await get(theirs.id)).toBeNull();
  });

  test('customerByEmail finds a customer under its new email after an update and not under the old one', async () => {
    const customer = await createCustomer(env, { email: 'old@example.com' });
    await update({ id: customer.id, email: 'New@example.com' });
    expect((await env.data(BY_EMAIL, { email: 'new@example.com' })).customerByEmail).toEqual({ id: customer.id, email: 'new@example.com' });
    expect((await env.data(BY_EMAIL, { email: 'old@example.com' })).customerByEmail).toBeNull();
  });
});

describe('optimistic concurrency under a race', () => {
  /** Makes every lookup by id see the customer as it was at `stale` (a writer that read before another committed). */
  function seeStale(stale: Record<string, any>) {
    const original = customersRepository.findCustomerForChange;
    return jest.spyOn(customersRepository, 'findCustomerForChange').mockImplementation(async (db, workspaceId, id) => {
      const row = await original(db, workspaceId, id);
      return row && row.id === stale.id ? { ...row, version: stale.version, firstName: stale.firstName } : row;
    });
  }

  test('updateCustomer that loses a race to another writer reports VERSION_CONFLICT and writes nothing', async () => {
    const customer = await createCustomer(env, { email: 'race@example.com' });
    await update({ id: customer.id, firstName: 'Winner' });
    const before = await snapshot(env.store);
    const spy = seeStale(customer);
    const result = await env.exec<{ updateCustomer: Payload }>(UPDATE, { input: { id: customer.id, firstName: 'Loser' } });
    expect(spy).toHaveBeenCalledWith(expect.anything(), expect.any(String), customer.id);
    expect(result.errors).toBeUndefined();
    expect(result.data?.updateCustomer.userErrors.map((e) => e.code)).toEqual(['VERSION_CONFLICT']);
    expect(await get(customer.id)).toMatchObject({ firstName: 'Winner', version: 2 });
    expect(await snapshot(env.store)).toEqual(before);
  });

  test('archiveCustomer that loses a race to another writer reports VERSION_CONFLICT and writes nothing', async () => {
    const customer = await createCustomer(env, { email: 'race@example.com' });
    await update({ id: customer.id, firstName: 'Winner' });
    const before = await snapshot(env.store);
    seeStale(customer);
    const result = await env.exec<{ archiveCustomer: Payload }>(ARCHIVE, { input: { id: customer.id } });
    expect(result.errors).toBeUndefined();
    expect(result.data?.archiveCustomer.userErrors.map((e) => e.code)).toEqual(['VERSION_CONFLICT']);
    expect(await get(customer.id)).toMatchObject({ status: 'ACTIVE', version: 2 });
    expect(await snapshot(env.store)).toEqual(before);
  });
});

describe('errors do not cascade', () => {
  test('createCustomer with an invalid state reports only the state, not the national phone number read in that country', async () => {
    const { customer, userErrors } = await create({
      email: 'cascade@example.com',
      phone: '415-555-2671',
      billingAddress: { state: 'XX', country: 'US' },
    });
    expect(customer).toBeNull();
    expect(codes(userErrors)).toEqual([[['billingAddress', 'state'], 'INVALID']]);
  });
});
