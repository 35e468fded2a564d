/**
 * eraseCustomer (GDPR Art. 17, CCPA): in one transaction the customer becomes an ERASED
 * tombstone, its members, custom field values and metadata go, its audit values are redacted,
 * stored idempotent outcomes naming it are purged, and its email and externalId are remembered
 * by keyed hash only. MERGED tombstones that resolve to it are erased with it: they carry the
 * same person's identifiers. After commit the database files are made to drop the old bytes.
 */
import type { EraseCustomerInput } from '../generated/graphql';
import { isUuid } from '../shared/ids';
import { findCustomerForChange } from '../store/customers.repository';
import { withTransaction, type Db, type Tx } from '../store/engine';
import { findMembersOfCustomers } from '../store/members.repository';
import {
  deleteMembersOf,
  deleteValuesOf,
  ensureErasureKey,
  findMergedIdsOf,
  insertErasedIdentities,
  purgeIdempotencyMentioning,
  reclaimErasedSpace,
  redactActionsOf,
  REDACTED,
} from '../store/privacy.repository';
import type { CustomerRecord } from '../store/records';
import { commitCustomerChange, diffCustomers, type Actor, type Changes } from './audit';
import { VersionConflict, customerWrite, type CustomerResult } from './customers';
import { identitiesOf, newErasureKey } from './erased-identities';
import { LIMITS, Problems, checkText } from './validation';

/** The customer with every field about the person emptied (id, externalId, email, type and stamps stay). */
export function withoutPersonalData(customer: CustomerRecord): CustomerRecord {
  return {
    ...customer,
    emailVerified: false,
    firstName: null,
    lastName: null,
    name: null,
    phone: null,
    phoneCountry: null,
    birthDate: null,
    gender: null,
    avatarUrl: null,
    profile: { bio: null, location: null, website: null, socials: { twitter: null, facebook: null, instagram: null } },
    billingAddress: null,
    metadata: {},
    unsubscribed: false,
    internalNote: null,
    netRevenue: null,
    signInCount: 0,
    lastRequestAt: null,
    bouncedAt: null,
    archiveReason: null,
  };
}

/** What an erased customer keeps: identity, version, type, lifecycle stamps; nothing about the person. */
function tombstoneOf(customer: CustomerRecord, who: Actor, now: string): CustomerRecord {
  return {
    ...withoutPersonalData(customer),
    email: '',
    status: 'ERASED',
    erasedAt: now,
    erasedBy: who.actor,
    erasedVia: who.via,
  };
}

/** The erasure's own audit entry: which fields were removed, never what they held. */
function erasureChanges(before: CustomerRecord, after: CustomerRecord, reason: string | null): Changes {
  const changes: Changes = {};
  for (const [field, change] of Object.entries(diffCustomers(before, after))) {
    changes[field] = field === 'status' ? change : { from: REDACTED, to: change.to };
  }
  if (reason !== null) changes.erasureReason = { from: null, to: reason };
  return changes;
}

/** Erases one customer row (the requested one or a tombstone merged into it) through the single write path. */
async function eraseOne(trx: Tx, who: Actor, before: CustomerRecord, key: string, now: string, reason: string | null): Promise<CustomerRecord> {
  const email = before.status === 'ERASED' ? null : before.email;
  await insertErasedIdentities(trx, who.workspaceId, before.id, identitiesOf(key, { email, externalId: before.externalId }), now);
  await deleteMembersOf(trx, who.workspaceId, before.id);
  await deleteValuesOf(trx, who.workspaceId, before.id);
  // Redacted first: the CUSTOMER_ERASED action written next is the one entry that stays readable.
  await redactActionsOf(trx, who.workspaceId, [before.id]);
  const after = tombstoneOf(before, who, now);
  const stored = await commitCustomerChange(trx, who, { before, after, type: 'CUSTOMER_ERASED', changes: erasureChanges(before, after, reason) });
  if (!stored) throw new VersionConflict(before);
  return stored;
}

async function eraseInTx(trx: Tx, who: Actor, input: EraseCustomerInput): Promise<CustomerResult> {
  const problems = new Problems();
  const before = isUuid(input.id) ? await findCustomerForChange(trx, who.workspaceId, input.id) : null;
  const reason = input.reason == null ? null : (checkText(input.reason, LIMITS.freeText, ['reason'], problems) ?? null);
  if (!before) problems.add(['id'], 'NOT_FOUND', 'no customer with this id in this workspace');
  else if (before.status === 'ERASED') problems.add(['id'], 'ALREADY_ERASED', 'the customer was already erased');
  else if (before.status === 'MERGED') problems.add(['id'], 'MERGED', `the customer was merged into ${before.mergedInto ?? 'another customer'}; erase that one`);
  else if (input.expectedVersion != null && input.expectedVersion !== before.version) {
    problems.add(['expectedVersion'], 'VERSION_CONFLICT', `the customer is at version ${before.version}, not ${input.expectedVersion}`);
  }
  if (!before || !problems.empty) return { customer: null, userErrors: problems.list };
  const now = new Date().toISOString();
  const key = await ensureErasureKey(trx, who.workspaceId, newErasureKey());
  const members = await findMembersOfCustomers(trx, who.workspaceId, [before.id]);
  const absorbed = await findMergedIdsOf(trx, who.workspaceId, [before.id]);
  const needles = [before.id, before.email, ...absorbed.map((a) => a.id), ...members.flatMap((m) => [m.id, m.email])];
  await purgeIdempotencyMentioning(trx, who.workspaceId, needles);
  for (const { id } of absorbed) {
    const tombstone = await findCustomerForChange(trx, who.workspaceId, id);
    if (tombstone && tombstone.status !== 'ERASED') await eraseOne(trx, who, tombstone, key, now, null);
  }
  return { customer: await eraseOne(trx, who, before, key, now, reason), userErrors: [] };
}

export interface EraseOptions {
  /** Told when the space reclamation after commit (PostgreSQL's VACUUM) fails; the erasure itself has committed. */
  onReclaimError?: (error: unknown) => void;
}

export async function eraseCustomer(db: Db, who: Actor, input: EraseCustomerInput, options: EraseOptions = {}): Promise<CustomerResult> {
  const result = await customerWrite(() => withTransaction(db, (trx) => eraseInTx(trx, who, input)));
  if (result.userErrors.length === 0) {
    const { background } = await reclaimErasedSpace(db);
    if (background && options.onReclaimError) background.catch(options.onReclaimError);
    else await background;
  }
  return result;
}
