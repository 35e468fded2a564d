/**
 * Per-API-key leaky buckets. A request adds its cost to its key's bucket, which leaks at the
 * restore rate; a request whose cost does not fit is throttled. On SQLite the gateway is one
 * process, so the buckets live in its memory (exact, and no read pays a write). On PostgreSQL
 * several instances share them through an UNLOGGED table; each instance decides on a local copy
 * of every busy bucket and reconciles it with the table in the background, every 100 ms, in one
 * statement for all the keys it touched (SharedBucketStore below; docs/limits-and-cost.md has
 * the bound on what instances together may admit between two reconciliations).
 */
import type { Logger } from '../../shared/logger';
import type { Db, Engine } from '../../store/engine';
import { refundBucket, syncBuckets, takeBucket, type BucketRow, type SyncEntry, type SyncRow } from '../../store/rate-limits.repository';

export interface BucketSettings {
  /** Points a bucket holds (RATE_LIMIT_BUCKET). */
  capacity: number;
  /** Points that leak out, and so become available again, per second (RATE_LIMIT_RESTORE). */
  restorePerSecond: number;
}

export interface BucketStatus {
  /** Whether the charge fitted and was taken (always true for refunds). */
  granted: boolean;
  /** Points available after the operation. */
  available: number;
}

/**
 * A bucket store answers at once when its buckets are in memory, with a promise when they are in
 * the database: a request on the embedded store then pays no promise for its charge and refund.
 */
export interface BucketStore {
  readonly settings: BucketSettings;
  /** Adds `cost` to the key's bucket if it fits; otherwise changes nothing and says so. */
  charge(keyId: string, cost: number): BucketStatus | Promise<BucketStatus>;
  /** Gives back `points` of an earlier charge. */
  refund(keyId: string, points: number): BucketStatus | Promise<BucketStatus>;
  /** Hands what only this instance knows to the shared store before the database closes; absent when there is none. */
  close?(): Promise<void>;
}

/** Milliseconds since the epoch; injectable so tests move time instead of sleeping. */
export type Clock = () => number;

/** Whole seconds until `cost` points fit, given what is available now. */
export function retryAfterSeconds(settings: BucketSettings, cost: number, available: number): number {
  return Math.max(1, Math.ceil((cost - available) / settings.restorePerSecond));
}

interface Level {
  level: number;
  at: number;
}

/** What is left of `level` points `elapsedMs` later. */
function leak(level: number, elapsedMs: number, restorePerSecond: number): number {
  return Math.max(0, level - (Math.max(0, elapsedMs) / 1000) * restorePerSecond);
}

/** Exact buckets in process memory: one entry per key that has made a request. */
export class MemoryBucketStore implements BucketStore {
  private readonly levels = new Map<string, Level>();

  constructor(
    readonly settings: BucketSettings,
    private readonly clock: Clock = Date.now,
  ) {}

  private leaked(keyId: string): Level {
    const now = this.clock();
    const entry = this.levels.get(keyId);
    if (!entry) return { level: 0, at: now };
    return { level: leak(entry.level, now - entry.at, this.settings.restorePerSecond), at: now };
  }

  charge(keyId: string, cost: number): BucketStatus {
    const current = this.leaked(keyId);
    const granted = current.level + cost <= this.settings.capacity;
    if (granted) current.level += cost;
    this.levels.set(keyId, current);
    return { granted, available: this.settings.capacity - current.level };
  }

  refund(keyId: string, points: number): BucketStatus {
    const current = this.leaked(keyId);
    current.level = Math.max(0, current.level - points);
    this.levels.set(keyId, current);
    return { granted: true, available: this.settings.capacity - current.level };
  }
}

/** The database side of shared buckets (src/store/rate-limits.repository.ts); tests stand in for it. */
export interface SharedBuckets {
  /** The atomic charge: adds `cost` when it fits under the shared level. */
  take(keyId: string, cost: number, settings: BucketSettings, now: number | null): Promise<BucketRow>;
  /** Pushes each key's spend and answers the shared levels and what the other instances spent. */
  sync(entries: readonly SyncEntry[], restorePerSecond: number, now: number | null): Promise<SyncRow[]>;
  /** Takes points out of the shared level directly (a refund for a key this instance no longer holds). */
  refund(keyId: string, points: number, settings: BucketSettings, now: number | null): Promise<number>;
}

