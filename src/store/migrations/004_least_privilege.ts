import type { Kysely } from 'kysely';

/**
 * Least privilege. API key scopes: a space-separated list of scope names, or null for a key
 * that holds every scope (keys made before scopes existed, and keys created without
 * `--scope`). Custom field definitions gain `self_editable`: whether a customer may set the
 * field through `updateMe`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('scopes', 'text').execute();
  await db.schema
    .alterTable('custom_field_definitions')
    .addColumn('self_editable', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('custom_field_definitions').dropColumn('self_editable').execute();
  await db.schema.alterTable('api_keys').dropColumn('scopes').execute();
}
