/**
 * Scope enforcement over real HTTP (127.0.0.1, port 0) on a real migrated database: every entry
 * point against every kind of credential, read-only and export-only keys, the CLI's `--scope`,
 * and keys from before scopes existed. The expectations are written out by hand from DESIGN.md
 * ("Browsers, end users and least privilege"), not read from the SDL under test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../src/cli/main';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { KEY_SCOPES } from '../src/services/scopes';
import { openStore } from '../src/store/db';
import { startTestApp, type RunningApp } from './app-harness';
import { makeSigningKey, signToken, startJwksServer, type JwksServer } from './jwks-server';

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'customer-gateway';
const SELF_EXTERNAL_ID = 'self-user-1';
const NOTE = 'agent-only note';

let running: RunningApp;
let jwks: JwksServer;
/** The API keys under test, by credential name; all in workspace alpha. */
const keys = new Map<string, IssuedKey>();
let selfToken: string;
let ids: { customer: string; member: string; selfCustomer: string };

interface GraphqlBody {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, any> }[];
}

interface Answer {
  status: number;
  body: GraphqlBody;
}

function bearer(credential: string): string {
  if (credential === 'jwt customer:self') return `Bearer ${selfToken}`;
  const key = keys.get(credential);
  if (!key) throw new Error(`no credential named ${credential}`);
  return `Bearer ${key.key}`;
}

async function post(credential: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${running.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: bearer(credential), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as GraphqlBody };
}

