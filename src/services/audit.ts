/**
 * The write path every customer change goes through: it stamps version, change sequence and
 * who/when, writes the customer, and appends the audit action, all in the caller's transaction.
 */
import { newId } from '../shared/ids';
import { insertAction } from '../store/actions.repository';
import { insertCustomer, updateCustomer } from '../store/customers.repository';
import type { Tx } from '../store/engine';
import type { ActionType, CustomerRecord, FieldChange } from '../store/records';
import { nextChange } from '../store/workspaces.repository';
import { recordChangeEvent } from './webhook-events';

/** Who is acting, for the record's *By/*Via fields and the audit log. */
export interface Actor {
  workspaceId: string;
  actor: string | null;
  via: string;
}

export type Changes = Record<string, FieldChange>;

/** The audited fields of a customer, by the path clients know them under. */
const TRACKED: [string, (c: CustomerRecord) => unknown][] = [
  ['externalId', (c) => c.externalId],
  ['email', (c) => c.email],
  ['emailVerified', (c) => c.emailVerified],
  ['firstName', (c) => c.firstName],
  ['lastName', (c) => c.lastName],
  ['name', (c) => c.name],
  ['phone', (c) => c.phone],
  ['birthDate', (c) => c.birthDate],
  ['gender', (c) => c.gender],
  ['avatarUrl', (c) => c.avatarUrl],
  ['profile.bio', (c) => c.profile.bio],
  ['profile.location', (c) => c.profile.location],
  ['profile.website', (c) => c.profile.website],
  ['profile.socials.twitter', (c) => c.profile.socials.twitter],
  ['profile.socials.facebook', (c) => c.profile.socials.facebook],
  ['profile.socials.instagram', (c) => c.profile.socials.instagram],
  ['billingAddress', (c) => c.billingAddress],
  ['type', (c) => c.type],
  ['metadata', (c) => c.metadata],
  ['unsubscribed', (c) => c.unsubscribed],
  ['internalNote', (c) => c.internalNote],
  ['netRevenue', (c) => c.netRevenue],
  ['signInCount', (c) => c.signInCount],
  ['lastRequestAt', (c) => c.lastRequestAt],
  ['bouncedAt', (c) => c.bouncedAt],
  ['status', (c) => c.status],
  ['archiveReason', (c) => c.archiveReason],
];

const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);

/** Field path -> { from, to } for every tracked field that differs (from a blank when creating). */
export function diffCustomers(before: CustomerRecord | null, after: CustomerRecord): Changes {
  const changes: Changes = {};
  for (const [path, get] of TRACKED) {
    const from = before ? get(before) : null;
    const to = get(after);
    if (!same(from, to) && !(before === null && (to === false || to === 0 || (typeof to === 'object' && to !== null && Object.keys(to).length === 0)))) {
      changes[path] = { from, to };
    }
  }
  return changes;
}

export interface CustomerChange {
  before: CustomerRecord | null;
  after: CustomerRecord;
  type: ActionType;
  changes: Changes;
  memberId?: string | null;
  /** Keep the record's createdAt/By/Via (an import of a customer created elsewhere). */
  keepCreation?: boolean;
}

/**
 * Writes the change and its audit action. Returns the stored record, or null when the
 * customer moved past `before.version` meanwhile (another writer won: VERSION_CONFLICT).
 */
export async function commitCustomerChange(trx: Tx, who: Actor, change: CustomerChange): Promise<CustomerRecord | null> {
  const at = Date.now();
  const now = new Date(at).toISOString();
  const { changeSeq, webhooksVersion } = await nextChange(trx, who.workspaceId);
  const stamped: CustomerRecord = {
    ...change.after,
    version: (change.before?.version ?? 0) + 1,
    changeSeq,
    updatedAt: now,
    updatedBy: who.actor,
    updatedVia: who.via,
  };
  if (change.before === null) {
    // Imports may carry the original creation; everything else is created now, by this actor.
    Object.assign(
      stamped,
      change.keepCreation
        ? { createdBy: change.after.createdBy ?? who.actor, createdVia: change.after.createdVia ?? who.via }
        : { createdAt: now, createdBy: who.actor, createdVia: who.via },
    );
    await insertCustomer(trx, stamped);
  } else if (!(await updateCustomer(trx, stamped, change.before.version))) {
    return null;
  }
  await insertAction(trx, {
    id: newId(),
    workspaceId: who.workspaceId,
    customerId: stamped.id,
    memberId: change.memberId ?? null,
    type: change.type,
    actor: who.actor,
    via: who.via,
    changes: change.changes,
    createdAt: now,
  });
  await recordChangeEvent(trx, webhooksVersion, {
    workspaceId: who.workspaceId,
    actionType: change.type,
    data: { id: stamped.id, externalId: stamped.externalId, version: stamped.version, ...(change.memberId ? { memberId: change.memberId } : {}) },
    at,
  });
  return stamped;
}
