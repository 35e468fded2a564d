/**
 * Rate-limit buckets on PostgreSQL (the UNLOGGED `rate_limits` table, migration 002), shared by
 * every gateway instance. Each call is one atomic statement: the row lock of the upsert orders
 * concurrent charges from several instances, so no read-then-write race can overspend a bucket.
 * Times are epoch seconds from the database clock (one clock for all instances) unless the
 * caller passes its own (tests).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './tables';

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

/** `now` in epoch seconds, or null for the database's clock. */
const clock = (now: number | null) => sql`coalesce(${now}::double precision, extract(epoch from clock_timestamp()))`;

/** The bucket's level once the time since its last update has leaked out. */
const leaked = (shape: BucketShape, now: number | null) =>
  sql`greatest(0, rate_limits.level - greatest(0, ${clock(now)} - rate_limits.updated_at) * ${shape.restorePerSecond}::double precision)`;

/**
 * Adds `cost` points to the key's bucket when they fit under its capacity, else leaves it as it
 * is (after leaking). A cost of 0 reads the level without changing what it means.
 */
export async function chargeBucket(db: Kysely<Database>, keyId: string, cost: number, shape: BucketShape, now: number | null = null): Promise<BucketRow> {
  const fitsEmpty = cost <= shape.capacity;
  const fits = sql`${leaked(shape, now)} + ${cost}::double precision <= ${shape.capacity}::double precision`;
  const result = await sql<BucketRow>`
    insert into rate_limits as rate_limits (key_id, level, updated_at, granted)
    values (${keyId}, ${fitsEmpty ? cost : 0}::double precision, ${clock(now)}, ${fitsEmpty})
    on conflict (key_id) do update set
      level = case when ${fits} then ${leaked(shape, now)} + ${cost}::double precision else ${leaked(shape, now)} end,
      updated_at = ${clock(now)},
      granted = ${fits}
    returning level, granted`.execute(db);
  return result.rows[0];
}

/** Takes `points` back out of the key's bucket (a refund after the query cost less than asked). */
export async function refundBucket(db: Kysely<Database>, keyId: string, points: number, shape: BucketShape, now: number | null = null): Promise<number> {
  const result = await sql<{ level: number }>`
    update rate_limits set level = greatest(0, ${leaked(shape, now)} - ${points}::double precision), updated_at = ${clock(now)}
    where key_id = ${keyId}
    returning level`.execute(db);
  return result.rows[0]?.level ?? 0;
}
