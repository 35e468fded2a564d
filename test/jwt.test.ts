import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT, base64url, type JWTPayload } from 'jose';
import { loadConfig } from '../src/config';
import {
  JwksUnavailable,
  JwtRejected,
  JwtVerifier,
  jwtFailureResponse,
  MAX_TOKEN_LENGTH,
  type JwtRejection,
  type JwtSettings,
  type JwtVerifierOptions,
} from '../src/services/jwt';
import { makeSigningKey, signToken, startJwksServer, type JwksServer, type TestSigningKey } from './jwks-server';

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'customer-gateway';

// jose's key-set cooldown and max age read Date.now; moving it lets a test step past them without waiting.
const realNow = Date.now.bind(Date);
let skewMs = 0;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

let rsa: TestSigningKey;
let ec: TestSigningKey;
let foreign: TestSigningKey;
let server: JwksServer;

beforeAll(async () => {
  [rsa, ec, foreign] = await Promise.all([makeSigningKey('RS256', 'rsa-1'), makeSigningKey('ES256', 'ec-1'), makeSigningKey('RS256', 'rsa-1')]);
});

beforeEach(async () => {
  skewMs = 0;
  jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skewMs);
  server = await startJwksServer([rsa.jwk, ec.jwk]);
});

afterEach(async () => {
  jest.restoreAllMocks();
  await server.close();
});

function verifierFor(jwks: JwksServer, settings: Partial<JwtSettings> = {}, options: JwtVerifierOptions = {}): JwtVerifier {
  return new JwtVerifier(
    { jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, workspaceClaim: 'workspace', customerClaim: 'sub', ...settings },
    options,
  );
}

function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = nowSeconds();
  return { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', workspace: 'acme', scope: 'customers:read export:read', iat: now, exp: now + 600, ...overrides };
}

/** The failure `verify` rejects with; fails the test if it resolves. */
async function failure(verifier: JwtVerifier, token: string): Promise<JwtRejected | JwksUnavailable> {
  const outcome = await verifier.verify(token).then(
    () => new Error('the token was accepted'),
    (error: unknown) => error,
  );
  if (outcome instanceof JwtRejected || outcome instanceof JwksUnavailable) return outcome;
  throw outcome;
}

async function expectRejected(verifier: JwtVerifier, token: string, reason: JwtRejection, message: RegExp): Promise<void> {
  const error = await failure(verifier, token);
  expect(error).toBeInstanceOf(JwtRejected);
  expect(error).toMatchObject({ reason, message: expect.stringMatching(message) });
  expectNoTokenText(error.message, token);
}

/** No part of the token (header, payload or signature) appears in what a client or a log would see. */
function expectNoTokenText(message: string, token: string): void {
  for (const part of token.split('.').filter((segment) => segment.length >= 8)) expect(message).not.toContain(part);
}

describe('JwtVerifier accepts', () => {
  test('an RS256 token and reports its subject, workspace name, scopes and customer', async () => {
    const verifier = verifierFor(server);
    const identity = await verifier.verify(await signToken(rsa, claims()));
    expect(identity).toMatchObject({ subject: 'user-1', workspaceName: 'acme', customerRef: 'user-1' });
    expect([...identity.scopes].sort()).toEqual(['customers:read', 'export:read']);
  });

  test('an ES256 token from the same key set', async () => {
    const identity = await verifierFor(server).verify(await signToken(ec, claims({ sub: 'user-2' })));
    expect(identity.subject).toBe('user-2');
  });

  test('scopes sent as an array, and a token without scopes as one with none', async () => {
    const verifier = verifierFor(server);
    const listed = await verifier.verify(await signToken(rsa, claims({ scope: ['customers:write', 'customer:self'] })));
    expect([...listed.scopes].sort()).toEqual(['customer:self', 'customers:write']);
    const bare = await verifier.verify(await signToken(rsa, claims({ scope: undefined })));
    expect(bare.scopes.size).toBe(0);
  });

  test('the workspace and customer from the configured claims', async () => {
    const verifier = verifierFor(server, { workspaceClaim: 'https://example.test/ws', customerClaim: 'customer_id' });
    const token = await signToken(rsa, claims({ 'https://example.test/ws': 'globex', customer_id: 'ext-42', scope: 'customer:self', workspace: undefined }));
    expect(await verifier.verify(token)).toMatchObject({ subject: 'user-1', workspaceName: 'globex', customerRef: 'ext-42' });
  });

  test('a token expired less than the 60 s clock tolerance ago', async () => {
    const token = await signToken(rsa, claims({ iat: nowSeconds() - 600, exp: nowSeconds() - 30 }));
    expect((await verifierFor(server).verify(token)).subject).toBe('user-1');
  });
});

