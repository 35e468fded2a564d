/**
 * JWT bearer tokens over real HTTP: the app built from JWT_* settings pointing at a loopback
 * identity provider started here. Good RS256 and ES256 tokens read; every bad token is a 401 that
 * names the failed check without quoting the token; an unreachable provider with no cached key is
 * a retryable 503; the token's subject is the audit actor and has its own rate-limit bucket; API
 * keys keep working alongside.
 */
import crypto from 'node:crypto';
import { makeSigningKey, signToken } from './jwks-server';
import { gql, gqlData, standardClaims, startJwtApp, type Answer, type JwtApp } from './jwt-app';

const READ = '{ customers(first: 5) { nodes { id email } } }';
/** 30 points whatever the ids find, so two of them overflow a 50-point bucket. */
const THIRTY = 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }';
const thirtyIds = () => ({ ids: Array.from({ length: 30 }, () => crypto.randomUUID()) });

const now = () => Math.floor(Date.now() / 1000);

let app: JwtApp;
let customerId: string;

beforeAll(async () => {
  app = await startJwtApp({ RATE_LIMIT_BUCKET: '50', RATE_LIMIT_RESTORE: '1' });
  const created = await gqlData<{ createCustomer: { customer: { id: string } } }>(
    app.url,
    app.a.key,
    'mutation { createCustomer(input: { email: "ada@example.com", externalId: "ada" }) { customer { id } } }',
  );
  customerId = created.createCustomer.customer.id;
});

afterAll(async () => {
  await app?.close();
});

/** The one error of a refused request, checked to be the request's answer with no data. */
function refusal(answer: Answer, status: number): { message: string; extensions?: Record<string, any> } {
  expect(answer.status).toBe(status);
  expect(answer.body.data ?? null).toBeNull();
  expect(answer.body.errors).toHaveLength(1);
  return answer.body.errors![0];
}

/** No part of the token (header, payload or signature) appears anywhere in the response. */
function expectNoTokenText(answer: Answer, token: string): void {
  for (const part of token.split('.').filter((segment) => segment.length >= 8)) expect(answer.text).not.toContain(part);
}

describe('a valid token', () => {
  test.each(['RS256', 'ES256'] as const)('signed %s with scope customers:read reads customers', async (alg) => {
    const token = await app.token({ sub: `reader-${alg}` }, alg === 'RS256' ? app.rsa : app.ec);
    const answer = await gql(app.url, token, READ);
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data).toEqual({ customers: { nodes: [{ id: customerId, email: 'ada@example.com' }] } });
  });

  test('an API key still works next to tokens', async () => {
    const data = await gqlData(app.url, app.a.key, READ);
    expect(data.customers.nodes).toEqual([{ id: customerId, email: 'ada@example.com' }]);
  });

  test('reads only its own workspace', async () => {
    const data = await gqlData(app.url, await app.token({ workspace: 'beta', sub: 'beta-reader' }), `${READ.slice(0, -1)} workspace { name } }`);
    expect(data).toEqual({ customers: { nodes: [] }, workspace: { name: 'beta' } });
  });
});

