/**
 * Webhooks: endpoints, the outbox (events and one delivery per subscribed endpoint), and the
 * attempt log. Instants are epoch milliseconds in the database; records carry ISO strings for
 * what the API shows.
 */
import { sql } from 'kysely';
import { engineOf, type Db } from './engine';
import type { EpochMs, WebhookAttemptsTable, WebhookEndpointsTable } from './tables';
import type { Selectable } from 'kysely';
import type { EndpointSecrets, NewWebhookEndpoint, WebhookAttemptRecord, WebhookEndpointRecord } from './webhook-records';

export type { EndpointSecrets, NewWebhookEndpoint, WebhookAttemptRecord, WebhookEndpointRecord } from './webhook-records';

export type DeliveryState = 'PENDING' | 'DELIVERED' | 'FAILED';

const ms = (value: EpochMs): number => Number(value);
const msOrNull = (value: EpochMs | null): number | null => (value === null ? null : Number(value));
const isoAt = (value: EpochMs): string => new Date(Number(value)).toISOString();

function toEndpointRecord(row: Selectable<WebhookEndpointsTable>): WebhookEndpointRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    url: row.url,
    events: row.events.split(' ').filter(Boolean),
    description: row.description,
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason,
    createdAt: isoAt(row.created_at),
    updatedAt: isoAt(row.updated_at),
  };
}

function toAttemptRecord(row: Selectable<WebhookAttemptsTable>): WebhookAttemptRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.event_type,
    attempt: row.attempt,
    status: row.status as WebhookAttemptRecord['status'],
    responseCode: row.response_code,
    error: row.error,
    durationMs: row.duration_ms,
    attemptedAt: isoAt(row.attempted_at),
    nextRetryAt: row.next_retry_at === null ? null : isoAt(row.next_retry_at),
    attemptedAtMs: ms(row.attempted_at),
  };
}

/** Marks the workspace's endpoint set as changed, so every process reloads its cached subscribers. */
export async function bumpWebhooksVersion(db: Db, workspaceId: string): Promise<void> {
  await db
    .updateTable('workspaces')
    .set((eb) => ({ webhooks_version: eb('webhooks_version', '+', 1) }))
    .where('id', '=', workspaceId)
    .execute();
}

export async function insertEndpoint(db: Db, endpoint: NewWebhookEndpoint): Promise<void> {
  await db
    .insertInto('webhook_endpoints')
    .values({
      id: endpoint.id,
      workspace_id: endpoint.workspaceId,
      url: endpoint.url,
      events: endpoint.events.join(' '),
      description: endpoint.description,
      enabled: endpoint.enabled ? 1 : 0,
      disabled_reason: endpoint.disabledReason,
      secret: endpoint.secret,
      previous_secret: null,
      previous_secret_expires_at: null,
      failing_since: null,
      created_at: Date.parse(endpoint.createdAt),
      updated_at: Date.parse(endpoint.updatedAt),
    })
    .execute();
}

export async function updateEndpoint(db: Db, endpoint: WebhookEndpointRecord): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set({
      url: endpoint.url,
      events: endpoint.events.join(' '),
      description: endpoint.description,
      enabled: endpoint.enabled ? 1 : 0,
      disabled_reason: endpoint.disabledReason,
      // A re-enabled endpoint starts a fresh failure window.
      ...(endpoint.enabled ? { failing_since: null } : {}),
      updated_at: Date.parse(endpoint.updatedAt),
    })
    .where('workspace_id', '=', endpoint.workspaceId)
    .where('id', '=', endpoint.id)
    .execute();
}

export async function rotateEndpointSecret(db: Db, workspaceId: string, id: string, secret: string, previousExpiresAt: number, now: number): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set((eb) => ({ previous_secret: eb.ref('secret'), previous_secret_expires_at: previousExpiresAt, secret, updated_at: now }))
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

