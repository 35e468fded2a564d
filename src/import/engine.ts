/**
 * Bulk import: every record goes through the same validation as createCustomer, upserted by
 * externalId, else by email, in batched transactions. A bad record never stops the run: it
 * is rejected with all its problems (its own writes undone by a savepoint). Each finished
 * batch is committed, so a run stopped half-way can simply be repeated: re-importing a record
 * that is already there changes nothing and is counted as unchanged.
 *
 * A customer is imported at most once per file: the first record that resolves to a customer
 * (by externalId, else email) wins, and every later record resolving to the same customer is
 * rejected as DUPLICATE, naming the first record's line. Applying both would leave the later
 * values, and every re-run would then write the first record's values and the later ones back
 * again, a new version each time; rejecting keeps a second run of any file a no-op.
 */
import type { CreateCustomerInput } from '../generated/graphql';
import { inferValueType } from './custom-field-keys';
import { coerceCustomFieldText, mapRecord, type ImportFormat, type ImportRecord } from './formats';
import type { SourceItem } from './sources';
import { findCustomersFollowingMerges } from '../store/privacy.repository';
import { findDefinitions, upsertDefinition } from '../store/custom-fields.repository';
import { uniqueViolation, withSavepoint, withTransaction, type Db, type Tx } from '../store/engine';
import { findMembersOfCustomers } from '../store/members.repository';
import type { CustomerRecord, CustomFieldDefinitionRecord } from '../store/records';
import type { Actor } from '../services/audit';
import { createInTx, updateInTx, VersionConflict } from '../services/customers';
import { addMemberInTx } from '../services/members';
import { Problems, type FieldError } from '../services/validation';

export type { SourceItem } from './sources';

/** What the reject file reports: the mutation codes, and DUPLICATE, which only a file can meet. */
export type ImportErrorCode = FieldError['code'] | 'DUPLICATE';

export interface ImportError {
  field: string[] | null;
  code: ImportErrorCode;
  message: string;
}

export interface Rejection {
  line: number;
  errors: ImportError[];
  record: unknown;
}

export interface ImportSummary {
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected: number;
}

export interface ImportOptions {
  format: ImportFormat;
  /** Records per transaction. */
  batchSize?: number;
  /** Custom field keys to define as searchable when an import defines them. */
  searchableFields?: string[];
  onBatch?: (summary: ImportSummary) => void;
  onReject?: (rejection: Rejection) => void | Promise<void>;
  /** Import records whose email or externalId belonged to an erased customer (refused with ERASED otherwise). */
  allowErased?: boolean;
}

type Outcome = 'created' | 'updated' | 'unchanged' | ImportError[];

function problem(code: ImportErrorCode, message: string, field: string[] | null = null): ImportError[] {
  return [{ field, code, message }];
}

/** The customer a record updates: by externalId, else email; a merged customer's answers its survivor. */
async function findExisting(trx: Tx, workspaceId: string, input: CreateCustomerInput): Promise<CustomerRecord | null> {
  const externalId = input.externalId?.trim();
  if (externalId) {
    const [byExternalId] = await findCustomersFollowingMerges(trx, workspaceId, 'external_id', [externalId]);
    if (byExternalId) return byExternalId.answer;
  }
  const [byEmail] = await findCustomersFollowingMerges(trx, workspaceId, 'email', [input.email.trim().toLowerCase()]);
  return byEmail?.answer ?? null;
}

/** Adds the record's members that the customer does not have yet (matched by email). */
async function addMissingMembers(trx: Tx, who: Actor, customer: CustomerRecord, record: ImportRecord): Promise<FieldError[] | number> {
  if (record.members.length === 0) return 0;
  const present = new Set((await findMembersOfCustomers(trx, who.workspaceId, [customer.id])).map((m) => m.email));
  let added = 0;
  for (const [i, member] of record.members.entries()) {
    if (present.has(member.email.trim().toLowerCase())) continue;
    const result = await addMemberInTx(trx, who, { ...member, customerId: customer.id });
    if (result.userErrors.length > 0) return result.userErrors.map((e) => ({ ...e, field: ['members', String(i), ...(e.field ?? [])] }));
    added += 1;
  }
  return added;
}

