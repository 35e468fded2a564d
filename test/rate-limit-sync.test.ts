/**
 * Shared buckets decided locally (SharedBucketStore, src/graphql/limits/rate-limit.ts) against a
 * stand-in for the `rate_limits` table and its functions (migrations 002 and 007), on a fake
 * clock: one instance alone is exact, instances learn each other's spend at every
 * reconciliation, what several admit together stays within the bound of docs/limits-and-cost.md,
 * idle buckets are dropped, and nothing spent is lost to a failed reconciliation or a shutdown.
 * The same store against PostgreSQL: test/rate-limit.test.ts and test/rate-limit-processes.test.ts.
 */
import { MemoryBucketStore, SharedBucketStore, type BucketSettings, type BucketStatus, type SharedBuckets } from '../src/graphql/limits/rate-limit';
import type { BucketRow, SyncEntry, SyncRow } from '../src/store/rate-limits.repository';

const BUCKET: BucketSettings = { capacity: 100, restorePerSecond: 10 };

/** The table as migrations 002 and 007 define it: level as of `at` (seconds), leaking at the restore rate. */
class FakeTable implements SharedBuckets {
  readonly rows = new Map<string, { level: number; at: number }>();
  takes = 0;
  syncs = 0;
  failNextSync = false;

  private leaked(keyId: string, t: number, restore: number) {
    const row = this.rows.get(keyId) ?? { level: 0, at: t };
    return { level: Math.max(0, row.level - Math.max(0, t - row.at) * restore), at: Math.max(t, row.at) };
  }

  async take(keyId: string, cost: number, settings: BucketSettings, now: number | null): Promise<BucketRow> {
    this.takes += 1;
    const current = this.leaked(keyId, now!, settings.restorePerSecond);
    const granted = current.level + cost <= settings.capacity;
    const row = { level: current.level + (granted ? cost : 0), at: now! };
    this.rows.set(keyId, row);
    return { ...row, granted };
  }

  async sync(entries: readonly SyncEntry[], restore: number, now: number | null): Promise<SyncRow[]> {
    this.syncs += 1;
    if (this.failNextSync) {
      this.failNextSync = false;
      throw new Error('connection lost');
    }
    return entries.map((entry) => {
      const current = this.leaked(entry.keyId, now!, restore);
      const row = { level: Math.max(0, current.level + entry.spent), at: current.at };
      this.rows.set(entry.keyId, row);
      const seen = Math.max(0, entry.seen - Math.max(0, current.at - entry.seenAt) * restore);
      return { keyId: entry.keyId, ...row, others: current.level - seen };
    });
  }

  async refund(keyId: string, points: number, settings: BucketSettings, now: number | null): Promise<number> {
    const current = this.leaked(keyId, now!, settings.restorePerSecond);
    this.rows.set(keyId, { level: Math.max(0, current.level - points), at: current.at });
    return this.rows.get(keyId)!.level;
  }
}

let now = Date.parse('2026-12-05T09:00:00Z');
const clock = () => now;
const instance = (table: FakeTable) => new SharedBucketStore(table, BUCKET, { clock, syncIntervalMs: 0 });

/** The answer of a bucket this instance holds: given at once, with no round trip. */
function atOnce(answer: BucketStatus | Promise<BucketStatus>): BucketStatus {
  if (answer instanceof Promise) throw new Error('expected an answer at once, got a promise');
  return answer;
}

describe('one instance alone', () => {
  it('answers exactly as the in-memory buckets do, whenever it reconciles, and leaves the table at its level', async () => {
    const table = new FakeTable();
    const shared = instance(table);
    const memory = new MemoryBucketStore(BUCKET, clock);
    // A fixed pseudo-random walk: charges, refunds, time and reconciliations.
    let seed = 7;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const answers: [BucketStatus, BucketStatus][] = [];
    for (let step = 0; step < 2000; step += 1) {
      const roll = next(10);
      if (roll < 6) {
        const cost = 1 + next(40);
        answers.push([await shared.charge('key', cost), memory.charge('key', cost)]);
      } else if (roll < 8) {
        const points = next(30);
        answers.push([await shared.refund('key', points), memory.refund('key', points)]);
      } else if (roll < 9) {
        await shared.sync();
      } else {
        now += next(3) * 250;
      }
    }
    for (const [fromShared, fromMemory] of answers) expect(fromShared).toEqual(fromMemory);
    expect(answers.filter(([a]) => !a.granted).length).toBeGreaterThan(50);
    await shared.sync();
    expect(table.rows.get('key')!.level).toBeCloseTo(BUCKET.capacity - memory.charge('key', 0).available, 9);
    // The bucket was dropped whenever it sat out an interval, and taken from the table again: still exact.
    expect(table.takes).toBeGreaterThan(10);
  });
});

