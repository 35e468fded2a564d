import { PostgresAdapter, sql, type Kysely } from 'kysely';

// A migration is frozen: it imports nothing but kysely (see 001_initial).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration runs apart from the typed table shapes
type AnyKysely = Kysely<any>;

function isPostgres(db: AnyKysely): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Two functions over the `rate_limits` table of 002 for gateways that keep a local copy of each
 * busy bucket and reconcile it in the background (src/graphql/limits/rate-limit.ts), instead of
 * one statement per request. SQLite keeps its buckets in memory: nothing to create there.
 *
 * `rate_limit_take` is `rate_limit_charge` (an atomic charge that fits or is refused) that also
 * says when, in the database's clock, the row was last written: the first request of a key on an
 * instance takes this path, so the instance starts from the shared level.
 *
 * `rate_limit_sync` reconciles many buckets in one call. Per key the caller sends the net points
 * it spent since its last sync (negative after refunds) and the level and time it last saw; the
 * function adds the spend to the leaked level and answers the new level, its time, and `others`:
 * how far the leaked level moved away from what the caller last saw leaked, which is what the
 * other instances spent (or refunded) meanwhile. A caller alone always gets `others` = 0 exactly
 * (the same numbers through the same arithmetic), so one instance on its own stays exact. Keys
 * are locked in key order, so two instances syncing overlapping keys never deadlock.
 */
export async function up(db: AnyKysely): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`
    create function rate_limit_take(p_key text, p_cost float8, p_capacity float8, p_restore float8, p_now float8)
    returns table (bucket_level float8, charge_granted boolean, bucket_at float8) language plpgsql as $$
    begin
      select c.bucket_level, c.charge_granted into bucket_level, charge_granted
        from rate_limit_charge(p_key, p_cost, p_capacity, p_restore, p_now) c;
      select r.updated_at into bucket_at from rate_limits r where r.key_id = p_key;
      return next;
    end $$`.execute(db);
  await sql`
    create function rate_limit_sync(p_keys text[], p_spent float8[], p_seen float8[], p_seen_at float8[], p_restore float8, p_now float8)
    returns table (sync_key text, sync_level float8, sync_at float8, sync_others float8) language plpgsql as $$
    declare
      t float8 := coalesce(p_now, extract(epoch from clock_timestamp()));
      g record;
      leaked float8;
      stamp float8;
    begin
      for g in select * from unnest(p_keys, p_spent, p_seen, p_seen_at) as u(k, spent, seen, seen_at) order by u.k loop
        insert into rate_limits as r (key_id, level, updated_at, granted) values (g.k, 0, t, true) on conflict do nothing;
        select greatest(0, r.level - greatest(0, t - r.updated_at) * p_restore), greatest(t, r.updated_at)
          into leaked, stamp from rate_limits r where r.key_id = g.k for update;
        update rate_limits as r set level = greatest(0, leaked + g.spent), updated_at = stamp where r.key_id = g.k;
        sync_key := g.k;
        sync_level := greatest(0, leaked + g.spent);
        sync_at := stamp;
        sync_others := leaked - greatest(0, g.seen - greatest(0, stamp - g.seen_at) * p_restore);
        return next;
      end loop;
    end $$`.execute(db);
}

export async function down(db: AnyKysely): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`drop function if exists rate_limit_sync(text[], float8[], float8[], float8[], float8, float8)`.execute(db);
  await sql`drop function if exists rate_limit_take(text, float8, float8, float8, float8)`.execute(db);
}
