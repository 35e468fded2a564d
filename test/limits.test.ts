/**
 * The static limits at their boundaries (exactly at the limit passes, one over fails), their
 * configuration, the execution deadline, the HTTP timeouts and inline traces for a trusted
 * router only.
 */
import { Trace } from '@apollo/usage-reporting-protobuf';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Lexer, Source, TokenKind, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { loadConfig } from '../src/config';
import { createContext } from '../src/graphql/context';
import { createHttpServer } from '../src/http/server';
import { DEFAULT_LIMITS } from '../src/graphql/limits/settings';
import { RequestDeadline, attachDeadline } from '../src/graphql/deadline';
import { buildSchema, createApolloServer } from '../src/graphql/server';
import { issueKey } from '../src/services/keys';
import { migrateToLatest } from '../src/store/db';
import { createTestDatabase } from './databases';
import { read, startGateway } from './gateway-harness';
import { NO_COST_LIMIT, createCustomer, createTestEnv, silentLogger, snapshot, type Result, type TestEnv } from './helpers';

function tokenCount(query: string): number {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

const codeOf = (result: Result<unknown>) => result.errors?.[0]?.extensions?.code;
const limitOf = (result: Result<unknown>) => result.errors?.[0]?.extensions?.limit;

let env: TestEnv;
let customerId: string;

beforeAll(async () => {
  // These suites are about the static limits; the query cost limit (test/cost.test.ts) would
  // refuse most of their large documents first.
  env = await createTestEnv(NO_COST_LIMIT);
  customerId = (await createCustomer(env, { email: 'limits@example.com', type: 'TEAM' })).id;
});

afterAll(async () => {
  await env.close();
});

describe('document limits at the boundary', () => {
  /** `{ workspace { name name ... } }` with exactly `tokens` tokens. */
  const withTokens = (tokens: number) => `{ workspace { ${'name '.repeat(tokens - 5)}} }`;

  it('500 tokens pass, 501 are QUERY_TOO_COMPLEX (tokens) with the limit in the message', async () => {
    expect(tokenCount(withTokens(500))).toBe(500);
    expect((await env.exec(withTokens(500))).errors).toBeUndefined();
    const over = await env.exec(withTokens(501));
    expect({ code: codeOf(over), limit: limitOf(over), max: over.errors?.[0]?.extensions?.max }).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'tokens', max: 500 });
    expect(over.errors?.[0]?.message).toContain('500 tokens');
  });

  /** customer -> actions -> nodes -> customer -> ... -> id, `depth` fields deep. */
  const withDepth = (depth: number) => {
    const chain = [`customer(id: "${customerId}")`];
    while (chain.length < depth - 1) chain.push(['actions(first: 1)', 'nodes', 'customer'][(chain.length - 1) % 3]);
    const leaf = chain[chain.length - 1].startsWith('actions') ? 'totalCount' : 'id';
    return `{ ${chain.join(' { ')} { ${leaf} ${'} '.repeat(chain.length + 1)}`;
  };

  it('depth 10 passes, 11 is QUERY_TOO_COMPLEX (depth)', async () => {
    expect((await env.exec(withDepth(10))).errors).toBeUndefined();
    const over = await env.exec(withDepth(11));
    expect({ code: codeOf(over), limit: limitOf(over) }).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'depth' });
    expect(over.errors?.[0]?.extensions).toMatchObject({ max: 10, found: 11 });
  });

  it('depth counts through fragment spreads and inline fragments, not the fragments themselves', async () => {
    const at = (extra: string) => `
      { customer(id: "${customerId}") { ...A } }
      fragment A on Customer { actions(first: 1) { nodes { ... on Action { customer { ...B } } } } }
      fragment B on Customer { actions(first: 1) { nodes { customer { actions(first: 1) { nodes { id ${extra} } } } } } }`;
    expect((await env.exec(at(''))).errors).toBeUndefined(); // 10 fields deep
    expect(limitOf(await env.exec(at('customer { id }')))).toBe('depth'); // 11
  });

  const withAliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `w${i}: workspace { name }`).join(' ')} }`;

  it('15 aliases pass, 16 are QUERY_TOO_COMPLEX (aliases); aliases inside fragments count', async () => {
    expect((await env.exec(withAliases(15))).errors).toBeUndefined();
    const over = await env.exec(withAliases(16));
    expect({ code: codeOf(over), limit: limitOf(over) }).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases' });
    const viaFragment = await env.exec(`{ ...F ...F2 } fragment F on Query { ${Array.from({ length: 8 }, (_, i) => `a${i}: workspace { id }`).join(' ')} } fragment F2 on Query { ${Array.from({ length: 8 }, (_, i) => `b${i}: workspace { id }`).join(' ')} }`);
    expect(limitOf(viaFragment)).toBe('aliases');
  });

  const withDirectives = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `w${i}: __typename @skip(if: false)`).join(' ')} }`;

  it('10 directives pass, 11 are QUERY_TOO_COMPLEX (directives)', async () => {
    expect((await env.exec(withDirectives(10))).errors).toBeUndefined();
    const over = await env.exec(withDirectives(11));
    expect({ code: codeOf(over), limit: limitOf(over) }).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'directives' });
  });

  it('60 duplicated unknown directives answer exactly one error: the directive limit', async () => {
    const over = await env.exec(`{ workspace { name ${'@nope '.repeat(60)}} }`);
    expect(over.errors).toHaveLength(1);
    expect({ code: codeOf(over), limit: limitOf(over) }).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'directives' });
    expect(over.errors?.[0]?.extensions).toMatchObject({ max: 10, found: 60 });
  });

  it('a document over a limit gets that limit alone, not the other rules\' complaints about its parts', async () => {
    const over = await env.exec(`{ ${Array.from({ length: 16 }, (_, i) => `w${i}: workspace { nope${i} }`).join(' ')} }`);
    expect(over.errors?.map((error) => [error.extensions?.code, error.extensions?.limit])).toEqual([['QUERY_TOO_COMPLEX', 'aliases']]);
  });

  it('each limit rejection is HTTP 400', async () => {
    for (const query of [withTokens(501), withDepth(11), withAliases(16), withDirectives(11)]) {
      const response = await env.apollo.executeOperation({ query }, { contextValue: (await contextFor(env)) });
      expect(response.http.status).toBe(400);
    }
  });

  it('limits follow the server options: raised ones let the same documents through, lowered ones refuse', async () => {
    const raised = await createTestEnv({ ...NO_COST_LIMIT, limits: { maxTokens: 501, maxDepth: 11, maxAliases: 16, maxDirectives: 11 } });
    const lowered = await createTestEnv({ ...NO_COST_LIMIT, limits: { maxTokens: 499, maxDepth: 9, maxAliases: 14, maxDirectives: 9 } });
    try {
      await createCustomer(raised, { email: 'limits@example.com' });
      for (const query of [withTokens(501), withAliases(16), withDirectives(11)]) expect((await raised.exec(query)).errors).toBeUndefined();
      for (const query of [withTokens(500), withAliases(15), withDirectives(10)]) expect(codeOf(await lowered.exec(query))).toBe('QUERY_TOO_COMPLEX');
    } finally {
      await raised.close();
      await lowered.close();
    }
  });
});

