/**
 * Everything held about one customer (GDPR Art. 15), for `customerDataExport` and
 * `customer-gateway export-customer`: the record as the NDJSON export writes it (members and
 * custom field values inlined), the ids merged into it, and its full audit history. A merged
 * customer's id answers its survivor, as every lookup does.
 */
import { findAllActionsOfCustomer } from '../store/actions.repository';
import { findCustomersFollowingMerges } from '../store/privacy.repository';
import { findValuesOfCustomers } from '../store/custom-fields.repository';
import type { Db } from '../store/engine';
import { findMembersOfCustomers } from '../store/members.repository';
import { findMergedIdsOf } from '../store/privacy.repository';
import { isUuid } from '../shared/ids';
import { toExportedCustomer } from './export-record';

export async function customerDataExport(db: Db, workspaceId: string, id: string): Promise<Record<string, unknown> | null> {
  if (!isUuid(id)) return null;
  const [found] = await findCustomersFollowingMerges(db, workspaceId, 'id', [id]);
  if (!found) return null;
  const customer = found.answer;
  const [members, values, merged, actions] = await Promise.all([
    findMembersOfCustomers(db, workspaceId, [customer.id]),
    findValuesOfCustomers(db, workspaceId, [customer.id]),
    findMergedIdsOf(db, workspaceId, [customer.id]),
    findAllActionsOfCustomer(db, workspaceId, customer.id),
  ]);
  return {
    exportedAt: new Date().toISOString(),
    customer: toExportedCustomer(customer, members, values),
    mergedIds: merged.map((m) => m.id),
    history: actions.map((a) => ({ id: a.id, type: a.type, memberId: a.memberId, actor: a.actor, via: a.via, changes: a.changes, createdAt: a.createdAt })),
  };
}
