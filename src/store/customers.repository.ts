/** Customers: row <-> record translation, batched lookups, keyset pages, writes. */
import { sql } from 'kysely';
import type { ExpressionBuilder, RawBuilder, SelectQueryBuilder } from 'kysely';
import { LruCache } from '../shared/lru';
import { ColumnPlan, type ColumnSet } from './column-sets';
import { compiledOnce } from './compiled';
import { engineOf, isoOf, jsonOf, jsonText, likeContains, unindexed, type Db } from './engine';
import type { CustomerRecord, CustomerStatus, CustomerType, MetadataValue } from './records';
import type { CustomerRow, Database, NewCustomerRow } from './tables';

/**
 * The columns a record is built from: every column but the derived sort and search keys
 * (sort_name, search_text), which only WHERE and ORDER BY read. Reading fewer long strings per
 * row matters on pages and the export drain; toCustomerRecord can only use the columns listed.
 */
const RECORD_COLUMNS = [
  'id', 'workspace_id', 'external_id', 'email', 'email_verified', 'first_name', 'last_name',
  'name', 'phone', 'phone_country', 'birth_date', 'gender', 'avatar_url', 'bio', 'location',
  'website', 'twitter', 'facebook', 'instagram', 'billing_line1', 'billing_line2', 'billing_city',
  'billing_state', 'billing_postal_code', 'billing_country', 'type', 'metadata', 'unsubscribed',
  'internal_note', 'net_revenue', 'sign_in_count', 'last_request_at', 'bounced_at', 'status',
  'archived_at', 'archived_by', 'archived_via', 'archive_reason', 'created_at', 'created_by',
  'created_via', 'updated_at', 'updated_by', 'updated_via', 'version', 'change_seq',
  'erased_at', 'erased_by', 'erased_via', 'merged_into',
] as const;

export type CustomerColumn = (typeof RECORD_COLUMNS)[number];

type CustomerRecordRow = Pick<CustomerRow, CustomerColumn>;

/** The columns each record field is built from by toCustomerRecord (kept next to it). */
const FIELD_COLUMNS: { [F in keyof CustomerRecord]-?: readonly CustomerColumn[] } = {
  id: ['id'],
  workspaceId: ['workspace_id'],
  externalId: ['external_id'],
  // An erased customer's row holds a placeholder there (see toCustomerRow), told by its status.
  email: ['email', 'status'],
  emailVerified: ['email_verified'],
  firstName: ['first_name'],
  lastName: ['last_name'],
  name: ['name'],
  phone: ['phone'],
  phoneCountry: ['phone_country'],
  birthDate: ['birth_date'],
  gender: ['gender'],
  avatarUrl: ['avatar_url'],
  profile: ['bio', 'location', 'website', 'twitter', 'facebook', 'instagram'],
  billingAddress: ['billing_line1', 'billing_line2', 'billing_city', 'billing_state', 'billing_postal_code', 'billing_country'],
  type: ['type'],
  metadata: ['metadata'],
  unsubscribed: ['unsubscribed'],
  internalNote: ['internal_note'],
  netRevenue: ['net_revenue'],
  signInCount: ['sign_in_count'],
  lastRequestAt: ['last_request_at'],
  bouncedAt: ['bounced_at'],
  status: ['status'],
  archivedAt: ['archived_at'],
  archivedBy: ['archived_by'],
  archivedVia: ['archived_via'],
  archiveReason: ['archive_reason'],
  createdAt: ['created_at'],
  createdBy: ['created_by'],
  createdVia: ['created_via'],
  updatedAt: ['updated_at'],
  updatedBy: ['updated_by'],
  updatedVia: ['updated_via'],
  version: ['version'],
  changeSeq: ['change_seq'],
  erasedAt: ['erased_at'],
  erasedBy: ['erased_by'],
  erasedVia: ['erased_via'],
  mergedInto: ['merged_into'],
};

/**
 * Which columns a read selects: every one (the default; writes and the NDJSON export always
 * read whole records) or only those behind the record fields a query asks for (always with id,
 * which every lookup keys on). See store/column-sets.ts.
 */
