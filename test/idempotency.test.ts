/**
 * Idempotency-Key on mutations, over real HTTP on a real migrated database (SQLite, or
 * PostgreSQL with TEST_DATABASE_URL): replay, reuse with another request, keys in flight,
 * expiry, scoping, and the crash windows (a holder that died before or after its commit).
 */
import { parse } from 'graphql';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/shared/logger';
import { IDEMPOTENCY_DEFAULTS, claimKey, requestHash } from '../src/graphql/idempotency';
import { createCustomer } from '../src/services/customers';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { withBeforeCommitHook } from '../src/store/engine';
import { findIdempotencyKey, markCommitted, purgeExpiredKeys, takeOverClaim } from '../src/store/idempotency.repository';
import { createTestDatabase, type TestDatabase } from './databases';

/**
 * A replay answers with the stored data and errors; `extensions.cost` describes the request that
 * was just made (the retry executes nothing), so it is left out of the comparison.
 */
function withoutCost(text: string): unknown {
  const body = JSON.parse(text) as { extensions?: Record<string, unknown> };
  if (body.extensions) {
    const { cost, ...rest } = body.extensions;
    void cost;
    if (Object.keys(rest).length > 0) body.extensions = rest;
    else delete body.extensions;
  }
  return body;
}

interface Sent {
  status: number;
  headers: Headers;
  text: string;
  json: { data?: Record<string, any> | null; errors?: { message: string; extensions?: Record<string, any> }[] };
}

let database: TestDatabase;
let app: App;
let url: string;
let acme: IssuedKey;
let acmeOther: IssuedKey;
let beta: IssuedKey;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = loadConfig({ ...database.env, PORT: '0', LOG_LEVEL: 'silent' });
  app = await createApp({ config, logger: createLogger('silent') });
  url = await app.listen(0, '127.0.0.1');
  acme = await issueKey(app.store.db, { workspace: 'acme', name: 'storefront' });
  acmeOther = await issueKey(app.store.db, { workspace: 'acme', name: 'back-office' });
  beta = await issueKey(app.store.db, { workspace: 'beta', name: 'beta' });
});

afterAll(async () => {
  await app.stop();
  await database.drop();
});

const CREATE = `mutation Create($in: CreateCustomerInput!) {
  createCustomer(input: $in) { customer { id email name version } userErrors { field code message } }
}`;

