/**
 * The real HTTP front: authentication, headers that land in the audit log, routing, request
 * hygiene (CSRF, body size, JSON), error codes and masking, the explorer, graceful shutdown and
 * the first-start bootstrap. Each app listens on an ephemeral port on 127.0.0.1.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { GraphQLError } from 'graphql';
import pino from 'pino';
import { bootstrapDefaultWorkspace, createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/shared/logger';
import { HTTP_STATUS, type ErrorCode } from '../src/shared/errors';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { revokeApiKey } from '../src/store/workspaces.repository';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.spyOn needs the mutable exports object; an import binding cannot be replaced
const customersRepository = require('../src/store/customers.repository') as typeof import('../src/store/customers.repository');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.spyOn needs the mutable exports object; an import binding cannot be replaced
const workspacesRepository = require('../src/store/workspaces.repository') as typeof import('../src/store/workspaces.repository');

/** Log lines the main app wrote, parsed. */
const logLines: Record<string, any>[] = [];
const capturingLogger = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logLines.push(JSON.parse(line));
      done();
    },
  }),
);

const tempDirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-http-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function startApp(env: Record<string, string> = {}, logger = createLogger('silent')): Promise<{ app: App; url: string }> {
  const config = loadConfig({ DATA_DIR: tempDir(), PORT: '0', PUBLIC_URL: 'http://gw.test', LOG_LEVEL: 'silent', ...env });
  const app = await createApp({ config, logger });
  const url = await app.listen(0, '127.0.0.1');
  return { app, url };
}

interface GraphqlBody {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, any>; path?: unknown[] }[];
}

interface Sent {
  status: number;
  headers: Headers;
  text: string;
  json: GraphqlBody;
}

async function read(response: Response): Promise<Sent> {
  const text = await response.text();
  let json: GraphqlBody = {};
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: left empty, the test looks at `text`
  }
  return { status: response.status, headers: response.headers, text, json };
}

let app: App;
let url: string;
let acme: IssuedKey;

/** POSTs a GraphQL operation as JSON with the given headers (no key unless given). */
async function post(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Sent> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return read(response);
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  ({ app, url } = await startApp({}, capturingLogger));
  acme = await issueKey(app.store.db, { workspace: 'acme', name: 'acme-frontend' });
});

afterAll(async () => {
  await app.stop();
});