/** A context for executeOperation as the test helpers build it (key alpha). */
async function contextFor(e: TestEnv) {
  return createContext({ db: e.store.db, publicUrl: 'https://x.test', logger: silentLogger }, { workspace: e.a.workspace, apiKey: e.a.record });
}

describe('requested nodes', () => {
  const nested = (outer: string, inner: string) => `{ customers${outer} { nodes { actions${inner} { nodes { id } } } } }`;

  it('exactly 10,000 requested nodes pass; 10,001 are QUERY_TOO_COMPLEX naming the count and the limit', async () => {
    // 100 customers + 100 x 99 actions = 10,000
    expect((await env.exec(nested('(first: 100)', '(first: 99)'))).errors).toBeUndefined();
    const over = await env.exec(`{ ${nested('(first: 100)', '(first: 99)').slice(2, -2)} more: customers(first: 1) { totalCount } }`);
    expect({ code: codeOf(over), limit: limitOf(over) }).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'requestedNodes' });
    expect(over.errors?.[0]?.extensions).toMatchObject({ requestedNodes: 10_001, max: 10_000 });
    expect(over.errors?.[0]?.message).toMatch(/10001 nodes.*at most 10000/);
  });

  it('resolves page sizes from variables', async () => {
    const query = 'query($a: Int, $b: Int) { customers(first: $a) { nodes { actions(first: $b) { nodes { id } } } } }';
    expect((await env.exec(query, { a: 100, b: 99 })).errors).toBeUndefined();
    expect(limitOf(await env.exec(query, { a: 100, b: 100 }))).toBe('requestedNodes');
  });

  it('counts 20 for a connection without first/last (20 + 20 x 20 = 420), 100 for exportCustomers', async () => {
    const tight = await createTestEnv({ ...NO_COST_LIMIT, limits: { maxRequestedNodes: 420 } });
    const tighter = await createTestEnv({ ...NO_COST_LIMIT, limits: { maxRequestedNodes: 419 } });
    try {
      expect((await tight.exec(nested('', ''))).errors).toBeUndefined();
      expect(limitOf(await tighter.exec(nested('', '')))).toBe('requestedNodes');
      // 100 + 100 x 3 = 400
      const feed = '{ exportCustomers { nodes { members(first: 3) { nodes { id } } } } }';
      expect((await tighter.exec(feed)).errors).toBeUndefined();
      expect(limitOf(await tighter.exec(feed.replace('first: 3', 'first: 4')))).toBe('requestedNodes');
    } finally {
      await tight.close();
      await tighter.close();
    }
  });

  it('counts fragments, skips @skip, merges a repeated field and counts an aliased copy again', async () => {
    const fragment = 'fragment P on Customer { actions(first: 99) { nodes { id } } }';
    expect((await env.exec(`{ customers(first: 100) { nodes { ...P } } } ${fragment}`)).errors).toBeUndefined();
    expect(limitOf(await env.exec(`{ customers(first: 100) { nodes { ...P ... on Customer { members(first: 1) { totalCount } } } } } ${fragment}`))).toBe('requestedNodes');
    expect((await env.exec(`{ customers(first: 100) { nodes { ...P members(first: 100) @skip(if: true) { totalCount } } } } ${fragment}`)).errors).toBeUndefined();
    const twice = '{ customers(first: 100) { nodes { actions(first: 99) { nodes { id } } } } customers(first: 100) { nodes { actions(first: 99) { nodes { id } } } } }';
    expect((await env.exec(twice)).errors).toBeUndefined();
    expect(limitOf(await env.exec(twice.replace('} customers(', '} again: customers(')))).toBe('requestedNodes');
  });

  it('counts one node per id in nodes(ids) and _entities', async () => {
    const tight = await createTestEnv({ ...NO_COST_LIMIT, limits: { maxRequestedNodes: 33 } });
    try {
      const ids = [customerId, customerId, customerId];
      // 3 nodes + 3 x 10 actions = 33
      const byId = 'query($ids: [ID!]!, $n: Int) { nodes(ids: $ids) { ... on Customer { actions(first: $n) { totalCount } } } }';
      expect((await tight.exec(byId, { ids, n: 10 })).errors).toBeUndefined();
      expect(limitOf(await tight.exec(byId, { ids, n: 11 }))).toBe('requestedNodes');
      const entities = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { actions(first: 10) { totalCount } } } }';
      const r = ids.map((id) => ({ __typename: 'Customer', id }));
      expect((await tight.exec(entities, { r })).errors).toBeUndefined();
      expect(limitOf(await tight.exec(entities, { r: [...r, r[0]] }))).toBe('requestedNodes');
    } finally {
      await tight.close();
    }
  });

  it('leaves a page size out of range to the resolver: BAD_USER_INPUT, not QUERY_TOO_COMPLEX', async () => {
    expect(codeOf(await env.exec(nested('(first: 100)', '(first: 5000)')))).toBe('BAD_USER_INPUT');
    expect(codeOf(await env.exec('{ exportCustomers(first: 100000) { nodes { members(first: 100) { totalCount } } } }'))).toBe('BAD_USER_INPUT');
  });

  it('counts an export page of 1000 with members nested by the members page size', async () => {
    // 1000 + 1000 x 9 = 10,000 passes; the default 20 members would make it 21,000.
    expect((await env.exec('{ exportCustomers(first: 1000) { nodes { members(first: 9) { totalCount } } } }')).errors).toBeUndefined();
    const over = await env.exec('{ exportCustomers(first: 1000) { nodes { members { totalCount } } } }');
    expect(over.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', requestedNodes: 21_000 });
  });

  it('MAX_REQUESTED_NODES=0 turns the check off', async () => {
    const off = await createTestEnv({ ...NO_COST_LIMIT, limits: { maxRequestedNodes: 0 } });
    try {
      expect((await off.exec(nested('(first: 100)', '(first: 100)'))).errors).toBeUndefined();
    } finally {
      await off.close();
    }
  });
});

