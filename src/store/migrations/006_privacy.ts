import { PostgresAdapter, type Kysely } from 'kysely';

// A migration is frozen: it imports nothing but kysely (see 001_initial).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration runs apart from the typed table shapes
type AnyKysely = Kysely<any>;

/**
 * Erasure and merge. Customers gain the tombstone columns (erased_at/by/via; merged_into, the
 * survivor a MERGED customer points at, indexed for `mergedIds` and for shortening chains).
 * `erased_identities` holds a keyed hash of every erased email and externalId, never the value,
 * so imports and createCustomer can refuse to bring the person back. The key is a random
 * secret per workspace (`workspaces.erasure_key`), made on the workspace's first erasure.
 */
export async function up(db: AnyKysely): Promise<void> {
  const timestamp = db.getExecutor().adapter instanceof PostgresAdapter ? 'timestamptz' : 'text';
  await db.schema.alterTable('customers').addColumn('erased_at', timestamp).execute();
  await db.schema.alterTable('customers').addColumn('erased_by', 'text').execute();
  await db.schema.alterTable('customers').addColumn('erased_via', 'text').execute();
  await db.schema.alterTable('customers').addColumn('merged_into', 'text').execute();
  await db.schema.createIndex('customers_merged_into_idx').on('customers').columns(['workspace_id', 'merged_into']).execute();
  await db.schema.alterTable('workspaces').addColumn('erasure_key', 'text').execute();
  await db.schema
    .createTable('erased_identities')
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('erased_at', timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('erased_identities_pk', ['workspace_id', 'kind', 'hash'])
    .execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.dropTable('erased_identities').execute();
  await db.schema.alterTable('workspaces').dropColumn('erasure_key').execute();
  await db.schema.dropIndex('customers_merged_into_idx').execute();
  for (const column of ['merged_into', 'erased_via', 'erased_by', 'erased_at']) {
    await db.schema.alterTable('customers').dropColumn(column).execute();
  }
}
