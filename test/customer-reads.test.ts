/**
 * Queries read only the customer columns their fields need (src/graphql/projection.ts):
 * every Customer field of the schema, asked for alone, through every way a query reaches
 * customers, answers what the same field answers when every field is asked for (which reads
 * whole records); statements select only the needed columns; mutations still read and write
 * whole records. The test server (test/helpers.ts) asks for checked records: a narrow record
 * throws when a field it lacks is read, so the rest of the suite checks the column plan too.
 */
import { getNamedType, isLeafType, isObjectType, parse, type GraphQLField, type GraphQLObjectType } from 'graphql';
import { CUSTOMER_FIELD_READS, customerReadsOf } from '../src/graphql/projection';
import { buildSchema } from '../src/graphql/server';
import { customerColumnsFor, findCustomersBy } from '../src/store/customers.repository';
import { createCustomer, createTestEnv, NO_COST_LIMIT, USER_ERRORS, type TestEnv } from './helpers';

const schema = buildSchema();
const customerType = schema.getType('Customer') as GraphQLObjectType;

let env: TestEnv;
let full: Record<string, unknown>;
let bare: Record<string, unknown>;
let named: Record<string, unknown>;

/** A selection of `field` with every leaf below it (two levels of objects; connections by their nodes' ids). */
function selectionOf(field: GraphQLField<unknown, unknown>, depth = 0): string {
  const type = getNamedType(field.type);
  const args = field.args.some((arg) => arg.name === 'first') ? '(first: 5)' : '';
  if (isLeafType(type)) return field.name;
  if (!isObjectType(type) || depth > 2) return '';
  const inner = Object.values(type.getFields())
    .filter((f) => f.args.every((arg) => !('ofType' in arg.type) || arg.defaultValue !== undefined || arg.name === 'first'))
    .map((f) => (f.name === 'edges' || f.name === 'pageInfo' ? '' : selectionOf(f, depth + 1)))
    .filter((s) => s !== '');
  return `${field.name}${args} { ${inner.join(' ')} }`;
}

const FIELDS = Object.values(customerType.getFields());
const EVERY_FIELD = FIELDS.map((field) => selectionOf(field)).join(' ');

/** Ways a query reaches customers; each returns the one customer the test looks at. */
interface Route {
  name: string;
  query: (selection: string, id: string) => string;
  pick: (data: Record<string, any>) => unknown;
  /** Only the customer with members has a member to come back from. */
  withMembersOnly?: boolean;
}

const ROUTES: Route[] = [
  { name: 'customer(id)', query: (s, id) => `{ customer(id: "${id}") { ${s} } }`, pick: (d) => d.customer },
  { name: 'customerByEmail', query: (s) => `{ customerByEmail(email: "full@example.com") { ${s} } }`, pick: (d) => d.customerByEmail },
  {
    name: 'customers page',
    query: (s) => `{ customers(first: 10, filter: { status: [ACTIVE, ARCHIVED] }, sort: { field: NAME }) { edges { cursor node { ${s} } } } }`,
    pick: (d) => d.customers.edges.map((e: { node: unknown }) => e.node),
  },
  { name: 'node(id)', query: (s, id) => `{ node(id: "${id}") { ... on Customer { ${s} } } }`, pick: (d) => d.node },
  {
    name: '_entities',
    query: (s, id) => `{ _entities(representations: [{ __typename: "Customer", id: "${id}" }]) { ... on Customer { ${s} } } }`,
    pick: (d) => d._entities[0],
  },
  { name: 'exportCustomers', query: (s) => `{ exportCustomers(first: 10) { nodes { ${s} } } }`, pick: (d) => d.exportCustomers.nodes },
  {
    name: 'member.customer',
    query: (s, id) => `{ customer(id: "${id}") { members(first: 1) { nodes { customer { ${s} } } } } }`,
    pick: (d) => d.customer.members.nodes[0]?.customer ?? null,
    withMembersOnly: true,
  },
];

beforeAll(async () => {
  env = await createTestEnv(NO_COST_LIMIT);
  await env.data('mutation { defineCustomField(input: { key: "tier", label: "Tier", valueType: STRING, searchable: true }) { userErrors { code } } }');
  full = await createCustomer(env, {
    email: 'full@example.com',
    externalId: 'crm-1',
    firstName: 'Ada',
    lastName: 'Lovelace',
    name: 'Countess',
    phone: '+14155552671',
    birthDate: '1985-12-10',
    gender: 'female',
    avatarUrl: 'https://img.example.com/ada.png',
    emailVerified: true,
    profile: { bio: 'Analyst', location: 'London', website: 'https://ada.example.com', socials: { twitter: 'ada', facebook: 'ada.fb', instagram: 'ada.ig' } },
    billingAddress: { line1: '1 Main St', line2: 'Suite 2', city: 'West Bend', state: 'WI', postalCode: '53095', country: 'US' },
    type: 'TEAM',
    metadata: { plan: 'pro', seats: 3 },
    customFields: [{ key: 'tier', value: 'gold' }],
    unsubscribed: true,
    internalNote: 'VIP',
  });
  await env.data(`mutation { addMember(input: { customerId: "${String(full.id)}", email: "m@example.com", role: OWNER }) { ${USER_ERRORS} } }`);
  // Fields only imports set: distinct values straight into the row.
  await env.store.db
    .updateTable('customers')
    .set({ net_revenue: '12.50', sign_in_count: 7, last_request_at: '2024-05-01T10:00:00.000Z', bounced_at: '2024-05-02T10:00:00.000Z' })
    .where('id', '=', String(full.id))
    .execute();
  await env.data(`mutation { archiveCustomer(input: { id: "${String(full.id)}", reason: "duplicate" }) { ${USER_ERRORS} } }`);
  // Nothing optional given: name and avatarUrl fall back (to nothing and to Gravatar).
  bare = await createCustomer(env, { email: 'bare@example.com' });
  // No display name given: name is first and last name joined.
  named = await createCustomer(env, { email: 'named@example.com', firstName: 'Grace', lastName: 'Hopper' });
});