describe('page sizes', () => {
  it.each([
    ['customers(first: 0)', '{ customers(first: 0) { totalCount } }'],
    ['customers(first: 101)', '{ customers(first: 101) { totalCount } }'],
    ['customers(last: 101)', '{ customers(last: 101) { totalCount } }'],
    ['customers with first and last', '{ customers(first: 1, last: 1) { totalCount } }'],
    ['members(first: 101)', `{ customer(id: "ID") { members(first: 101) { totalCount } } }`],
    ['actions(first: 0)', `{ customer(id: "ID") { actions(first: 0) { totalCount } } }`],
    ['exportCustomers(first: 1001)', '{ exportCustomers(first: 1001) { nodes { id } } }'],
  ])('%s is BAD_USER_INPUT', async (_, query) => {
    const result = await env.exec(query.replace('ID', customerId));
    expect(codeOf(result)).toBe('BAD_USER_INPUT');
  });

  it.each([
    ['customers(first: 100)', '{ customers(first: 100) { totalCount } }'],
    ['customers(last: 1)', '{ customers(last: 1) { totalCount } }'],
    ['members(first: 100)', `{ customer(id: "ID") { members(first: 100) { totalCount } } }`],
    ['exportCustomers(first: 1000)', '{ exportCustomers(first: 1000) { nodes { id } } }'],
  ])('%s passes', async (_, query) => {
    expect((await env.exec(query.replace('ID', customerId))).errors).toBeUndefined();
  });
});

