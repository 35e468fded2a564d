/**
 * Per-API-key rate limiting: a leaky bucket charged with each operation's requested cost before
 * it runs and refunded to its actual cost after; THROTTLED (HTTP 429 with Retry-After) when the
 * cost does not fit. Time is injected (no sleeping): the bucket store takes a clock. Runs on
 * SQLite (buckets in memory) and on PostgreSQL (the shared unlogged table) alike.
 */
import crypto from 'node:crypto';
import { createApp, limitsFromConfig, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { MemoryBucketStore, createBucketStore, type BucketSettings, type BucketStore } from '../src/graphql/limits/rate-limit';
import { createLogger } from '../src/shared/logger';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { createTestDatabase, testEngine, type TestDatabase } from './databases';
import { createCustomer, createTestEnv, snapshot, type Result, type TestEnv } from './helpers';

const BUCKET: BucketSettings = { capacity: 100, restorePerSecond: 10 };
let now = Date.parse('2026-11-23T12:00:00Z');
const advance = (ms: number) => {
  now += ms;
};

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv({
    cost: (store) => ({ maxQueryCost: 1000, bucket: BUCKET, buckets: createBucketStore(store.engine, store.db, BUCKET, () => now) }),
  });
  await createCustomer(env, { email: 'first@rate.example' });
  await createCustomer(env, { email: 'second@rate.example' });
});

afterAll(() => env.close());

interface Cost {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
}

const costOf = (result: Result<unknown>) => result.extensions?.cost as Cost;

/** 30 ids that exist nowhere: requested and actual cost are both 30 (each lookup costs 1). */
const THIRTY = `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`;
const thirtyIds = () => ({ ids: Array.from({ length: 30 }, () => crypto.randomUUID()) });

async function freshKey(workspace = 'alpha', rateLimited = true): Promise<IssuedKey> {
  return issueKey(env.store.db, { workspace, name: `key-${crypto.randomUUID()}`, rateLimited });
}

const available = (result: Result<unknown>) => costOf(result).throttleStatus.currentlyAvailable;
const codeOf = (result: Result<unknown>) => result.errors?.[0]?.extensions?.code ?? 'ok';
/** Statements other than the bucket's own (PostgreSQL keeps buckets in a table). */
const workStatements = () => env.statements.filter((s) => !/rate_limit/.test(s));

