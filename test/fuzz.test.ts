/**
 * Property-based fuzzing (fast-check) of createCustomer and updateCustomer through the real
 * Apollo pipeline on a real migrated database: arbitrary strings (unicode, control characters,
 * lone surrogates, huge), emails, phones, countries and states, dates, metadata, custom
 * fields, nulls and wrongly typed variables. Properties: no response is ever an
 * INTERNAL_SERVER_ERROR (or an error without a code), and a rejected input (userErrors or a
 * top-level error) changes nothing. Replay a failure with FUZZ_SEED=<seed> (and FUZZ_PATH);
 * FUZZ_RUNS sets the number of runs per property.
 */
import fc from 'fast-check';
import { createCustomer, createTestEnv, snapshot, type TestEnv } from './helpers';

jest.setTimeout(120_000);

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const PATH = process.env.FUZZ_PATH;

let env: TestEnv;
let base: Record<string, any>;

beforeAll(async () => {
  env = await createTestEnv();
  const define = `mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) { userErrors { code } } }`;
  for (const [key, valueType] of [['tier', 'STRING'], ['score', 'NUMBER'], ['vip', 'BOOLEAN'], ['since', 'DATE']] as const) {
    await env.data(define, { input: { key, label: key, valueType, searchable: key !== 'vip' } });
  }
  base = await createCustomer(env, { email: 'taken@example.com', externalId: 'ext-taken', firstName: 'Base' });
  await createCustomer(env, { email: 'other@example.com', externalId: 'ext-other' });
});

afterAll(async () => {
  await env?.close();
});

// ---- arbitraries -------------------------------------------------------------------------

const oddStrings = fc.constantFrom(
  '', ' ', '\u0000', 'a\u0000b', '\uD800', 'x\uDFFFy', '\u202Eevil', '\uFEFF', '\u200B', 'e\u0301', '👩‍👩‍👧', 'ﬀ', '\r\n', '\t',
  'Robert"); DROP TABLE customers;--', "O'Brien", '%_\\', '${x}', '<script>', 'null', 'undefined', 'NaN',
);

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0x9f }).map((c) => String.fromCharCode(c)), maxLength: 20 }) },
  { weight: 2, arbitrary: oddStrings },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 20_000 }).chain((n) => fc.constantFrom('a', 'é', '😀', ' ').map((c) => c.repeat(n))) },
);

/** A value of the wrong GraphQL type for most fields (variables are coerced by graphql-js). */
const wrongType = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));

/** A value of the field's GraphQL type (any content), sometimes an explicit null. */
const field = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: arb }, { weight: 1, arbitrary: fc.constant(null) });

const email = fc.oneof(
  { weight: 8, arbitrary: fc.emailAddress() },
  { weight: 1, arbitrary: fc.constantFrom('TAKEN@example.com', ' taken@EXAMPLE.com ', 'other@example.com', 'a@b', '@x.com', 'a@@b.com', 'a b@c.com') },
  { weight: 2, arbitrary: text },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 400 }).map((n) => `${'a'.repeat(n)}@example.com`) },
);

/** Usually a plausible value (so that some inputs pass and get written), sometimes a hostile one. */
const mostly = <T, U>(plausible: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 12, arbitrary: plausible }, { weight: 1, arbitrary: hostile });

/** Names and free text: any unicode, usually without control characters. */
const plainText = fc.string({ unit: 'grapheme', maxLength: 40 });

const phone = mostly(
  fc.constantFrom('+14155552671', '415-555-2671', '+44 20 7946 0958', '+49 30 901820', '(608) 555-0100'),
  fc.oneof(fc.constantFrom('+999', '00', '+1', '0', '(0)', '+14155552671 ext. 5'), fc.stringMatching(/^\+?[0-9 ()-]{0,22}$/), text),
);

/** Countries with a matching subdivision (or none). */
const region = mostly(
  fc.constantFrom(['US', 'WI'], ['USA', 'US-CA'], ['DE', 'BY'], ['DEU', 'DE-BE'], ['CA', 'ON'], ['GB', null], ['FR', null], ['JP', null]),
  fc.tuple(
    fc.oneof(fc.constantFrom('us', 'XX', 'ZZZ', '', 'U S', 'DE'), text),
    fc.oneof(fc.constantFrom('WI', 'US-WI', 'ON', 'BY', 'ENG', 'XX', '', 'wi', null), text),
  ),
) as fc.Arbitrary<[string, string | null]>;

const address = fc
  .tuple(fc.record({ line1: field(plainText), line2: field(plainText), city: field(mostly(plainText, text)), postalCode: field(mostly(plainText, text)) }, { requiredKeys: [] }), region)
  .map(([rest, [country, state]]) => ({ ...rest, country, ...(state === null ? {} : { state }) }));