describe('input bounds', () => {
  it.each([
    ['customerByEmail', 'query($v: String!) { customerByEmail(email: $v) { id } }', 254],
    ['customerByExternalId', 'query($v: String!) { customerByExternalId(externalId: $v) { id } }', 128],
    ['customer(id)', 'query($v: ID!) { customer(id: $v) { id } }', 128],
    ['node(id)', 'query($v: ID!) { node(id: $v) { id } }', 128],
    ['nodes(ids)', 'query($v: ID!) { nodes(ids: [$v]) { id } }', 128],
  ])('%s takes %#: at most its bound, BAD_USER_INPUT one over', async (_, query, max) => {
    expect((await env.exec(query, { v: 'x'.repeat(max) })).errors).toBeUndefined();
    const over = await env.exec(query, { v: 'x'.repeat(max + 1) });
    expect(codeOf(over)).toBe('BAD_USER_INPUT');
    expect(over.errors?.[0]?.message).toContain(`at most ${max} characters`);
  });

  it('filter.status takes 250 items, not 251', async () => {
    const query = 'query($s: [CustomerStatus!]) { customers(filter: { status: $s }) { totalCount } }';
    expect((await env.exec(query, { s: Array(250).fill('ACTIVE') })).errors).toBeUndefined();
    expect(codeOf(await env.exec(query, { s: Array(251).fill('ACTIVE') }))).toBe('BAD_USER_INPUT');
  });

  const email254 = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.io`;

  it.each([
    ['email', { email: email254 }, { email: `a${email254}` }],
    ['firstName', { firstName: 'f'.repeat(256) }, { firstName: 'f'.repeat(257) }],
    ['externalId', { externalId: 'e'.repeat(128) }, { externalId: 'e'.repeat(129) }],
    ['internalNote', { internalNote: 'n'.repeat(10_000) }, { internalNote: 'n'.repeat(10_001) }],
  ])('createCustomer %s: at the bound passes, one over is TOO_LONG and writes nothing', async (field, at, over) => {
    expect(email254).toHaveLength(254);
    const mutation = 'mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { customer { id } userErrors { field code } } }';
    const email = `bound-${field.toLowerCase()}@example.com`;
    const before = await snapshot(env.store);
    const rejected = await env.data<{ createCustomer: { userErrors: unknown[] } }>(mutation, { in: { email, ...over } });
    expect(rejected.createCustomer.userErrors).toEqual([{ field: [field], code: 'TOO_LONG' }]);
    expect(await snapshot(env.store)).toEqual(before);
    const accepted = await env.data<{ createCustomer: { userErrors: unknown[] } }>(mutation, { in: { email, ...at } });
    expect(accepted.createCustomer.userErrors).toEqual([]);
  });

  it('createCustomer takes 250 custom fields before LIMIT_EXCEEDED, 251 are LIMIT_EXCEEDED', async () => {
    const mutation = 'mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { userErrors { field code } } }';
    const list = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    const at = await env.data<{ createCustomer: { userErrors: { code: string }[] } }>(mutation, { in: { email: 'cf@example.com', customFields: list(250) } });
    expect(at.createCustomer.userErrors.map((e) => e.code)).not.toContain('LIMIT_EXCEEDED');
    const over = await env.data<{ createCustomer: { userErrors: unknown[] } }>(mutation, { in: { email: 'cf@example.com', customFields: list(251) } });
    expect(over.createCustomer.userErrors).toEqual([{ field: ['customFields'], code: 'LIMIT_EXCEEDED' }]);
  });
});

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config.limits).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toEqual({
      maxTokens: 500,
      maxDepth: 10,
      maxAliases: 15,
      maxDirectives: 10,
      maxRequestedNodes: 10_000,
      executionTimeoutMs: 10_000,
      trustedGateway: undefined,
    });
    expect(config.httpTimeouts).toEqual({ requestTimeoutMs: 30_000, headersTimeoutMs: 15_000, keepAliveTimeoutMs: 5000 });
  });

  it('reads every limit from its variable', () => {
    const config = loadConfig({
      MAX_QUERY_TOKENS: '2000',
      MAX_QUERY_DEPTH: '12',
      MAX_ALIASES: '50',
      MAX_DIRECTIVES: '20',
      MAX_REQUESTED_NODES: '50000',
      EXECUTION_TIMEOUT_MS: '2500',
      TRUSTED_GATEWAY: 's'.repeat(32),
      HTTP_REQUEST_TIMEOUT_MS: '60000',
      HTTP_HEADERS_TIMEOUT_MS: '20000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000',
    });
    expect(config.limits).toEqual({
      maxTokens: 2000,
      maxDepth: 12,
      maxAliases: 50,
      maxDirectives: 20,
      maxRequestedNodes: 50_000,
      executionTimeoutMs: 2500,
      trustedGateway: 's'.repeat(32),
    });
    expect(config.httpTimeouts).toEqual({ requestTimeoutMs: 60_000, headersTimeoutMs: 20_000, keepAliveTimeoutMs: 65_000 });
  });

  it.each([
    [{ MAX_QUERY_TOKENS: 'lots' }, /MAX_QUERY_TOKENS/],
    [{ MAX_QUERY_DEPTH: '1' }, /MAX_QUERY_DEPTH/],
    [{ MAX_ALIASES: '-1' }, /MAX_ALIASES/],
    [{ EXECUTION_TIMEOUT_MS: '1.5' }, /EXECUTION_TIMEOUT_MS/],
    [{ TRUSTED_GATEWAY: 'short' }, /TRUSTED_GATEWAY.*32/],
    [{ HTTP_HEADERS_TIMEOUT_MS: '40000' }, /HTTP_HEADERS_TIMEOUT_MS.*HTTP_REQUEST_TIMEOUT_MS/],
  ])('refuses %j naming the variable', (vars, message) => {
    expect(() => loadConfig(vars)).toThrow(message);
  });
});

/** A promise with its resolve function outside. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Holds a root field until `gate` opens; `entered` resolves when it is first called. */
function hold(schema: GraphQLSchema, type: 'Query' | 'Mutation', field: string, gate: Promise<void>): Promise<void> {
  const entered = deferred();
  const target = (type === 'Query' ? schema.getQueryType() : schema.getMutationType())!.getFields()[field];
  const original = target.resolve as GraphQLFieldResolver<unknown, unknown>;
  let first = true;
  target.resolve = async (...args) => {
    if (first) {
      first = false;
      entered.resolve();
      await gate;
    }
    return original(...args);
  };
  return entered.promise;
}

describe('execution deadline', () => {
  const DEADLINE_MS = 1500;

  async function gatedGateway() {
    const database = await createTestDatabase();
    const store = database.open();
    await migrateToLatest(store.db);
    const key = await issueKey(store.db, { workspace: 'deadline', name: 'deadline-test' });
    const schema = buildSchema();
    const queryGate = deferred();
    const mutationGate = deferred();
    const entered = {
      query: hold(schema, 'Query', 'workspace', queryGate.promise),
      mutation: hold(schema, 'Mutation', 'createCustomer', mutationGate.promise),
    };
    const apollo = createApolloServer({ logger: silentLogger, schema, limits: { executionTimeoutMs: DEADLINE_MS } });
    await apollo.start();
    const server = createHttpServer({ apollo, db: store.db, publicUrl: 'http://gw.test', logger: silentLogger, explorer: false, executionTimeoutMs: DEADLINE_MS });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    const post = (query: string) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` }, body: JSON.stringify({ query }) }).then(read);
    return {
      store,
      post,
      entered,
      open: () => {
        queryGate.resolve();
        mutationGate.resolve();
      },
      async close() {
        queryGate.resolve();
        mutationGate.resolve();
        await new Promise((resolve) => server.close(resolve));
        await apollo.stop();
        await store.close();
        await database.drop();
      },
    };
  }

  it('answers a query still running at the deadline with 503 SERVICE_UNAVAILABLE', async () => {
    const gw = await gatedGateway();
    try {
      const sent = await gw.post('{ workspace { name } }'); // held until after the answer
      expect(sent.status).toBe(503);
      expect(sent.headers.get('retry-after')).toBe('1');
      expect(sent.json.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'EXECUTION_DEADLINE', deadlineMs: DEADLINE_MS });
      expect(sent.json.errors?.[0]?.message).toContain(`${DEADLINE_MS} ms`);
    } finally {
      await gw.close();
    }
  });

  it('never cuts off a mutation that started before the deadline: every field commits and is acknowledged', async () => {
    const gw = await gatedGateway();
    try {
      const responding = gw.post(`mutation {
        a: createCustomer(input: { email: "in-flight@example.com" }) { customer { email } }
        b: createCustomer(input: { email: "after-deadline@example.com" }) { customer { email } }
      }`);
      await gw.entered.mutation;
      // The first field is inside its resolver; hold it until the deadline has certainly passed.
      await new Promise((resolve) => setTimeout(resolve, DEADLINE_MS + 200));
      gw.open();
      const sent = await responding;
      expect(sent.status).toBe(200);
      expect({ data: sent.json.data, errors: sent.json.errors }).toEqual({ errors: undefined, data: { a: { customer: { email: 'in-flight@example.com' } }, b: { customer: { email: 'after-deadline@example.com' } } } });
      const emails = (await gw.store.db.selectFrom('customers').select('email').orderBy('email').execute()).map((r) => r.email);
      expect(emails).toEqual(['after-deadline@example.com', 'in-flight@example.com']);
    } finally {
      await gw.close();
    }
  });

  it('never starts a mutation of a request that was already answered at the deadline', async () => {
    const deadline = new RequestDeadline(DEADLINE_MS);
    deadline.answered = true;
    const before = await snapshot(env.store);
    const response = await env.apollo.executeOperation(
      { query: 'mutation { createCustomer(input: { email: "never@example.com" }) { customer { id } } }' },
      { contextValue: attachDeadline(await contextFor(env), deadline) },
    );
    const result = response.body.kind === 'single' ? response.body.singleResult : null;
    expect(result?.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(result?.errors?.[0]?.message).toContain('was not started and wrote nothing');
    expect(await snapshot(env.store)).toEqual(before);
  });
});

