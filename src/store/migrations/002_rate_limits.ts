import { sql } from 'kysely';
import { engineOf, type AnyKysely } from '../engine';

/**
 * Rate-limit buckets shared by gateway instances on PostgreSQL: UNLOGGED, so charging a bucket
 * writes no WAL and never waits for an fsync (a crash empties the table, which only forgets how
 * full the buckets were). No foreign key: it would cost a lookup on every write, and keys are
 * revoked rather than deleted. SQLite serves one process, which keeps its buckets in memory, so
 * this migration creates nothing there; it exists on both engines so their migration sets match.
 */
export async function up(db: AnyKysely): Promise<void> {
  if (engineOf(db) !== 'postgres') return;
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
}

export async function down(db: AnyKysely): Promise<void> {
  if (engineOf(db) !== 'postgres') return;
  await db.schema.dropTable('rate_limits').ifExists().execute();
}