describe('a bad token is a 401 UNAUTHENTICATED naming the failed check, never quoting the token', () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    ['expired', () => app.token({ iat: now() - 3600, exp: now() - 120 }), /expired/],
    ['for another audience', () => app.token({ aud: 'billing-service' }), /audience.*JWT_AUDIENCE/],
    ['from another issuer', () => app.token({ iss: 'https://evil.example.test/' }), /issuer.*JWT_ISSUER/],
    [
      'signed by a foreign key under a known kid',
      async () => signToken(app.rsa, standardClaims(), { signWith: await makeSigningKey('RS256', 'rsa-1') }),
      /signature does not verify/,
    ],
    ['not a JWT at all', async () => 'not-a-jwt-at-all-but-long-enough', /not a well-formed signed JWT/],
    ['three segments that are not JWT parts', async () => 'eyJub3QiOiJqc29uIn0.bm9wZS1ub3BlLW5vcGU.c2lnbmF0dXJlLXNpZw', /not a well-formed signed JWT/],
  ];

  test.each(cases)('%s', async (_name, make, message) => {
    const token = await make();
    const answer = await gql(app.url, token, READ);
    const error = refusal(answer, 401);
    expect(error.extensions?.code).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/^Bearer token rejected: /);
    expect(error.message).toMatch(message);
    expectNoTokenText(answer, token);
  });

  test('a workspace claim that names no workspace', async () => {
    const token = await app.token({ workspace: 'no-such-workspace' });
    const error = refusal(await gql(app.url, token, READ), 401);
    expect(error.extensions?.code).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/workspace claim names no workspace/);
  });

  test('a bad token reaches no data even with a valid key in X-Api-Key', async () => {
    const answer = await gql(app.url, await app.token({ aud: 'other' }), READ, {}, { 'x-api-key': app.a.key });
    expect(refusal(answer, 401).extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('the identity provider', () => {
  test('unreachable with no key cached answers a retryable 503 SERVICE_UNAVAILABLE, not a 401', async () => {
    const offline = await startJwtApp();
    try {
      const token = await offline.token();
      await offline.stopProvider();
      const answer = await gql(offline.url, token, READ);
      const error = refusal(answer, 503);
      expect(error.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(error.message).toMatch(/signing keys cannot be fetched/);
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expectNoTokenText(answer, token);
      // API keys do not depend on the provider.
      expect((await gql(offline.url, offline.a.key, READ)).status).toBe(200);
    } finally {
      await offline.close();
    }
  });
});

describe('who acted', () => {
  test("a write records the token's subject as actor even when X-Actor is sent, and X-Via as the channel", async () => {
    const token = await app.token({ sub: 'agent-7', scope: 'customers:write' });
    const answer = await gql(
      app.url,
      token,
      `mutation { createCustomer(input: { email: "grace@example.com" }) {
        customer { createdBy createdVia actions { nodes { type actor via } } } userErrors { code } } }`,
      {},
      { 'x-actor': 'someone-else', 'x-via': 'mobile-app' },
    );
    expect(answer.status).toBe(200);
    expect(answer.body.data?.createCustomer).toEqual({
      customer: { createdBy: 'agent-7', createdVia: 'mobile-app', actions: { nodes: [{ type: 'CUSTOMER_CREATED', actor: 'agent-7', via: 'mobile-app' }] } },
      userErrors: [],
    });
  });

  test('a token without customers:write may not write, and nothing is written', async () => {
    const before = await gqlData(app.url, app.a.key, '{ customers(first: 100) { totalCount } }');
    const answer = await gql(app.url, await app.token({ sub: 'reader-only' }), 'mutation { createCustomer(input: { email: "x@example.com" }) { userErrors { code } } }');
    const error = refusal(answer, 403);
    expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScopes: [['customers:write']] });
    expect(await gqlData(app.url, app.a.key, '{ customers(first: 100) { totalCount } }')).toEqual(before);
  });
});

describe('rate limits', () => {
  test('each subject has its own bucket: one is throttled while another still passes', async () => {
    const [first, second] = await Promise.all([app.token({ sub: 'heavy-user' }), app.token({ sub: 'light-user' })]);
    expect((await gql(app.url, first, THIRTY, thirtyIds())).status).toBe(200);
    const throttled = await gql(app.url, first, THIRTY, thirtyIds());
    expect(refusal(throttled, 429).extensions?.code).toBe('THROTTLED');
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another token for the same subject shares the subject's bucket.
    const again = await app.token({ sub: 'heavy-user', iat: now() - 1 });
    expect(again).not.toBe(first);
    expect((await gql(app.url, again, THIRTY, thirtyIds())).status).toBe(429);
    expect((await gql(app.url, second, THIRTY, thirtyIds())).status).toBe(200);
  });
});