describe('HTTP server timeouts', () => {
  it('closes an idle kept-alive connection after HTTP_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const gw = await startGateway({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '200' });
    try {
      expect(gw.app.http.keepAliveTimeout).toBe(200);
      const agent = new http.Agent({ keepAlive: true });
      const closed = await new Promise<boolean>((resolve, reject) => {
        const req = http.get(`${gw.url}/health`, { agent }, (res) => {
          res.resume();
          // The server, not the client, ends the idle connection.
          res.on('end', () => req.socket?.once('close', () => resolve(true)));
        });
        req.on('error', reject);
      });
      agent.destroy();
      expect(closed).toBe(true);
    } finally {
      await gw.close();
    }
  });

  it('applies the configured request and headers timeouts', async () => {
    const gw = await startGateway({ HTTP_REQUEST_TIMEOUT_MS: '45000', HTTP_HEADERS_TIMEOUT_MS: '12000' });
    try {
      expect({ request: gw.app.http.requestTimeout, headers: gw.app.http.headersTimeout }).toEqual({ request: 45_000, headers: 12_000 });
    } finally {
      await gw.close();
    }
  });
});

describe('inline traces (ftv1) only for the trusted router', () => {
  const SECRET = 'router-secret-0123456789abcdef-0123456789';
  const ASK = { 'apollo-federation-include-trace': 'ftv1' };

  it('traces a request that carries TRUSTED_GATEWAY, and no other', async () => {
    const gw = await startGateway({ TRUSTED_GATEWAY: SECRET });
    try {
      const auth = { authorization: `Bearer ${gw.key.key}`, 'content-type': 'application/json' };
      const ftv1 = async (headers: Record<string, string>) => (await gw.post('{ workspace { name } }', undefined, { ...auth, ...headers })).json.extensions?.ftv1;
      // Run untraced first, so the operation is already compiled when the router asks for a trace.
      expect(await ftv1({})).toBeUndefined();
      const trace = await ftv1({ ...ASK, 'x-trusted-gateway': SECRET });
      expect(typeof trace).toBe('string');
      // The trace describes the fields it resolved (the router shows them per subgraph field).
      const root = Trace.decode(Buffer.from(trace as string, 'base64')).root;
      expect(root?.child?.map((node) => node.responseName)).toEqual(['workspace']);
      expect(root?.child?.[0]?.child?.map((node) => node.responseName)).toEqual(['name']);
      expect(await ftv1(ASK)).toBeUndefined();
      expect(await ftv1({ ...ASK, 'x-trusted-gateway': `${SECRET}x` })).toBeUndefined();
      expect(await ftv1({ 'x-trusted-gateway': SECRET })).toBeUndefined(); // trusted, but did not ask
    } finally {
      await gw.close();
    }
  });

  it('never traces without TRUSTED_GATEWAY, whatever the request sends', async () => {
    const gw = await startGateway();
    try {
      const sent = await gw.post('{ workspace { name } }', undefined, { authorization: `Bearer ${gw.key.key}`, ...ASK, 'x-trusted-gateway': SECRET });
      expect(sent.status).toBe(200);
      expect(sent.json.extensions?.ftv1).toBeUndefined();
    } finally {
      await gw.close();
    }
  });
});