describe('the leaky bucket', () => {
  it('drains by each operation’s cost and throttles the one that does not fit, running nothing', async () => {
    const key = await freshKey();
    const levels = [];
    for (let i = 0; i < 3; i += 1) levels.push(available(await env.exec(THIRTY, thirtyIds(), { key })));
    expect(levels).toEqual([70, 40, 10]);

    env.statements.length = 0;
    const throttled = await env.exec(THIRTY, thirtyIds(), { key });
    expect(throttled.data).toBeUndefined();
    expect(throttled.errors).toHaveLength(1);
    expect(throttled.errors![0].extensions).toMatchObject({ code: 'THROTTLED', retryAfterSeconds: 2 });
    expect(throttled.errors![0].message).toMatch(/costs 30 points .* 10 available/);
    expect(workStatements()).toEqual([]);
    expect(costOf(throttled)).toEqual({
      requestedQueryCost: 30,
      actualQueryCost: null,
      throttleStatus: { maximumAvailable: 100, currentlyAvailable: 10, restoreRate: 10 },
    });
  });

  it('restores at the restore rate, up to the bucket size', async () => {
    const key = await freshKey();
    for (let i = 0; i < 3; i += 1) await env.exec(THIRTY, thirtyIds(), { key });
    advance(1000);
    const early = await env.exec(THIRTY, thirtyIds(), { key });
    expect(codeOf(early)).toBe('THROTTLED');
    expect(early.errors![0].extensions).toMatchObject({ retryAfterSeconds: 1 });
    expect(available(early)).toBe(20);
    advance(1000);
    const onTime = await env.exec(THIRTY, thirtyIds(), { key });
    expect(codeOf(onTime)).toBe('ok');
    expect(available(onTime)).toBe(0);
    advance(60_000);
    expect(available(await env.exec(`{ workspace { id } }`, {}, { key }))).toBe(100 - 1);
  });

  it('charges the requested cost up front and refunds down to the actual cost', async () => {
    const key = await freshKey();
    const result = await env.exec(`{ customers(first: 20) { nodes { id } } }`, {}, { key });
    expect(costOf(result)).toMatchObject({ requestedQueryCost: 22, actualQueryCost: 2 + 2 });
    expect(available(result)).toBe(100 - 4);
  });

  it('a throttled mutation writes nothing and leaves the bucket as it was', async () => {
    const key = await freshKey();
    for (let i = 0; i < 3; i += 1) await env.exec(THIRTY, thirtyIds(), { key });
    const before = await snapshot(env.store);
    const mutation = `mutation { createCustomer(input: { email: "throttled@rate.example" }) { customer { id members(first: 10) { nodes { id } } } userErrors { code } } }`;
    const result = await env.exec(mutation, {}, { key });
    expect(codeOf(result)).toBe('THROTTLED');
    expect(costOf(result)).toMatchObject({ requestedQueryCost: 10 + 2 + 10, actualQueryCost: null });
    expect(available(result)).toBe(10);
    expect(await snapshot(env.store)).toEqual(before);
    expect(available(await env.exec(`{ workspace { id } }`, {}, { key }))).toBe(10 - 1);
  });

  it('never throttles keys created with --no-rate-limit, and shows them a full bucket', async () => {
    const key = await freshKey('alpha', false);
    for (let i = 0; i < 10; i += 1) {
      const result = await env.exec(THIRTY, thirtyIds(), { key });
      expect(codeOf(result)).toBe('ok');
      expect(available(result)).toBe(100);
    }
  });

  it('one key running dry throttles neither another key of its workspace nor another workspace', async () => {
    const dry = await freshKey();
    const sibling = await freshKey();
    const other = await freshKey('beta');
    for (let i = 0; i < 3; i += 1) await env.exec(THIRTY, thirtyIds(), { key: dry });
    expect(codeOf(await env.exec(THIRTY, thirtyIds(), { key: dry }))).toBe('THROTTLED');
    const siblingResult = await env.exec(THIRTY, thirtyIds(), { key: sibling });
    const otherResult = await env.exec(THIRTY, thirtyIds(), { key: other });
    expect([codeOf(siblingResult), codeOf(otherResult)]).toEqual(['ok', 'ok']);
    expect([available(siblingResult), available(otherResult)]).toEqual([70, 70]);
  });

  it('an operation over MAX_QUERY_COST is refused without touching the bucket', async () => {
    const key = await freshKey();
    const result = await env.exec(`{ customers(first: 100) { nodes { members(first: 100) { nodes { id } } } } }`, {}, { key });
    expect(codeOf(result)).toBe('QUERY_TOO_COMPLEX');
    expect(available(result)).toBe(100);
  });
});

describe('buckets answered at once or through a promise', () => {
  /** The in-memory store behind promises, as the PostgreSQL store answers: the slow path of the cost concern. */
  function throughPromises(store: BucketStore): BucketStore {
    return {
      settings: store.settings,
      charge: (keyId, cost) => Promise.resolve(store.charge(keyId, cost)),
      refund: (keyId, points) => Promise.resolve(store.refund(keyId, points)),
    };
  }

  it('give the same answers: costs, levels, throttling and what ran', async () => {
    const clock = () => now;
    const envs = [
      await createTestEnv({ cost: () => ({ maxQueryCost: 1000, bucket: BUCKET, buckets: new MemoryBucketStore(BUCKET, clock) }) }),
      await createTestEnv({ cost: () => ({ maxQueryCost: 1000, bucket: BUCKET, buckets: throughPromises(new MemoryBucketStore(BUCKET, clock)) }) }),
    ];
    try {
      const one = `query($id: ID!) { customer(id: $id) { id } }`;
      const mutation = `mutation($email: String!) { createCustomer(input: { email: $email }) { customer { email } userErrors { code } } }`;
      // Drains, throttles, a cheap read, a write, time passing, a refused mutation and a refill.
      const steps: [string, Record<string, unknown>, number][] = [
        [THIRTY, { ids: [] }, 0],
        [THIRTY, thirtyIds(), 0],
        [THIRTY, thirtyIds(), 0],
        [THIRTY, thirtyIds(), 0],
        [THIRTY, thirtyIds(), 0],
        [one, { id: crypto.randomUUID() }, 0],
        [mutation, { email: 'paths@rate.example' }, 1000],
        [mutation, { email: 'not an email' }, 0],
        [THIRTY, thirtyIds(), 5000],
        [`{ customers(first: 101) { nodes { id } } }`, {}, 0],
      ];
      const answers: unknown[][] = [[], []];
      for (const [query, variables, wait] of steps) {
        advance(wait);
        for (const [i, each] of envs.entries()) {
          const result = await each.exec(query, variables);
          answers[i].push({ data: result.data ?? null, codes: result.errors?.map((e) => e.extensions?.code) ?? [], cost: costOf(result) });
        }
      }
      expect(answers[1]).toEqual(answers[0]);
      const codes = answers[0].map((answer) => (answer as { codes: string[] }).codes[0] ?? 'ok');
      expect(codes).toContain('THROTTLED');
      expect(codes).toContain('ok');
    } finally {
      for (const each of envs) await each.close();
    }
  });
});

