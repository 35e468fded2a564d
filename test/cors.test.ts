/**
 * CORS on the real HTTP front (CORS_ORIGINS): preflights from listed and unlisted origins, the
 * grant on actual and error responses, nothing for requests without Origin or from unlisted
 * origins, and CSRF prevention unchanged. Raw node:http requests, so every header is as sent.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { loadConfig } from '../src/config';
import { SANDBOX_NEEDS, explorerHtml } from '../src/http/explorer';
import { issueKey } from '../src/services/keys';
import { startTestApp, type RunningApp } from './app-harness';

const ALLOWED = 'http://app.example.test:8080';
const ALSO_ALLOWED = 'https://studio.apollographql.com';
const OTHER = 'https://evil.example.test';

const ALLOW_HEADERS = 'authorization,content-type,x-api-key,idempotency-key,apollo-require-preflight,x-apollo-operation-name,apollographql-client-name,apollographql-client-version,x-actor,x-via,x-request-id';
const EXPOSE_HEADERS = 'x-request-id,retry-after,idempotent-replayed';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(base: string, path: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function corsHeadersOf(answer: Answer): Record<string, unknown> {
  return Object.fromEntries(Object.entries(answer.headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary'));
}

const QUERY = JSON.stringify({ query: '{ workspace { name } }' });
const COUNT = JSON.stringify({ query: '{ customers(first: 50) { edges { node { id } } } }' });

describe('CORS on the HTTP front', () => {
  let running: RunningApp;
  let base: string;
  let key: string;

  beforeAll(async () => {
    running = await startTestApp({ CORS_ORIGINS: `${ALLOWED}, ${ALSO_ALLOWED}`, RATE_LIMIT_BUCKET: '50', RATE_LIMIT_RESTORE: '1' });
    base = running.url;
    key = running.a.key;
  });

  afterAll(async () => {
    await running?.close();
  });

  function preflight(origin: string, path = '/graphql', requestHeaders = 'content-type,x-api-key') {
    return request(base, path, 'OPTIONS', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders });
  }

  function post(headers: Record<string, string>, body = QUERY) {
    return request(base, '/graphql', 'POST', { 'content-type': 'application/json', ...headers }, body);
  }

  it('answers a preflight from a listed origin with 204 and exactly the grant: methods, headers, max-age, Vary', async () => {
    for (const origin of [ALLOWED, ALSO_ALLOWED]) {
      const answer = await preflight(origin);
      expect(answer.status).toBe(204);
      expect(answer.body).toBe('');
      expect(corsHeadersOf(answer)).toEqual({
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'GET,POST,OPTIONS',
        'access-control-allow-headers': ALLOW_HEADERS,
        'access-control-expose-headers': EXPOSE_HEADERS,
        'access-control-max-age': '600',
        vary: 'Origin',
      });
      expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });

  it('grants the NDJSON export endpoint the same preflight', async () => {
    const answer = await preflight(ALLOWED, '/export/customers.ndjson', 'authorization');
    expect(answer.status).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe(ALLOWED);
  });

  it('refuses a preflight from an unlisted origin with 403 FORBIDDEN and no CORS header, before Apollo', async () => {
    for (const origin of [OTHER, 'null', `${ALLOWED}/`, ALLOWED.toUpperCase(), 'http://app.example.test']) {
      const answer = await preflight(origin);
      expect(answer.status).toBe(403);
      expect(corsHeadersOf(answer)).toEqual({});
      const body = JSON.parse(answer.body) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0].extensions.code).toBe('FORBIDDEN');
      expect(body.errors[0].message).toContain('CORS_ORIGINS');
      // Not Apollo's CSRF answer.
      expect(answer.body).not.toMatch(/CSRF|preflight/i);
    }
  });

  it('echoes a listed origin on an actual POST, with Vary: Origin and the exposed headers', async () => {
    const answer = await post({ origin: ALLOWED, 'x-api-key': key });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ data: { workspace: { name: 'alpha' } } });
    expect(corsHeadersOf(answer)).toEqual({
      'access-control-allow-origin': ALLOWED,
      'access-control-expose-headers': EXPOSE_HEADERS,
      vary: 'Origin',
    });
    expect(answer.headers['x-request-id']).toMatch(/^[\w.-]+$/);
  });

  it('echoes a listed origin on a GET query and on the NDJSON export stream', async () => {
    const get = await request(base, `/graphql?query=${encodeURIComponent('{ workspace { name } }')}`, 'GET', { origin: ALLOWED, 'x-api-key': key, 'apollo-require-preflight': 'true' });
    expect(get.status).toBe(200);
    expect(get.headers['access-control-allow-origin']).toBe(ALLOWED);
    const exported = await request(base, '/export/customers.ndjson', 'GET', { origin: ALLOWED, authorization: `Bearer ${key}` });
    expect(exported.status).toBe(200);
    expect(exported.headers['content-type']).toContain('application/x-ndjson');
    expect(exported.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(exported.headers.vary).toBe('Origin');
  });

  it('adds no CORS header to a request without Origin, nor to one from an unlisted origin', async () => {
    for (const headers of [{ 'x-api-key': key }, { 'x-api-key': key, origin: OTHER }] as Record<string, string>[]) {
      const answer = await post(headers);
      expect(answer.status).toBe(200);
      expect(corsHeadersOf(answer)).toEqual({});
    }
    // An OPTIONS without Origin is no preflight: Apollo answers it as before (its CSRF check).
    const options = await request(base, '/graphql', 'OPTIONS', {});
    expect(options.status).toBe(400);
    expect(options.body).toMatch(/CSRF/);
    expect(corsHeadersOf(options)).toEqual({});
  });

  it('puts the grant on error answers too: 401, 429 with Retry-After, 400, 404', async () => {
    const unauthenticated = await post({ origin: ALLOWED });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers['access-control-allow-origin']).toBe(ALLOWED);

    const throttledKey = (await issueKey(running.app.store.db, { workspace: 'alpha', name: `throttled-${crypto.randomUUID()}` })).key;
    const thirty = JSON.stringify({ query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids: Array.from({ length: 30 }, () => crypto.randomUUID()) } });
    expect((await post({ origin: ALLOWED, 'x-api-key': throttledKey }, thirty)).status).toBe(200);
    const throttled = await post({ origin: ALLOWED, 'x-api-key': throttledKey }, thirty);
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toMatch(/^\d+$/);
    expect(corsHeadersOf(throttled)).toEqual({ 'access-control-allow-origin': ALLOWED, 'access-control-expose-headers': EXPOSE_HEADERS, vary: 'Origin' });

    const badJson = await post({ origin: ALLOWED, 'x-api-key': key }, '{ not json');
    expect(badJson.status).toBe(400);
    expect(badJson.headers['access-control-allow-origin']).toBe(ALLOWED);

    const badCursor = await request(base, '/export/customers.ndjson?updatedSince=yesterday', 'GET', { origin: ALLOWED, 'x-api-key': key });
    expect(badCursor.status).toBe(400);
    expect(badCursor.headers['access-control-allow-origin']).toBe(ALLOWED);
  });

  it('keeps CSRF prevention: a text/plain POST from a listed origin is refused and writes nothing', async () => {
    // Not rate limited: the small bucket above is for the 429 case.
    const key = (await issueKey(running.app.store.db, { workspace: 'alpha', name: `csrf-${crypto.randomUUID()}`, rateLimited: false })).key;
    const before = JSON.parse((await post({ 'x-api-key': key }, COUNT)).body) as { data: { customers: { edges: unknown[] } } };
    const mutation = JSON.stringify({ query: 'mutation { createCustomer(input: { email: "csrf@example.com" }) { customer { id } } }' });
    const answer = await request(base, '/graphql', 'POST', { origin: ALLOWED, 'content-type': 'text/plain', 'x-api-key': key }, mutation);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/CSRF/);
    // The refusal is readable by the page that sent it; it just did nothing.
    expect(answer.headers['access-control-allow-origin']).toBe(ALLOWED);
    const after = JSON.parse((await post({ 'x-api-key': key }, COUNT)).body) as { data: { customers: { edges: unknown[] } } };
    expect(after.data.customers.edges).toHaveLength(before.data.customers.edges.length);
  });
});

describe('CORS while shutting down', () => {
  it('puts the grant on the 503 a draining server answers', async () => {
    const running = await startTestApp({ CORS_ORIGINS: ALLOWED });
    try {
      running.app.http.drain();
      const answer = await request(running.url, '/graphql', 'POST', { origin: ALLOWED, 'content-type': 'application/json', 'x-api-key': running.a.key }, QUERY);
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe('1');
      expect(corsHeadersOf(answer)).toEqual({ 'access-control-allow-origin': ALLOWED, 'access-control-expose-headers': EXPOSE_HEADERS, vary: 'Origin' });
    } finally {
      await running.close();
    }
  });
});

describe('CORS_ORIGINS', () => {
  it('is empty by default: no origin is granted, and its preflight is refused', async () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    const running = await startTestApp();
    try {
      const answer = await request(running.url, '/graphql', 'OPTIONS', { origin: ALLOWED, 'access-control-request-method': 'POST' });
      expect(answer.status).toBe(403);
      expect(corsHeadersOf(answer)).toEqual({});
    } finally {
      await running.close();
    }
  });

  it('reads comma-separated origins, trimming blanks and repeats', () => {
    expect(loadConfig({ CORS_ORIGINS: ` ${ALLOWED} ,,${ALSO_ALLOWED},${ALLOWED}, ` }).corsOrigins).toEqual([ALLOWED, ALSO_ALLOWED]);
    expect(loadConfig({ CORS_ORIGINS: 'http://[::1]:3000' }).corsOrigins).toEqual(['http://[::1]:3000']);
  });

  it.each([
    ['*', /CORS_ORIGINS entries must be origins .*got "\*"$/],
    ['https://app.example.com/', /got "https:\/\/app\.example\.com\/" \(did you mean https:\/\/app\.example\.com\?\)/],
    ['https://app.example.com/path', /did you mean https:\/\/app\.example\.com\?/],
    ['https://App.Example.com', /did you mean https:\/\/app\.example\.com\?/],
    ['https://app.example.com:443', /did you mean https:\/\/app\.example\.com\?/],
    ['app.example.com', /got "app\.example\.com"$/],
    ['ftp://files.example.com', /got "ftp:\/\/files\.example\.com"$/],
    ['null', /got "null"$/],
  ])('refuses %s at startup, naming the variable and the entry', (entry, message) => {
    expect(() => loadConfig({ CORS_ORIGINS: `https://ok.example.com,${entry}` })).toThrow(message);
  });
});

describe('explorer Sandbox link', () => {
  it('says that Sandbox needs the studio origin in CORS_ORIGINS', () => {
    expect(SANDBOX_NEEDS).toContain('CORS_ORIGINS=https://studio.apollographql.com');
    expect(explorerHtml({ endpoint: '/graphql', title: 't' })).toMatch(/<a id="explorer-sandbox-link"[^>]*title="[^"]*CORS_ORIGINS=https:\/\/studio\.apollographql\.com[^"]*"/);
  });
});
