/**
 * Customer mutations: validate everything (collecting every problem), check uniqueness and
 * versions inside the write transaction, then write the change with its audit action.
 * Nothing is written when any problem is found.
 */
import type {
  ArchiveCustomerInput,
  CreateCustomerInput,
  RestoreCustomerInput,
  UpdateCustomerInput,
} from '../generated/graphql';
import { newId, isUuid } from '../shared/ids';
import { findCustomerForChange, findCustomersBy } from '../store/customers.repository';
import { findDefinitions, findValuesOfCustomers, writeValues } from '../store/custom-fields.repository';
import { uniqueViolation, withTransaction, type Db, type Tx, type UniqueIndexName } from '../store/engine';
import { countMembersOfCustomers } from '../store/members.repository';
import type { CustomerRecord, CustomFieldDefinitionRecord } from '../store/records';
import { commitCustomerChange, diffCustomers, type Actor, type Changes } from './audit';
import { refuseErased } from './erased-identities';
import { applyCustomerInput, blankCustomer, type CustomerExtras, type CustomerFieldsInput, type FieldWrite } from './customer-input';
import { LIMITS, Problems, checkText, type FieldError } from './validation';

export interface CustomerResult {
  customer: CustomerRecord | null;
  userErrors: FieldError[];
}

const TAKEN_FIELD: Partial<Record<UniqueIndexName, { field: string; message: string }>> = {
  customers_email_uq: { field: 'email', message: 'another customer in this workspace has this email' },
  customers_external_id_uq: { field: 'externalId', message: 'another customer in this workspace has this externalId' },
};

function failure(problems: Problems, customer: CustomerRecord | null = null): CustomerResult {
  return { customer, userErrors: problems.list };
}

/**
 * Runs a write; a unique-constraint violation (two writers racing for one email) becomes a
 * TAKEN user error instead of an internal error: the database, not the pre-check, decides.
 */
export async function guardUnique<T>(
  run: () => Promise<T>,
  onTaken: (index: UniqueIndexName) => T | null,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const index = uniqueViolation(error);
    const result = index ? onTaken(index) : null;
    if (result === null) throw error;
    return result;
  }
}

/**
 * Another writer moved the customer past the version this transaction read. Thrown (not
 * returned) so the transaction rolls back everything it did, the change sequence included.
 */
export class VersionConflict extends Error {
  constructor(readonly customer: CustomerRecord) {
    super(`customer ${customer.id} moved past version ${customer.version}`);
  }
}

/** Runs a customer write, turning a lost race (unique index or version) into a user error. */
export async function customerWrite(run: () => Promise<CustomerResult>): Promise<CustomerResult> {
  try {
    return await guardUnique(run, customerTaken);
  } catch (error) {
    if (!(error instanceof VersionConflict)) throw error;
    const problems = new Problems();
    problems.add(['id'], 'VERSION_CONFLICT', 'the customer was changed by another request meanwhile; read it again and retry');
    return failure(problems, null);
  }
}

function customerTaken(index: UniqueIndexName): CustomerResult | null {
  const taken = TAKEN_FIELD[index];
  if (!taken) return null;
  const problems = new Problems();
  problems.add([taken.field], 'TAKEN', taken.message);
  return failure(problems);
}

async function checkUniqueness(trx: Tx, before: CustomerRecord | null, next: CustomerRecord, problems: Problems) {
  if (next.email && next.email !== before?.email) {
    const [other] = await findCustomersBy(trx, next.workspaceId, 'email', [next.email]);
    if (other && other.id !== next.id) problems.add(['email'], 'TAKEN', TAKEN_FIELD.customers_email_uq?.message ?? '');
  }
  if (next.externalId && next.externalId !== before?.externalId) {
    const [other] = await findCustomersBy(trx, next.workspaceId, 'external_id', [next.externalId]);
    // An erased customer's tombstone keeps its externalId: refuseErased reports that one as ERASED.
    if (other && other.id !== next.id && other.status !== 'ERASED') problems.add(['externalId'], 'TAKEN', TAKEN_FIELD.customers_external_id_uq?.message ?? '');
  }
}

