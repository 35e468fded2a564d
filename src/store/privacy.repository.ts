/**
 * Erasure and merge: the statements that remove a person's data, move a duplicate's related
 * rows to its survivor, and remember erased identities by keyed hash.
 */
import { sql } from 'kysely';
import { ALL_CUSTOMER_COLUMNS, findCustomersBy, withFields, type CustomerColumns, type CustomerLookupColumn } from './customers.repository';
import { engineOf, jsonOf, jsonText, likeContains, type Db } from './engine';
import type { CustomerRecord, FieldChange } from './records';

/** A lookup's match and the customer it answers: the survivor when the match is a MERGED tombstone. */
export interface ResolvedCustomer {
  matched: CustomerRecord;
  answer: CustomerRecord;
}

/**
 * Like findCustomersBy, but a match that was merged away answers its survivor. Merges keep
 * chains one hop long (merged_into never names a tombstone that is itself merged), so this costs
 * one more statement, and only for a batch that meets a merged customer.
 */
export async function findCustomersFollowingMerges(
  db: Db,
  workspaceId: string,
  column: CustomerLookupColumn,
  values: readonly string[],
  columns: CustomerColumns = ALL_CUSTOMER_COLUMNS,
): Promise<ResolvedCustomer[]> {
  const matches = await findCustomersBy(db, workspaceId, column, values, withFields(columns, ['mergedInto']));
  const survivorIds = [...new Set(matches.flatMap((c) => (c.mergedInto === null ? [] : [c.mergedInto])))];
  if (survivorIds.length === 0) return matches.map((matched) => ({ matched, answer: matched }));
  const survivors = new Map((await findCustomersBy(db, workspaceId, 'id', survivorIds, withFields(columns, ['mergedInto']))).map((c) => [c.id, c]));
  return matches.flatMap((matched) => {
    if (matched.mergedInto === null) return [{ matched, answer: matched }];
    const answer = survivors.get(matched.mergedInto);
    return answer ? [{ matched, answer }] : [];
  });
}

export type IdentityKind = 'email' | 'externalId';

export interface ErasedIdentity {
  kind: IdentityKind;
  hash: string;
}

/** The workspace's erasure hash key; null until its first erasure. */
export async function findErasureKey(db: Db, workspaceId: string): Promise<string | null> {
  const row = await db.selectFrom('workspaces').select('erasure_key').where('id', '=', workspaceId).executeTakeFirst();
  return row?.erasure_key ?? null;
}

/** Sets the key unless one exists (two first erasures racing keep the first) and returns the stored one. */
export async function ensureErasureKey(db: Db, workspaceId: string, candidate: string): Promise<string> {
  await db.updateTable('workspaces').set({ erasure_key: candidate }).where('id', '=', workspaceId).where('erasure_key', 'is', null).execute();
  const key = await findErasureKey(db, workspaceId);
  if (key === null) throw new Error(`ensureErasureKey: workspace ${workspaceId} does not exist`);
  return key;
}

export async function insertErasedIdentities(db: Db, workspaceId: string, customerId: string, identities: readonly ErasedIdentity[], at: string): Promise<void> {
  if (identities.length === 0) return;
  await db
    .insertInto('erased_identities')
    .values(identities.map((i) => ({ workspace_id: workspaceId, kind: i.kind, hash: i.hash, customer_id: customerId, erased_at: at })))
    .onConflict((oc) => oc.columns(['workspace_id', 'kind', 'hash']).doNothing())
    .execute();
}

/** Which of `identities` were erased in the workspace. */
export async function findErasedIdentities(db: Db, workspaceId: string, identities: readonly ErasedIdentity[]): Promise<ErasedIdentity[]> {
  if (identities.length === 0) return [];
  const rows = await db
    .selectFrom('erased_identities')
    .select(['kind', 'hash'])
    .where('workspace_id', '=', workspaceId)
    .where('hash', 'in', identities.map((i) => i.hash))
    .execute();
  return rows.flatMap((row) => identities.filter((i) => i.kind === row.kind && i.hash === row.hash));
}

export const REDACTED = '[redacted]';

/** Every value of a `changes` object replaced, field names kept. */
export function redactChanges(changes: Record<string, FieldChange>): Record<string, FieldChange> {
  const redacted: Record<string, FieldChange> = {};
  for (const field of Object.keys(changes)) redacted[field] = { from: REDACTED, to: REDACTED };
  return redacted;
}

