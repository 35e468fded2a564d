/**
 * The schema's construction and its resolver pipeline (src/graphql/server.ts buildSchema,
 * src/graphql/pipeline.ts): resolvers must match the SDL, the wrappers run in their documented
 * order, and a mutation refused at the deadline leaves its Idempotency-Key as it found it.
 */
import { HeaderMap } from '@apollo/server';
import type { Resolvers } from '../src/generated/graphql';
import type { Context } from '../src/graphql/context';
import { createContext } from '../src/graphql/context';
import { attachDeadline, RequestDeadline } from '../src/graphql/deadline';
import { IDEMPOTENCY_DEFAULTS, IDEMPOTENCY_HEADER, REPLAYED_HEADER, claimKey, requestHash } from '../src/graphql/idempotency';
import { compose } from '../src/graphql/pipeline';
import type { Resolver, ResolverWrapper } from '../src/graphql/resolver';
import { resolverModules } from '../src/graphql/resolvers';
import { buildSchema } from '../src/graphql/server';
import { createCustomer } from '../src/services/customers';
import { withBeforeCommitHook } from '../src/store/engine';
import { findIdempotencyKey, markCommitted } from '../src/store/idempotency.repository';
import { parse } from 'graphql';
import { startTestApp, type RunningApp } from './app-harness';
import { createTestEnv, PUBLIC_URL, silentLogger, type TestEnv } from './helpers';

describe('buildSchema', () => {
  it('refuses at startup a resolver for a field the SDL lacks', () => {
    const stray = { Customer: { nickname: () => 'x' } } as unknown as Resolvers;
    expect(() => buildSchema([...resolverModules, stray])).toThrow('Customer.nickname defined in resolvers, but not in schema');
  });

  it('refuses at startup a resolver map for a type the SDL lacks', () => {
    const stray = { Shopper: { id: () => 'x' } } as unknown as Resolvers;
    expect(() => buildSchema([...resolverModules, stray])).toThrow('"Shopper" defined in resolvers, but not in schema');
  });
});

describe('compose', () => {
  it('runs the wrappers outermost first, then the resolver', async () => {
    const calls: string[] = [];
    const named =
      (name: string): ResolverWrapper =>
      (next) =>
      (source, args, context, info) => {
        calls.push(name);
        return next(source, args, context, info);
      };
    const resolver: Resolver = () => calls.push('resolver');
    const composed = compose([named('deadline'), named('idempotency')])(resolver);
    await composed(undefined, {}, {} as Context, {} as Parameters<Resolver>[3]);
    expect(calls).toEqual(['deadline', 'idempotency', 'resolver']);
  });
});

const CREATE = /* GraphQL */ `
  mutation Create($in: CreateCustomerInput!) {
    createCustomer(input: $in) { customer { id email } userErrors { field code message } }
  }
`;

describe('a mutation refused at its deadline under an Idempotency-Key', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(() => env.close());

  /** executeOperation as the HTTP front would run it, with the key header and, optionally, a deadline already answered. */
  async function send(key: string, email: string, answered: boolean) {
    const contextValue = createContext(
      { db: env.store.db, publicUrl: PUBLIC_URL, logger: silentLogger },
      { workspace: env.a.workspace, apiKey: env.a.record, actor: null, via: null },
    );
    if (answered) {
      const deadline = new RequestDeadline(1);
      deadline.answered = true;
      attachDeadline(contextValue, deadline);
    }
    const response = await env.apollo.executeOperation(
      {
        query: CREATE,
        variables: { in: { email } },
        http: { method: 'POST', headers: new HeaderMap([[IDEMPOTENCY_HEADER, key]]), search: '', body: null },
      },
      { contextValue },
    );
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return { http: response.http, result: response.body.singleResult };
  }

  const scopeOf = (key: string) => ({ workspaceId: env.a.workspace.id, apiKeyId: env.a.record.id, key });
  const hashOf = (email: string) => requestHash(parse(CREATE), undefined, { in: { email } });

  it('writes nothing and gives a fresh key back, so the retry runs', async () => {
    const email = 'deadline-fresh@example.com';
    const refused = await send('deadline-fresh', email, true);
    expect(refused.result.errors?.[0].extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(await findIdempotencyKey(env.store.db, scopeOf('deadline-fresh'))).toBeNull();
    const retry = await send('deadline-fresh', email, false);
    expect((retry.result.data as { createCustomer: { customer: { email: string } } }).createCustomer.customer.email).toBe(email);
  });

  it('keeps a committed key recoverable: the retry still gets the committed result', async () => {
    const key = 'deadline-committed';
    const email = `${key}@example.com`;
    const claim = await claimKey(env.store.db, scopeOf(key), hashOf(email), IDEMPOTENCY_DEFAULTS);
    if (claim.kind !== 'execute') throw new Error('expected a claim');
    const who = { workspaceId: env.a.workspace.id, actor: 'test', via: 'api' };
    // The first attempt committed with its mark, then its process died before storing the response.
    const committed = await withBeforeCommitHook(
      async (trx, result) => void (await markCommitted(trx, scopeOf(key), claim.token, JSON.stringify(result))),
      () => createCustomer(env.store.db, who, { email }),
    );

    const refused = await send(key, email, true);
    expect(refused.result.errors?.[0].extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect((await findIdempotencyKey(env.store.db, scopeOf(key)))?.state).toBe('committed');

    const retry = await send(key, email, false);
    expect(retry.result.errors).toBeUndefined();
    expect(retry.http.headers.get(REPLAYED_HEADER)).toBe('true');
    expect(retry.result.data).toEqual({ createCustomer: { customer: { id: committed.customer?.id, email }, userErrors: [] } });
  });
});

describe('deep input under an Idempotency-Key, over HTTP', () => {
  let running: RunningApp;
  beforeAll(async () => {
    running = await startTestApp();
  });
  afterAll(() => running.close());

  async function post(body: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${running.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${running.a.key}`, ...headers },
      body,
    });
    return { status: res.status, json: (await res.json()) as { data?: { createCustomer: { userErrors: { field: string[]; code: string }[] } }; errors?: unknown[] } };
  }

  it('answers 20,000-deep metadata with the same userError with the header as without it', async () => {
    const depth = 20_000;
    // Written out by hand: the point is a body no recursive walk survives.
    const metadata = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const body = (email: string) => `{"query":${JSON.stringify(CREATE)},"variables":{"in":{"email":"${email}","metadata":${metadata}}}}`;

    const plain = await post(body('deep-plain@example.com'));
    const keyed = await post(body('deep-keyed@example.com'), { 'idempotency-key': 'deep-metadata' });

    expect(plain.status).toBe(200);
    expect(keyed.status).toBe(200);
    expect(keyed.json.errors).toBeUndefined();
    expect(keyed.json.data?.createCustomer.userErrors).toEqual(plain.json.data?.createCustomer.userErrors);
    expect(keyed.json.data?.createCustomer.userErrors).toEqual([
      expect.objectContaining({ field: ['metadata', 'a'], code: 'INVALID' }),
    ]);
  });
});