async function ndjsonExport(credential: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${running.url}/export/customers.ndjson`, { headers: { authorization: bearer(credential) } });
  return { status: res.status, text: await res.text() };
}

/** Row counts of the tables a mutation (or its Idempotency-Key) would write to. */
async function counts(): Promise<Record<string, number>> {
  const tables = ['customers', 'members', 'actions', 'custom_field_definitions', 'idempotency_keys'] as const;
  const result: Record<string, number> = {};
  for (const table of tables) {
    const row = await running.app.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    result[table] = Number(row.n);
  }
  return result;
}

const ALL = 'all (no --scope)';
const READ = 'customers:read';
const WRITE = 'customers:write';
const ERASE = 'customers:erase';
const EXPORT = 'export:read';
const WEBHOOKS = 'webhooks:manage';
const SCHEMA = 'schema:manage';
const SELF = 'jwt customer:self';
const CREDENTIALS = [ALL, READ, WRITE, ERASE, EXPORT, WEBHOOKS, SCHEMA, SELF];

// The rules as DESIGN.md states them, spelled out here rather than read from the SDL.
const R_FETCH = [['customers:read'], ['customers:write'], ['customer:self']];
const R_LIST = [['customers:read'], ['customers:write']];
const R_EXPORT = [['export:read']];
const R_DEFINITIONS = [['customers:read'], ['customers:write'], ['export:read'], ['schema:manage'], ['customer:self']];
const R_SELF = [['customer:self']];
const R_WRITE = [['customers:write']];
const R_SCHEMA = [['schema:manage']];
const R_SENSITIVE = [['customers:read'], ['customers:write'], ['export:read']];

interface Entry {
  name: string;
  /** A GraphQL operation, or the string `ndjson` for GET /export/customers.ndjson. */
  query: string;
  variables?: () => Record<string, unknown>;
  /** The credentials that may run it. */
  allowed: string[];
  /** `extensions.requiredScopes` for every other credential ... */
  required: string[][];
  /** ... except these. */
  requiredFor?: Record<string, string[][]>;
}

const STAFF_READ = [ALL, READ, WRITE];
const STAFF_WRITE = [ALL, WRITE];
const USER_ERRORS = 'userErrors { code }';
const NOWHERE = 'Q3VzdG9tZXI6bm9uZQ'; // a well-formed id that names no record

const ENTRIES: Entry[] = [
  { name: 'Query.node', query: 'query($id: ID!) { node(id: $id) { id } }', variables: () => ({ id: ids.selfCustomer }), allowed: [...STAFF_READ, SELF], required: R_FETCH },
  { name: 'Query.nodes', query: 'query($id: ID!) { nodes(ids: [$id]) { id } }', variables: () => ({ id: ids.selfCustomer }), allowed: [...STAFF_READ, SELF], required: R_FETCH },
  { name: 'Query.workspace', query: '{ workspace { name } }', allowed: CREDENTIALS, required: [] },
  { name: 'Query.customer', query: 'query($id: ID!) { customer(id: $id) { id } }', variables: () => ({ id: ids.selfCustomer }), allowed: [...STAFF_READ, SELF], required: R_FETCH },
  {
    name: 'Query.customerByExternalId',
    query: `{ customerByExternalId(externalId: "${SELF_EXTERNAL_ID}") { id } }`,
    allowed: [...STAFF_READ, SELF],
    required: R_FETCH,
  },
  { name: 'Query.customerByEmail', query: '{ customerByEmail(email: "self@example.com") { id } }', allowed: [...STAFF_READ, SELF], required: R_FETCH },
  { name: 'Query.customers', query: '{ customers(first: 5) { nodes { id } } }', allowed: STAFF_READ, required: R_LIST },
  { name: 'Query.exportCustomers', query: '{ exportCustomers(first: 5) { nodes { id } } }', allowed: [ALL, EXPORT], required: R_EXPORT },
  { name: 'Query.customFieldDefinitions', query: '{ customFieldDefinitions { key } }', allowed: [ALL, READ, WRITE, EXPORT, SCHEMA, SELF], required: R_DEFINITIONS },
  {
    name: 'Query._entities',
    query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id } } }',
    variables: () => ({ r: [{ __typename: 'Customer', id: ids.selfCustomer }] }),
    allowed: [...STAFF_READ, SELF],
    required: R_FETCH,
  },
  { name: 'Query.me', query: '{ me { id } }', allowed: [SELF], required: R_SELF },
  { name: 'Mutation.createCustomer', query: `mutation { createCustomer(input: { email: "not-an-email" }) { ${USER_ERRORS} } }`, allowed: STAFF_WRITE, required: R_WRITE },
  { name: 'Mutation.updateCustomer', query: `mutation { updateCustomer(input: { id: "${NOWHERE}", firstName: "X" }) { ${USER_ERRORS} } }`, allowed: STAFF_WRITE, required: R_WRITE },
  { name: 'Mutation.archiveCustomer', query: `mutation { archiveCustomer(input: { id: "${NOWHERE}" }) { ${USER_ERRORS} } }`, allowed: STAFF_WRITE, required: R_WRITE },
  { name: 'Mutation.restoreCustomer', query: `mutation { restoreCustomer(input: { id: "${NOWHERE}" }) { ${USER_ERRORS} } }`, allowed: STAFF_WRITE, required: R_WRITE },
  {
    name: 'Mutation.addMember',
    query: `mutation { addMember(input: { customerId: "${NOWHERE}", email: "m@example.com" }) { ${USER_ERRORS} } }`,
    allowed: STAFF_WRITE,
    required: R_WRITE,
  },
  { name: 'Mutation.updateMember', query: `mutation { updateMember(input: { id: "${NOWHERE}", name: "X" }) { ${USER_ERRORS} } }`, allowed: STAFF_WRITE, required: R_WRITE },
  { name: 'Mutation.removeMember', query: `mutation { removeMember(input: { id: "${NOWHERE}" }) { ${USER_ERRORS} } }`, allowed: STAFF_WRITE, required: R_WRITE },
  {
    name: 'Mutation.defineCustomField',
    query: `mutation { defineCustomField(input: { key: "Not A Key!", label: "x", valueType: STRING }) { ${USER_ERRORS} } }`,
    allowed: [ALL, SCHEMA],
    required: R_SCHEMA,
  },
  { name: 'Mutation.updateMe', query: `mutation { updateMe(input: {}) { ${USER_ERRORS} } }`, allowed: [SELF], required: R_SELF },
  // The sensitive fields, under each root field that reaches a customer. A credential that may
  // not use the root field is refused for the root's rule; customer:self, which may use
  // `customer` and `me`, is refused for the field's own rule.
  ...(['internalNote', 'netRevenue', 'actions(first: 1) { totalCount }'] as const).flatMap((field): Entry[] => {
    const name = `Customer.${field.split('(')[0]}`;
    return [
      { name: `${name} under customer`, query: `query($id: ID!) { customer(id: $id) { ${field} } }`, variables: () => ({ id: ids.selfCustomer }), allowed: STAFF_READ, required: R_FETCH, requiredFor: { [SELF]: R_SENSITIVE } },
      { name: `${name} under exportCustomers`, query: `{ exportCustomers(first: 1) { nodes { ${field} } } }`, allowed: [ALL, EXPORT], required: R_EXPORT },
      { name: `${name} under me`, query: `{ me { ${field} } }`, allowed: [], required: R_SELF, requiredFor: { [SELF]: R_SENSITIVE } },
    ];
  }),
  { name: 'GET /export/customers.ndjson', query: 'ndjson', allowed: [ALL, EXPORT], required: R_EXPORT },
];

beforeAll(async () => {
  const signing = await makeSigningKey('ES256', 'es-1');
  jwks = await startJwksServer([signing.jwk]);
  running = await startTestApp({ RATE_LIMIT: 'off', JWT_JWKS_URL: jwks.url.href, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }, { recordStatements: true });
  keys.set(ALL, running.a);
  for (const scope of KEY_SCOPES) keys.set(scope, await issueKey(running.app.store.db, { workspace: 'alpha', name: scope, scopes: [scope] }));
  const now = Math.floor(Date.now() / 1000);
  selfToken = await signToken(signing, { iss: ISSUER, aud: AUDIENCE, sub: SELF_EXTERNAL_ID, workspace: 'alpha', scope: 'customer:self', iat: now, exp: now + 3600 });

  const created = await post(
    ALL,
    `mutation { a: createCustomer(input: { email: "team@example.com", type: TEAM, internalNote: "${NOTE}" }) { customer { id } ${USER_ERRORS} } }`,
  );
  const self = await post(ALL, `mutation { createCustomer(input: { email: "self@example.com", externalId: "${SELF_EXTERNAL_ID}" }) { customer { id } ${USER_ERRORS} } }`);
  const customer = created.body.data?.a.customer.id as string;
  const member = await post(ALL, `mutation { addMember(input: { customerId: "${customer}", email: "member@example.com" }) { member { id } ${USER_ERRORS} } }`);
  ids = { customer, selfCustomer: self.body.data?.createCustomer.customer.id as string, member: member.body.data?.addMember.member.id as string };
  expect(Object.values(ids).every((id) => typeof id === 'string')).toBe(true);
});

afterAll(async () => {
  await running?.close();
  await jwks?.close();
});

/** What an entry answered for a credential: `allowed`, or the requiredScopes of its refusal. */
async function outcome(entry: Entry, credential: string): Promise<'allowed' | { status: number; code: unknown; requiredScopes: unknown }> {
  if (entry.query === 'ndjson') {
    const { status, text } = await ndjsonExport(credential);
    if (status === 200) return 'allowed';
    const body = JSON.parse(text) as GraphqlBody;
    return { status, code: body.errors?.[0]?.extensions?.code, requiredScopes: body.errors?.[0]?.extensions?.requiredScopes };
  }
  const { status, body } = await post(credential, entry.query, entry.variables?.() ?? {});
  if (status === 200 && body.errors === undefined && body.data) return 'allowed';
  if (status === 403 && body.data !== undefined) throw new Error(`a refusal carried data: ${JSON.stringify(body)}`);
  return { status, code: body.errors?.[0]?.extensions?.code, requiredScopes: body.errors?.[0]?.extensions?.requiredScopes };
}

describe('scopes on every entry point', () => {
  test('each entry point answers every credential as the table says', async () => {
    const actual: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const entry of ENTRIES) {
      for (const credential of CREDENTIALS) {
        const cell = `${entry.name} as ${credential}`;
        actual[cell] = await outcome(entry, credential);
        expected[cell] = entry.allowed.includes(credential)
          ? 'allowed'
          : { status: 403, code: 'FORBIDDEN', requiredScopes: entry.requiredFor?.[credential] ?? entry.required };
      }
    }
    expect(actual).toEqual(expected);
  });
});

/** Every mutation, each with an input that would write when allowed. */
function writingMutations(): { name: string; query: string }[] {
  return [
    { name: 'createCustomer', query: `mutation { createCustomer(input: { email: "new@example.com" }) { ${USER_ERRORS} } }` },
    { name: 'updateCustomer', query: `mutation { updateCustomer(input: { id: "${ids.customer}", firstName: "Changed" }) { ${USER_ERRORS} } }` },
    { name: 'archiveCustomer', query: `mutation { archiveCustomer(input: { id: "${ids.customer}" }) { ${USER_ERRORS} } }` },
    { name: 'restoreCustomer', query: `mutation { restoreCustomer(input: { id: "${ids.customer}" }) { ${USER_ERRORS} } }` },
    { name: 'addMember', query: `mutation { addMember(input: { customerId: "${ids.customer}", email: "second@example.com" }) { ${USER_ERRORS} } }` },
    { name: 'updateMember', query: `mutation { updateMember(input: { id: "${ids.member}", name: "Changed" }) { ${USER_ERRORS} } }` },
    { name: 'removeMember', query: `mutation { removeMember(input: { id: "${ids.member}" }) { ${USER_ERRORS} } }` },
    { name: 'defineCustomField', query: `mutation { defineCustomField(input: { key: "tier", label: "Tier", valueType: STRING }) { ${USER_ERRORS} } }` },
    { name: 'updateMe', query: `mutation { updateMe(input: { firstName: "Changed" }) { ${USER_ERRORS} } }` },
  ];
}

describe('a read-only key', () => {
  test('cannot run any mutation, and no row is written', async () => {
    const before = await counts();
    for (const { name, query } of writingMutations()) {
      const { status, body } = await post(READ, query);
      expect({ name, status, code: body.errors?.[0]?.extensions?.code, data: body.data }).toEqual({ name, status: 403, code: 'FORBIDDEN', data: undefined });
    }
    expect(await counts()).toEqual(before);
  });

  test('under an Idempotency-Key, is refused the same way and no key is claimed or stored', async () => {
    const before = await counts();
    for (const [i, { name, query }] of writingMutations().entries()) {
      running.statements.length = 0;
      const { status, body } = await post(READ, query, {}, { 'idempotency-key': `scopes-read-only-${i}` });
      expect({ name, status, code: body.errors?.[0]?.extensions?.code }).toEqual({ name, status: 403, code: 'FORBIDDEN' });
      // Not even claimed and given back: the refusal comes before the key is looked at.
      expect({ name, idempotency: running.statements.filter((text) => text.includes('idempotency_keys')) }).toEqual({ name, idempotency: [] });
    }
    expect(await counts()).toEqual(before);
  });

  test('the same mutations do write with customers:write, which also reads', async () => {
    const write = await post(WRITE, `mutation { updateCustomer(input: { id: "${ids.customer}", firstName: "Written" }) { ${USER_ERRORS} } }`);
    expect(write.body).toMatchObject({ data: { updateCustomer: { userErrors: [] } } });
    expect(write.body.errors).toBeUndefined();
    const read = await post(WRITE, `query($id: ID!) { customer(id: $id) { firstName } }`, { id: ids.customer });
    expect(read.body.data).toEqual({ customer: { firstName: 'Written' } });
  });
});

describe('an export-only key', () => {
  test('exports through GraphQL and the NDJSON endpoint, internal notes included', async () => {
    const feed = await post(EXPORT, '{ exportCustomers(first: 10) { nodes { id internalNote netRevenue } } }');
    expect(feed.status).toBe(200);
    expect(feed.body.errors).toBeUndefined();
    expect(feed.body.data?.exportCustomers.nodes).toContainEqual(expect.objectContaining({ id: ids.customer, internalNote: NOTE }));

    const stream = await ndjsonExport(EXPORT);
    expect(stream.status).toBe(200);
    const lines = stream.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ id: ids.customer, internalNote: NOTE }));
  });

  test('cannot read customers or a customer', async () => {
    for (const [query, variables] of [
      ['{ customers(first: 5) { nodes { id } } }', {}],
      ['query($id: ID!) { customer(id: $id) { id } }', { id: ids.customer }],
    ] as const) {
      const { status, body } = await post(EXPORT, query, variables);
      expect(status).toBe(403);
      expect(body.data).toBeUndefined();
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    }
  });
});

describe('a key from before scopes existed (scopes NULL)', () => {
  test('holds every key scope', async () => {
    const issued = await issueKey(running.app.store.db, { workspace: 'alpha', name: 'pre-004', scopes: ['customers:read'] });
    // Migration 004 added the column without a default: rows from before it read NULL.
    await running.app.store.db.updateTable('api_keys').set({ scopes: null }).where('id', '=', issued.record.id).execute();
    keys.set('pre-004', issued);
    const held = [
      '{ customers(first: 1) { nodes { id internalNote } } }',
      '{ exportCustomers(first: 1) { nodes { id } } }',
      `mutation { updateCustomer(input: { id: "${ids.customer}", lastName: "Old" }) { ${USER_ERRORS} } }`,
      `mutation { defineCustomField(input: { key: "legacy", label: "Legacy", valueType: STRING }) { ${USER_ERRORS} } }`,
    ];
    for (const query of held) {
      const { status, body } = await post('pre-004', query);
      expect({ query, status, errors: body.errors }).toEqual({ query, status: 200, errors: undefined });
    }
    expect((await ndjsonExport('pre-004')).status).toBe(200);
  });
});

describe('key create --scope', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function cli(dataDir: string, ...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: { DATA_DIR: dataDir } });
    return { code, out, err };
  }

  async function storedScopes(dataDir: string): Promise<(string | null)[]> {
    const store = openStore({ dataDir });
    try {
      const rows = await store.db.selectFrom('api_keys').select('scopes').orderBy('created_at').execute();
      return rows.map((row) => row.scopes);
    } finally {
      await store.close();
    }
  }

  test('stores exactly the scopes given, and key list shows them and `all` for a key without', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-scopes-'));
    dirs.push(dataDir);
    const scoped = await cli(dataDir, 'key', 'create', '--workspace', 'acme', '--name', 'reader', '--scope', 'customers:read', '--scope', 'export:read');
    expect(scoped.code).toBe(0);
    expect(scoped.err).toContain('scopes:       customers:read,export:read');
    const unscoped = await cli(dataDir, 'key', 'create', '--workspace', 'acme', '--name', 'admin');
    expect(unscoped.code).toBe(0);
    expect(await storedScopes(dataDir)).toEqual(['customers:read export:read', null]);

    const list = await cli(dataDir, 'key', 'list', '--workspace', 'acme');
    expect(list.code).toBe(0);
    const [header, ...rows] = list.out.map((line) => line.split(/\s{2,}/));
    const column = header.indexOf('SCOPES');
    expect(column).toBeGreaterThan(-1);
    const byName = Object.fromEntries(rows.map((row) => [row[header.indexOf('NAME')], row[column]]));
    expect(byName).toEqual({ reader: 'customers:read,export:read', admin: 'all' });
  });

  test('refuses an unknown scope, naming the valid ones, and creates no key', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-scopes-'));
    dirs.push(dataDir);
    await cli(dataDir, 'key', 'create', '--workspace', 'acme', '--name', 'first');
    const run = await cli(dataDir, 'key', 'create', '--workspace', 'acme', '--scope', 'customers:read', '--scope', 'customers:delete');
    expect(run.code).not.toBe(0);
    expect(run.out).toEqual([]);
    const message = run.err.join('\n');
    expect(message).toContain('customers:delete');
    for (const scope of KEY_SCOPES) expect(message).toContain(scope);
    expect(await storedScopes(dataDir)).toEqual([null]);
  });
});