const CUSTOMER_PLAN = new ColumnPlan<keyof CustomerRecord, CustomerColumn>(
  'customer',
  RECORD_COLUMNS,
  FIELD_COLUMNS,
  ['id'],
  'CUSTOMER_FIELD_READS (src/graphql/projection.ts)',
);

export type CustomerColumns = ColumnSet<keyof CustomerRecord, CustomerColumn>;

export const ALL_CUSTOMER_COLUMNS: CustomerColumns = CUSTOMER_PLAN.all;

/**
 * The columns to read for these record fields.
 * `checkRecords`: the records read with a narrower set guard the fields they lack (for tests).
 */
export function customerColumnsFor(fields: Iterable<keyof CustomerRecord>, options: { checkRecords?: boolean } = {}): CustomerColumns {
  return CUSTOMER_PLAN.columnsFor(fields, options);
}

/** Records from rows read with `read`'s columns. */
function recordsOf(rows: CustomerRecordRow[], read: CustomerColumns): CustomerRecord[] {
  return CUSTOMER_PLAN.recordsOf(rows, read, toCustomerRecord);
}

/** `set` plus the columns behind `fields` (a lookup's key, a cursor's sort value), remembered per set. */
export function withFields(set: CustomerColumns, fields: readonly (keyof CustomerRecord)[]): CustomerColumns {
  return CUSTOMER_PLAN.withFields(set, fields);
}

export function toCustomerRecord(row: CustomerRecordRow): CustomerRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    externalId: row.external_id,
    email: row.status === 'ERASED' ? '' : row.email,
    emailVerified: row.email_verified === 1,
    firstName: row.first_name,
    lastName: row.last_name,
    name: row.name,
    phone: row.phone,
    phoneCountry: row.phone_country,
    birthDate: row.birth_date,
    gender: row.gender,
    avatarUrl: row.avatar_url,
    profile: {
      bio: row.bio,
      location: row.location,
      website: row.website,
      socials: { twitter: row.twitter, facebook: row.facebook, instagram: row.instagram },
    },
    billingAddress:
      row.billing_country === null
        ? null
        : {
            line1: row.billing_line1,
            line2: row.billing_line2,
            city: row.billing_city,
            state: row.billing_state,
            postalCode: row.billing_postal_code,
            country: row.billing_country,
          },
    type: row.type as CustomerType,
    metadata: jsonOf<Record<string, MetadataValue>>(row.metadata),
    unsubscribed: row.unsubscribed === 1,
    internalNote: row.internal_note,
    netRevenue: row.net_revenue,
    signInCount: Number(row.sign_in_count),
    lastRequestAt: isoOf(row.last_request_at),
    bouncedAt: isoOf(row.bounced_at),
    status: row.status as CustomerStatus,
    archivedAt: isoOf(row.archived_at),
    archivedBy: row.archived_by,
    archivedVia: row.archived_via,
    archiveReason: row.archive_reason,
    createdAt: isoOf(row.created_at),
    createdBy: row.created_by,
    createdVia: row.created_via,
    updatedAt: isoOf(row.updated_at),
    updatedBy: row.updated_by,
    updatedVia: row.updated_via,
    version: Number(row.version),
    changeSeq: Number(row.change_seq),
    erasedAt: isoOf(row.erased_at),
    erasedBy: row.erased_by,
    erasedVia: row.erased_via,
    mergedInto: row.merged_into,
  };
}

/** The display name: the explicit name, else first and last name joined; null when none. */
export function displayName(c: Pick<CustomerRecord, 'name' | 'firstName' | 'lastName'>): string | null {
  if (c.name) return c.name;
  const joined = [c.firstName, c.lastName].filter((part) => part).join(' ');
  return joined === '' ? null : joined;
}

