/**
 * Idempotency keys. Every write here is conditional (on the row's state, token or expiry), so
 * two requests, processes or instances racing for one key never both win: the loser's
 * statement touches no row and it answers CONFLICT. No locks are held between statements.
 */
import type { ExpressionBuilder } from 'kysely';
import type { Db } from './engine';
import type { Database } from './tables';

export type IdempotencyState = 'in_flight' | 'committed' | 'completed';

export interface IdempotencyScope {
  workspaceId: string;
  /** '' when the caller has no API key (in-process calls). */
  apiKeyId: string;
  key: string;
}

export interface IdempotencyRecord extends IdempotencyScope {
  requestHash: string;
  state: IdempotencyState;
  token: string;
  leaseExpiresAt: number;
  expiresAt: number;
  payload: string | null;
  responseStatus: number | null;
  responseBody: string | null;
}

/** The one row of a key: Idempotency-Keys are scoped to a workspace and an API key. */
function sameKey(scope: IdempotencyScope) {
  return (eb: ExpressionBuilder<Database, 'idempotency_keys'>) =>
    eb.and({ workspace_id: scope.workspaceId, api_key_id: scope.apiKeyId, key: scope.key });
}

export async function findIdempotencyKey(db: Db, scope: IdempotencyScope): Promise<IdempotencyRecord | null> {
  const row = await db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where(sameKey(scope))
    .executeTakeFirst();
  if (!row) return null;
  return {
    ...scope,
    requestHash: row.request_hash,
    state: row.state as IdempotencyState,
    token: row.token,
    leaseExpiresAt: Number(row.lease_expires_at),
    expiresAt: Number(row.expires_at),
    payload: row.payload,
    responseStatus: row.response_status,
    responseBody: row.response_body,
  };
}

export interface NewClaim {
  requestHash: string;
  token: string;
  now: number;
  leaseExpiresAt: number;
  expiresAt: number;
}

/** Inserts an in-flight row; false when another request inserted one first. */
export async function insertClaim(db: Db, scope: IdempotencyScope, claim: NewClaim): Promise<boolean> {
  const result = await db
    .insertInto('idempotency_keys')
    .values({
      workspace_id: scope.workspaceId,
      api_key_id: scope.apiKeyId,
      key: scope.key,
      request_hash: claim.requestHash,
      state: 'in_flight',
      token: claim.token,
      lease_expires_at: claim.leaseExpiresAt,
      expires_at: claim.expiresAt,
      created_at: claim.now,
    })
    .onConflict((oc) => oc.columns(['workspace_id', 'api_key_id', 'key']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

/** Removes the row if it has expired, so its key can be used again. */
export async function deleteExpiredKey(db: Db, scope: IdempotencyScope, now: number): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where(sameKey(scope))
    .where('expires_at', '<=', now)
    .execute();
}

/** Takes over an in-flight row whose lease ran out; false when someone else did first. */
export async function takeOverClaim(db: Db, scope: IdempotencyScope, previousToken: string, token: string, leaseExpiresAt: number): Promise<boolean> {
  const result = await db
    .updateTable('idempotency_keys')
    .set({ token, lease_expires_at: leaseExpiresAt })
    .where(sameKey(scope))
    .where('state', '=', 'in_flight')
    .where('token', '=', previousToken)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Inside the mutation's own transaction: marks the claim committed with the mutation's
 * payload. False when the claim is no longer this request's (its lease ran out and another
 * request took the key over): the caller must then roll its transaction back.
 */
export async function markCommitted(db: Db, scope: IdempotencyScope, token: string, payload: string): Promise<boolean> {
  const result = await db
    .updateTable('idempotency_keys')
    .set({ state: 'committed', payload })
    .where(sameKey(scope))
    .where('state', '=', 'in_flight')
    .where('token', '=', token)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Stores the response of the request holding `token` (or of a recovery of a committed row). */
export async function storeResponse(
  db: Db,
  scope: IdempotencyScope,
  holder: { token: string } | { recoveredHash: string },
  response: { status: number; body: string },
): Promise<void> {
  let query = db
    .updateTable('idempotency_keys')
    .set({ state: 'completed', response_status: response.status, response_body: response.body })
    .where(sameKey(scope));
  query = 'token' in holder
    ? query.where('token', '=', holder.token).where('state', 'in', ['in_flight', 'committed'])
    : query.where('request_hash', '=', holder.recoveredHash).where('state', '=', 'committed');
  await query.execute();
}

/** Gives the key back (nothing was committed and the outcome is not worth replaying). */
export async function releaseClaim(db: Db, scope: IdempotencyScope, token: string): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where(sameKey(scope))
    .where('state', '=', 'in_flight')
    .where('token', '=', token)
    .execute();
}

/** Deletes expired rows of every workspace; returns how many went. */
export async function purgeExpiredKeys(db: Db, now: number): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
