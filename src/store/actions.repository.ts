/** The audit log: append-only, read newest first per customer. */
import { countChildren, listChildPages } from './child-pages';
import { isoOf, jsonOf, jsonText, type Db } from './engine';
import type { ActionRecord, ActionType, FieldChange } from './records';
import type { ActionRow } from './tables';
import type { KeysetPosition } from './customers.repository';

export function toActionRecord(row: ActionRow): ActionRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    customerId: row.customer_id,
    memberId: row.member_id,
    type: row.type as ActionType,
    actor: row.actor,
    via: row.via,
    changes: jsonOf<Record<string, FieldChange>>(row.changes),
    createdAt: isoOf(row.created_at),
  };
}

export async function insertAction(db: Db, action: ActionRecord): Promise<void> {
  await db
    .insertInto('actions')
    .values({
      id: action.id,
      workspace_id: action.workspaceId,
      customer_id: action.customerId,
      member_id: action.memberId,
      type: action.type,
      actor: action.actor,
      via: action.via,
      changes: jsonText(action.changes),
      created_at: action.createdAt,
    })
    .execute();
}

export async function findActionsByIds(db: Db, workspaceId: string, ids: readonly string[]): Promise<ActionRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('actions')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', 'in', ids)
    .execute();
  return rows.map(toActionRecord);
}

/** The newest `limit` actions of each customer, before `after` when given. */
export async function listActionsOfCustomers(
  db: Db,
  workspaceId: string,
  customerIds: readonly string[],
  limit: number,
  after: KeysetPosition | null,
): Promise<ActionRecord[]> {
  if (customerIds.length === 0) return [];
  const rows = await listChildPages(db, 'actions', workspaceId, customerIds, limit, after, true);
  return rows.map(toActionRecord);
}

export function countActionsOfCustomers(db: Db, workspaceId: string, customerIds: readonly string[]) {
  return countChildren(db, 'actions', workspaceId, customerIds);
}

/** A customer's whole audit log, oldest first (the data export; one statement). */
export async function findAllActionsOfCustomer(db: Db, workspaceId: string, customerId: string): Promise<ActionRecord[]> {
  const rows = await db
    .selectFrom('actions')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('customer_id', '=', customerId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toActionRecord);
}