describe('JwtVerifier rejects, naming the failed check and never quoting the token', () => {
  test('a token expired beyond the clock tolerance', async () => {
    const token = await signToken(rsa, claims({ iat: nowSeconds() - 600, exp: nowSeconds() - 120 }));
    await expectRejected(verifierFor(server), token, 'expired', /expired/);
  });

  test('a token not valid yet beyond the clock tolerance', async () => {
    await expectRejected(verifierFor(server), await signToken(rsa, claims({ nbf: nowSeconds() + 300 })), 'not_yet_valid', /not valid yet/);
  });

  test('a token for another audience', async () => {
    await expectRejected(verifierFor(server), await signToken(rsa, claims({ aud: 'billing-service' })), 'wrong_audience', /JWT_AUDIENCE/);
  });

  test('a token from another issuer, or none', async () => {
    const verifier = verifierFor(server);
    await expectRejected(verifier, await signToken(rsa, claims({ iss: 'https://evil.example.test/' })), 'wrong_issuer', /JWT_ISSUER/);
    await expectRejected(verifier, await signToken(rsa, claims({ iss: undefined })), 'wrong_issuer', /JWT_ISSUER/);
  });

  test('a token signed by a foreign key under a known kid', async () => {
    const token = await signToken(rsa, claims(), { signWith: foreign });
    await expectRejected(verifierFor(server), token, 'unknown_signer', /signature does not verify/);
  });

  test('a token whose kid the key set does not hold', async () => {
    await expectRejected(verifierFor(server), await signToken(rsa, claims(), { kid: 'retired' }), 'unknown_signer', /no key/);
  });

  test('alg none and HS256 (the public key used as an HMAC secret), without fetching any key', async () => {
    const verifier = verifierFor(server);
    const encode = (value: object): string => base64url.encode(JSON.stringify(value));
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims())}.`;
    await expectRejected(verifier, unsigned, 'unknown_signer', /RS256 or ES256/);
    const secret = new TextEncoder().encode(JSON.stringify(rsa.jwk));
    const hmac = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(secret);
    await expectRejected(verifier, hmac, 'unknown_signer', /RS256 or ES256/);
    expect(server.requests).toBe(0);
  });

  test.each([
    ['an empty string', ''],
    ['one word', 'not-a-jwt'],
    ['three segments of noise', 'eyJhbGciOiJSUzI1NiJ9x.bm9pc2Vub2lzZQ.c2lnbmF0dXJl'],
    ['a header that is not JSON', `${base64url.encode('{"alg":')}.${base64url.encode('{}')}.c2lnbmF0dXJl`],
  ])('a malformed token: %s', async (_label, token) => {
    await expectRejected(verifierFor(server), token, 'malformed', /well-formed/);
  });

  test('any forged or garbled token is a typed rejection, never an unexpected error', async () => {
    const verifier = verifierFor(server);
    const segment = (value: fc.Arbitrary<unknown>): fc.Arbitrary<string> => value.map((json) => base64url.encode(JSON.stringify(json) ?? ''));
    const header = fc.record(
      { alg: fc.oneof(fc.constantFrom('RS256', 'ES256', 'none', 'HS256', 'PS256', 'EdDSA'), fc.jsonValue()), kid: fc.oneof(fc.constant(rsa.kid), fc.jsonValue()), crit: fc.jsonValue(), b64: fc.jsonValue() },
      { requiredKeys: ['alg'] },
    );
    const payload = fc.oneof(fc.jsonValue(), fc.record({ iss: fc.jsonValue(), aud: fc.jsonValue(), exp: fc.jsonValue(), nbf: fc.jsonValue(), sub: fc.jsonValue(), scope: fc.jsonValue() }, { requiredKeys: [] }));
    const signature = fc.oneof(fc.constant(''), fc.base64String().map((text) => text.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')));
    const token = fc.oneof(
      fc.tuple(segment(header), segment(payload), signature).map((parts) => parts.join('.')),
      fc.string({ unit: 'binary', maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(token, async (text) => {
        const error = await failure(verifier, text);
        expect(error).toBeInstanceOf(JwtRejected);
        expectNoTokenText(error.message, text);
      }),
      { numRuns: 300 },
    );
    expect(server.requests).toBeLessThanOrEqual(1);
  });

  test('a token over the size bound before anything else is done with it', async () => {
    const verifier = verifierFor(server);
    const token = await signToken(rsa, claims({ padding: 'x'.repeat(MAX_TOKEN_LENGTH) }));
    await expectRejected(verifier, token, 'malformed', new RegExp(`longer than ${MAX_TOKEN_LENGTH}`));
    expect({ verifications: verifier.verifications, cached: verifier.cachedTokens, fetches: server.requests }).toEqual({ verifications: 0, cached: 0, fetches: 0 });
  });

  test('a token without the workspace claim, or without sub', async () => {
    const verifier = verifierFor(server);
    await expectRejected(verifier, await signToken(rsa, claims({ workspace: undefined })), 'missing_claim', /"workspace" claim/);
    await expectRejected(verifier, await signToken(rsa, claims({ workspace: 7 })), 'missing_claim', /"workspace" claim/);
    await expectRejected(verifier, await signToken(rsa, claims({ sub: undefined })), 'missing_claim', /"sub" claim/);
  });

  test('a customer:self token without the customer claim', async () => {
    const verifier = verifierFor(server, { customerClaim: 'customer_id' });
    await expectRejected(verifier, await signToken(rsa, claims({ scope: 'customer:self' })), 'missing_claim', /"customer_id" claim/);
  });

  test('a scope claim that is neither a string nor a list of strings', async () => {
    await expectRejected(verifierFor(server), await signToken(rsa, claims({ scope: { read: true } })), 'malformed', /"scope" claim/);
  });
});

describe('JwtVerifier and the key set', () => {
  test('picks up a rotated key, then a key of another algorithm, without being re-created', async () => {
    const verifier = verifierFor(server);
    server.keys = [rsa.jwk];
    await verifier.verify(await signToken(rsa, claims()));
    const next = await makeSigningKey('RS256', 'rsa-2');
    server.keys = [rsa.jwk, next.jwk];
    skewMs += 31_000;
    expect((await verifier.verify(await signToken(next, claims({ sub: 'after-rotation' })))).subject).toBe('after-rotation');
    server.keys = [ec.jwk];
    skewMs += 31_000;
    expect((await verifier.verify(await signToken(ec, claims({ sub: 'on-ec' })))).subject).toBe('on-ec');
    expect(server.requests).toBe(3);
  });

  test('a flood of 200 tokens with unknown kids costs at most two key-set fetches', async () => {
    const verifier = verifierFor(server);
    const tokens = await Promise.all(Array.from({ length: 200 }, () => signToken(rsa, claims(), { kid: randomUUID() })));
    const outcomes = await Promise.all(tokens.slice(0, 100).map((token) => failure(verifier, token)));
    for (const token of tokens.slice(100)) outcomes.push(await failure(verifier, token));
    expect(outcomes.every((error) => error instanceof JwtRejected && error.reason === 'unknown_signer')).toBe(true);
    expect(server.requests).toBeLessThanOrEqual(2);
    expect(verifier.cachedTokens).toBe(0);
  });

  test('an unreachable key set with no cached key is a retryable failure, answered 503', async () => {
    await server.close();
    const verifier = verifierFor(server);
    const error = await failure(verifier, await signToken(rsa, claims()));
    expect(error).toBeInstanceOf(JwksUnavailable);
    expect(jwtFailureResponse(error)).toEqual({ code: 'SERVICE_UNAVAILABLE', status: 503, message: expect.stringMatching(/retry later/) });
    server = await startJwksServer([rsa.jwk]);
  });

  test('a failing key set is not fetched again per request, and is tried again after a pause', async () => {
    server.status = 500;
    const verifier = verifierFor(server);
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => signToken(rsa, claims({ sub: `user-${i}` }))));
    for (const token of tokens) expect(await failure(verifier, token)).toBeInstanceOf(JwksUnavailable);
    expect(server.requests).toBe(1);
    server.status = 200;
    skewMs += 6_000;
    expect((await verifier.verify(tokens[0])).subject).toBe('user-0');
    expect(server.requests).toBe(2);
  });

  test('keeps verifying with the last keys it fetched while the key set is unreachable', async () => {
    const verifier = verifierFor(server);
    await verifier.verify(await signToken(rsa, claims()));
    server.status = 503;
    skewMs += 11 * 60_000;
    const later = await signToken(rsa, claims({ sub: 'during-outage' }));
    expect((await verifier.verify(later)).subject).toBe('during-outage');
    const unknownKid = await signToken(rsa, claims(), { kid: 'published-during-outage' });
    expect(await failure(verifier, unknownKid)).toBeInstanceOf(JwksUnavailable);
  });
});

describe('JwtVerifier cache', () => {
  test('the same token twice is verified once, and again once the cache TTL has passed', async () => {
    const verifier = verifierFor(server);
    const token = await signToken(rsa, claims({ exp: nowSeconds() + 3600 }));
    await verifier.verify(token);
    await verifier.verify(token);
    expect({ verifications: verifier.verifications, fetches: server.requests }).toEqual({ verifications: 1, fetches: 1 });
    skewMs += 31_000;
    await verifier.verify(token);
    expect(verifier.verifications).toBe(2);
  });

  test('concurrent requests with one new token share one verification', async () => {
    const verifier = verifierFor(server);
    const token = await signToken(ec, claims());
    await Promise.all(Array.from({ length: 10 }, () => verifier.verify(token)));
    expect(verifier.verifications).toBe(1);
  });

  test('a cached token is checked again once it expires', async () => {
    const verifier = verifierFor(server);
    const token = await signToken(rsa, claims({ exp: nowSeconds() + 5 }));
    await verifier.verify(token);
    skewMs += 5_000 + 60_000 + 1_000;
    await expectRejected(verifier, token, 'expired', /expired/);
    expect(verifier.verifications).toBe(2);
  });

  test('holds at most its bound of tokens and never a rejected one', async () => {
    const verifier = verifierFor(server, {}, { cacheSize: 3 });
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => signToken(rsa, claims({ sub: `user-${i}` }))));
    for (const token of tokens) await verifier.verify(token);
    expect(verifier.cachedTokens).toBe(3);
    await expectRejected(verifier, await signToken(rsa, claims({ aud: 'elsewhere' })), 'wrong_audience', /audience/);
    await expectRejected(verifier, await signToken(rsa, claims({ sub: 'x' }), { signWith: foreign }), 'unknown_signer', /signature/);
    expect(verifier.cachedTokens).toBe(2);
    await verifier.verify(tokens[9]);
    expect(verifier.verifications).toBe(12);
  });
});

test('jwtFailureResponse answers a rejected token 401 UNAUTHENTICATED with its check', () => {
  expect(jwtFailureResponse(new JwtRejected('wrong_issuer', 'its issuer is wrong'))).toEqual({
    code: 'UNAUTHENTICATED',
    status: 401,
    message: 'Bearer token rejected: its issuer is wrong',
  });
});

describe('JWT settings', () => {
  const base = { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };

  test('are off without JWT_JWKS_URL, with default claims when it is set', () => {
    expect(loadConfig({}).jwt).toBeUndefined();
    expect(loadConfig({ ...base, JWT_JWKS_URL: 'https://id.example.test/jwks' }).jwt).toEqual({
      jwksUrl: new URL('https://id.example.test/jwks'),
      issuer: ISSUER,
      audience: AUDIENCE,
      workspaceClaim: 'workspace',
      customerClaim: 'sub',
    });
  });

  test.each(['http://127.0.0.1:8080/jwks', 'http://127.9.8.7/jwks', 'http://[::1]:9000/jwks', 'http://localhost/jwks'])('allow plain http on loopback: %s', (url) => {
    expect(loadConfig({ ...base, JWT_JWKS_URL: url }).jwt?.jwksUrl.href).toBe(new URL(url).href);
  });

  test.each(['http://id.example.test/jwks', 'http://10.0.0.1/jwks', 'http://[::2]/jwks', 'ftp://id.example.test/jwks', 'not a url'])('refuse %s', (url) => {
    expect(() => loadConfig({ ...base, JWT_JWKS_URL: url })).toThrow(/JWT_JWKS_URL must be an( absolute)? https URL/);
  });

  test('require issuer and audience with a key set, and a key set with any other JWT setting', () => {
    expect(() => loadConfig({ JWT_JWKS_URL: 'https://id.example.test/jwks', JWT_ISSUER: ISSUER })).toThrow(/JWT_ISSUER and JWT_AUDIENCE/);
    expect(() => loadConfig({ JWT_AUDIENCE: AUDIENCE })).toThrow(/JWT_AUDIENCE set without JWT_JWKS_URL/);
  });
});