afterAll(() => env.close());

test('the read table names every Customer field of the schema, and nothing else', () => {
  expect(Object.keys(CUSTOMER_FIELD_READS).sort()).toEqual(FIELDS.map((f) => f.name).sort());
});

describe.each(ROUTES)('$name', (route) => {
  test('each field asked for alone answers what it answers among every field', async () => {
    const customers = route.withMembersOnly ? [full] : [full, bare, named];
    for (const id of customers.map((c) => String(c.id))) {
      const whole = route.pick(await env.data(route.query(EVERY_FIELD, id)));
      expect(whole).not.toBeNull();
      for (const field of FIELDS) {
        const selection = selectionOf(field);
        const alone = route.pick(await env.data(route.query(selection, id)));
        const expected = Array.isArray(whole)
          ? whole.map((c: Record<string, unknown>) => ({ [field.name]: c[field.name] }))
          : { [field.name]: (whole as Record<string, unknown>)[field.name] };
        expect({ field: field.name, value: alone }).toEqual({ field: field.name, value: expected });
      }
    }
  });
});

test('a customer read selects only the columns of the fields asked for', async () => {
  env.statements.length = 0;
  await env.data(`{ customer(id: "${String(full.id)}") { email billingAddress { city } } }`);
  const read = env.statements.find((s) => s.includes('from "customers"'));
  expect(read).toBeDefined();
  expect(read).toContain('"billing_city"');
  expect(read).toContain('"email"');
  expect(read).not.toContain('"metadata"');
  expect(read).not.toContain('"internal_note"');
});

test('pages sorted by name, asking only for ids, carry the name in their cursors and walk every customer once', async () => {
  const seen: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 5; page++) {
    const data: { customers: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await env.data(
      'query($after: String) { customers(first: 1, after: $after, sort: { field: NAME }) { nodes { id } pageInfo { hasNextPage endCursor } } }',
      { after },
    );
    seen.push(...data.customers.nodes.map((n) => n.id));
    if (!data.customers.pageInfo.hasNextPage) break;
    after = data.customers.pageInfo.endCursor;
  }
  // "bare@example.com" (no name: the email sorts) before "grace hopper"; the archived one is filtered out.
  expect(seen).toEqual([bare.id, named.id]);
});

test('a mutation reads and returns the whole record, whatever its payload asks for', async () => {
  env.statements.length = 0;
  const data = await env.data<{ updateCustomer: { customer: { id: string; metadata: unknown } } }>(
    `mutation { updateCustomer(input: { id: "${String(bare.id)}", firstName: "Bare" }) { customer { id metadata } ${USER_ERRORS} } }`,
  );
  expect(data.updateCustomer.customer).toEqual({ id: bare.id, metadata: {} });
  const read = env.statements.find((s) => s.startsWith('select') && s.includes('from "customers"'));
  expect(read).toContain('"internal_note"');
  const after = await env.data<{ customer: Record<string, unknown> }>(`{ customer(id: "${String(bare.id)}") { firstName internalNote email } }`);
  expect(after.customer).toEqual({ firstName: 'Bare', internalNote: null, email: 'bare@example.com' });
});

test('fields selected on Node or in fragments count; unused fragments only widen the read', () => {
  const document = (text: string) => parse(text);
  expect([...customerReadsOf(schema, document('{ node(id: "x") { id ... on Customer { email } } }'))].sort()).toEqual(['email', 'id']);
  expect(
    [...customerReadsOf(schema, document('query { customer(id: "x") { ...F } } fragment F on Customer { name } fragment G on Customer { metadata }'))].sort(),
  ).toEqual(['firstName', 'lastName', 'metadata', 'name']);
  expect([...customerReadsOf(schema, document('{ workspace { name } }'))]).toEqual([]);
});

test('a batch of more ids than are compiled ahead (over 100 distinct) answers every id in order, null where missing', async () => {
  const ids = [String(named.id), String(full.id), String(bare.id)];
  // 120 distinct ids that name nobody (DataLoader batches distinct ids), the three customers between them.
  const missing = (i: number) => `01a20922-0000-7000-8000-${String(i).padStart(12, '0')}`;
  const representations = Array.from({ length: 150 }, (_, i) => ({ __typename: 'Customer', id: i % 7 === 3 ? ids[i % 3] : missing(i) }));
  const data = await env.data<{ _entities: ({ id: string; email: string } | null)[] }>(
    'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id email } } }',
    { r: representations },
  );
  expect(data._entities).toHaveLength(150);
  data._entities.forEach((entity, i) => {
    if (i % 7 === 3) expect(entity?.id).toBe(ids[i % 3]);
    else expect(entity).toBeNull();
  });
});

test('the record check is an option: a narrow record guards the fields it lacks only when asked to', async () => {
  const read = (checkRecords: boolean) =>
    findCustomersBy(env.store.db, env.a.workspace.id, 'id', [String(full.id)], customerColumnsFor(['email'], { checkRecords }));
  const [checked] = await read(true);
  expect(checked.email).toBe(full.email);
  expect(() => checked.phone).toThrow(/customer field "phone" was read from a record built from columns id,email,status only/);
  const [unchecked] = await read(false);
  expect(() => unchecked.phone).not.toThrow();
});
