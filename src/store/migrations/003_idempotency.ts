import type { Kysely } from 'kysely';

// A migration is frozen: it imports nothing but kysely (see 001_initial).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration runs apart from the typed table shapes
type AnyKysely = Kysely<any>;

/**
 * Idempotency keys: one row per (workspace, API key, Idempotency-Key). Instants are epoch
 * milliseconds (bigint) so both engines compare them the same way. The stored response and
 * payload are text, not jsonb: a replay must return the body byte for byte, and jsonb would
 * reorder its keys.
 */
export async function up(db: AnyKysely): Promise<void> {
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    // '' for callers without a key (in-process calls); keys are never deleted, only revoked.
    .addColumn('api_key_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('lease_expires_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('payload', 'text')
    .addColumn('response_status', 'integer')
    .addColumn('response_body', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['workspace_id', 'api_key_id', 'key'])
    .execute();
  await db.schema.createIndex('idempotency_keys_expires_idx').on('idempotency_keys').column('expires_at').execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute();
}