/** Redacts the audit values of every action of these customers. */
export async function redactActionsOf(db: Db, workspaceId: string, customerIds: readonly string[]): Promise<void> {
  if (customerIds.length === 0) return;
  const rows = await db
    .selectFrom('actions')
    .select(['id', 'changes'])
    .where('workspace_id', '=', workspaceId)
    .where('customer_id', 'in', customerIds)
    .execute();
  for (const row of rows) {
    const changes = redactChanges(jsonOf<Record<string, FieldChange>>(row.changes));
    await db.updateTable('actions').set({ changes: jsonText(changes) }).where('id', '=', row.id).execute();
  }
}

export async function deleteMembersOf(db: Db, workspaceId: string, customerId: string): Promise<void> {
  await db.deleteFrom('members').where('workspace_id', '=', workspaceId).where('customer_id', '=', customerId).execute();
}

export async function deleteValuesOf(db: Db, workspaceId: string, customerId: string): Promise<void> {
  await db.deleteFrom('custom_field_values').where('workspace_id', '=', workspaceId).where('customer_id', '=', customerId).execute();
}

/**
 * Deletes the workspace's stored idempotent outcomes (payload or response) that contain any of
 * `needles` (ids and emails of the erased person). A retry under such a key runs again instead
 * of replaying the person's data.
 */
export async function purgeIdempotencyMentioning(db: Db, workspaceId: string, needles: readonly string[]): Promise<number> {
  const terms = needles.filter((n) => n !== '').map((n) => likeContains(n));
  if (terms.length === 0) return 0;
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('workspace_id', '=', workspaceId)
    .where((eb) =>
      eb.or(
        terms.flatMap((term) => [
          eb(sql<string>`coalesce(payload, '')`, 'like', sql<string>`${term} escape '\\'`),
          eb(sql<string>`coalesce(response_body, '')`, 'like', sql<string>`${term} escape '\\'`),
        ]),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Ids of the MERGED tombstones that resolve to each of `survivorIds` (one statement). */
export async function findMergedIdsOf(db: Db, workspaceId: string, survivorIds: readonly string[]): Promise<{ id: string; mergedInto: string }[]> {
  if (survivorIds.length === 0) return [];
  const rows = await db
    .selectFrom('customers')
    .select(['id', 'merged_into'])
    .where('workspace_id', '=', workspaceId)
    .where('merged_into', 'in', survivorIds)
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ id: row.id, mergedInto: row.merged_into ?? '' }));
}

/** Tombstones that pointed at `fromId` now point at `toId`, so a lookup takes one hop. */
export async function repointMerged(db: Db, workspaceId: string, fromId: string, toId: string): Promise<void> {
  await db.updateTable('customers').set({ merged_into: toId }).where('workspace_id', '=', workspaceId).where('merged_into', '=', fromId).execute();
}

/** Moves the audit history of `fromId` to `toId`. */
export async function moveActions(db: Db, workspaceId: string, fromId: string, toId: string): Promise<void> {
  await db.updateTable('actions').set({ customer_id: toId }).where('workspace_id', '=', workspaceId).where('customer_id', '=', fromId).execute();
}

export async function moveMembers(db: Db, workspaceId: string, memberIds: readonly string[], toId: string): Promise<void> {
  if (memberIds.length === 0) return;
  await db.updateTable('members').set({ customer_id: toId }).where('workspace_id', '=', workspaceId).where('id', 'in', memberIds).execute();
}

export async function deleteMembers(db: Db, workspaceId: string, memberIds: readonly string[]): Promise<void> {
  if (memberIds.length === 0) return;
  await db.deleteFrom('members').where('workspace_id', '=', workspaceId).where('id', 'in', memberIds).execute();
}

/**
 * After an erasure has committed, makes the database files drop the old values. SQLite
 * (secure_delete is on for every connection, so freed cells were zeroed) copies the WAL into
 * the database file and truncates it, before this resolves. PostgreSQL keeps dead tuples until
 * VACUUM: one over the touched tables is started and handed back as `background`, for the
 * caller to watch rather than hold a request for.
 */
export async function reclaimErasedSpace(db: Db): Promise<{ background: Promise<void> | null }> {
  if (engineOf(db) === 'sqlite') {
    await sql`pragma wal_checkpoint(truncate)`.execute(db);
    return { background: null };
  }
  const vacuum = sql`vacuum customers, members, actions, custom_field_values, idempotency_keys, erased_identities`.execute(db);
  return { background: vacuum.then(() => undefined) };
}