/** Milliseconds between two reconciliations of an instance's buckets with the shared table. */
export const SYNC_INTERVAL_MS = 100;

/** Spend below this is rounding, not spend: a bucket with no more than this to push may be dropped. */
const NOTHING = 1e-9;

/** One key's bucket as this instance sees it. `level` and `ghost` leak alike, so `level - ghost` is the spend still to push. */
interface LocalBucket {
  /** The shared level at the last reconciliation, plus this instance's own spend since, leaked to `at`. */
  level: number;
  /** What `level` would be without this instance's spend since the last reconciliation began. */
  ghost: number;
  /** Local clock time (ms) of `level` and `ghost`. */
  at: number;
  /** The shared level and its time (database clock) at the last take or reconciliation: what the others' spend is measured from. */
  seen: number;
  seenAt: number;
  /** Charged or refunded since the last reconciliation began; a bucket untouched for a whole interval is dropped. */
  touched: boolean;
}

export interface SharedBucketOptions {
  /** Local time, and the time sent to the database (tests); absent: Date.now here and the database's own clock there. */
  clock?: Clock;
  /** Milliseconds between reconciliations (default SYNC_INTERVAL_MS); 0: only when `sync()` is called (tests). */
  syncIntervalMs?: number;
  logger?: Logger;
}

/**
 * Buckets shared by every instance through PostgreSQL, decided locally. The first request of a
 * key on this instance takes the exact path, one atomic charge in the database, and keeps the
 * level it answers; from then on charges and refunds change the local copy only, with no
 * round trip, exactly as MemoryBucketStore does. Every SYNC_INTERVAL_MS one statement pushes, for
 * every key touched since the last one, the points spent here meanwhile, and brings back what the
 * other instances spent, which is added to the local level. A key untouched for a whole interval
 * is dropped once nothing is left to push (memory stays bounded by the keys busy in the last two
 * intervals), and its next request takes the exact path again. Alone, an instance is exact: the
 * others' spend it learns is then exactly 0.
 */
export class SharedBucketStore implements BucketStore {
  private readonly buckets = new Map<string, LocalBucket>();
  /** The exact charges in flight, one per key: the requests behind them wait for the level it brings. */
  private readonly taking = new Map<string, Promise<unknown>>();
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private failing = false;
  private closed = false;

  constructor(
    private readonly shared: SharedBuckets,
    readonly settings: BucketSettings,
    private readonly options: SharedBucketOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.intervalMs = options.syncIntervalMs ?? SYNC_INTERVAL_MS;
  }

  /** How many keys this instance holds a local bucket for. */
  get held(): number {
    return this.buckets.size;
  }

  /** The time sent to the database: the injected clock, else none (the database's clock, the one all instances agree on). */
  private sharedNow(): number | null {
    return this.options.clock ? this.options.clock() / 1000 : null;
  }

  /** The key's local bucket leaked to now, if this instance holds it. */
  private local(keyId: string): LocalBucket | undefined {
    const bucket = this.buckets.get(keyId);
    if (!bucket) return undefined;
    const now = this.clock();
    bucket.level = leak(bucket.level, now - bucket.at, this.settings.restorePerSecond);
    bucket.ghost = leak(bucket.ghost, now - bucket.at, this.settings.restorePerSecond);
    bucket.at = now;
    return bucket;
  }

  private status(granted: boolean, bucket: LocalBucket): BucketStatus {
    return { granted, available: this.settings.capacity - bucket.level };
  }

  charge(keyId: string, cost: number): BucketStatus | Promise<BucketStatus> {
    const bucket = this.local(keyId);
    if (!bucket) return this.take(keyId, cost);
    const granted = bucket.level + cost <= this.settings.capacity;
    if (granted && cost > 0) {
      bucket.level += cost;
      bucket.touched = true;
    }
    return this.status(granted, bucket);
  }

  refund(keyId: string, points: number): BucketStatus | Promise<BucketStatus> {
    const bucket = this.local(keyId);
    if (bucket) {
      bucket.level = Math.max(0, bucket.level - points);
      bucket.touched = true;
      return this.status(true, bucket);
    }
    const pending = this.taking.get(keyId);
    if (pending) return pending.then(() => this.refund(keyId, points));
    // Dropped while its request ran (a request longer than an interval): straight to the table.
    return this.shared.refund(keyId, points, this.settings, this.sharedNow()).then((level) => ({ granted: true, available: this.settings.capacity - level }));
  }

