/**
 * Rate-limit buckets on PostgreSQL (the UNLOGGED `rate_limits` table and its two functions,
 * migration 002), shared by every gateway instance. Each call is one statement, atomic: the row
 * lock of the upsert orders concurrent charges from several instances, so no read-then-write
 * race can overspend a bucket. Times are epoch seconds from the database clock (one clock for
 * all instances) unless the caller passes its own (tests).
 */
import { sql } from 'kysely';
import type { Db } from './engine';

export interface BucketRow {
  /** Points in the bucket after this statement. */
  level: number;
  /** Whether the charge fitted and was added. */
  granted: boolean;
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
export async function chargeBucket(db: Db, keyId: string, cost: number, shape: BucketShape, now: number | null = null): Promise<BucketRow> {
  const result = await sql<{ bucket_level: number; charge_granted: boolean }>`
    select bucket_level, charge_granted from rate_limit_charge(${keyId}, ${cost}, ${shape.capacity}, ${shape.restorePerSecond}, ${now})`.execute(db);
  const row = result.rows[0];
  return { level: row.bucket_level, granted: row.charge_granted };
}

/** Takes `points` back out of the key's bucket (a refund after the query cost less than asked). */
export async function refundBucket(db: Db, keyId: string, points: number, shape: BucketShape, now: number | null = null): Promise<number> {
  const result = await sql<{ level: number }>`
    select rate_limit_refund(${keyId}, ${points}, ${shape.restorePerSecond}, ${now}) as level`.execute(db);
  return result.rows[0]?.level ?? 0;
}