describe('authentication', () => {
  it('answers 401 UNAUTHENTICATED without a key, saying how to send one', async () => {
    const res = await post('{ workspace { name } }');
    expect(res.status).toBe(401);
    expect(res.json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.json.errors?.[0]?.message).toContain('Authorization: Bearer');
    expect(res.json.errors?.[0]?.message).toContain('X-Api-Key');
    expect(res.json.data ?? null).toBeNull();
  });

  it('answers 401 for a key that does not exist', async () => {
    const wrong = `${acme.key.slice(0, -4)}AAAA`;
    const res = await post('{ workspace { name } }', undefined, bearer(wrong));
    expect(res.status).toBe(401);
    expect(res.json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.json.data ?? null).toBeNull();
  });

  it('answers 401 for a revoked key (at once with API_KEY_CACHE_TTL_MS=0; test/key-cache.test.ts has the default)', async () => {
    const uncached = await startApp({ API_KEY_CACHE_TTL_MS: '0' });
    const send = async (key: string) =>
      read(await fetch(`${uncached.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(key) }, body: JSON.stringify({ query: '{ workspace { name } }' }) }));
    try {
      const doomed = await issueKey(uncached.app.store.db, { workspace: 'acme', name: 'doomed' });
      const other = await issueKey(uncached.app.store.db, { workspace: 'acme', name: 'other' });
      expect((await send(doomed.key)).status).toBe(200);
      const revoked = await revokeApiKey(uncached.app.store.db, doomed.workspace.id, doomed.record.prefix, new Date().toISOString());
      expect(revoked).toBe(1);
      const after = await send(doomed.key);
      expect(after.status).toBe(401);
      expect(after.json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      // Other keys of the workspace still work.
      expect((await send(other.key)).status).toBe(200);
    } finally {
      await uncached.app.stop();
    }
  });

  it('accepts `Authorization: Bearer <key>`', async () => {
    const res = await post('{ workspace { name } }', undefined, bearer(acme.key));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ data: { workspace: { name: 'acme' } }, extensions: { cost: expect.any(Object) } });
  });

  it('accepts the bearer scheme case-insensitively', async () => {
    const res = await post('{ workspace { name } }', undefined, { authorization: `bearer ${acme.key}` });
    expect(res.status).toBe(200);
    expect(res.json.data?.workspace.name).toBe('acme');
  });

  it('accepts `X-Api-Key: <key>`', async () => {
    const res = await post('{ workspace { name } }', undefined, { 'x-api-key': acme.key });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ data: { workspace: { name: 'acme' } }, extensions: { cost: expect.any(Object) } });
  });

  it('answers 401 for a malformed Authorization header (Basic scheme)', async () => {
    const res = await post('{ workspace { name } }', undefined, { authorization: 'Basic xyz' });
    expect(res.status).toBe(401);
    expect(res.json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers 401 for a Basic Authorization header even when the key itself is sent as the credentials', async () => {
    const res = await post('{ workspace { name } }', undefined, { authorization: `Basic ${acme.key}` });
    expect(res.status).toBe(401);
  });

  it('requires a key for introspection and for the federation _service query too', async () => {
    for (const query of ['{ __schema { queryType { name } } }', '{ _service { sdl } }', '{ __typename }']) {
      const res = await post(query);
      expect({ query, status: res.status, code: res.json.errors?.[0]?.extensions?.code }).toEqual({ query, status: 401, code: 'UNAUTHENTICATED' });
      expect(res.text).not.toContain('Customer');
    }
  });

  it("answers every workspace's key with that workspace only", async () => {
    const other = await issueKey(app.store.db, { workspace: 'globex' });
    const res = await post('{ workspace { name } }', undefined, bearer(other.key));
    expect(res.json.data?.workspace.name).toBe('globex');
  });
});

describe('X-Actor and X-Via', () => {
  const CREATE = `mutation($input: CreateCustomerInput!) {
    createCustomer(input: $input) {
      customer { id createdBy createdVia updatedBy updatedVia actions { nodes { type actor via } } }
      userErrors { field message code }
    }
  }`;

  it('record the X-Actor and X-Via headers as createdBy/createdVia and on the action', async () => {
    const res = await post(CREATE, { input: { email: 'actor@example.com' } }, { ...bearer(acme.key), 'x-actor': 'agent:jane', 'x-via': 'crm-sync' });
    expect(res.status).toBe(200);
    const customer = res.json.data?.createCustomer.customer;
    expect(res.json.data?.createCustomer.userErrors).toEqual([]);
    expect(customer).toMatchObject({ createdBy: 'agent:jane', createdVia: 'crm-sync', updatedBy: 'agent:jane', updatedVia: 'crm-sync' });
    expect(customer.actions.nodes).toEqual([{ type: 'CUSTOMER_CREATED', actor: 'agent:jane', via: 'crm-sync' }]);
  });

  it("default to the key's name and `api` without the headers", async () => {
    const res = await post(CREATE, { input: { email: 'no-actor@example.com' } }, bearer(acme.key));
    const customer = res.json.data?.createCustomer.customer;
    expect(customer).toMatchObject({ createdBy: 'acme-frontend', createdVia: 'api' });
    expect(customer.actions.nodes).toEqual([{ type: 'CUSTOMER_CREATED', actor: 'acme-frontend', via: 'api' }]);
  });

  it('default to `key:<prefix>` for a key without a name', async () => {
    const unnamed = await issueKey(app.store.db, { workspace: 'acme' });
    expect(unnamed.record.name).toBeNull();
    const res = await post(CREATE, { input: { email: 'unnamed-key@example.com' } }, { 'x-api-key': unnamed.key });
    const customer = res.json.data?.createCustomer.customer;
    expect(customer).toMatchObject({ createdBy: `key:${unnamed.record.prefix}`, createdVia: 'api' });
    expect(customer.actions.nodes).toEqual([{ type: 'CUSTOMER_CREATED', actor: `key:${unnamed.record.prefix}`, via: 'api' }]);
  });

  it('land on archivedBy/archivedVia and the archive action', async () => {
    const created = await post(CREATE, { input: { email: 'archive-me@example.com' } }, bearer(acme.key));
    const id = created.json.data?.createCustomer.customer.id;
    const res = await post(
      `mutation($id: ID!) { archiveCustomer(input: { id: $id, reason: "left" }) { customer { archivedBy archivedVia actions(first: 1) { nodes { type actor via } } } userErrors { code } } }`,
      { id },
      { ...bearer(acme.key), 'x-actor': 'agent:bob', 'x-via': 'backoffice' },
    );
    expect(res.json.data?.archiveCustomer.customer).toEqual({
      archivedBy: 'agent:bob',
      archivedVia: 'backoffice',
      actions: { nodes: [{ type: 'CUSTOMER_ARCHIVED', actor: 'agent:bob', via: 'backoffice' }] },
    });
  });

  it('are trimmed, and blank ones fall back to the defaults', async () => {
    const res = await post(CREATE, { input: { email: 'blank-actor@example.com' } }, { ...bearer(acme.key), 'x-actor': '   ', 'x-via': '  ops  ' });
    expect(res.json.data?.createCustomer.customer).toMatchObject({ createdBy: 'acme-frontend', createdVia: 'ops' });
  });

  it('are bounded in length before they reach the audit log', async () => {
    const res = await post(CREATE, { input: { email: 'long-actor@example.com' } }, { ...bearer(acme.key), 'x-actor': 'a'.repeat(5000), 'x-via': 'v'.repeat(500) });
    expect(res.status).toBe(200);
    const customer = res.json.data?.createCustomer.customer;
    expect(customer.createdBy.length).toBeLessThanOrEqual(256);
    expect(customer.createdVia.length).toBeLessThanOrEqual(64);
    expect(customer.actions.nodes[0].actor).toBe(customer.createdBy);
  });
});

describe('routing', () => {
  it('GET /health answers 200 {status: ok}', async () => {
    const res = await read(await fetch(`${url}/health`));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok' });
  });

  it('answers an unknown path with a JSON 404', async () => {
    const res = await read(await fetch(`${url}/no/such/path`));
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.text).toContain('not found');
  });

  it('routes request targets as the WHATWG URL of the path says: /graphql exactly (the fast path) and its spellings alike', async () => {
    /** Sends the request target as written (fetch would normalise it first). */
    const raw = (target: string) =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const body = JSON.stringify({ query: '{ workspace { name } }' });
        const request = http.request(`${url}${target}`, { method: 'POST', path: target, headers: { 'content-type': 'application/json', ...bearer(acme.key) } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        });
        request.on('error', reject);
        request.end(body);
      });
    const answer = (sent: Awaited<ReturnType<typeof raw>>) => ({
      status: sent.status,
      contentType: sent.headers['content-type'],
      // The bucket level moves with every request; the rest of the body must not.
      body: sent.body.replace(/"currentlyAvailable":\d+/, '"currentlyAvailable":0'),
    });
    const exact = answer(await raw('/graphql'));
    expect(exact).toMatchObject({ status: 200, contentType: 'application/json; charset=utf-8' });
    expect(JSON.parse(exact.body).data).toEqual({ workspace: { name: 'acme' } });
    for (const same of ['/graphql?', '/graphql?unused=1', '/./graphql', '/x/../graphql', '/graphql#fragment']) {
      expect({ target: same, ...answer(await raw(same)) }).toEqual({ target: same, ...exact });
    }
    for (const other of ['/graphql/', '/Graphql', '/%67raphql', '/graphqlx']) expect({ target: other, status: (await raw(other)).status }).toEqual({ target: other, status: 404 });
  });

  it('serves a query over GET with a preflight header and the key', async () => {
    const query = encodeURIComponent('{ workspace { name } }');
    const res = await read(await fetch(`${url}/graphql?query=${query}`, { headers: { ...bearer(acme.key), 'apollo-require-preflight': 'true' } }));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ data: { workspace: { name: 'acme' } }, extensions: { cost: expect.any(Object) } });
  });

  it('refuses a GET query without a preflight-forcing header (CSRF prevention)', async () => {
    const query = encodeURIComponent('{ workspace { name } }');
    const res = await read(await fetch(`${url}/graphql?query=${query}`, { headers: bearer(acme.key) }));
    expect(res.status).toBe(400);
    expect(res.json.data ?? null).toBeNull();
  });

  it('refuses a mutation over GET and writes nothing', async () => {
    const query = encodeURIComponent('mutation { createCustomer(input: { email: "via-get@example.com" }) { customer { id } } }');
    const res = await read(await fetch(`${url}/graphql?query=${query}`, { headers: { ...bearer(acme.key), 'apollo-require-preflight': 'true' } }));
    expect([400, 405]).toContain(res.status);
    expect(res.json.errors?.length).toBeGreaterThan(0);
    const check = await post('{ customerByEmail(email: "via-get@example.com") { id } }', undefined, bearer(acme.key));
    expect(check.json.data?.customerByEmail).toBeNull();
  });

  it('refuses a text/plain POST (a CSRF-style simple request) with 400 and writes nothing', async () => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...bearer(acme.key) },
      body: JSON.stringify({ query: 'mutation { createCustomer(input: { email: "csrf@example.com" }) { customer { id } } }' }),
    });
    const res = await read(response);
    expect(res.status).toBe(400);
    const check = await post('{ customerByEmail(email: "csrf@example.com") { id } }', undefined, bearer(acme.key));
    expect(check.json.data?.customerByEmail).toBeNull();
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const padding = 'x'.repeat(1024 * 1024 + 10);
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(acme.key) },
      body: JSON.stringify({ query: '{ workspace { name } }', variables: { padding } }),
    });
    const sent = await read(res);
    expect(sent.status).toBe(413);
    expect(sent.json.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('refuses a body over 1 MiB sent without a content-length (chunked) with 413', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 20) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(acme.key) },
      body,
      duplex: 'half',
    }).then(
      (response) => read(response).then((sent) => ({ status: sent.status, code: sent.json.errors?.[0]?.extensions?.code })),
      (error: Error & { cause?: { code?: string } }) => ({ status: 'no response', code: error.cause?.code ?? error.message }),
    );
    expect(res).toEqual({ status: 413, code: 'BAD_REQUEST' });
  });

  it('answers 400 to a body that is not valid JSON', async () => {
    const res = await read(
      await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(acme.key) }, body: '{"query": "{ workspace { name } }"' }),
    );
    expect(res.status).toBe(400);
    expect(res.json.errors?.[0]?.message).toMatch(/JSON/);
  });

  it('answers 400 to a batched (array) request', async () => {
    const res = await read(
      await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(acme.key) },
        body: JSON.stringify([{ query: '{ workspace { name } }' }, { query: '{ workspace { id } }' }]),
      }),
    );
    expect(res.status).toBe(400);
  });
});

describe('error codes', () => {
  it('answers a syntax error with 400 GRAPHQL_PARSE_FAILED', async () => {
    const res = await post('{ workspace { name }', undefined, bearer(acme.key));
    expect(res.status).toBe(400);
    expect(res.json.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('answers an unknown field with 400 GRAPHQL_VALIDATION_FAILED and no "Did you mean" suggestion', async () => {
    const res = await post('{ customr(id: "x") { id } workspace { nam } }', undefined, bearer(acme.key));
    expect(res.status).toBe(400);
    expect(res.json.errors?.length).toBeGreaterThan(0);
    for (const error of res.json.errors ?? []) {
      expect(error.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(error.message).not.toMatch(/did you mean/i);
    }
  });

  it('answers customers(first: 0) with BAD_USER_INPUT', async () => {
    const res = await post('{ customers(first: 0) { totalCount } }', undefined, bearer(acme.key));
    expect(res.json.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.text).not.toContain('stacktrace');
  });

  it('answers a wrongly typed variable with BAD_USER_INPUT', async () => {
    const res = await post('query($id: ID!) { customer(id: $id) { id } }', { id: { not: 'an id' } }, bearer(acme.key));
    expect(res.json.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('never includes a stack trace in client errors', async () => {
    for (const res of [
      await post('{ workspace { name }', undefined, bearer(acme.key)),
      await post('{ nope }', undefined, bearer(acme.key)),
      await post('{ customers(first: 0) { totalCount } }', undefined, bearer(acme.key)),
      await post('{ workspace { name } }'),
    ]) {
      expect(res.text).not.toContain('stacktrace');
      expect(res.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    }
  });
});

describe('every error answers with the status of its code (src/shared/errors.ts HTTP_STATUS) and one body shape', () => {
  const json = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...bearer(acme.key) }, body });
  const cases: [string, ErrorCode, () => Promise<Response>][] = [
    ['no API key', 'UNAUTHENTICATED', () => fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ workspace { name } }' }) })],
    ['a syntax error', 'GRAPHQL_PARSE_FAILED', () => fetch(`${url}/graphql`, json(JSON.stringify({ query: '{ workspace { name }' })))],
    ['an unknown field', 'GRAPHQL_VALIDATION_FAILED', () => fetch(`${url}/graphql`, json(JSON.stringify({ query: '{ nope }' })))],
    ['a wrongly typed variable', 'BAD_USER_INPUT', () => fetch(`${url}/graphql`, json(JSON.stringify({ query: 'query($id: ID!) { customer(id: $id) { id } }', variables: { id: {} } })))],
    ['a body that is not JSON', 'BAD_REQUEST', () => fetch(`${url}/graphql`, json('{"query": '))],
    ['a malformed Idempotency-Key', 'BAD_REQUEST', () => fetch(`${url}/graphql`, { ...json(JSON.stringify({ query: 'mutation { createCustomer(input: { email: "bad-key@example.com" }) { customer { id } } }' })), headers: { 'content-type': 'application/json', 'idempotency-key': 'has space', ...bearer(acme.key) } })],
    ['60 unknown directives', 'QUERY_TOO_COMPLEX', () => fetch(`${url}/graphql`, json(JSON.stringify({ query: `{ workspace { name ${'@nope '.repeat(60)}} }` })))],
    ['two operations and no operationName', 'OPERATION_RESOLUTION_FAILURE', () => fetch(`${url}/graphql`, json(JSON.stringify({ query: 'query A { workspace { name } } query B { workspace { id } }' })))],
    ['an unknown persisted query', 'PERSISTED_QUERY_NOT_FOUND', () => fetch(`${url}/graphql`, json(JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } })))],
    ['an export without a key', 'UNAUTHENTICATED', () => fetch(`${url}/export/customers.ndjson`)],
    ['an export with a bad updatedSince', 'BAD_USER_INPUT', () => fetch(`${url}/export/customers.ndjson?updatedSince=yesterday`, { headers: bearer(acme.key) })],
  ];

  it.each(cases)('%s: %s', async (_label, code, send) => {
    const res = await read(await send());
    expect({ status: res.status, code: res.json.errors?.[0]?.extensions?.code }).toEqual({ status: HTTP_STATUS[code], code });
    expect(res.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    expect(res.json.errors).toEqual([expect.objectContaining({ message: expect.any(String), extensions: expect.objectContaining({ code }) })]);
    for (const error of res.json.errors ?? []) {
      expect(Object.keys(error).filter((key) => !['message', 'extensions', 'locations', 'path'].includes(key))).toEqual([]);
      expect(error.extensions).not.toHaveProperty('http');
    }
  });
});

describe('x-request-id', () => {
  it('is on every /graphql response, successful or not', async () => {
    const responses = [
      await post('{ workspace { name } }', undefined, bearer(acme.key)),
      await post('{ workspace { name } }'),
      await post('{ workspace { name }', undefined, bearer(acme.key)),
      await read(await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })),
    ];
    const ids = responses.map((r) => r.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^[\w.-]{1,64}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('echoes a well-formed X-Request-Id given by the caller', async () => {
    const res = await post('{ workspace { name } }', undefined, { ...bearer(acme.key), 'x-request-id': 'req-abc.123_XYZ' });
    expect(res.headers.get('x-request-id')).toBe('req-abc.123_XYZ');
  });

  it('replaces a malformed X-Request-Id instead of echoing it', async () => {
    const res = await post('{ workspace { name } }', undefined, { ...bearer(acme.key), 'x-request-id': 'bad id with spaces' });
    const id = res.headers.get('x-request-id');
    expect(id).toBeTruthy();
    expect(id).not.toBe('bad id with spaces');
  });

  it('is on /health, 404 and explorer responses too', async () => {
    for (const target of ['/health', '/nowhere', '/']) {
      const res = await fetch(`${url}${target}`);
      await res.arrayBuffer();
      expect({ target, id: res.headers.get('x-request-id') }).toEqual({ target, id: expect.stringMatching(/^[\w.-]{1,64}$/) });
    }
  });
});

describe('error masking', () => {
  it('masks an unexpected error as INTERNAL_SERVER_ERROR with the request id, without details or stack', async () => {
    jest.spyOn(customersRepository, 'findCustomersBy').mockRejectedValue(new Error('boom secret detail'));
    const res = await post('query($id: ID!) { customer(id: $id) { id } }', { id: '0190a0a0-0000-7000-8000-000000000000' }, bearer(acme.key));
    expect(customersRepository.findCustomersBy).toHaveBeenCalled();
    const [error] = res.json.errors ?? [];
    expect(error?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(error?.message).not.toMatch(/boom|secret/);
    expect(res.text).not.toMatch(/boom|secret/);
    expect(res.text).not.toContain('stacktrace');
    expect(error?.extensions?.requestId).toBe(res.headers.get('x-request-id'));
    expect(error?.path).toEqual(['customer']);
  });

  it('masks an unexpected GraphQLError carrying a made-up code', async () => {
    jest.spyOn(customersRepository, 'findCustomersBy').mockRejectedValue(new GraphQLError('secret internals', { extensions: { code: 'DB_DOWN', host: 'db.internal' } }));
    const res = await post('query($id: ID!) { customer(id: $id) { id } }', { id: '0190a0a0-0000-7000-8000-000000000000' }, bearer(acme.key));
    expect(res.json.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(res.text).not.toMatch(/secret|db\.internal|DB_DOWN/);
  });

  it('uses the caller-given X-Request-Id as the requestId of a masked error', async () => {
    jest.spyOn(customersRepository, 'findCustomersBy').mockRejectedValue(new Error('boom secret detail'));
    const res = await post('query($id: ID!) { customer(id: $id) { id } }', { id: '0190a0a0-0000-7000-8000-000000000000' }, { ...bearer(acme.key), 'x-request-id': 'trace-42' });
    expect(res.headers.get('x-request-id')).toBe('trace-42');
    expect(res.json.errors?.[0]?.extensions?.requestId).toBe('trace-42');
  });

  it('logs the original error of a masked failure, with the request id', async () => {
    jest.spyOn(customersRepository, 'findCustomersBy').mockRejectedValue(new Error('boom logged detail'));
    logLines.length = 0;
    const res = await post('query($id: ID!) { customer(id: $id) { id } }', { id: '0190a0a0-0000-7000-8000-000000000000' }, { ...bearer(acme.key), 'x-request-id': 'trace-log-1' });
    expect(res.json.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    const logged = logLines.find((line) => line.level >= 50 && JSON.stringify(line).includes('boom logged detail'));
    expect(logged).toBeDefined();
    expect(logged?.request_id).toBe('trace-log-1');
  });

  it('masks a failure while authenticating the key (HTTP 500 INTERNAL_SERVER_ERROR, no details, request id given)', async () => {
    // A key this server has not verified yet: a remembered one (API_KEY_CACHE_TTL_MS) is not read again.
    const unseen = await issueKey(app.store.db, { workspace: 'acme', name: 'auth-failure-1' });
    jest.spyOn(workspacesRepository, 'findActiveKeyByHash').mockRejectedValue(new Error('boom secret auth-db detail'));
    const res = await post('{ workspace { name } }', undefined, { ...bearer(unseen.key), 'x-request-id': 'trace-auth-1' });
    expect(workspacesRepository.findActiveKeyByHash).toHaveBeenCalled();
    expect(res.status).toBe(500);
    expect(res.json.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(res.text).not.toMatch(/boom|secret|auth-db|Context creation/);
    expect(res.text).not.toContain('stacktrace');
    expect(res.headers.get('x-request-id')).toBe('trace-auth-1');
    // The message tells the caller to quote the requestId: it must be there to quote.
    expect(res.json.errors?.[0]?.extensions?.requestId).toBe('trace-auth-1');
  });

  it('logs a failure while authenticating the key, with the request id', async () => {
    const unseen = await issueKey(app.store.db, { workspace: 'acme', name: 'auth-failure-2' });
    jest.spyOn(workspacesRepository, 'findActiveKeyByHash').mockRejectedValue(new Error('boom auth logged'));
    logLines.length = 0;
    await post('{ workspace { name } }', undefined, { ...bearer(unseen.key), 'x-request-id': 'trace-auth-2' });
    const logged = logLines.find((line) => line.level >= 50 && JSON.stringify(line).includes('boom auth logged'));
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain('trace-auth-2');
  });

  it('works normally again once the failure is gone', async () => {
    const res = await post('query($id: ID!) { customer(id: $id) { id } }', { id: '0190a0a0-0000-7000-8000-000000000000' }, bearer(acme.key));
    expect(res.json).toEqual({ data: { customer: null }, extensions: { cost: expect.any(Object) } });
  });
});

describe('explorer', () => {
  it('GET / serves the explorer as HTML', async () => {
    const res = await fetch(`${url}/`);
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(body).toMatch(/<html/i);
    expect(body).toContain('/graphql');
  });

  it('GET / answers 404 with EXPLORER=false', async () => {
    const off = await startApp({ EXPLORER: 'false' });
    try {
      const res = await fetch(`${off.url}/`);
      await res.arrayBuffer();
      expect(res.status).toBe(404);
      const asset = await fetch(`${off.url}/explorer/graphiql.js`);
      await asset.arrayBuffer();
      expect(asset.status).toBe(404);
      const health = await fetch(`${off.url}/health`);
      expect(health.status).toBe(200);
      await health.arrayBuffer();
    } finally {
      await off.app.stop();
    }
  });
});

describe('graceful shutdown', () => {
  const SLOW_QUERY = '{ customer(id: "0190a0a0-0000-7000-8000-000000000000") { id } workspace { name } }';

  /** Makes the next customer lookup take 300 ms; resolves `started` when it begins. */
  function slowNextLookup(): Promise<void> {
    const real = customersRepository.findCustomersBy;
    return new Promise<void>((started) => {
      jest.spyOn(customersRepository, 'findCustomersBy').mockImplementationOnce(async (...args) => {
        started();
        await new Promise((resolve) => setTimeout(resolve, 300));
        return real(...args);
      });
    });
  }

  /** One request through a node:http agent (keep-alive agents reuse their connection). */
  function rawPost(agent: http.Agent | false, base: string, key: string, query: string) {
    return new Promise<{ status: number; connection: string | undefined; body: string } | { error: string }>((resolve) => {
      const req = http.request(`${base}/graphql`, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      req.end(JSON.stringify({ query }));
    });
  }

  it('lets an in-flight request finish with 200 while refusing new connections, and stops', async () => {
    const own = await startApp();
    const key = await issueKey(own.app.store.db, { workspace: 'slow' });
    const inFlight = slowNextLookup();
    const request = fetch(`${own.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(key.key) },
      body: JSON.stringify({ query: SLOW_QUERY }),
    }).then(read);
    await inFlight;
    const stopping = own.app.stop();

    // A new connection is refused straight away, while the slow request is still running.
    expect(await rawPost(false, own.url, key.key, '{ workspace { name } }')).toEqual({ error: 'ECONNREFUSED' });

    const res = await request;
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ data: { customer: null, workspace: { name: 'slow' } }, extensions: { cost: expect.any(Object) } });

    await stopping;
    await expect(fetch(`${own.url}/health`)).rejects.toThrow();
  });

  it('completes stop() promptly once in-flight requests are done, without waiting out idle keep-alive connections', async () => {
    // A keep-alive far longer than the bound below, so a busy machine cannot blur the two.
    const own = await startApp({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '60000' });
    const key = await issueKey(own.app.store.db, { workspace: 'slow' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const inFlight = slowNextLookup();
      const request = rawPost(agent, own.url, key.key, SLOW_QUERY);
      await inFlight;
      let stoppedAt = 0;
      const stopping = own.app.stop().then(() => (stoppedAt = Date.now()));
      const res = await request;
      const answeredAt = Date.now();
      expect(res).toMatchObject({ status: 200 });
      await stopping;
      expect(stoppedAt - answeredAt).toBeLessThan(4000);
    } finally {
      agent.destroy();
    }
  });

  it('does not serve new requests arriving on kept-alive connections once stopping', async () => {
    const own = await startApp();
    const key = await issueKey(own.app.store.db, { workspace: 'slow' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const inFlight = slowNextLookup();
      const request = rawPost(agent, own.url, key.key, SLOW_QUERY);
      await inFlight;
      const stopping = own.app.stop();
      const res = await request;
      expect(res).toMatchObject({ status: 200 });

      // A write sent after stop() began must not be accepted, not even on the old connection
      // (the usual way: answer in-flight requests with `Connection: close`, then close the socket).
      const late = await rawPost(agent, own.url, key.key, 'mutation { createCustomer(input: { email: "late@example.com" }) { customer { id } } }');
      expect(late).not.toMatchObject({ status: 200 });
      await stopping;
    } finally {
      agent.destroy();
    }
  });
});

describe('first-start bootstrap', () => {
  it('creates workspace `default` with a working key on an empty database, and only once', async () => {
    const fresh = await startApp();
    try {
      const key = await bootstrapDefaultWorkspace(fresh.app.store);
      expect(typeof key).toBe('string');
      const res = await read(
        await fetch(`${fresh.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: '{ workspace { name } }' }),
        }),
      );
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ data: { workspace: { name: 'default' } }, extensions: { cost: expect.any(Object) } });

      expect(await bootstrapDefaultWorkspace(fresh.app.store)).toBeNull();
    } finally {
      await fresh.app.stop();
    }
  });

  it('does nothing when a workspace already exists', async () => {
    expect(await bootstrapDefaultWorkspace(app.store)).toBeNull();
  });
});