export function toCustomerRow(c: CustomerRecord): NewCustomerRow {
  const address = c.billingAddress;
  const shown = displayName(c);
  return {
    id: c.id,
    workspace_id: c.workspaceId,
    external_id: c.externalId,
    // The column is unique and not null; an erased customer keeps its id there, which no email can equal.
    email: c.status === 'ERASED' ? c.id : c.email,
    email_verified: c.emailVerified ? 1 : 0,
    first_name: c.firstName,
    last_name: c.lastName,
    name: c.name,
    sort_name: (shown ?? c.email).toLowerCase(),
    search_text: [c.email, c.firstName, c.lastName, shown].filter((part) => part).join('\n').toLowerCase(),
    phone: c.phone,
    phone_country: c.phoneCountry,
    birth_date: c.birthDate,
    gender: c.gender,
    avatar_url: c.avatarUrl,
    bio: c.profile.bio,
    location: c.profile.location,
    website: c.profile.website,
    twitter: c.profile.socials.twitter,
    facebook: c.profile.socials.facebook,
    instagram: c.profile.socials.instagram,
    billing_line1: address?.line1 ?? null,
    billing_line2: address?.line2 ?? null,
    billing_city: address?.city ?? null,
    billing_state: address?.state ?? null,
    billing_postal_code: address?.postalCode ?? null,
    billing_country: address?.country ?? null,
    type: c.type,
    metadata: jsonText(c.metadata),
    unsubscribed: c.unsubscribed ? 1 : 0,
    internal_note: c.internalNote,
    net_revenue: c.netRevenue,
    sign_in_count: c.signInCount,
    last_request_at: c.lastRequestAt,
    bounced_at: c.bouncedAt,
    status: c.status,
    archived_at: c.archivedAt,
    archived_by: c.archivedBy,
    archived_via: c.archivedVia,
    archive_reason: c.archiveReason,
    created_at: c.createdAt,
    created_by: c.createdBy,
    created_via: c.createdVia,
    updated_at: c.updatedAt,
    updated_by: c.updatedBy,
    updated_via: c.updatedVia,
    version: c.version,
    change_seq: c.changeSeq,
    erased_at: c.erasedAt,
    erased_by: c.erasedBy,
    erased_via: c.erasedVia,
    merged_into: c.mergedInto,
  };
}

export type CustomerLookupColumn = 'id' | 'external_id' | 'email';

/**
 * The customers of the workspace whose `column` is one of `values`. By id, the primary key must
 * drive the lookup (see unindexed); the other columns' unique indexes lead with workspace_id
 * and are the right ones.
 */
function customersBy(db: Db, workspaceId: string, column: CustomerLookupColumn, values: readonly string[], read: CustomerColumns) {
  return db
    .selectFrom('customers')
    .select(read.columns)
    .where(column === 'id' ? unindexed(db, 'workspace_id') : 'workspace_id', '=', workspaceId)
    .where(column, 'in', values);
}

/** The record field a lookup column fills (byKey matches results to keys by it). */
const LOOKUP_FIELD: Record<CustomerLookupColumn, keyof CustomerRecord> = { id: 'id', external_id: 'externalId', email: 'email' };

type Lookup = (db: Db, workspaceId: string, ...values: string[]) => Promise<CustomerRecordRow[]>;

/** Distinct column sets come from distinct documents; past this many the least recently used go. */
const compiledLookups = new LruCache<Lookup>(256);
/** Longer batches (rare: DataLoader batches what one request asks for) are compiled per call. */
const COMPILED_LOOKUP_MAX_VALUES = 100;

/**
 * Lookups compiled once per lookup column, column set and number of values: customer(id) on
 * every page load, and batches of ids (a router's 100 _entities representations), whose IN list
 * Kysely would otherwise rebuild and recompile value by value on every request.
 */
function compiledLookup(column: CustomerLookupColumn, read: CustomerColumns, count: number): Lookup {
  return compiledLookups.get(`${column}|${count}|${read.key}`, () =>
    compiledOnce(count + 1, (db: Db, workspaceId: string, ...values: string[]) => customersBy(db, workspaceId, column, values, read)),
  );
}

/** Every customer of the workspace whose `column` is one of `values` (one statement). */
export async function findCustomersBy(
  db: Db,
  workspaceId: string,
  column: CustomerLookupColumn,
  values: readonly string[],
  columns: CustomerColumns = ALL_CUSTOMER_COLUMNS,
): Promise<CustomerRecord[]> {
  if (values.length === 0) return [];
  const read = withFields(columns, [LOOKUP_FIELD[column]]);
  const rows =
    values.length <= COMPILED_LOOKUP_MAX_VALUES
      ? await compiledLookup(column, read, values.length)(db, workspaceId, ...values)
      : await customersBy(db, workspaceId, column, values, read).execute();
  return recordsOf(rows, read);
}

