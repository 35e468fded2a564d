import { PostgresAdapter, sql, type ColumnDataType, type Kysely } from 'kysely';

// A migration is frozen: it imports nothing but kysely, so later changes to live code cannot
// change the schema it creates. Kysely<any>: it runs before (and apart from) the typed shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration runs apart from the typed table shapes
type AnyKysely = Kysely<any>;

/** Text timestamps and JSON on SQLite, native types on PostgreSQL. */
function columnTypes(db: AnyKysely): { timestamp: ColumnDataType; json: ColumnDataType } {
  return db.getExecutor().adapter instanceof PostgresAdapter
    ? { timestamp: 'timestamptz', json: 'jsonb' }
    : { timestamp: 'text', json: 'text' };
}

/** Workspaces, API keys, customers, members, the audit log and custom fields. */
export async function up(db: AnyKysely): Promise<void> {
  const t = columnTypes(db);

  await db.schema
    .createTable('workspaces')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('change_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('workspaces_name_uq').unique().on('workspaces').column('name').execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text')
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull())
    .addColumn('rate_limited', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('revoked_at', t.timestamp)
    .execute();
  await db.schema.createIndex('api_keys_hash_uq').unique().on('api_keys').column('key_hash').execute();
  await db.schema.createIndex('api_keys_workspace_idx').on('api_keys').columns(['workspace_id', 'created_at']).execute();

  await db.schema
    .createTable('customers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('external_id', 'text')
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('first_name', 'text')
    .addColumn('last_name', 'text')
    .addColumn('name', 'text')
    .addColumn('sort_name', 'text', (c) => c.notNull())
    .addColumn('search_text', 'text', (c) => c.notNull())
    .addColumn('phone', 'text')
    .addColumn('phone_country', 'text')
    .addColumn('birth_date', 'text')
    .addColumn('gender', 'text')
    .addColumn('avatar_url', 'text')
    .addColumn('bio', 'text')
    .addColumn('location', 'text')
    .addColumn('website', 'text')
    .addColumn('twitter', 'text')
    .addColumn('facebook', 'text')
    .addColumn('instagram', 'text')
    .addColumn('billing_line1', 'text')
    .addColumn('billing_line2', 'text')
    .addColumn('billing_city', 'text')
    .addColumn('billing_state', 'text')
    .addColumn('billing_postal_code', 'text')
    .addColumn('billing_country', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('metadata', t.json, (c) => c.notNull())
    .addColumn('unsubscribed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('internal_note', 'text')
    .addColumn('net_revenue', 'text')
    .addColumn('sign_in_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_request_at', t.timestamp)
    .addColumn('bounced_at', t.timestamp)
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('archived_at', t.timestamp)
    .addColumn('archived_by', 'text')
    .addColumn('archived_via', 'text')
    .addColumn('archive_reason', 'text')
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_via', 'text')
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .addColumn('updated_via', 'text')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('change_seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('customers_email_uq').unique().on('customers').columns(['workspace_id', 'email']).execute();
  await db.schema
    .createIndex('customers_external_id_uq')
    .unique()
    .on('customers')
    .columns(['workspace_id', 'external_id'])
    .execute();
  // Keyset indexes: one per sort, each ending in id so (key, id) row-value comparisons seek.
  for (const column of ['created_at', 'updated_at', 'sort_name']) {
    await db.schema
      .createIndex(`customers_${column}_idx`)
      .on('customers')
      .columns(['workspace_id', column, 'id'])
      .execute();
  }
  await db.schema.createIndex('customers_change_seq_uq').unique().on('customers').columns(['workspace_id', 'change_seq']).execute();
  await db.schema.createIndex('customers_country_idx').on('customers').columns(['workspace_id', 'billing_country']).execute();

  await db.schema
    .createTable('members')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('external_id', 'text')
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('members_customer_idx').on('members').columns(['customer_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('members_email_uq').unique().on('members').columns(['customer_id', 'email']).execute();
  await db.schema.createIndex('members_external_id_uq').unique().on('members').columns(['customer_id', 'external_id']).execute();

  await db.schema
    .createTable('actions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('member_id', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor', 'text')
    .addColumn('via', 'text')
    .addColumn('changes', t.json, (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('actions_customer_idx').on('actions').columns(['customer_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('custom_field_definitions')
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('value_type', 'text', (c) => c.notNull())
    .addColumn('searchable', 'integer', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('custom_field_definitions_pk', ['workspace_id', 'key'])
    .execute();

  await db.schema
    .createTable('custom_field_values')
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('field_key', 'text', (c) => c.notNull())
    // Text on both engines: a jsonb scalar would come back already decoded, a text one not.
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('value_text', 'text', (c) => c.notNull())
    .addColumn('searchable', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('custom_field_values_pk', ['customer_id', 'field_key'])
    .addForeignKeyConstraint(
      'custom_field_values_definition_fk',
      ['workspace_id', 'field_key'],
      'custom_field_definitions',
      ['workspace_id', 'key'],
    )
    .execute();
  // Only searchable fields are indexed; filters add `searchable = 1` so the planner can use it.
  await db.schema
    .createIndex('custom_field_values_search_idx')
    .on('custom_field_values')
    .columns(['workspace_id', 'field_key', 'value_text', 'customer_id'])
    .where(sql.ref('searchable'), '=', 1)
    .execute();
}

export async function down(db: AnyKysely): Promise<void> {
  for (const table of [
    'custom_field_values',
    'custom_field_definitions',
    'actions',
    'members',
    'customers',
    'api_keys',
    'workspaces',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
