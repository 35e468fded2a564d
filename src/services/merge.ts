/**
 * mergeCustomers and customerMergePreview. One plan serves both: the survivor keeps its values
 * and fills its empty ones from the merged customer (`override` picks the merged value per
 * field), metadata and custom field values combine, members move unless the survivor already
 * has one with the same email (or externalId). The merge writes the plan in one transaction:
 * members, values and history move, tombstones that pointed at the merged customer point at
 * the survivor (so every lookup takes one hop), and both customers change through the single
 * write path, each with a CUSTOMER_MERGED action.
 */
import type { MergeCustomersInput } from '../generated/graphql';
import { isUuid } from '../shared/ids';
import { findCustomerForChange, findCustomersBy } from '../store/customers.repository';
import { findDefinitions, findValuesOfCustomers, writeValues, type ValueWrite } from '../store/custom-fields.repository';
import { withTransaction, type Db, type Tx } from '../store/engine';
import { findMembersOfCustomers } from '../store/members.repository';
import { deleteMembers, deleteValuesOf, moveActions, moveMembers, repointMerged } from '../store/privacy.repository';
import type { CustomFieldValueRecord, CustomerRecord } from '../store/records';
import { commitCustomerChange, diffCustomers, type Actor, type Changes } from './audit';
import { VersionConflict, customerWrite, refuseTombstone, type CustomerResult } from './customers';
import { withoutPersonalData } from './erasure';
import type { MergeConflictModel, MergePreview } from './merge-preview';
import { LIMITS, Problems } from './validation';

type Path = readonly string[];

/** The fields a merge fills or overrides, by their audit path. email and externalId are not among them: they keep resolving to the survivor. */
const MERGE_FIELDS: Path[] = [
  ['firstName'], ['lastName'], ['name'], ['phone'], ['birthDate'], ['gender'], ['avatarUrl'],
  ['profile', 'bio'], ['profile', 'location'], ['profile', 'website'],
  ['profile', 'socials', 'twitter'], ['profile', 'socials', 'facebook'], ['profile', 'socials', 'instagram'],
  ['billingAddress'], ['internalNote'], ['netRevenue'], ['lastRequestAt'], ['bouncedAt'],
];

const FIXED = new Set(['email', 'externalId']);

function read(record: object, path: Path): unknown {
  let value: unknown = record;
  for (const part of path) value = (value as Record<string, unknown>)[part];
  return value;
}

function write(record: object, path: Path, value: unknown): void {
  let target = record as Record<string, unknown>;
  for (const part of path.slice(0, -1)) target = target[part] as Record<string, unknown>;
  target[path[path.length - 1]] = value;
}

const empty = (value: unknown) => value === null || value === undefined || value === '';
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Checks `override`: known field paths, `metadata`, or `customFields.<key>`. */
function overridesOf(override: readonly string[] | null | undefined, problems: Problems): Set<string> {
  const known = new Set(MERGE_FIELDS.map((path) => path.join('.')));
  const chosen = new Set<string>();
  for (const [i, field] of (override ?? []).entries()) {
    if (FIXED.has(field)) problems.add(['override', String(i)], 'INVALID', `${field} cannot be overridden: the merged customer's ${field} keeps resolving to the survivor`);
    else if (known.has(field) || field === 'metadata' || /^customFields\.[a-z][a-z0-9_]*$/.test(field)) chosen.add(field);
    else problems.add(['override', String(i)], 'INVALID', `unknown field ${JSON.stringify(field)}; use a field path as in Action.changes (${[...known].join(', ')}, metadata, customFields.<key>)`);
  }
  return chosen;
}

/** SAME_CUSTOMER, NOT_FOUND, ERASED and MERGED: what stops a merge before any value is looked at. */
function checkPair(survivorId: string, mergedId: string, survivor: CustomerRecord | null, merged: CustomerRecord | null, problems: Problems): boolean {
  if (survivorId === mergedId) problems.add(['mergedId'], 'SAME_CUSTOMER', 'a customer cannot be merged into itself');
  if (!survivor) problems.add(['survivorId'], 'NOT_FOUND', 'no customer with this id in this workspace');
  else refuseTombstone(survivor, problems, ['survivorId']);
  if (!merged) problems.add(['mergedId'], 'NOT_FOUND', 'no customer with this id in this workspace');
  else refuseTombstone(merged, problems, ['mergedId']);
  return problems.empty;
}