/** Adds `customFields.<key>` entries for values that change; drops writes that change nothing. */
async function diffFieldWrites(trx: Tx, customer: CustomerRecord, writes: FieldWrite[], changes: Changes): Promise<FieldWrite[]> {
  if (writes.length === 0) return writes;
  const current = new Map((await findValuesOfCustomers(trx, customer.workspaceId, [customer.id])).map((v) => [v.key, v.value]));
  return writes.filter((write) => {
    const from = current.get(write.key) ?? null;
    if (from === write.value) return false;
    changes[`customFields.${write.key}`] = { from, to: write.value };
    return true;
  });
}

/** What a bulk caller already knows, so each record does not look it up again. */
export interface InTxOptions {
  /** The workspace's custom field definitions, read once per batch. */
  definitions?: CustomFieldDefinitionRecord[];
  /** The caller just found no customer with this email or externalId (the index still decides). */
  knownUnique?: boolean;
  /** Let an erased person's email or externalId come back (an import run with --allow-erased). */
  allowErased?: boolean;
}

/** Creates a customer inside the caller's transaction (createCustomer, imports). */
export async function createInTx(
  trx: Tx,
  who: Actor,
  input: CustomerFieldsInput,
  extras: CustomerExtras = {},
  options: InTxOptions = {},
): Promise<CustomerResult> {
  const problems = new Problems();
  const blank = blankCustomer(newId(), who.workspaceId, new Date().toISOString());
  const definitions = options.definitions ?? (await findDefinitions(trx, who.workspaceId));
  const { next, fieldWrites } = applyCustomerInput(blank, input, definitions, problems, extras);
  if (!options.knownUnique) await checkUniqueness(trx, null, next, problems);
  if (!options.allowErased) await refuseErased(trx, who.workspaceId, { email: next.email, externalId: next.externalId }, problems);
  if (!problems.empty) return failure(problems);
  const changes = diffCustomers(null, next);
  const writes = await diffFieldWrites(trx, next, fieldWrites, changes);
  const keepCreation = extras.createdAt != null || extras.createdBy != null || extras.createdVia != null;
  const stored = await commitCustomerChange(trx, who, { before: null, after: next, type: 'CUSTOMER_CREATED', changes, keepCreation });
  await writeValues(trx, who.workspaceId, next.id, writes);
  return { customer: stored, userErrors: [] };
}

export async function createCustomer(db: Db, who: Actor, input: CreateCustomerInput): Promise<CustomerResult> {
  return customerWrite(() => withTransaction(db, (trx) => createInTx(trx, who, input as CustomerFieldsInput)));
}

/** A tombstone never changes again: ERASED or MERGED (naming the survivor) for a write aimed at one. */
export function refuseTombstone(customer: CustomerRecord, problems: Problems, idField: string[]): boolean {
  if (customer.status === 'ERASED') problems.add(idField, 'ERASED', 'the customer was erased');
  else if (customer.status === 'MERGED') problems.add(idField, 'MERGED', `the customer was merged into ${customer.mergedInto ?? 'another customer'}; act on that one`);
  else return false;
  return true;
}

/** The customer to change, or a NOT_FOUND / VERSION_CONFLICT / ERASED / MERGED problem. */
export async function loadForChange(
  trx: Tx,
  workspaceId: string,
  id: string,
  expectedVersion: number | null | undefined,
  problems: Problems,
  idField: string[] = ['id'],
): Promise<CustomerRecord | null> {
  const customer = isUuid(id) ? await findCustomerForChange(trx, workspaceId, id) : null;
  if (!customer) {
    problems.add(idField, 'NOT_FOUND', 'no customer with this id in this workspace');
    return null;
  }
  if (refuseTombstone(customer, problems, idField)) return null;
  if (expectedVersion !== null && expectedVersion !== undefined && expectedVersion !== customer.version) {
    problems.add(['expectedVersion'], 'VERSION_CONFLICT', `the customer is at version ${customer.version}, not ${expectedVersion}`);
  }
  return customer;
}

