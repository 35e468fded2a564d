/** Members of TEAM customers: batched lookups, per-parent pages, writes. */
import { childPageJson, childRowsOfJson, countChildren, listChildPages } from './child-pages';
import { ColumnPlan, type ColumnSet } from './column-sets';
import { engineOf, isoOf, type Db } from './engine';
import type { MemberRecord, MemberRole } from './records';
import type { MemberRow, Timestamp } from './tables';
import type { KeysetPosition, PageCompanion } from './customers.repository';

/** Every column of a member row, each a field of the record (toMemberRecord). */
const MEMBER_RECORD_COLUMNS = ['id', 'workspace_id', 'customer_id', 'email', 'name', 'external_id', 'role', 'created_at', 'updated_at'] as const;

export type MemberColumn = (typeof MEMBER_RECORD_COLUMNS)[number];

/** The timestamp columns (Timestamp in tables.ts; the compiler holds this list to it). */
const MEMBER_COLUMN_KINDS: { [C in MemberColumn]: Timestamp extends MemberRow[C] ? 'timestamp' : 'value' } = {
  id: 'value',
  workspace_id: 'value',
  customer_id: 'value',
  email: 'value',
  name: 'value',
  external_id: 'value',
  role: 'value',
  created_at: 'timestamp',
  updated_at: 'timestamp',
};

const MEMBER_TIMESTAMPS: ReadonlySet<string> = new Set(MEMBER_RECORD_COLUMNS.filter((column) => MEMBER_COLUMN_KINDS[column] === 'timestamp'));

/** The column each record field is built from by toMemberRecord (kept next to it). */
const MEMBER_FIELD_COLUMNS: { [F in keyof MemberRecord]-?: readonly MemberColumn[] } = {
  id: ['id'],
  workspaceId: ['workspace_id'],
  customerId: ['customer_id'],
  email: ['email'],
  name: ['name'],
  externalId: ['external_id'],
  role: ['role'],
  createdAt: ['created_at'],
  updatedAt: ['updated_at'],
};

/**
 * Member reads select the columns of the fields a query asks for (src/graphql/projection.ts),
 * always with id and customer_id: lookups match on the one, pages group by the other.
 */
const MEMBER_PLAN = new ColumnPlan<keyof MemberRecord, MemberColumn>(
  'member',
  MEMBER_RECORD_COLUMNS,
  MEMBER_FIELD_COLUMNS,
  ['id', 'customer_id'],
  'MEMBER_FIELD_READS (src/graphql/projection.ts)',
);

export type MemberColumns = ColumnSet<keyof MemberRecord, MemberColumn>;

export const ALL_MEMBER_COLUMNS: MemberColumns = MEMBER_PLAN.all;

export function memberColumnsFor(fields: Iterable<keyof MemberRecord>, options: { checkRecords?: boolean } = {}): MemberColumns {
  return MEMBER_PLAN.columnsFor(fields, options);
}

/**
 * A record from a row read with some column set: a column not read stays undefined in its
 * field, and a timestamp not read is neither parsed (PostgreSQL hands a Date) nor formatted.
 */
export function toMemberRecord(row: MemberRow): MemberRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    customerId: row.customer_id,
    email: row.email,
    name: row.name,
    externalId: row.external_id,
    role: row.role as MemberRole,
    createdAt: isoOf(row.created_at),
    updatedAt: isoOf(row.updated_at),
  };
}

function recordsOf(rows: readonly MemberRow[], read: MemberColumns): MemberRecord[] {
  return MEMBER_PLAN.recordsOf(rows, read, toMemberRecord);
}

export async function findMembersByIds(
  db: Db,
  workspaceId: string,
  ids: readonly string[],
  read: MemberColumns = ALL_MEMBER_COLUMNS,
): Promise<MemberRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('members')
    .select(read.columns)
    .where('workspace_id', '=', workspaceId)
    .where('id', 'in', ids)
    .execute();
  return recordsOf(rows, read);
}

/**
 * The first `limit` members (oldest first) of each customer, after `after` when given, read
 * with `read`'s columns (cursors read createdAt: the caller's set includes it when it needs them).
 */
export async function listMembersOfCustomers(
  db: Db,
  workspaceId: string,
  customerIds: readonly string[],
  limit: number,
  after: KeysetPosition | null,
  read: MemberColumns = ALL_MEMBER_COLUMNS,
): Promise<MemberRecord[]> {
  if (customerIds.length === 0) return [];
  const rows = await listChildPages(db, 'members', workspaceId, customerIds, limit, after, false, read);
  return recordsOf(rows, read);
}

/** Whether memberPageCompanion reads members with their customers page on this engine. */
export function memberPagesReadWithPages(db: Db): boolean {
  return engineOf(db) === 'postgres';
}

/**
 * The first `limit` members (oldest first) of each customer of a customers page, read in the
 * page's own statement (listCustomersWith): on PostgreSQL that saves the page its second
 * sequential round trip. Null on SQLite, where a second statement costs no round trip (it runs
 * in process) and listMembersOfCustomers reads every parent's page in one statement anyway.
 */
export function memberPageCompanion(db: Db, workspaceId: string, limit: number, read: MemberColumns): PageCompanion<MemberRecord[]> | null {
  if (!memberPagesReadWithPages(db)) return null;
  return {
    select: (customerId) => childPageJson('members', customerId, workspaceId, limit, false, read, MEMBER_TIMESTAMPS),
    decode: (value) => recordsOf(childRowsOfJson<'members'>(value, read), read),
  };
}

export function countMembersOfCustomers(db: Db, workspaceId: string, customerIds: readonly string[]) {
  return countChildren(db, 'members', workspaceId, customerIds);
}

/** A customer's member with this email or external id (for uniqueness checks before writing). */
export async function findMemberConflicts(
  db: Db,
  customerId: string,
  email: string | null,
  externalId: string | null,
): Promise<MemberRecord[]> {
  const rows = await db
    .selectFrom('members')
    .selectAll()
    .where('customer_id', '=', customerId)
    .where((eb) =>
      eb.or([eb('email', '=', email ?? ''), ...(externalId === null ? [] : [eb('external_id', '=', externalId)])]),
    )
    .execute();
  return rows.map(toMemberRecord);
}

function toMemberRow(m: MemberRecord) {
  return {
    id: m.id,
    workspace_id: m.workspaceId,
    customer_id: m.customerId,
    email: m.email,
    name: m.name,
    external_id: m.externalId,
    role: m.role,
    created_at: m.createdAt,
    updated_at: m.updatedAt,
  };
}

export async function insertMember(db: Db, member: MemberRecord): Promise<void> {
  await db.insertInto('members').values(toMemberRow(member)).execute();
}

export async function updateMember(db: Db, member: MemberRecord): Promise<void> {
  const { id, workspace_id, customer_id, created_at, ...changes } = toMemberRow(member);
  void customer_id;
  void created_at;
  await db.updateTable('members').set(changes).where('id', '=', id).where('workspace_id', '=', workspace_id).execute();
}

export async function deleteMember(db: Db, workspaceId: string, id: string): Promise<void> {
  await db.deleteFrom('members').where('id', '=', id).where('workspace_id', '=', workspaceId).execute();
}

/** Every member of the given customers, oldest first (exports; one statement). */
export async function findMembersOfCustomers(db: Db, workspaceId: string, customerIds: readonly string[]): Promise<MemberRecord[]> {
  if (customerIds.length === 0) return [];
  const rows = await db
    .selectFrom('members')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('customer_id', 'in', customerIds)
    .orderBy('customer_id')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toMemberRecord);
}