const url = mostly(fc.webUrl(), fc.oneof(fc.constantFrom('javascript:alert(1)', 'ftp://x', 'http://', 'https://exa mple.com'), text));

const date = fc.oneof(
  { weight: 30, arbitrary: fc.date({ min: new Date('1890-01-01'), max: new Date(), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)) },
  { weight: 5, arbitrary: fc.date({ min: new Date('1800-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)) },
  { weight: 5, arbitrary: fc.constantFrom('0000-01-01', '9999-12-31', '1899-12-31', '2000-02-29') },
  // Not dates at all: the Date scalar rejects them before any resolver runs.
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom('2020-02-30', '2020-13-01', '2001-02-29', '2020-1-1', '20200101', ''), text) },
);

const metadata = fc.oneof(
  { weight: 20, arbitrary: fc.dictionary(fc.string({ maxLength: 45 }), fc.oneof(fc.string({ maxLength: 60 }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 8 }) },
  { weight: 5, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }) },
  { weight: 5, arbitrary: fc.integer({ min: 45, max: 60 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']))) },
  { weight: 5, arbitrary: fc.dictionary(fc.oneof(oddStrings, fc.string({ maxLength: 10 })), fc.oneof(oddStrings, text), { maxKeys: 3 }) },
  { weight: 5, arbitrary: fc.constantFrom({ big: 'x'.repeat(600) }, { ['k'.repeat(41)]: 'v' }, { nested: { a: 1 } }, { list: [1, 2] }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

const customFields = fc.array(
  mostly(
    fc.oneof(
      fc.record({ key: fc.constant('tier'), value: fc.oneof(plainText, fc.constant(null), oddStrings, text) }),
      fc.record({ key: fc.constant('score'), value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.constant(null)) }),
      fc.record({ key: fc.constant('vip'), value: fc.oneof(fc.boolean(), fc.constant(null)) }),
      fc.record({ key: fc.constant('since'), value: fc.oneof(date, fc.constant(null)) }),
    ),
    fc.record({
      key: fc.oneof(fc.constantFrom('tier', 'score', 'vip', 'since', 'unknown', 'TIER', ''), text),
      value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), date, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), text),
    }),
  ),
  { maxLength: 4 },
);

const fields = {
  externalId: field(mostly(fc.uuid(), fc.oneof(text, fc.constantFrom('ext-taken', 'ext-other')))),
  firstName: field(mostly(plainText, text)),
  lastName: field(mostly(plainText, text)),
  name: field(mostly(plainText, text)),
  phone: field(phone),
  birthDate: field(date),
  gender: field(mostly(plainText, text)),
  avatarUrl: field(url),
  emailVerified: field(fc.boolean()),
  profile: field(
    fc.record(
      {
        bio: field(mostly(plainText, text)),
        location: field(mostly(plainText, text)),
        website: field(url),
        socials: field(fc.record({ twitter: field(mostly(plainText, text)), facebook: field(mostly(plainText, text)), instagram: field(mostly(plainText, text)) }, { requiredKeys: [] })),
      },
      { requiredKeys: [] },
    ),
  ),
  billingAddress: field(address),
  type: field(fc.oneof({ weight: 20, arbitrary: fc.constantFrom('INDIVIDUAL', 'TEAM') }, { weight: 1, arbitrary: fc.constantFrom('team', 'COMPANY') })),
  metadata: field(metadata),
  customFields: field(customFields),
  unsubscribed: field(fc.boolean()),
  internalNote: field(mostly(plainText, text)),
};

const createInput = fc.record({ email, ...fields }, { requiredKeys: ['email'] });

/** Input-object, JSONObject and list fields: an object may be valid there, so never use one. */
const OBJECT_FIELDS = new Set(['profile', 'billingAddress', 'metadata', 'customFields']);
const notAnObject = fc.oneof(fc.integer(), fc.boolean(), fc.string({ maxLength: 10 }));
const BOOLEAN_FIELDS = new Set(['emailVerified', 'unsubscribed']);
const notABoolean = fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));

/** A well-typed input with one field (possibly nested) replaced by a value of the wrong type. */
const wronglyTyped = fc
  .constantFrom('email', ...Object.keys(fields), 'billingAddress.country', 'profile.socials.twitter')
  .chain((path) => fc.tuple(createInput, fc.constant(path), OBJECT_FIELDS.has(path) ? notAnObject : BOOLEAN_FIELDS.has(path) ? notABoolean : wrongType))
  .map(([input, path, value]) => {
    const copy = structuredClone(input) as Record<string, any>;
    const keys = path.split('.');
    let target = copy;
    for (const key of keys.slice(0, -1)) target = target[key] = typeof target[key] === 'object' && target[key] !== null ? target[key] : {};
    target[keys[keys.length - 1]] = value;
    return copy;
  });

/** `CURRENT` is replaced by the base customer's version at run time. */
const updateInput = fc.record(
  {
    id: fc.oneof({ weight: 6, arbitrary: fc.constant('BASE') }, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: text }),
    expectedVersion: fc.oneof(fc.constant('CURRENT'), fc.integer({ min: -2, max: 1000 }), fc.constant(2 ** 31), fc.double(), fc.constant(null), text),
    email: field(email),
    ...fields,
  },
  { requiredKeys: ['id'] },
);

