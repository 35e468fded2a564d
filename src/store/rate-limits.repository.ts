/**
 * Rate-limit buckets on PostgreSQL (the UNLOGGED `rate_limits` table and its functions,
 * migrations 002 and 007), shared by every gateway instance. Each call is one statement, atomic:
 * row locks order concurrent calls from several instances, so no read-then-write race loses a
 * charge. Times are epoch seconds from the database clock (one clock for all instances) unless
 * the caller passes its own (tests).
 */
import { sql } from 'kysely';
import type { Db } from './engine';

export interface BucketRow {
  /** Points in the bucket after this statement. */
  level: number;
  /** Whether the charge fitted and was added. */
  granted: boolean;
  /** When the row was last written (epoch seconds, the clock the row leaks by). */
  at: number;
}

/** One key's part of a sync: what this instance spent since its last sync, and what it last saw. */
export interface SyncEntry {
  keyId: string;
  /** Net points spent since the last sync (negative when refunds outweigh charges). */
  spent: number;
  /** The level and its time (`at`) of this instance's last take or sync of the key. */
  seen: number;
  seenAt: number;
}

export interface SyncRow {
  keyId: string;
  /** The shared level after adding this instance's spend, as of `at`. */
  level: number;
  at: number;
  /** What the other instances spent (negative: refunded) since this instance last saw the key. */
  others: number;
}

export interface BucketShape {
  capacity: number;
  /** Points that leak out per second. */
  restorePerSecond: number;
}

/**
 * Adds `cost` points to the key's bucket when they fit under its capacity, else leaves it as it
 * is (after leaking). A cost of 0 reads the level without changing what it means.
 */
export async function takeBucket(db: Db, keyId: string, cost: number, shape: BucketShape, now: number | null = null): Promise<BucketRow> {
  const result = await sql<{ bucket_level: number; charge_granted: boolean; bucket_at: number }>`
    select bucket_level, charge_granted, bucket_at from rate_limit_take(${keyId}, ${cost}, ${shape.capacity}, ${shape.restorePerSecond}, ${now})`.execute(db);
  const row = result.rows[0];
  return { level: row.bucket_level, granted: row.charge_granted, at: row.bucket_at };
}

/** Adds each key's spend to its shared bucket and answers the new levels and the others' spend: one statement for all. */
export async function syncBuckets(db: Db, entries: readonly SyncEntry[], restorePerSecond: number, now: number | null = null): Promise<SyncRow[]> {
  const column = <T>(pick: (entry: SyncEntry) => T) => entries.map(pick);
  const result = await sql<{ sync_key: string; sync_level: number; sync_at: number; sync_others: number }>`
    select sync_key, sync_level, sync_at, sync_others from rate_limit_sync(
      ${column((e) => e.keyId)}::text[], ${column((e) => e.spent)}::float8[], ${column((e) => e.seen)}::float8[], ${column((e) => e.seenAt)}::float8[],
      ${restorePerSecond}, ${now})`.execute(db);
  return result.rows.map((row) => ({ keyId: row.sync_key, level: row.sync_level, at: row.sync_at, others: row.sync_others }));
}

/** Takes `points` back out of the key's bucket (a refund after the query cost less than asked). */
export async function refundBucket(db: Db, keyId: string, points: number, shape: BucketShape, now: number | null = null): Promise<number> {
  const result = await sql<{ level: number }>`
    select rate_limit_refund(${keyId}, ${points}, ${shape.restorePerSecond}, ${now}) as level`.execute(db);
  return result.rows[0]?.level ?? 0;
}