/** Removes the endpoint with its deliveries and attempt log (events stay until retention prunes them). */
export async function deleteEndpoint(db: Db, workspaceId: string, id: string): Promise<void> {
  await db.deleteFrom('webhook_attempts').where('workspace_id', '=', workspaceId).where('endpoint_id', '=', id).execute();
  await db.deleteFrom('webhook_deliveries').where('workspace_id', '=', workspaceId).where('endpoint_id', '=', id).execute();
  await db.deleteFrom('webhook_endpoints').where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

export async function findEndpoint(db: Db, workspaceId: string, id: string): Promise<WebhookEndpointRecord | null> {
  const row = await db.selectFrom('webhook_endpoints').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
  return row ? toEndpointRecord(row) : null;
}

export async function countEndpoints(db: Db, workspaceId: string): Promise<number> {
  const row = await db
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Endpoints in creation order, after (createdAt ms, id) when given; `limit` rows at most. */
export async function listEndpoints(db: Db, workspaceId: string, limit: number, after: { at: number; id: string } | null): Promise<WebhookEndpointRecord[]> {
  let query = db.selectFrom('webhook_endpoints').selectAll().where('workspace_id', '=', workspaceId);
  if (after) query = query.where((eb) => eb.or([eb('created_at', '>', after.at), eb.and([eb('created_at', '=', after.at), eb('id', '>', after.id)])]));
  const rows = await query.orderBy('created_at').orderBy('id').limit(limit).execute();
  return rows.map(toEndpointRecord);
}

/** The workspace's enabled endpoints and the events each takes, with the version they were read at. */
export async function subscribedEndpoints(db: Db, workspaceId: string): Promise<{ id: string; events: string[] }[]> {
  const rows = await db
    .selectFrom('webhook_endpoints')
    .select(['id', 'events'])
    .where('workspace_id', '=', workspaceId)
    .where('enabled', '=', 1)
    .execute();
  return rows.map((row) => ({ id: row.id, events: row.events.split(' ').filter(Boolean) }));
}

export interface OutboxEvent {
  id: string;
  workspaceId: string;
  type: string;
  data: string;
  createdAt: number;
}

/** Writes the event and a pending delivery to each endpoint, in the caller's transaction. */
export async function insertOutboxEvent(db: Db, event: OutboxEvent, endpointIds: readonly string[], newId: () => string): Promise<void> {
  await db
    .insertInto('webhook_events')
    .values({ id: event.id, workspace_id: event.workspaceId, type: event.type, data: event.data, created_at: event.createdAt })
    .execute();
  await db
    .insertInto('webhook_deliveries')
    .values(
      endpointIds.map((endpointId) => ({
        id: newId(),
        workspace_id: event.workspaceId,
        event_id: event.id,
        endpoint_id: endpointId,
        state: 'PENDING',
        next_attempt_at: event.createdAt,
        first_attempt_at: null,
        lease_owner: null,
        updated_at: event.createdAt,
      })),
    )
    .execute();
}

export interface ClaimedDelivery {
  id: string;
  workspaceId: string;
  endpointId: string;
  url: string;
  secrets: EndpointSecrets;
  failingSince: number | null;
  eventId: string;
  eventType: string;
  eventData: string;
  eventCreatedAt: number;
  /** Attempts made before this one. */
  attempts: number;
  firstAttemptAt: number | null;
}

/**
 * Leases up to `limit` due deliveries of enabled endpoints to `owner` until `leaseUntil`. On
 * PostgreSQL the candidates are locked with SKIP LOCKED, so instances claiming at once take
 * disjoint sets; the lease check in the update makes the claim atomic on SQLite too.
 */
export async function claimDueDeliveries(db: Db, owner: string, now: number, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]> {
  let candidates = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .select('d.id')
    .where('d.state', '=', 'PENDING')
    .where('d.next_attempt_at', '<=', now)
    .where('d.lease_expires_at', '<=', now)
    .where('e.enabled', '=', 1)
    .orderBy('d.next_attempt_at')
    .limit(limit);
  if (engineOf(db) === 'postgres') candidates = candidates.forUpdate('d').skipLocked();
  const ids = (await candidates.execute()).map((row) => row.id);
  if (ids.length === 0) return [];
  const claimed = await db
    .updateTable('webhook_deliveries')
    .set({ lease_owner: owner, lease_expires_at: leaseUntil })
    .where('id', 'in', ids)
    .where('lease_expires_at', '<=', now)
    .returning('id')
    .execute();
  if (claimed.length === 0) return [];
  const rows = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
    .select([
      'd.id',
      'd.workspace_id',
      'd.endpoint_id',
      'd.attempts',
      'd.first_attempt_at',
      'e.url',
      'e.secret',
      'e.previous_secret',
      'e.previous_secret_expires_at',
      'e.failing_since',
      'v.id as event_id',
      'v.type as event_type',
      'v.data as event_data',
      'v.created_at as event_created_at',
    ])
    .where(
      'd.id',
      'in',
      claimed.map((row) => row.id),
    )
    .orderBy('d.next_attempt_at')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    workspaceId: row.workspace_id,
    endpointId: row.endpoint_id,
    url: row.url,
    secrets: { secret: row.secret, previousSecret: row.previous_secret, previousSecretExpiresAt: msOrNull(row.previous_secret_expires_at) },
    failingSince: msOrNull(row.failing_since),
    eventId: row.event_id,
    eventType: row.event_type,
    eventData: row.event_data,
    eventCreatedAt: ms(row.event_created_at),
    attempts: row.attempts,
    firstAttemptAt: msOrNull(row.first_attempt_at),
  }));
}

export interface AttemptOutcome {
  attemptId: string;
  delivery: ClaimedDelivery;
  owner: string;
  status: 'SUCCEEDED' | 'FAILED';
  responseCode: number | null;
  error: string | null;
  durationMs: number;
  attemptedAt: number;
  /** The delivery's state after this attempt and, when PENDING, when to try again. */
  state: DeliveryState;
  nextAttemptAt: number | null;
  /** The endpoint's failure window after this attempt. */
  failingSince: number | null;
  /** Set when the endpoint must be disabled (410, failing too long). */
  disableReason: string | null;
}

/**
 * Logs the attempt and moves the delivery on, if this sender still holds its lease (false
 * otherwise: the attempt ran past its lease and another sender took the delivery over).
 */
