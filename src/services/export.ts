/**
 * The change feed behind `exportCustomers`, the NDJSON stream and `customer-gateway export`.
 *
 * Why a consumer never skips a change: every write allocates the next number of its
 * workspace's counter row inside its own transaction (store/workspaces.repository.ts,
 * nextChangeSeq) and stamps it on the customer. The counter row stays locked until commit
 * (PostgreSQL row lock; SQLite admits one writer at a time), so numbers are handed out in
 * commit order: when sequence N is committed, every sequence below N already is. A page first
 * reads the committed counter C, then only rows in (after, C]; nothing can later appear below
 * C, so resuming from C (or from the last row returned) misses nothing. A customer changed
 * again moves to its new, higher sequence and is delivered again, at its latest state.
 */
import { badUserInput } from '../shared/errors';
import { CONNECTIONS } from './connections';
import { decodeCursor, encodeCursor } from './cursor';

const EXPORT_CURSOR = 'export';
import { listChangedCustomers, type CustomerColumns } from '../store/customers.repository';
import { findValuesOfCustomers } from '../store/custom-fields.repository';
import { findMembersOfCustomers } from '../store/members.repository';
import type { CustomerRecord } from '../store/records';
import { whenDurable, type Db } from '../store/engine';
import { committedChangeSeq } from '../store/workspaces.repository';
import { toExportedCustomer, type ExportedCustomer } from './export-record';
import type { PageInfoModel } from './paging';

export interface CustomerExportPage {
  edges: { cursor: string; node: CustomerRecord }[];
  nodes: CustomerRecord[];
  pageInfo: PageInfoModel;
}

/** Export cursors carry the workspace, so one from another workspace is refused. */
function encodeExportCursor(workspaceId: string, seq: number): string {
  return encodeCursor(EXPORT_CURSOR, [workspaceId, seq]);
}

export function decodeExportCursor(workspaceId: string, cursor: string, argument = 'after'): number {
  const parts = decodeCursor(EXPORT_CURSOR, cursor);
  const seq = parts?.[1];
  if (parts?.[0] !== workspaceId || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw badUserInput(`\`${argument}\` is not an export cursor of this workspace; pass an endCursor that exportCustomers returned`, argument);
  }
  return seq;
}

export interface ExportArgs {
  updatedSince?: string | null;
  first?: number | null;
  after?: string | null;
}

export interface ChangeBatch {
  customers: CustomerRecord[];
  /** Where to resume after this batch. */
  endSeq: number;
  hasMore: boolean;
}

/** Reads up to `limit` changed customers after `afterSeq`: two statements, one range scan. */
async function readChanges(
  db: Db,
  workspaceId: string,
  afterSeq: number,
  limit: number,
  updatedSince: string | null,
  options: { upTo?: number; columns?: CustomerColumns } = {},
): Promise<ChangeBatch> {
  const end = options.upTo ?? (await committedChangeSeq(db, workspaceId));
  const rows = await listChangedCustomers(db, workspaceId, { after: afterSeq, upTo: end, updatedSince, limit: limit + 1 }, options.columns);
  // A consumer copies what the feed gives it and moves its cursor past it: only durable changes.
  await whenDurable(db);
  const hasMore = rows.length > limit;
  const customers = hasMore ? rows.slice(0, limit) : rows;
  // With no more rows, everything up to the committed end has been considered.
  const endSeq = hasMore ? customers[customers.length - 1].changeSeq : Math.max(end, afterSeq);
  return { customers, endSeq, hasMore };
}

const EXPORT_PAGE = CONNECTIONS['Query.exportCustomers'];

function checkExportSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return EXPORT_PAGE.default;
  if (!Number.isInteger(first) || first < 1 || first > EXPORT_PAGE.max) {
    throw badUserInput(`\`first\` must be between 1 and ${EXPORT_PAGE.max}, got ${first}`, 'first');
  }
  return first;
}

/** A page of the change feed as a GraphQL connection; `columns`: what the query's customer fields need. */
export async function exportPage(db: Db, workspaceId: string, args: ExportArgs, columns?: CustomerColumns): Promise<CustomerExportPage> {
  const first = checkExportSize(args.first);
  const afterSeq = args.after ? decodeExportCursor(workspaceId, args.after) : 0;
  const batch = await readChanges(db, workspaceId, afterSeq, first, args.updatedSince ?? null, { columns });
  const edges = batch.customers.map((node) => ({ cursor: encodeExportCursor(workspaceId, node.changeSeq), node }));
  return {
    edges,
    nodes: batch.customers,
    pageInfo: {
      hasNextPage: batch.hasMore,
      hasPreviousPage: false,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: encodeExportCursor(workspaceId, batch.endSeq),
    },
  };
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

export interface StreamOptions {
  updatedSince?: string | null;
  afterSeq?: number;
  pageSize?: number;
}

/**
 * Every changed customer as an export record, page by page (constant memory), up to the
 * counter committed when the stream started; then `{ endCursor }` to resume from.
 */
export async function* streamExport(
  db: Db,
  workspaceId: string,
  options: StreamOptions = {},
): AsyncGenerator<ExportedCustomer[], { endCursor: string }> {
  const upTo = await committedChangeSeq(db, workspaceId);
  let after = options.afterSeq ?? 0;
  for (;;) {
    const batch = await readChanges(db, workspaceId, after, options.pageSize ?? 1000, options.updatedSince ?? null, { upTo });
    const ids = batch.customers.map((c) => c.id);
    const [members, fields] = await Promise.all([findMembersOfCustomers(db, workspaceId, ids), findValuesOfCustomers(db, workspaceId, ids)]);
    if (batch.customers.length > 0) {
      const membersOf = groupBy(members, (m) => m.customerId);
      const fieldsOf = groupBy(fields, (f) => f.customerId);
      yield batch.customers.map((c) => toExportedCustomer(c, membersOf.get(c.id) ?? [], fieldsOf.get(c.id) ?? []));
    }
    after = batch.endSeq;
    if (!batch.hasMore) return { endCursor: encodeExportCursor(workspaceId, after) };
  }
}
