/**
 * The real app (test/app-harness.ts) accepting JWTs from a loopback identity provider
 * (test/jwks-server.ts) that serves an RS256 and an ES256 key, plus a token maker and a plain
 * HTTP client for its endpoints.
 */
import type { JWTPayload } from 'jose';
import { startTestApp, type RunningApp } from './app-harness';
import { makeSigningKey, signToken, startJwksServer, type JwksServer, type TestSigningKey } from './jwks-server';

export const ISSUER = 'https://id.example.test/';
export const AUDIENCE = 'customer-gateway';

export interface JwtApp extends RunningApp {
  jwks: JwksServer;
  rsa: TestSigningKey;
  ec: TestSigningKey;
  /** A token signed by the RS256 key (or `key`), for workspace alpha and valid for ten minutes unless `claims` say otherwise. */
  token(claims?: JWTPayload, key?: TestSigningKey): Promise<string>;
  /** Takes the identity provider off the network (close() then leaves it alone). */
  stopProvider(): Promise<void>;
}

export async function startJwtApp(env: Record<string, string> = {}): Promise<JwtApp> {
  const [rsa, ec] = await Promise.all([makeSigningKey('RS256', 'rsa-1'), makeSigningKey('ES256', 'ec-1')]);
  const jwks = await startJwksServer([rsa.jwk, ec.jwk]);
  const running = await startTestApp({ JWT_JWKS_URL: jwks.url.href, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, ...env });
  let providerUp = true;
  const stopProvider = async (): Promise<void> => {
    if (!providerUp) return;
    providerUp = false;
    await jwks.close();
  };
  return {
    ...running,
    jwks,
    rsa,
    ec,
    token: (claims = {}, key = rsa) => signToken(key, standardClaims(claims)),
    stopProvider,
    async close() {
      await running.close();
      await stopProvider();
    },
  };
}

export function standardClaims(claims: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', workspace: 'alpha', scope: 'customers:read', iat: now, exp: now + 600, ...claims };
}

export interface Answer<T = Record<string, any>> {
  status: number;
  headers: Headers;
  text: string;
  body: {
    data?: T | null;
    errors?: { message: string; extensions?: Record<string, any> }[];
  };
}

/** POSTs a GraphQL request with `Authorization: Bearer <credential>` and any extra headers. */
export async function gql<T = Record<string, any>>(
  base: string,
  credential: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as Answer<T>['body'] };
}

/** Like gql, but fails on any error and returns `data`. */
export async function gqlData<T = Record<string, any>>(base: string, credential: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const answer = await gql<T>(base, credential, query, variables);
  if (answer.status !== 200 || answer.body.errors?.length) throw new Error(`unexpected answer ${answer.status}: ${answer.text}`);
  return answer.body.data as T;
}