export async function recordAttempt(db: Db, outcome: AttemptOutcome): Promise<boolean> {
  const { delivery } = outcome;
  const moved = await db
    .updateTable('webhook_deliveries')
    .set({
      state: outcome.state,
      attempts: delivery.attempts + 1,
      first_attempt_at: delivery.firstAttemptAt ?? outcome.attemptedAt,
      next_attempt_at: outcome.nextAttemptAt ?? outcome.attemptedAt,
      lease_owner: null,
      lease_expires_at: 0,
      updated_at: outcome.attemptedAt,
    })
    .where('id', '=', delivery.id)
    .where('lease_owner', '=', outcome.owner)
    .executeTakeFirst();
  if (Number(moved.numUpdatedRows) === 0) return false;
  await db
    .insertInto('webhook_attempts')
    .values({
      id: outcome.attemptId,
      workspace_id: delivery.workspaceId,
      endpoint_id: delivery.endpointId,
      event_id: delivery.eventId,
      event_type: delivery.eventType,
      attempt: delivery.attempts + 1,
      status: outcome.status,
      response_code: outcome.responseCode,
      error: outcome.error,
      duration_ms: outcome.durationMs,
      attempted_at: outcome.attemptedAt,
      next_retry_at: outcome.state === 'PENDING' ? outcome.nextAttemptAt : null,
    })
    .execute();
  await db
    .updateTable('webhook_endpoints')
    .set(
      outcome.disableReason
        ? { failing_since: outcome.failingSince, enabled: 0, disabled_reason: outcome.disableReason, updated_at: outcome.attemptedAt }
        : { failing_since: outcome.failingSince },
    )
    .where('id', '=', delivery.endpointId)
    .execute();
  if (outcome.disableReason) await bumpWebhooksVersion(db, delivery.workspaceId);
  return true;
}

/** Gives up this sender's leases (at shutdown), so another sender may take them at once. */
export async function releaseLeases(db: Db, owner: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('webhook_deliveries').set({ lease_owner: null, lease_expires_at: 0 }).where('lease_owner', '=', owner).where('id', 'in', ids).execute();
}

/** Attempts to one endpoint, newest first, before (attemptedAt ms, id) when given. */
export async function listAttempts(
  db: Db,
  workspaceId: string,
  endpointId: string,
  limit: number,
  before: { at: number; id: string } | null,
): Promise<WebhookAttemptRecord[]> {
  let query = db.selectFrom('webhook_attempts').selectAll().where('workspace_id', '=', workspaceId).where('endpoint_id', '=', endpointId);
  if (before) query = query.where((eb) => eb.or([eb('attempted_at', '<', before.at), eb.and([eb('attempted_at', '=', before.at), eb('id', '<', before.id)])]));
  const rows = await query.orderBy('attempted_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map(toAttemptRecord);
}

/**
 * Sends the endpoint's events since `since` again: their deliveries go back to PENDING, due
 * now, with a fresh retry budget. Returns how many.
 */
export async function requeueDeliveries(db: Db, workspaceId: string, endpointId: string, since: number, now: number): Promise<number> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({ state: 'PENDING', next_attempt_at: now, first_attempt_at: null, updated_at: now })
    .where('workspace_id', '=', workspaceId)
    .where('endpoint_id', '=', endpointId)
    .where('event_id', 'in', (eb) => eb.selectFrom('webhook_events').select('id').where('workspace_id', '=', workspaceId).where('created_at', '>=', since))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Retention: drops attempts logged before `before`, finished deliveries (delivered or given up)
 * of events older than it, and those events once no delivery of theirs is left.
 */
export async function pruneWebhooks(db: Db, before: number): Promise<{ attempts: number; events: number }> {
  const attempts = await db.deleteFrom('webhook_attempts').where('attempted_at', '<', before).executeTakeFirst();
  await db
    .deleteFrom('webhook_deliveries')
    .where('state', 'in', ['DELIVERED', 'FAILED'])
    .where('event_id', 'in', (eb) => eb.selectFrom('webhook_events').select('id').where('created_at', '<', before))
    .execute();
  const events = await db
    .deleteFrom('webhook_events')
    .where('created_at', '<', before)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('webhook_deliveries').select(sql<number>`1`.as('one')).whereRef('webhook_deliveries.event_id', '=', 'webhook_events.id'))))
    .executeTakeFirst();
  return { attempts: Number(attempts.numDeletedRows), events: Number(events.numDeletedRows) };
}

/** Every secret of an endpoint (tests and the sender's signing read them; the API never does). */
export async function findEndpointSecrets(db: Db, workspaceId: string, id: string): Promise<EndpointSecrets | null> {
  const row = await db
    .selectFrom('webhook_endpoints')
    .select(['secret', 'previous_secret', 'previous_secret_expires_at'])
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? { secret: row.secret, previousSecret: row.previous_secret, previousSecretExpiresAt: msOrNull(row.previous_secret_expires_at) } : null;
}

/** Deliveries still owed to enabled endpoints (the outbox backlog gauge); read at scrape time only. */
export async function countPendingDeliveries(db: Db): Promise<number> {
  const row = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('d.state', '=', 'PENDING')
    .where('e.enabled', '=', 1)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