/** CSV cells are text: custom field values take the type their definition names. */
function typedCustomFields(record: ImportRecord, definitions: CustomFieldDefinitionRecord[]): ImportRecord {
  const fields = record.input.customFields;
  if (!fields?.some((f) => typeof f.value === 'string')) return record;
  const types = new Map(definitions.map((d) => [d.key, d.valueType]));
  const customFields = fields.map((f) => {
    const type = types.get(f.key);
    return typeof f.value === 'string' && type ? { ...f, value: coerceCustomFieldText(type, f.value) } : f;
  });
  return { ...record, input: { ...record.input, customFields } };
}

/** Customer id -> the line of the record that imported it in this run. */
type ImportedLines = Map<string, number>;

/** Per batch: what every record of it needs and would otherwise look up again. */
interface BatchContext {
  format: ImportFormat;
  definitions: CustomFieldDefinitionRecord[];
  allowErased: boolean;
  /** Customers imported by committed batches of this run. */
  committed: ReadonlyMap<string, number>;
  /** Customers imported by this batch so far; joins `committed` once the batch commits. */
  current: ImportedLines;
}

function importedAt(batch: BatchContext, customerId: string): number | undefined {
  return batch.current.get(customerId) ?? batch.committed.get(customerId);
}

async function upsert(trx: Tx, who: Actor, line: number, given: ImportRecord, batch: BatchContext): Promise<Outcome> {
  const record = batch.format === 'csv' ? typedCustomFields(given, batch.definitions) : given;
  const existing = await findExisting(trx, who.workspaceId, record.input);
  const first = existing ? importedAt(batch, existing.id) : undefined;
  if (first !== undefined) {
    return problem('DUPLICATE', `the record on line ${first} already imports this customer (same externalId or email); a file imports each customer once`);
  }
  if (existing?.status === 'ERASED') {
    // Even when erased identities are allowed back, the externalId stays with the tombstone.
    return batch.allowErased
      ? problem('TAKEN', 'this externalId stays with an erased customer\'s tombstone; import the person without it', ['externalId'])
      : problem('ERASED', 'this externalId belonged to a customer who was erased; run the import with --allow-erased to bring the person back', ['externalId']);
  }
  const options = { definitions: batch.definitions, knownUnique: existing === null, allowErased: batch.allowErased };
  const result = existing
    ? await updateInTx(trx, who, existing, record.input, new Problems(), record.extras, options)
    : await createInTx(trx, who, record.input, record.extras, options);
  if (result.userErrors.length > 0 || !result.customer) return result.userErrors;
  const members = await addMissingMembers(trx, who, result.customer, record);
  if (typeof members !== 'number') throw new RejectRecord(members);
  batch.current.set(result.customer.id, line);
  if (!existing) return 'created';
  return result.customer.version === existing.version && members === 0 ? 'unchanged' : 'updated';
}

/** Undoes a record's partial writes (through its savepoint) and rejects it. */
class RejectRecord extends Error {
  constructor(readonly errors: ImportError[]) {
    super('record rejected');
  }
}

async function importOne(trx: Tx, who: Actor, line: number, record: ImportRecord, batch: BatchContext): Promise<Outcome> {
  try {
    return await withSavepoint(trx, () => upsert(trx, who, line, record, batch));
  } catch (error) {
    if (error instanceof RejectRecord) return error.errors;
    if (error instanceof VersionConflict) return problem('VERSION_CONFLICT', 'the customer changed while importing; run the import again');
    const index = uniqueViolation(error);
    if (index) return problem('TAKEN', `another record already uses this value (${index})`);
    throw error;
  }
}

/**
 * Custom fields a record needs defined: khoros names its free-form keys; an export (ndjson)
 * carries typed values, so a round trip into a fresh workspace defines them as they were.
 */
