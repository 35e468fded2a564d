/**
 * Members of TEAM customers. A member change is also a change of its customer: it bumps the
 * customer's version and change sequence and is audited on the customer (MEMBER_* actions).
 */
import type { AddMemberInput, RemoveMemberInput, UpdateMemberInput } from '../generated/graphql';
import { isUuid, newId } from '../shared/ids';
import { withTransaction, type Db, type Tx, type UniqueIndexName } from '../store/engine';
import { deleteMember, findMemberConflicts, findMembersByIds, insertMember, updateMember as writeMember } from '../store/members.repository';
import type { CustomerRecord, FieldChange, MemberRecord } from '../store/records';
import { commitCustomerChange, type Actor } from './audit';
import { guardUnique, loadForChange } from './customers';
import { LIMITS, Problems, checkEmail, checkText, type FieldError } from './validation';

export interface MemberResult {
  member: MemberRecord | null;
  customer: CustomerRecord | null;
  userErrors: FieldError[];
}

const TRACKED = ['email', 'name', 'externalId', 'role'] as const;

function memberChanges(before: MemberRecord | null, after: MemberRecord | null): Record<string, FieldChange> {
  const changes: Record<string, FieldChange> = {};
  for (const field of TRACKED) {
    const from = before ? before[field] : null;
    const to = after ? after[field] : null;
    if (from !== to) changes[field] = { from, to };
  }
  return changes;
}

function failure(problems: Problems): MemberResult {
  return { member: null, customer: null, userErrors: problems.list };
}

function memberTaken(index: UniqueIndexName): MemberResult | null {
  const field = index === 'members_email_uq' ? 'email' : index === 'members_external_id_uq' ? 'externalId' : null;
  if (!field) return null;
  const problems = new Problems();
  problems.add([field], 'TAKEN', `another member of this customer has this ${field}`);
  return failure(problems);
}

interface MemberFields {
  email?: string | null;
  name?: string | null;
  externalId?: string | null;
  role?: MemberRecord['role'] | null;
}

function applyMemberInput(member: MemberRecord, input: MemberFields, problems: Problems): MemberRecord {
  const next = { ...member };
  if (input.email === null) problems.add(['email'], 'REQUIRED', 'email is required');
  else if (input.email !== undefined) next.email = checkEmail(input.email, ['email'], problems) ?? next.email;
  if (input.name !== undefined) next.name = input.name === null ? null : (checkText(input.name, LIMITS.name, ['name'], problems) ?? null);
  if (input.externalId !== undefined) {
    next.externalId = input.externalId === null ? null : (checkText(input.externalId, LIMITS.id, ['externalId'], problems) ?? null);
  }
  if (input.role !== undefined) next.role = input.role ?? 'MEMBER';
  return next;
}

async function checkMemberUniqueness(trx: Tx, next: MemberRecord, problems: Problems): Promise<void> {
  const others = (await findMemberConflicts(trx, next.customerId, next.email, next.externalId)).filter((m) => m.id !== next.id);
  if (others.some((m) => m.email === next.email)) problems.add(['email'], 'TAKEN', 'another member of this customer has this email');
  if (next.externalId && others.some((m) => m.externalId === next.externalId)) {
    problems.add(['externalId'], 'TAKEN', 'another member of this customer has this externalId');
  }
}

async function commitMemberChange(
  trx: Tx,
  who: Actor,
  customer: CustomerRecord,
  type: 'MEMBER_ADDED' | 'MEMBER_UPDATED' | 'MEMBER_REMOVED',
  member: MemberRecord,
  changes: Record<string, FieldChange>,
): Promise<CustomerRecord> {
  const stored = await commitCustomerChange(trx, who, { before: customer, after: customer, type, changes, memberId: member.id });
  // The customer row was read in this transaction, which holds the write lock: no one can move it.
  if (!stored) throw new Error(`customer ${customer.id} changed inside its own write transaction`);
  return stored;
}

/** Adds a member inside the caller's transaction (addMember, imports). */
export async function addMemberInTx(trx: Tx, who: Actor, input: AddMemberInput): Promise<MemberResult> {
  const problems = new Problems();
  const customer = await loadForChange(trx, who.workspaceId, input.customerId, null, problems, ['customerId']);
  if (customer && customer.type !== 'TEAM') problems.add(['customerId'], 'INVALID', 'members can only be added to TEAM customers');
  const now = new Date().toISOString();
  const blank: MemberRecord = { id: newId(), workspaceId: who.workspaceId, customerId: input.customerId, email: '', name: null, externalId: null, role: 'MEMBER', createdAt: now, updatedAt: now };
  const member = applyMemberInput(blank, { ...input, role: input.role ?? 'MEMBER' }, problems);
  if (customer && member.email) await checkMemberUniqueness(trx, member, problems);
  if (!customer || !problems.empty) return failure(problems);
  await insertMember(trx, member);
  const stored = await commitMemberChange(trx, who, customer, 'MEMBER_ADDED', member, memberChanges(null, member));
  return { member, customer: stored, userErrors: [] };
}

export async function addMember(db: Db, who: Actor, input: AddMemberInput): Promise<MemberResult> {
  return guardUnique(() => withTransaction(db, (trx) => addMemberInTx(trx, who, input)), memberTaken);
}

async function loadMember(trx: Tx, workspaceId: string, id: string, problems: Problems) {
  const [member] = isUuid(id) ? await findMembersByIds(trx, workspaceId, [id]) : [];
  if (!member) {
    problems.add(['id'], 'NOT_FOUND', 'no member with this id in this workspace');
    return null;
  }
  const customer = await loadForChange(trx, workspaceId, member.customerId, null, problems);
  return customer ? { member, customer } : null;
}

export async function updateMember(db: Db, who: Actor, input: UpdateMemberInput): Promise<MemberResult> {
  return guardUnique(
    () =>
      withTransaction(db, async (trx) => {
        const problems = new Problems();
        const found = await loadMember(trx, who.workspaceId, input.id, problems);
        if (!found) return failure(problems);
        const { id, ...fields } = input;
        void id;
        const next = { ...applyMemberInput(found.member, fields, problems), updatedAt: new Date().toISOString() };
        await checkMemberUniqueness(trx, next, problems);
        if (!problems.empty) return failure(problems);
        const changes = memberChanges(found.member, next);
        if (Object.keys(changes).length === 0) return { member: found.member, customer: found.customer, userErrors: [] };
        await writeMember(trx, next);
        const customer = await commitMemberChange(trx, who, found.customer, 'MEMBER_UPDATED', next, changes);
        return { member: next, customer, userErrors: [] };
      }),
    memberTaken,
  );
}

export interface RemoveMemberResult {
  removedMemberId: string | null;
  customer: CustomerRecord | null;
  userErrors: FieldError[];
}

export async function removeMember(db: Db, who: Actor, input: RemoveMemberInput): Promise<RemoveMemberResult> {
  return withTransaction(db, async (trx) => {
    const problems = new Problems();
    const found = await loadMember(trx, who.workspaceId, input.id, problems);
    if (!found) return { removedMemberId: null, customer: null, userErrors: problems.list };
    await deleteMember(trx, who.workspaceId, found.member.id);
    const customer = await commitMemberChange(trx, who, found.customer, 'MEMBER_REMOVED', found.member, memberChanges(found.member, null));
    return { removedMemberId: found.member.id, customer, userErrors: [] };
  });
}
