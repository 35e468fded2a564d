import { PostgresAdapter, sql, type Kysely } from 'kysely';

// A migration is frozen: it imports nothing but kysely (see 001_initial).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration runs apart from the typed table shapes
type AnyKysely = Kysely<any>;

function isPostgres(db: AnyKysely): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Rate-limit buckets shared by gateway instances on PostgreSQL: UNLOGGED, so charging a bucket
 * writes no WAL and never waits for an fsync (a crash empties the table, which only forgets how
 * full the buckets were). No foreign key: it would cost a lookup on every write, and keys are
 * revoked rather than deleted. SQLite serves one process, which keeps its buckets in memory, so
 * this migration creates nothing there; it exists on both engines so their migration sets match.
 *
 * Charging and refunding are PL/pgSQL functions: their one statement is planned once per
 * connection, so a request pays one round trip (about a `select 1`) rather than parsing and
 * planning an upsert every time (measured on this machine through Kysely: 0.49 ms a charge
 * against 0.9 ms for the same upsert sent as text, with a bare `select 1` at 0.26 ms).
 */
export async function up(db: AnyKysely): Promise<void> {
  if (!isPostgres(db)) return;
  await db.schema
    .createTable('rate_limits')
    .modifyFront(sql`unlogged`)
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    // Points in the bucket (used, not yet leaked) as of updated_at, in epoch seconds.
    .addColumn('level', 'double precision', (c) => c.notNull())
    .addColumn('updated_at', 'double precision', (c) => c.notNull())
    // Whether the last charge fitted: lets one upsert both decide and report it.
    .addColumn('granted', 'boolean', (c) => c.notNull())
    .execute();
  // The leak since the last update, the decision and the charge happen in one upsert: its row
  // lock orders charges from several instances, so none reads a level another is changing.
  await sql`
    create function rate_limit_charge(p_key text, p_cost float8, p_capacity float8, p_restore float8, p_now float8)
    returns table (bucket_level float8, charge_granted boolean) language plpgsql as $$
    declare
      t float8 := coalesce(p_now, extract(epoch from clock_timestamp()));
    begin
      return query
      insert into rate_limits as r (key_id, level, updated_at, granted)
      values (p_key, case when p_cost <= p_capacity then p_cost else 0 end, t, p_cost <= p_capacity)
      on conflict (key_id) do update set
        level = case when greatest(0, r.level - greatest(0, t - r.updated_at) * p_restore) + p_cost <= p_capacity
                     then greatest(0, r.level - greatest(0, t - r.updated_at) * p_restore) + p_cost
                     else greatest(0, r.level - greatest(0, t - r.updated_at) * p_restore) end,
        updated_at = t,
        granted = greatest(0, r.level - greatest(0, t - r.updated_at) * p_restore) + p_cost <= p_capacity
      returning r.level, r.granted;
    end $$`.execute(db);
  await sql`
    create function rate_limit_refund(p_key text, p_points float8, p_restore float8, p_now float8)
    returns float8 language plpgsql as $$
    declare
      t float8 := coalesce(p_now, extract(epoch from clock_timestamp()));
      result float8;
    begin
      update rate_limits as r
        set level = greatest(0, greatest(0, r.level - greatest(0, t - r.updated_at) * p_restore) - p_points), updated_at = t
        where r.key_id = p_key
        returning r.level into result;
      return coalesce(result, 0);
    end $$`.execute(db);
}

export async function down(db: AnyKysely): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`drop function if exists rate_limit_refund(text, float8, float8, float8)`.execute(db);
  await sql`drop function if exists rate_limit_charge(text, float8, float8, float8, float8)`.execute(db);
  await db.schema.dropTable('rate_limits').ifExists().execute();
}