export async function insertCustomer(db: Db, customer: CustomerRecord): Promise<void> {
  await db.insertInto('customers').values(toCustomerRow(customer)).execute();
}

/**
 * Writes the whole record if the stored version is still `previousVersion`. Returns false when
 * another writer got there first, so lost updates are impossible even across processes.
 */
export async function updateCustomer(db: Db, customer: CustomerRecord, previousVersion: number): Promise<boolean> {
  const { id, workspace_id, created_at, ...changes } = toCustomerRow(customer);
  const result = await db
    .updateTable('customers')
    .set(changes)
    .where('id', '=', id)
    .where('workspace_id', '=', workspace_id)
    .where('version', '=', previousVersion)
    .executeTakeFirst();
  void created_at;
  return result.numUpdatedRows === 1n;
}

export type CustomerSortColumn = 'created_at' | 'updated_at' | 'email' | 'sort_name';

export interface CustomerListFilter {
  statuses: CustomerStatus[];
  type?: CustomerType;
  /** Lower-cased search term. */
  search?: string;
  emailVerified?: boolean;
  unsubscribed?: boolean;
  country?: string;
  createdAfter?: string;
  createdBefore?: string;
  updatedAfter?: string;
  /** Canonical value texts of searchable custom fields. */
  customFields: { key: string; valueText: string }[];
}

export interface KeysetPosition {
  value: string;
  id: string;
}

export interface CustomerListQuery {
  filter: CustomerListFilter;
  column: CustomerSortColumn;
  /** Scan direction (already flipped for backward paging). */
  descending: boolean;
  /** Rows strictly beyond this position in scan order. */
  after: KeysetPosition | null;
  limit: number;
  /** The columns the caller's fields need (the cursor's sort value is added here). */
  columns?: CustomerColumns;
}

function applyFilter(
  query: SelectQueryBuilder<Database, 'customers', object>,
  workspaceId: string,
  filter: CustomerListFilter,
): SelectQueryBuilder<Database, 'customers', object> {
  let q = query.where('customers.workspace_id', '=', workspaceId).where('customers.status', 'in', filter.statuses);
  if (filter.type) q = q.where('customers.type', '=', filter.type);
  if (filter.search) q = q.where(sql<boolean>`customers.search_text like ${likeContains(filter.search)} escape '\\'`);
  if (filter.emailVerified !== undefined) q = q.where('customers.email_verified', '=', filter.emailVerified ? 1 : 0);
  if (filter.unsubscribed !== undefined) q = q.where('customers.unsubscribed', '=', filter.unsubscribed ? 1 : 0);
  if (filter.country) q = q.where('customers.billing_country', '=', filter.country);
  if (filter.createdAfter) q = q.where('customers.created_at', '>', filter.createdAfter);
  if (filter.createdBefore) q = q.where('customers.created_at', '<', filter.createdBefore);
  if (filter.updatedAfter) q = q.where('customers.updated_at', '>', filter.updatedAfter);
  for (const field of filter.customFields) {
    q = q.where('customers.id', 'in', (eb: ExpressionBuilder<Database, 'customers'>) =>
      eb
        .selectFrom('custom_field_values')
        .select('custom_field_values.customer_id')
        .where('custom_field_values.workspace_id', '=', workspaceId)
        .where('custom_field_values.field_key', '=', field.key)
        .where('custom_field_values.value_text', '=', field.valueText)
        .where('custom_field_values.searchable', '=', 1),
    );
  }
  return q;
}

/** One keyset page's statement (a single indexed range scan, `limit` rows at most) and the columns it reads. */
function customerPage(db: Db, workspaceId: string, query: CustomerListQuery) {
  const direction = query.descending ? 'desc' : 'asc';
  let q = applyFilter(db.selectFrom('customers'), workspaceId, query.filter);
  if (query.after) {
    const { value, id } = query.after;
    q = q.where((eb) =>
      eb(eb.refTuple(`customers.${query.column}`, 'customers.id'), query.descending ? '<' : '>', eb.tuple(value, id)),
    );
  }
  const read = withFields(query.columns ?? ALL_CUSTOMER_COLUMNS, SORT_VALUE_FIELDS[query.column]);
  const statement = q
    .select(read.columns)
    .orderBy(`customers.${query.column}`, direction)
    .orderBy('customers.id', direction)
    .limit(query.limit);
  return { statement, read };
}