interface MergePlan {
  next: CustomerRecord;
  conflicts: MergeConflictModel[];
  customFields: CustomFieldValueRecord[];
  valueWrites: ValueWrite[];
  changes: Changes;
  moveMemberIds: string[];
  dropMemberIds: string[];
}

async function planMerge(db: Db, survivor: CustomerRecord, merged: CustomerRecord, overrides: Set<string>, problems: Problems): Promise<MergePlan> {
  const workspaceId = survivor.workspaceId;
  const next: CustomerRecord = structuredClone(survivor);
  const conflicts: MergeConflictModel[] = [];
  for (const path of MERGE_FIELDS) {
    const field = path.join('.');
    const mine = read(survivor, path);
    const theirs = read(merged, path);
    const overridden = overrides.has(field);
    if (!empty(mine) && !empty(theirs) && !same(mine, theirs)) conflicts.push({ field, survivorValue: mine, mergedValue: theirs, overridden });
    if (overridden || (empty(mine) && !empty(theirs))) {
      write(next, path, structuredClone(theirs));
      if (field === 'phone') next.phoneCountry = merged.phoneCountry;
    }
  }
  const metadataWins = overrides.has('metadata');
  next.metadata = metadataWins ? { ...survivor.metadata, ...merged.metadata } : { ...merged.metadata, ...survivor.metadata };
  for (const key of Object.keys(merged.metadata)) {
    if (key in survivor.metadata && survivor.metadata[key] !== merged.metadata[key]) {
      conflicts.push({ field: `metadata.${key}`, survivorValue: survivor.metadata[key], mergedValue: merged.metadata[key], overridden: metadataWins });
    }
  }
  if (Object.keys(next.metadata).length > LIMITS.metadataKeys) {
    problems.add(['mergedId'], 'LIMIT_EXCEEDED', `the combined metadata would have more than ${LIMITS.metadataKeys} keys`);
  }

  const [values, definitions, members] = await Promise.all([
    findValuesOfCustomers(db, workspaceId, [survivor.id, merged.id]),
    findDefinitions(db, workspaceId),
    findMembersOfCustomers(db, workspaceId, [survivor.id, merged.id]),
  ]);
  const searchable = new Map(definitions.map((d) => [d.key, d.searchable]));
  const combined = new Map(values.filter((v) => v.customerId === survivor.id).map((v) => [v.key, v.value]));
  const valueWrites: ValueWrite[] = [];
  const changes: Changes = {};
  for (const value of values.filter((v) => v.customerId === merged.id)) {
    const field = `customFields.${value.key}`;
    const mine = combined.get(value.key);
    const overridden = overrides.has(field);
    if (mine !== undefined && mine !== value.value) conflicts.push({ field, survivorValue: mine, mergedValue: value.value, overridden });
    if (mine === undefined || (overridden && mine !== value.value)) {
      combined.set(value.key, value.value);
      valueWrites.push({ key: value.key, value: value.value, searchable: searchable.get(value.key) ?? false });
      changes[field] = { from: mine ?? null, to: value.value };
    }
  }

  const kept = members.filter((m) => m.customerId === survivor.id);
  const emails = new Set(kept.map((m) => m.email));
  const externalIds = new Set(kept.flatMap((m) => (m.externalId ? [m.externalId] : [])));
  const moveMemberIds: string[] = [];
  const dropMemberIds: string[] = [];
  for (const member of members.filter((m) => m.customerId === merged.id)) {
    const duplicate = emails.has(member.email) || (member.externalId !== null && externalIds.has(member.externalId));
    (duplicate ? dropMemberIds : moveMemberIds).push(member.id);
    emails.add(member.email);
    if (member.externalId) externalIds.add(member.externalId);
  }
  if (moveMemberIds.length > 0) next.type = 'TEAM';

  Object.assign(changes, diffCustomers(survivor, next), { mergedIds: { from: null, to: merged.id } });
  if (moveMemberIds.length > 0) changes.membersMoved = { from: kept.length, to: kept.length + moveMemberIds.length };
  const customFields = [...combined].sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => ({ customerId: survivor.id, key, value }));
  return { next, conflicts, customFields, valueWrites, changes, moveMemberIds, dropMemberIds };
}