// ---- properties --------------------------------------------------------------------------

interface Response {
  data?: Record<string, { customer: unknown; userErrors: unknown[] } | null> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** How the runs ended: a run where everything is rejected early would prove little. */
const outcomes = { accepted: 0, userErrors: 0, errors: 0 };

afterAll(() => {
  if (process.env.FUZZ_REPORT) process.stdout.write(`${JSON.stringify(outcomes)}\n`);
});

/** Runs the mutation and checks both properties. */
async function check(mutation: 'createCustomer' | 'updateCustomer', input: unknown): Promise<Response> {
  const type = mutation === 'createCustomer' ? 'CreateCustomerInput' : 'UpdateCustomerInput';
  const before = await snapshot(env.store);
  const result = (await env.exec(
    `mutation($input: ${type}!) { ${mutation}(input: $input) { customer { id email version metadata customFields { key value } } userErrors { field code message } } }`,
    { input },
  )) as Response;
  for (const error of result.errors ?? []) {
    expect(error.extensions?.code).toBeDefined();
    expect(error.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
  }
  const payload = result.data?.[mutation];
  const rejected = (result.errors?.length ?? 0) > 0 || !payload || payload.userErrors.length > 0;
  outcomes[result.errors?.length ? 'errors' : rejected ? 'userErrors' : 'accepted'] += 1;
  if (rejected) expect(await snapshot(env.store)).toEqual(before);
  else expect(payload.customer).not.toBeNull();
  return result;
}

const options = () => ({ numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), ...(PATH ? { path: PATH } : {}) });

test('createCustomer: no input causes an internal error, and rejected inputs change nothing', async () => {
  await fc.assert(fc.asyncProperty(createInput, async (input) => void (await check('createCustomer', input))), options());
});

test('updateCustomer: no input causes an internal error, and rejected inputs change nothing', async () => {
  await fc.assert(
    fc.asyncProperty(updateInput, async (raw) => {
      const { customer } = await env.data<{ customer: { version: number } }>(`query($id: ID!) { customer(id: $id) { version } }`, { id: base.id });
      const input: Record<string, unknown> = { ...raw, id: raw.id === 'BASE' ? base.id : raw.id };
      if (raw.expectedVersion === 'CURRENT') input.expectedVersion = customer.version;
      await check('updateCustomer', input);
    }),
    options(),
  );
});

test('wrongly typed variables are rejected as BAD_USER_INPUT without writing', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(wronglyTyped, wrongType, fc.constant(null), fc.string(), fc.array(createInput, { maxLength: 2 })), async (input) => {
      const result = await check('createCustomer', input);
      if (!result.errors?.length) throw new Error(`accepted a wrongly typed input: ${JSON.stringify(input)}`);
      expect(new Set(result.errors?.map((e) => e.extensions?.code))).toEqual(new Set(['BAD_USER_INPUT']));
    }),
    options(),
  );
});

// Found by the properties above on PostgreSQL (NUL in a custom field value was a 500: text
// columns refuse it) and kept as plain examples.
test.each([
  ['a NUL in a custom field value', { customFields: [{ key: 'tier', value: 'a\u0000b' }] }, ['customFields', '0', 'value']],
  ['an unpaired surrogate in a custom field value', { customFields: [{ key: 'tier', value: 'x\uD800' }] }, ['customFields', '0', 'value']],
  ['a NUL in a metadata value', { metadata: { plan: 'pro\u0000' } }, ['metadata', 'plan']],
  ['a NUL in a metadata key', { metadata: { 'a\u0000': 'v' } }, ['metadata', 'a\u0000']],
  ['an unpaired surrogate in a metadata value', { metadata: { plan: '\uDFFF' } }, ['metadata', 'plan']],
  ['an unpaired surrogate in a name', { firstName: 'Ad\uD83Da' }, ['firstName']],
])('%s is INVALID and writes nothing', async (_, extra, field) => {
  const before = await snapshot(env.store);
  const result = await env.data<{ createCustomer: { userErrors: { field: string[]; code: string }[] } }>(
    `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { userErrors { field code } } }`,
    { input: { email: 'stored-as-given@example.com', ...extra } },
  );
  expect(result.createCustomer.userErrors).toEqual([{ field, code: 'INVALID' }]);
  expect(await snapshot(env.store)).toEqual(before);
});
