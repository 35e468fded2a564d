/**
 * Per-API-key leaky buckets. A request adds its cost to its key's bucket, which leaks at the
 * restore rate; a request whose cost does not fit is throttled. On SQLite the gateway is one
 * process, so the buckets live in its memory (exact, and no read pays a write); on PostgreSQL
 * several instances share them through an UNLOGGED table, one atomic upsert per request.
 */
import type { Db, Engine } from '../../store/engine';
import { chargeBucket, refundBucket } from '../../store/rate-limits.repository';

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
    const elapsedSeconds = Math.max(0, now - entry.at) / 1000;
    return { level: Math.max(0, entry.level - elapsedSeconds * this.settings.restorePerSecond), at: now };
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

/** Buckets shared by every instance through PostgreSQL's `rate_limits` table. */
class PostgresBucketStore implements BucketStore {
  constructor(
    private readonly db: Db,
    readonly settings: BucketSettings,
    /** Absent: the database's clock, the one all instances agree on. */
    private readonly clock?: Clock,
  ) {}

  private shape() {
    return { capacity: this.settings.capacity, restorePerSecond: this.settings.restorePerSecond };
  }

  private now(): number | null {
    return this.clock ? this.clock() / 1000 : null;
  }

  async charge(keyId: string, cost: number): Promise<BucketStatus> {
    const row = await chargeBucket(this.db, keyId, cost, this.shape(), this.now());
    return { granted: row.granted, available: this.settings.capacity - row.level };
  }

  async refund(keyId: string, points: number): Promise<BucketStatus> {
    const level = await refundBucket(this.db, keyId, points, this.shape(), this.now());
    return { granted: true, available: this.settings.capacity - level };
  }
}

export function createBucketStore(engine: Engine, db: Db, settings: BucketSettings, clock?: Clock): BucketStore {
  return engine === 'postgres' ? new PostgresBucketStore(db, settings, clock) : new MemoryBucketStore(settings, clock);
}