function fieldKeysOf(record: ImportRecord, format: ImportFormat): ImportRecord['customFieldKeys'] {
  if (format !== 'ndjson') return record.customFieldKeys;
  return (record.input.customFields ?? []).flatMap((f) =>
    typeof f.value === 'string' || typeof f.value === 'number' || typeof f.value === 'boolean'
      ? [{ key: f.key, valueType: inferValueType(f.value) }]
      : [],
  );
}

/** Defines custom fields the batch uses that the workspace lacks. */
async function defineMissingFields(trx: Tx, workspaceId: string, format: ImportFormat, records: ImportRecord[], searchable: Set<string>) {
  const wanted = new Map(records.flatMap((r) => fieldKeysOf(r, format)).map((k) => [k.key, k.valueType]));
  if (wanted.size === 0) return;
  const known = new Set((await findDefinitions(trx, workspaceId)).map((d) => d.key));
  const now = new Date().toISOString();
  for (const [key, valueType] of wanted) {
    if (known.has(key)) continue;
    await upsertDefinition(trx, { workspaceId, key, label: key, valueType, searchable: searchable.has(key), selfEditable: false, createdAt: now, updatedAt: now });
  }
}

interface Mapped {
  line: number;
  raw: unknown;
  record?: ImportRecord;
  errors?: ImportError[];
}

function mapItem(format: ImportFormat, item: SourceItem): Mapped {
  if (item.error) return { line: item.line, raw: item.raw, errors: problem(item.code ?? 'INVALID', item.error) };
  const mapped = mapRecord(format, item.raw);
  return mapped.ok ? { line: item.line, raw: item.raw, record: mapped.record } : { line: item.line, raw: item.raw, errors: mapped.errors };
}

async function runBatch(db: Db, who: Actor, batch: Mapped[], options: ImportOptions, summary: ImportSummary, imported: ImportedLines) {
  const rejections: Rejection[] = [];
  let current: ImportedLines = new Map();
  const counts = await withTransaction(db, async (trx) => {
    // A retried transaction starts over, so what its failed attempt imported does not count.
    current = new Map();
    const local = { created: 0, updated: 0, unchanged: 0 };
    rejections.length = 0;
    const records = batch.flatMap((m) => (m.record ? [m.record] : []));
    await defineMissingFields(trx, who.workspaceId, options.format, records, new Set(options.searchableFields ?? []));
    const context: BatchContext = {
      format: options.format,
      definitions: await findDefinitions(trx, who.workspaceId),
      allowErased: options.allowErased === true,
      committed: imported,
      current,
    };
    for (const item of batch) {
      const outcome = item.record ? await importOne(trx, who, item.line, item.record, context) : (item.errors ?? []);
      if (typeof outcome === 'string') local[outcome] += 1;
      else rejections.push({ line: item.line, errors: outcome, record: item.raw });
    }
    return local;
  });
  for (const [id, line] of current) imported.set(id, line);
  summary.created += counts.created;
  summary.updated += counts.updated;
  summary.unchanged += counts.unchanged;
  summary.rejected += rejections.length;
  for (const rejection of rejections) await options.onReject?.(rejection);
  options.onBatch?.(summary);
}

function isTrailer(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'trailer' in raw && Object.keys(raw).length === 1;
}

export async function importCustomers(
  db: Db,
  who: Actor,
  source: AsyncIterable<SourceItem>,
  options: ImportOptions,
): Promise<ImportSummary> {
  const summary: ImportSummary = { read: 0, created: 0, updated: 0, unchanged: 0, rejected: 0 };
  const size = options.batchSize ?? 500;
  const imported: ImportedLines = new Map();
  let batch: Mapped[] = [];
  for await (const item of source) {
    // An export file ends with a trailer line carrying its resume cursor: not a customer.
    if (isTrailer(item.raw)) continue;
    summary.read += 1;
    batch.push(mapItem(options.format, item));
    if (batch.length >= size) {
      await runBatch(db, who, batch, options, summary, imported);
      batch = [];
    }
  }
  if (batch.length > 0) await runBatch(db, who, batch, options, summary, imported);
  return summary;
}