  /** The exact path for a key this instance does not hold: one atomic charge, whose answer becomes the local bucket. */
  private take(keyId: string, cost: number): Promise<BucketStatus> {
    const pending = this.taking.get(keyId);
    if (pending) return pending.then(() => this.charge(keyId, cost));
    const taken = this.shared.take(keyId, cost, this.settings, this.sharedNow()).then(
      (row) => {
        this.taking.delete(keyId);
        const bucket: LocalBucket = { level: row.level, ghost: row.level, at: this.clock(), seen: row.level, seenAt: row.at, touched: true };
        this.buckets.set(keyId, bucket);
        this.schedule();
        return this.status(row.granted, bucket);
      },
      (error: unknown) => {
        this.taking.delete(keyId);
        throw error;
      },
    );
    // The requests queued behind this one retry on their own when it fails.
    this.taking.set(keyId, taken.catch(() => undefined));
    return taken;
  }

  private schedule(): void {
    if (this.timer || this.closed || this.intervalMs <= 0 || this.buckets.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sync()
        .catch((error: unknown) => this.options.logger?.error({ err: error }, 'rate-limit reconciliation failed'))
        .finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  /**
   * One reconciliation: pushes every touched bucket's spend and adds what the others spent; drops
   * the buckets untouched since the last one that have nothing to push. One at a time.
   */
  sync(): Promise<void> {
    this.syncing ??= this.reconcile().finally(() => (this.syncing = null));
    return this.syncing;
  }

  private async reconcile(): Promise<void> {
    /** Each pushed bucket's level and time when its spend was read. */
    const sent = new Map<string, Level>();
    const entries: SyncEntry[] = [];
    for (const keyId of [...this.buckets.keys()]) {
      const bucket = this.local(keyId)!;
      const spent = bucket.level - bucket.ghost;
      if (!bucket.touched && Math.abs(spent) <= NOTHING) {
        this.buckets.delete(keyId);
        continue;
      }
      entries.push({ keyId, spent, seen: bucket.seen, seenAt: bucket.seenAt });
      sent.set(keyId, { level: bucket.level, at: bucket.at });
      bucket.touched = false;
    }
    if (entries.length === 0) return;
    let rows: SyncRow[];
    try {
      rows = await this.shared.sync(entries, this.settings.restorePerSecond, this.sharedNow());
    } catch (error) {
      // Nothing is lost: the spend stays in level - ghost and goes with the next reconciliation.
      for (const keyId of sent.keys()) {
        const bucket = this.buckets.get(keyId);
        if (bucket) bucket.touched = true;
      }
      if (!this.failing) this.options.logger?.warn({ err: error }, 'rate-limit buckets could not be reconciled with the database; retrying');
      this.failing = true;
      return;
    }
    if (this.failing) this.options.logger?.info('rate-limit buckets reconciled with the database again');
    this.failing = false;
    for (const row of rows) {
      const bucket = this.local(row.keyId);
      if (!bucket) continue;
      bucket.level = Math.max(0, bucket.level + row.others);
      const before = sent.get(row.keyId)!;
      bucket.ghost = Math.max(0, leak(before.level, bucket.at - before.at, this.settings.restorePerSecond) + row.others);
      bucket.seen = row.level;
      bucket.seenAt = row.at;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.syncing;
    await this.sync();
  }
}

/** The database side of SharedBucketStore on PostgreSQL. */
function postgresBuckets(db: Db): SharedBuckets {
  return {
    take: (keyId, cost, settings, now) => takeBucket(db, keyId, cost, settings, now),
    sync: (entries, restorePerSecond, now) => syncBuckets(db, entries, restorePerSecond, now),
    refund: (keyId, points, settings, now) => refundBucket(db, keyId, points, settings, now),
  };
}

export function createBucketStore(engine: Engine, db: Db, settings: BucketSettings, clock?: Clock, options: Omit<SharedBucketOptions, 'clock'> = {}): BucketStore {
  return engine === 'postgres' ? new SharedBucketStore(postgresBuckets(db), settings, { ...options, clock }) : new MemoryBucketStore(settings, clock);
}