describe('two instances', () => {
  it('learn each other’s spend at each reconciliation', async () => {
    const table = new FakeTable();
    const [a, b] = [instance(table), instance(table)];
    expect(await a.charge('key', 10)).toEqual({ granted: true, available: 90 });
    expect(await b.charge('key', 10)).toEqual({ granted: true, available: 80 });
    for (let i = 0; i < 5; i += 1) atOnce(a.charge('key', 10));
    expect(atOnce(b.charge('key', 0))).toEqual({ granted: true, available: 80 });
    await a.sync();
    await b.sync();
    expect(atOnce(b.charge('key', 0))).toEqual({ granted: true, available: 30 });
    atOnce(b.refund('key', 20));
    await b.sync();
    atOnce(a.charge('key', 1));
    await a.sync();
    expect(atOnce(a.charge('key', 0))).toEqual({ granted: true, available: 49 });
    now += 2000;
    expect(atOnce(a.charge('key', 0))).toEqual({ granted: true, available: 69 });
    atOnce(b.charge('key', 1));
    await b.sync();
    expect(atOnce(b.charge('key', 0))).toEqual({ granted: true, available: 68 });
  });

  it('admit together at most the budget plus, per other instance, what one admits between two of its reconciliations', async () => {
    const table = new FakeTable();
    const stores = [instance(table), instance(table)];
    const admitted = [0, 0];
    /** Points each admitted since its own last reconciliation, and the most of that seen. */
    const sinceSync = [0, 0];
    let mostBetweenSyncs = 0;
    let mostSteady = 0;
    const start = now;
    const seconds = 20;
    // Each instance tries a 1-point request every millisecond; they reconcile every 100 ms, 50 ms apart.
    for (let ms = 0; ms < seconds * 1000; ms += 1) {
      now = start + ms;
      for (const [i, store] of stores.entries()) {
        if (ms % 100 === i * 50 && ms > 0) {
          await store.sync();
          mostBetweenSyncs = Math.max(mostBetweenSyncs, sinceSync[i]);
          if (ms > 1000) mostSteady = Math.max(mostSteady, sinceSync[i]);
          sinceSync[i] = 0;
        }
        const status = await store.charge('key', 1);
        if (status.granted) {
          admitted[i] += 1;
          sinceSync[i] += 1;
        }
      }
    }
    const total = admitted[0] + admitted[1];
    const budget = BUCKET.capacity + BUCKET.restorePerSecond * seconds;
    // Both started from a full bucket: the first interval is the worst case (each admitted up to the whole bucket).
    expect(mostBetweenSyncs).toBeLessThanOrEqual(BUCKET.capacity);
    expect(total).toBeLessThanOrEqual(budget + mostBetweenSyncs);
    // Once the bucket ran dry, one instance admits in one interval no more than the restore rate gives it.
    expect(mostSteady).toBeLessThanOrEqual(BUCKET.restorePerSecond * 0.1 + 1);
    // The overshoot is paid back: over a long run the two admit about the budget, not twice it.
    expect(total).toBeGreaterThan(budget - 2 * BUCKET.restorePerSecond);
    expect(Math.min(...admitted)).toBeGreaterThan(0);
  });
});

describe('local buckets', () => {
  it('go to the table once per key, however many requests wait for that first answer', async () => {
    const table = new FakeTable();
    const store = instance(table);
    const answers = await Promise.all(Array.from({ length: 5 }, () => Promise.resolve(store.charge('key', 30))));
    expect(answers.map((a) => a.granted)).toEqual([true, true, true, false, false]);
    expect(table.takes).toBe(1);
    expect(atOnce(store.charge('key', 0))).toEqual({ granted: true, available: 10 });
  });

  it('are dropped once untouched for a whole interval and their spend pushed; the next request goes to the table again', async () => {
    const table = new FakeTable();
    const store = instance(table);
    for (let i = 0; i < 1000; i += 1) await store.charge(`key-${i}`, 1);
    atOnce(store.charge('key-0', 5));
    expect(store.held).toBe(1000);
    await store.sync();
    expect(store.held).toBe(1000);
    expect(table.rows.get('key-0')!.level).toBe(6);
    await store.sync();
    expect(store.held).toBe(0);
    expect(await store.charge('key-0', 1)).toEqual({ granted: true, available: 93 });
    expect(table.takes).toBe(1001);
  });

  it('keep their spend through a failed reconciliation and hand it over on close', async () => {
    const table = new FakeTable();
    const store = instance(table);
    await store.charge('key', 10);
    atOnce(store.charge('key', 20));
    table.failNextSync = true;
    await store.sync();
    expect(table.rows.get('key')!.level).toBe(10);
    atOnce(store.refund('key', 5));
    await store.close();
    expect(table.rows.get('key')!.level).toBe(25);
  });

  it('refund straight to the table for a key dropped while its request ran', async () => {
    const table = new FakeTable();
    const store = instance(table);
    await store.charge('key', 50);
    await store.sync();
    await store.sync();
    expect(store.held).toBe(0);
    expect(await store.refund('key', 30)).toEqual({ granted: true, available: 80 });
    expect(table.rows.get('key')!.level).toBe(20);
  });
});