/** One keyset page. */
export async function listCustomers(db: Db, workspaceId: string, query: CustomerListQuery): Promise<CustomerRecord[]> {
  const { statement, read } = customerPage(db, workspaceId, query);
  return recordsOf(await statement.execute(), read);
}

/**
 * A value read with each customer of a page, in the page's own statement: an expression of
 * the customer's id, and how its value becomes what the caller wants (members.repository.ts
 * makes one for a page of members, so a page and its members take one round trip).
 */
export interface PageCompanion<V> {
  select(customerId: RawBuilder<string>): RawBuilder<unknown>;
  decode(value: unknown): V;
}

/** One keyset page, each customer with its companion value (one statement). */
export async function listCustomersWith<V>(
  db: Db,
  workspaceId: string,
  query: CustomerListQuery,
  companion: PageCompanion<V>,
): Promise<{ customers: CustomerRecord[]; companions: V[] }> {
  const { statement, read } = customerPage(db, workspaceId, query);
  const rows = await statement.select(companion.select(sql.ref<string>('customers.id')).as('companion')).execute();
  return { customers: recordsOf(rows, read), companions: rows.map((row) => companion.decode(row.companion)) };
}

export async function countCustomers(db: Db, workspaceId: string, filter: CustomerListFilter): Promise<number> {
  const row = await applyFilter(db.selectFrom('customers'), workspaceId, filter)
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** The record fields sortValueOf reads for each sort column. */
const SORT_VALUE_FIELDS: Record<CustomerSortColumn, readonly (keyof CustomerRecord)[]> = {
  created_at: ['createdAt'],
  updated_at: ['updatedAt'],
  email: ['email'],
  sort_name: ['name', 'firstName', 'lastName', 'email'],
};

/** The value a sort column has on a record, as stored (for building cursors). */
export function sortValueOf(c: CustomerRecord, column: CustomerSortColumn): string {
  switch (column) {
    case 'created_at':
      return c.createdAt;
    case 'updated_at':
      return c.updatedAt;
    case 'email':
      return c.email;
    case 'sort_name':
      return (displayName(c) ?? c.email).toLowerCase();
  }
}

/**
 * One page of the change feed: customers whose latest change sequence lies in (after, upTo],
 * in sequence order. One range scan of the (workspace_id, change_seq) index.
 */
export async function listChangedCustomers(
  db: Db,
  workspaceId: string,
  range: { after: number; upTo: number; updatedSince: string | null; limit: number },
  columns: CustomerColumns = ALL_CUSTOMER_COLUMNS,
): Promise<CustomerRecord[]> {
  const read = withFields(columns, ['changeSeq']);
  let query = db
    .selectFrom('customers')
    .select(read.columns)
    .where('workspace_id', '=', workspaceId)
    .where('change_seq', '>', range.after)
    .where('change_seq', '<=', range.upTo);
  if (range.updatedSince) query = query.where('updated_at', '>=', range.updatedSince);
  const rows = await query.orderBy('change_seq').limit(range.limit).execute();
  return recordsOf(rows, read);
}

/** How many customers changed after `after` (for progress totals). */
export async function countChangedCustomers(db: Db, workspaceId: string, after: number, updatedSince: string | null): Promise<number> {
  let query = db
    .selectFrom('customers')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('workspace_id', '=', workspaceId)
    .where('change_seq', '>', after);
  if (updatedSince) query = query.where('updated_at', '>=', updatedSince);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.count);
}

/**
 * The customer a write transaction is about to change, locked against concurrent writers on
 * PostgreSQL (SELECT ... FOR UPDATE), so two updates without `expectedVersion` apply one after
 * the other instead of one failing. SQLite needs no lock: its write transactions are serial.
 */
export async function findCustomerForChange(db: Db, workspaceId: string, id: string): Promise<CustomerRecord | null> {
  const row = await db
    .selectFrom('customers')
    .select(RECORD_COLUMNS)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .$if(engineOf(db) === 'postgres', (q) => q.forUpdate())
    .executeTakeFirst();
  return row ? toCustomerRecord(row) : null;
}
