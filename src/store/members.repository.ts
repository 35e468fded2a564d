/** Members of TEAM customers: batched lookups, per-parent pages, writes. */
import { countChildren, listChildPages } from './child-pages';
import { isoOf, type Db } from './engine';
import type { MemberRecord, MemberRole } from './records';
import type { MemberRow } from './tables';
import type { KeysetPosition } from './customers.repository';

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

export async function findMembersByIds(db: Db, workspaceId: string, ids: readonly string[]): Promise<MemberRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('members')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', 'in', ids)
    .execute();
  return rows.map(toMemberRecord);
}

/** The first `limit` members (oldest first) of each customer, after `after` when given. */
export async function listMembersOfCustomers(
  db: Db,
  workspaceId: string,
  customerIds: readonly string[],
  limit: number,
  after: KeysetPosition | null,
): Promise<MemberRecord[]> {
  if (customerIds.length === 0) return [];
  const rows = await listChildPages(db, 'members', workspaceId, customerIds, limit, after, false);
  return rows.map(toMemberRecord);
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