describe('configuration', () => {
  it('reads RATE_LIMIT, RATE_LIMIT_BUCKET, RATE_LIMIT_RESTORE and MAX_QUERY_COST, and names a bad one', () => {
    const config = loadConfig({ RATE_LIMIT: 'off', RATE_LIMIT_BUCKET: '50', RATE_LIMIT_RESTORE: '5', MAX_QUERY_COST: '0' });
    expect(config).toMatchObject({ rateLimit: false, rateLimitBucket: 50, rateLimitRestore: 5, maxQueryCost: 0 });
    expect(loadConfig({})).toMatchObject({ rateLimit: true, rateLimitBucket: 1000, rateLimitRestore: 100, maxQueryCost: 1000 });
    expect(limitsFromConfig(config, env.store).buckets).toBeNull();
    expect(() => loadConfig({ RATE_LIMIT: 'sometimes' })).toThrow(/RATE_LIMIT/);
    expect(() => loadConfig({ RATE_LIMIT_BUCKET: '0' })).toThrow(/RATE_LIMIT_BUCKET/);
    expect(() => loadConfig({ MAX_QUERY_COST: '-1' })).toThrow(/MAX_QUERY_COST/);
  });
});

describe('over real HTTP', () => {
  let database: TestDatabase;
  const apps: App[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    for (const app of apps) await app.stop(1000);
    await database.drop();
  });

  async function start(extra: Record<string, string>): Promise<string> {
    const config = loadConfig({ ...database.env, PORT: '0', LOG_LEVEL: 'silent', EXPLORER: 'false', RATE_LIMIT_BUCKET: '50', RATE_LIMIT_RESTORE: '1', ...extra });
    const app = await createApp({ config, logger: createLogger('silent') });
    apps.push(app);
    return `${await app.listen(0, '127.0.0.1')}/graphql`;
  }

  async function post(url: string, key: string, query: string, variables: Record<string, unknown> = {}) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Result<unknown> };
  }

  it('answers THROTTLED with HTTP 429, a Retry-After header and extensions.cost', async () => {
    const url = await start({});
    const key = (await issueKey(apps[0].store.db, { workspace: 'http' })).key;
    const first = await post(url, key, THIRTY, thirtyIds());
    expect(first.status).toBe(200);
    expect(first.retryAfter).toBeNull();
    expect(costOf(first.body).throttleStatus).toEqual({ maximumAvailable: 50, currentlyAvailable: 20, restoreRate: 1 });

    const second = await post(url, key, THIRTY, thirtyIds());
    expect(second.status).toBe(429);
    expect(second.body.errors?.[0].extensions?.code).toBe('THROTTLED');
    // 10 points short at 1 per second: 10 s, less whatever leaked between the two requests.
    const seconds = Number(second.retryAfter);
    expect(Number.isInteger(seconds) && seconds >= 1 && seconds <= 10).toBe(true);
    expect(second.body.errors?.[0].extensions?.retryAfterSeconds).toBe(seconds);
    expect(costOf(second.body)).toMatchObject({ requestedQueryCost: 30, actualQueryCost: null });

    const exempt = (await issueKey(apps[0].store.db, { workspace: 'http', rateLimited: false })).key;
    for (let i = 0; i < 3; i += 1) expect((await post(url, exempt, THIRTY, thirtyIds())).status).toBe(200);
  });

  it('RATE_LIMIT=off throttles nobody', async () => {
    const url = await start({ RATE_LIMIT: 'off' });
    const key = (await issueKey(apps[apps.length - 1].store.db, { workspace: 'http-off' })).key;
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await post(url, key, THIRTY, thirtyIds())).status);
    expect(statuses).toEqual([200, 200, 200, 200]);
  });

  (testEngine === 'postgres' ? it : it.skip)('two gateways on one PostgreSQL database share each key’s bucket', async () => {
    const [one, two] = [await start({}), await start({})];
    const key = (await issueKey(apps[apps.length - 1].store.db, { workspace: 'shared' })).key;
    expect((await post(one, key, THIRTY, thirtyIds())).status).toBe(200);
    const other = await post(two, key, THIRTY, thirtyIds());
    expect(other.status).toBe(429);
    expect(costOf(other.body).throttleStatus.currentlyAvailable).toBeLessThan(30);
  });
});