/** Applies a partial update to `before` inside the caller's transaction (updateCustomer, imports). */
export async function updateInTx(
  trx: Tx,
  who: Actor,
  before: CustomerRecord,
  fields: CustomerFieldsInput,
  problems: Problems,
  extras: CustomerExtras = {},
  options: InTxOptions = {},
): Promise<CustomerResult> {
  const definitions = options.definitions ?? (await findDefinitions(trx, who.workspaceId));
  const { next, fieldWrites } = applyCustomerInput(before, fields, definitions, problems, extras);
  await checkUniqueness(trx, before, next, problems);
  if (!options.allowErased) {
    const email = next.email !== before.email ? next.email : null;
    const externalId = next.externalId !== before.externalId ? next.externalId : null;
    await refuseErased(trx, who.workspaceId, { email, externalId }, problems);
  }
  if (before.type === 'TEAM' && next.type !== 'TEAM') {
    const members = (await countMembersOfCustomers(trx, who.workspaceId, [before.id])).get(before.id) ?? 0;
    if (members > 0) problems.add(['type'], 'INVALID', `remove the team's ${members} member(s) before changing its type`);
  }
  if (!problems.empty) return failure(problems, before);
  const changes = diffCustomers(before, next);
  const writes = await diffFieldWrites(trx, next, fieldWrites, changes);
  if (Object.keys(changes).length === 0) return { customer: before, userErrors: [] };
  return commitOrConflict(trx, who, before, next, changes, writes);
}

export async function updateCustomer(db: Db, who: Actor, input: UpdateCustomerInput): Promise<CustomerResult> {
  const { id, expectedVersion, ...fields } = input;
  return customerWrite(() =>
    withTransaction(db, async (trx) => {
      const problems = new Problems();
      const before = await loadForChange(trx, who.workspaceId, id, expectedVersion, problems);
      if (!before) return failure(problems);
      return updateInTx(trx, who, before, fields, problems);
    }),
  );
}

async function commitOrConflict(
  trx: Tx,
  who: Actor,
  before: CustomerRecord,
  next: CustomerRecord,
  changes: Changes,
  writes: FieldWrite[] = [],
  type: 'CUSTOMER_UPDATED' | 'CUSTOMER_ARCHIVED' | 'CUSTOMER_RESTORED' = 'CUSTOMER_UPDATED',
): Promise<CustomerResult> {
  const stored = await commitCustomerChange(trx, who, { before, after: next, type, changes });
  if (!stored) throw new VersionConflict(before);
  await writeValues(trx, who.workspaceId, next.id, writes);
  return { customer: stored, userErrors: [] };
}

export async function archiveCustomer(db: Db, who: Actor, input: ArchiveCustomerInput): Promise<CustomerResult> {
  return customerWrite(() => withTransaction(db, async (trx) => {
    const problems = new Problems();
    const before = await loadForChange(trx, who.workspaceId, input.id, input.expectedVersion, problems);
    const reason = input.reason == null ? null : checkText(input.reason, LIMITS.freeText, ['reason'], problems);
    if (before?.status === 'ARCHIVED') problems.add(['id'], 'INVALID', 'the customer is already archived');
    if (!before || !problems.empty) return failure(problems, before);
    const now = new Date().toISOString();
    const next: CustomerRecord = {
      ...before,
      status: 'ARCHIVED',
      archivedAt: now,
      archivedBy: who.actor,
      archivedVia: who.via,
      archiveReason: reason ?? null,
    };
    return commitOrConflict(trx, who, before, next, diffCustomers(before, next), [], 'CUSTOMER_ARCHIVED');
  }));
}

export async function restoreCustomer(db: Db, who: Actor, input: RestoreCustomerInput): Promise<CustomerResult> {
  return customerWrite(() => withTransaction(db, async (trx) => {
    const problems = new Problems();
    const before = await loadForChange(trx, who.workspaceId, input.id, input.expectedVersion, problems);
    if (before?.status === 'ACTIVE') problems.add(['id'], 'INVALID', 'the customer is not archived');
    if (!before || !problems.empty) return failure(problems, before);
    const next: CustomerRecord = {
      ...before,
      status: 'ACTIVE',
      archivedAt: null,
      archivedBy: null,
      archivedVia: null,
      archiveReason: null,
    };
    return commitOrConflict(trx, who, before, next, diffCustomers(before, next), [], 'CUSTOMER_RESTORED');
  }));
}