async function post(query: string, variables: Record<string, unknown> | undefined, headers: Record<string, string>, key = acme): Promise<Sent> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}`, ...headers },
    body: JSON.stringify({ query, variables, operationName: query.includes('Create') ? 'Create' : undefined }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: JSON.parse(text) };
}

let counter = 0;
const fresh = (prefix: string) => `${prefix}-${process.pid}-${(counter += 1)}`;

async function countCustomers(email: string): Promise<{ customers: number; actions: number }> {
  const customers = await app.store.db.selectFrom('customers').select('id').where('email', '=', email).execute();
  const ids = customers.map((c) => c.id);
  const actions = ids.length ? await app.store.db.selectFrom('actions').select('id').where('customer_id', 'in', ids).execute() : [];
  return { customers: customers.length, actions: actions.length };
}

const scopeOf = (key: IssuedKey, idempotencyKey: string) => ({ workspaceId: key.workspace.id, apiKeyId: key.record.id, key: idempotencyKey });
const hashOf = (email: string) => requestHash(parse(CREATE), 'Create', { in: { email } });

describe('Idempotency-Key on mutations', () => {
  it('replays the stored response for a retry with the same key and request, writing once', async () => {
    const key = fresh('replay');
    const email = `${key}@example.com`;
    const first = await post(CREATE, { in: { email, firstName: 'Ada' } }, { 'idempotency-key': key });
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.json.data?.createCustomer.customer.email).toBe(email);
    const retry = await post(CREATE, { in: { firstName: 'Ada', email } }, { 'idempotency-key': key });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(withoutCost(retry.text)).toEqual(withoutCost(first.text));
    expect(await countCustomers(email)).toEqual({ customers: 1, actions: 1 });
  });

  it('replays a rejection with userErrors as well, without writing', async () => {
    const key = fresh('rejected');
    const bad = { in: { email: 'not-an-email' } };
    const first = await post(CREATE, bad, { 'idempotency-key': key });
    expect(first.json.data?.createCustomer.userErrors[0].field).toEqual(['email']);
    const retry = await post(CREATE, bad, { 'idempotency-key': key });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(withoutCost(retry.text)).toEqual(withoutCost(first.text));
  });

  it('answers IDEMPOTENCY_KEY_REUSED (422) for the same key with another request, changing nothing', async () => {
    const key = fresh('reused');
    await post(CREATE, { in: { email: `${key}@example.com` } }, { 'idempotency-key': key });
    const other = `${key}-other@example.com`;
    const res = await post(CREATE, { in: { email: other } }, { 'idempotency-key': key });
    expect(res.status).toBe(422);
    expect(res.json.errors?.[0].extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await countCustomers(other)).toEqual({ customers: 0, actions: 0 });
  });

  it('scopes keys to the workspace and the API key', async () => {
    const key = fresh('scoped');
    const results = [];
    for (const caller of [acme, acmeOther, beta]) {
      const res = await post(CREATE, { in: { email: `${key}-${caller.record.name}@example.com` } }, { 'idempotency-key': key }, caller);
      results.push(res);
    }
    for (const res of results) {
      expect(res.headers.get('idempotent-replayed')).toBeNull();
      expect(res.json.data?.createCustomer.customer).not.toBeNull();
    }
  });

  it.each([
    ['too long', 'k'.repeat(256)],
    ['with a space', 'two words'],
    ['empty', ''],
    ['not ASCII', 'clé-1'],
  ])('rejects a key that is %s with BAD_REQUEST (400), writing nothing', async (_, key) => {
    const email = `${fresh('badkey')}@example.com`;
    const headers = { 'idempotency-key': key };
    const res = /^[\x20-\x7e]*$/.test(key)
      ? await post(CREATE, { in: { email } }, headers)
      : await post(CREATE, { in: { email } }, { 'idempotency-key': Buffer.from(key, 'utf8').toString('latin1') });
    expect(res.status).toBe(400);
    expect(res.json.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    expect(await countCustomers(email)).toEqual({ customers: 0, actions: 0 });
  });

  it('accepts a key of 255 characters', async () => {
    const key = `${fresh('long')}-`.padEnd(255, 'x');
    const res = await post(CREATE, { in: { email: `${fresh('long')}@example.com` } }, { 'idempotency-key': key });
    expect(res.status).toBe(200);
    expect(res.json.data?.createCustomer.customer).not.toBeNull();
  });

  it('runs queries with a key as usual and records nothing', async () => {
    const key = fresh('query');
    const res = await post('{ workspace { name } }', undefined, { 'idempotency-key': key });
    expect(withoutCost(res.text)).toEqual({ data: { workspace: { name: 'acme' } } });
    expect(await findIdempotencyKey(app.store.db, scopeOf(acme, key))).toBeNull();
  });

  it('rejects a key on an operation with several mutation fields (one key, one transaction)', async () => {
    const email = `${fresh('two')}@example.com`;
    const res = await post(
      `mutation { a: createCustomer(input: { email: "${email}" }) { customer { id } } b: createCustomer(input: { email: "b${email}" }) { customer { id } } }`,
      undefined,
      { 'idempotency-key': fresh('two') },
    );
    expect(res.status).toBe(400);
    expect(res.json.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    expect(await countCustomers(email)).toEqual({ customers: 0, actions: 0 });
  });

  it('answers a retryable CONFLICT (409, Retry-After) while the key is in flight, and stores nothing', async () => {
    const key = fresh('inflight');
    const email = `${key}@example.com`;
    const scope = scopeOf(acme, key);
    const claim = await claimKey(app.store.db, scope, hashOf(email), IDEMPOTENCY_DEFAULTS);
    expect(claim.kind).toBe('execute');
    const before = await findIdempotencyKey(app.store.db, scope);
    const res = await post(CREATE, { in: { email } }, { 'idempotency-key': key });
    expect(res.status).toBe(409);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.json.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(await countCustomers(email)).toEqual({ customers: 0, actions: 0 });
    expect(await findIdempotencyKey(app.store.db, scope)).toEqual(before);
  });

  it('lets a retry take over a key whose holder died before committing (lease ran out)', async () => {
    const key = fresh('dead-holder');
    const email = `${key}@example.com`;
    const scope = scopeOf(acme, key);
    const claim = await claimKey(app.store.db, scope, hashOf(email), IDEMPOTENCY_DEFAULTS);
    if (claim.kind !== 'execute') throw new Error('expected a claim');
    // The holder "dies"; its lease ends.
    expect(await takeOverClaim(app.store.db, scope, claim.token, claim.token, Date.now() - 1)).toBe(true);
    const res = await post(CREATE, { in: { email } }, { 'idempotency-key': key });
    expect(res.status).toBe(200);
    expect(res.json.data?.createCustomer.customer.email).toBe(email);
    expect(await countCustomers(email)).toEqual({ customers: 1, actions: 1 });
    expect((await findIdempotencyKey(app.store.db, scope))?.state).toBe('completed');
  });

  it('rolls back a stalled holder whose key was taken over: its commit mark is fenced by the token', async () => {
    const key = fresh('fenced');
    const email = `${key}@example.com`;
    const scope = scopeOf(acme, key);
    const stalled = await claimKey(app.store.db, scope, hashOf(email), { ...IDEMPOTENCY_DEFAULTS, leaseMs: 0 });
    const successor = await claimKey(app.store.db, scope, hashOf(email), IDEMPOTENCY_DEFAULTS);
    if (stalled.kind !== 'execute' || successor.kind !== 'execute') throw new Error('expected two claims');
    const who = { workspaceId: acme.workspace.id, actor: 'test', via: 'api' };
    const hook = async (trx: typeof app.store.db, result: unknown) => {
      if (!(await markCommitted(trx, scope, stalled.token, JSON.stringify(result)))) throw new Error('fenced');
    };
    await expect(withBeforeCommitHook(hook, () => createCustomer(app.store.db, who, { email }))).rejects.toThrow('fenced');
    expect(await countCustomers(email)).toEqual({ customers: 0, actions: 0 });
    expect((await findIdempotencyKey(app.store.db, scope))?.state).toBe('in_flight');
  });

  it('recovers a key whose mutation committed but whose response was never stored (crash after commit)', async () => {
    const key = fresh('committed');
    const email = `${key}@example.com`;
    const scope = scopeOf(acme, key);
    const claim = await claimKey(app.store.db, scope, hashOf(email), IDEMPOTENCY_DEFAULTS);
    if (claim.kind !== 'execute') throw new Error('expected a claim');
    const who = { workspaceId: acme.workspace.id, actor: 'test', via: 'api' };
    // What the plugin does inside the mutation's transaction; then the process "dies".
    const committed = await withBeforeCommitHook(
      async (trx, result) => void (await markCommitted(trx, scope, claim.token, JSON.stringify(result))),
      () => createCustomer(app.store.db, who, { email }),
    );
    expect((await findIdempotencyKey(app.store.db, scope))?.state).toBe('committed');
    const res = await post(CREATE, { in: { email } }, { 'idempotency-key': key });
    expect(res.status).toBe(200);
    expect(res.headers.get('idempotent-replayed')).toBe('true');
    expect(res.json.data?.createCustomer.customer).toEqual({ id: committed.customer?.id, email, name: null, version: 1 });
    expect(await countCustomers(email)).toEqual({ customers: 1, actions: 1 });
    const again = await post(CREATE, { in: { email } }, { 'idempotency-key': key });
    expect(withoutCost(again.text)).toEqual(withoutCost(res.text));
  });

  it('gives the key back when the request failed with a top-level error and wrote nothing', async () => {
    const key = fresh('released');
    const res = await post(CREATE, { in: { email: 42, nope: true } }, { 'idempotency-key': key });
    expect(res.json.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(await findIdempotencyKey(app.store.db, scopeOf(acme, key))).toBeNull();
    const email = `${key}@example.com`;
    const fixed = await post(CREATE, { in: { email } }, { 'idempotency-key': key });
    expect(fixed.json.data?.createCustomer.customer.email).toBe(email);
  });

  it('forgets expired keys: they can be used again, and a purge deletes them', async () => {
    const key = fresh('expired');
    const scope = scopeOf(acme, key);
    await post(CREATE, { in: { email: `${key}@example.com` } }, { 'idempotency-key': key });
    const past = Date.now() - 1;
    await app.store.db.updateTable('idempotency_keys').set({ expires_at: past }).where('key', '=', key).execute();
    const reuse = await post(CREATE, { in: { email: `${key}-2@example.com` } }, { 'idempotency-key': key });
    expect(reuse.status).toBe(200);
    expect(reuse.json.data?.createCustomer.customer.email).toBe(`${key}-2@example.com`);
    await app.store.db.updateTable('idempotency_keys').set({ expires_at: past }).where('key', '=', key).execute();
    expect(await purgeExpiredKeys(app.store.db, Date.now())).toBeGreaterThanOrEqual(1);
    expect(await findIdempotencyKey(app.store.db, scope)).toBeNull();
  });

  it('keeps a key for 24 hours', async () => {
    const key = fresh('ttl');
    const before = Date.now();
    await post(CREATE, { in: { email: `${key}@example.com` } }, { 'idempotency-key': key });
    const record = await findIdempotencyKey(app.store.db, scopeOf(acme, key));
    expect(record?.expiresAt).toBeGreaterThanOrEqual(before + 24 * 3600 * 1000);
    expect(record?.expiresAt).toBeLessThanOrEqual(Date.now() + 24 * 3600 * 1000);
  });

  it('writes once when retries with one key race each other', async () => {
    const key = fresh('race');
    const email = `${key}@example.com`;
    const results = await Promise.all(Array.from({ length: 8 }, () => post(CREATE, { in: { email } }, { 'idempotency-key': key })));
    for (const res of results) {
      // Each is the first execution, its replay, or a retryable CONFLICT: never a second write.
      expect([200, 409]).toContain(res.status);
      if (res.status === 200) expect(res.json.data?.createCustomer.customer.email).toBe(email);
      else expect(res.json.errors?.[0].extensions?.code).toBe('CONFLICT');
    }
    expect(results.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(await countCustomers(email)).toEqual({ customers: 1, actions: 1 });
  });

  it('covers every mutation, not only customers: defineCustomField is replayed too', async () => {
    const key = fresh('define');
    const define = `mutation { defineCustomField(input: { key: "k_${counter}", label: "Tier", valueType: STRING }) { customFieldDefinition { key createdAt } userErrors { code } } }`;
    const first = await post(define, undefined, { 'idempotency-key': key });
    expect(first.json.data?.defineCustomField.customFieldDefinition.key).toBe(`k_${counter}`);
    const retry = await post(define, undefined, { 'idempotency-key': key });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(withoutCost(retry.text)).toEqual(withoutCost(first.text));
    expect((await findIdempotencyKey(app.store.db, scopeOf(acme, key)))?.state).toBe('completed');
  });
});
