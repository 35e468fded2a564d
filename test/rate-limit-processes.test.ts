/**
 * The rate limit shared by two gateway processes on one PostgreSQL database (skipped without
 * TEST_DATABASE_URL): each decides on a local bucket reconciled with the table every 100 ms
 * (src/graphql/limits/rate-limit.ts). One key is hammered, first from one process alone, which
 * admits exactly the budget, then from both at once, which together admit more than the budget
 * only by the bound docs/limits-and-cost.md states. Runs the compiled server (dist/).
 */
import { issueKey } from '../src/services/keys';
import { migrateToLatest } from '../src/store/db';
import { createTestDatabase, testEngine, type TestDatabase } from './databases';
import { startGatewayProcess, type GatewayProcess } from './gateway-process';

const CAPACITY = 40;
const RESTORE = 20;
const SYNC_INTERVAL_S = 0.1;
/** Concurrent requests each process is sent: responses still in flight when a window closes. */
const CONCURRENCY = 3;
/** `{ workspace { id } }` costs 1 point. */
const QUERY = JSON.stringify({ query: '{ workspace { id } }' });

let database: TestDatabase;
let keys: string[];
let gateways: GatewayProcess[] = [];

const describeOnPostgres = testEngine === 'postgres' ? describe : describe.skip;

describeOnPostgres('one key hammered through two gateway processes', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    const store = database.open();
    await migrateToLatest(store.db);
    keys = [(await issueKey(store.db, { workspace: 'hammered' })).key, (await issueKey(store.db, { workspace: 'hammered' })).key];
    await store.close();
    const env = { ...database.env, RATE_LIMIT: 'on', RATE_LIMIT_BUCKET: String(CAPACITY), RATE_LIMIT_RESTORE: String(RESTORE) };
    gateways = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
  }, 60_000);

  afterAll(async () => {
    for (const gateway of gateways) gateway.child.kill('SIGTERM');
    await database?.drop();
  });

  /**
   * Sends 1-point requests from CONCURRENCY loops per gateway for at least `seconds`, and on until
   * some were refused (a busy machine may serve fewer than a bucket in that time); the seconds
   * (from the start) at which each admitted one came back.
   */
  async function hammer(key: string, targets: GatewayProcess[], seconds: number): Promise<{ admitted: number[][]; refused: number; elapsed: number }> {
    const start = performance.now();
    const admitted = targets.map(() => [] as number[]);
    let refused = 0;
    const going = () => {
      const elapsed = (performance.now() - start) / 1000;
      if (elapsed > 30) throw new Error(`no request refused in ${elapsed} s`);
      return elapsed < seconds || refused < 10;
    };
    const loop = async (target: number) => {
      while (going()) {
        const response = await fetch(targets[target].url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: QUERY });
        await response.arrayBuffer();
        if (response.status === 200) admitted[target].push((performance.now() - start) / 1000);
        else if (response.status === 429) refused += 1;
        else throw new Error(`unexpected HTTP ${response.status}`);
      }
    };
    await Promise.all(targets.flatMap((_, target) => Array.from({ length: CONCURRENCY }, () => loop(target))));
    return { admitted, refused, elapsed: (performance.now() - start) / 1000 };
  }

  it('one process alone admits no more than the budget; both together exceed it only by the stated bound', async () => {
    // Alone: from a full bucket, the bucket plus what leaked back while it ran, never more.
    const alone = await hammer(keys[0], [gateways[0]], 1.5);
    const aloneAdmitted = alone.admitted[0].length;
    expect(aloneAdmitted).toBeGreaterThanOrEqual(CAPACITY);
    expect(aloneAdmitted).toBeLessThanOrEqual(CAPACITY + RESTORE * alone.elapsed);

    // Together, straight after: the bucket is dry, so what they may admit is what leaks back,
    // plus what one process admits between two reconciliations that the other cannot see yet.
    const both = await hammer(keys[0], gateways, 3);
    const times = both.admitted.flat().sort((a, b) => a - b);
    // The worst window from the start: admitted by t, less the budget of t (up to 2 points of headroom left by the first phase).
    const excess = Math.max(0, ...times.map((t, i) => i + 1 - (2 + RESTORE * t)));
    // The bound for a dry bucket: (N - 1) x RESTORE x (interval + the reconciliation's round trip
    // and the event loop's delays, generously 0.5 s here), plus the responses in flight at a window's end.
    const bound = (gateways.length - 1) * RESTORE * (SYNC_INTERVAL_S + 0.5) + CONCURRENCY * gateways.length;
    if (process.env.RATE_LIMIT_MEASURE) {
      process.stderr.write(`${JSON.stringify({ alone: { admitted: aloneAdmitted, budget: CAPACITY + RESTORE * alone.elapsed }, both: { admitted: both.admitted.map((a) => a.length), budget: 2 + RESTORE * both.elapsed, worstExcess: excess, bound } })}\n`);
    }
    expect(both.admitted.every((each) => each.length > 0)).toBe(true);
    expect(excess).toBeLessThanOrEqual(bound);
    expect(times.length).toBeLessThanOrEqual(2 + RESTORE * both.elapsed + bound);
  }, 60_000);

  it('from a full bucket, both at once exceed the budget by at most one bucket per other process, and then pay it back', async () => {
    const both = await hammer(keys[1], gateways, 3);
    const times = both.admitted.flat().sort((a, b) => a - b);
    const excess = Math.max(0, ...times.map((t, i) => i + 1 - (CAPACITY + RESTORE * t)));
    const bound = (gateways.length - 1) * CAPACITY + CONCURRENCY * gateways.length;
    if (process.env.RATE_LIMIT_MEASURE) {
      process.stderr.write(`${JSON.stringify({ fullBucket: { admitted: both.admitted.map((a) => a.length), budget: CAPACITY + RESTORE * both.elapsed, worstExcess: excess, bound } })}\n`);
    }
    expect(excess).toBeLessThanOrEqual(bound);
    // Over the run, the overshoot comes back out of what they admit later.
    expect(times.length).toBeLessThanOrEqual(CAPACITY + RESTORE * both.elapsed + (gateways.length - 1) * RESTORE * (SYNC_INTERVAL_S + 0.5) + CONCURRENCY * gateways.length);
  }, 60_000);
});
