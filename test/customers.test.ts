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
    expect(customer.createdAt).toBe(customer.updatedAt);
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