function versionProblems(input: MergeCustomersInput, survivor: CustomerRecord, merged: CustomerRecord, problems: Problems): void {
  const expected = input.expectedVersions;
  if (expected?.survivor != null && expected.survivor !== survivor.version) {
    problems.add(['expectedVersions', 'survivor'], 'VERSION_CONFLICT', `the survivor is at version ${survivor.version}, not ${expected.survivor}`);
  }
  if (expected?.merged != null && expected.merged !== merged.version) {
    problems.add(['expectedVersions', 'merged'], 'VERSION_CONFLICT', `the merged customer is at version ${merged.version}, not ${expected.merged}`);
  }
}

/** Locks both rows in id order, so two merges of one pair (either way round) queue instead of deadlocking. */
async function lockPair(trx: Tx, workspaceId: string, survivorId: string, mergedId: string): Promise<[CustomerRecord | null, CustomerRecord | null]> {
  const found = new Map<string, CustomerRecord | null>();
  for (const id of [survivorId, mergedId].filter(isUuid).sort()) found.set(id, await findCustomerForChange(trx, workspaceId, id));
  return [found.get(survivorId) ?? null, found.get(mergedId) ?? null];
}

async function mergeInTx(trx: Tx, who: Actor, input: MergeCustomersInput): Promise<CustomerResult> {
  const problems = new Problems();
  const overrides = overridesOf(input.override, problems);
  const [survivor, merged] = await lockPair(trx, who.workspaceId, input.survivorId, input.mergedId);
  if (!checkPair(input.survivorId, input.mergedId, survivor, merged, problems) || !survivor || !merged) return { customer: null, userErrors: problems.list };
  versionProblems(input, survivor, merged, problems);
  const plan = await planMerge(trx, survivor, merged, overrides, problems);
  if (!problems.empty) return { customer: null, userErrors: problems.list };

  const workspaceId = who.workspaceId;
  await deleteMembers(trx, workspaceId, plan.dropMemberIds);
  await moveMembers(trx, workspaceId, plan.moveMemberIds, survivor.id);
  await writeValues(trx, workspaceId, survivor.id, plan.valueWrites);
  await deleteValuesOf(trx, workspaceId, merged.id);
  await moveActions(trx, workspaceId, merged.id, survivor.id);
  await repointMerged(trx, workspaceId, merged.id, survivor.id);
  const tombstone: CustomerRecord = { ...withoutPersonalData(merged), status: 'MERGED', mergedInto: survivor.id };
  const tombstoneChanges: Changes = { status: { from: merged.status, to: 'MERGED' }, mergedInto: { from: null, to: survivor.id } };
  if (!(await commitCustomerChange(trx, who, { before: merged, after: tombstone, type: 'CUSTOMER_MERGED', changes: tombstoneChanges }))) {
    throw new VersionConflict(merged);
  }
  const stored = await commitCustomerChange(trx, who, { before: survivor, after: plan.next, type: 'CUSTOMER_MERGED', changes: plan.changes });
  if (!stored) throw new VersionConflict(survivor);
  return { customer: stored, userErrors: [] };
}

export async function mergeCustomers(db: Db, who: Actor, input: MergeCustomersInput): Promise<CustomerResult> {
  return customerWrite(() => withTransaction(db, (trx) => mergeInTx(trx, who, input)));
}

export async function previewMerge(db: Db, workspaceId: string, args: { survivorId: string; mergedId: string; override?: readonly string[] | null }): Promise<MergePreview> {
  const problems = new Problems();
  const overrides = overridesOf(args.override, problems);
  const ids = [args.survivorId, args.mergedId].filter(isUuid);
  const found = await findCustomersBy(db, workspaceId, 'id', ids);
  const survivor = found.find((c) => c.id === args.survivorId) ?? null;
  const merged = found.find((c) => c.id === args.mergedId) ?? null;
  if (!checkPair(args.survivorId, args.mergedId, survivor, merged, problems) || !survivor || !merged) {
    return { customer: null, conflicts: [], customFields: [], membersMoved: 0, blockers: problems.list };
  }
  const plan = await planMerge(db, survivor, merged, overrides, problems);
  return { customer: plan.next, conflicts: plan.conflicts, customFields: plan.customFields, membersMoved: plan.moveMemberIds.length, blockers: problems.list };
}
