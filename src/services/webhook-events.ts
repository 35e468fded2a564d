/**
 * The webhook outbox: which changes become events, what an event carries, and recording it in
 * the transaction of the change (commitCustomerChange), so a rolled-back change sends nothing
 * and a committed one is delivered even if the process dies right after the commit.
 */
import { newId } from '../shared/ids';
import { LruCache } from '../shared/lru';
import type { Tx } from '../store/engine';
import { insertOutboxEvent, subscribedEndpoints } from '../store/webhooks.repository';

/** The public event names (DESIGN.md, "Change notifications"): the audit action types that are sent. */
export const WEBHOOK_EVENT_TYPES = [
  'CUSTOMER_CREATED',
  'CUSTOMER_UPDATED',
  'CUSTOMER_ARCHIVED',
  'CUSTOMER_RESTORED',
  'CUSTOMER_ERASED',
  'CUSTOMER_MERGED',
  'MEMBER_ADDED',
  'MEMBER_UPDATED',
  'MEMBER_REMOVED',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const EVENT_TYPES: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);

/** An audit action type is sent as the event of the same name; other actions are not sent. */
export function eventTypeOf(actionType: string): WebhookEventType | null {
  return EVENT_TYPES.has(actionType) ? (actionType as WebhookEventType) : null;
}

export function isWebhookEventType(value: string): value is WebhookEventType {
  return EVENT_TYPES.has(value);
}

/** `CUSTOMER_CREATED` -> `customer.created`, the body's `type`. */
export function dottedType(type: string): string {
  const [subject, ...verb] = type.toLowerCase().split('_');
  return `${subject}.${verb.join('_')}`;
}

/** The body's `data`: ids and version only, so no personal data is kept in the outbox. */
export interface EventData {
  id: string;
  externalId: string | null;
  version: number;
  memberId?: string;
}

/** The JSON body a receiver gets; built from the stored event, so every retry sends the same bytes. */
export function eventBody(type: string, createdAt: number, data: string): string {
  return `{"type":${JSON.stringify(dottedType(type))},"timestamp":${JSON.stringify(new Date(createdAt).toISOString())},"data":${data}}`;
}

interface Subscribers {
  version: number;
  endpoints: { id: string; events: ReadonlySet<string> }[];
}

/**
 * Enabled endpoints per workspace, as of a webhooks version. A write reads the version with its
 * change sequence (same statement), so a hit costs nothing and a miss one query; endpoint
 * changes in any process bump the version, so no process keeps a stale list.
 */
const subscribers = new LruCache<Subscribers>(10_000);
const NONE: Subscribers = { version: -1, endpoints: [] };

async function subscribersOf(trx: Tx, workspaceId: string, version: number): Promise<Subscribers> {
  // Version 0: the workspace never had an endpoint.
  if (version === 0) return NONE;
  const cached = subscribers.get(workspaceId, () => NONE);
  if (cached.version === version) return cached;
  const rows = await subscribedEndpoints(trx, workspaceId);
  const fresh: Subscribers = { version, endpoints: rows.map((row) => ({ id: row.id, events: new Set(row.events) })) };
  subscribers.delete(workspaceId);
  subscribers.get(workspaceId, () => fresh);
  return fresh;
}

export interface ChangeEvent {
  workspaceId: string;
  /** The audit action type of the change. */
  actionType: string;
  data: EventData;
  at: number;
}

/**
 * Told after an event is written (before its commit): lets the senders of this process look
 * sooner than their next poll. Only a hint; the poll finds every event without it.
 */
const outboxListeners = new Set<() => void>();

/** Registers a sender to hear of new events; returns the unregistration. */
export function listenToOutbox(listener: () => void): () => void {
  outboxListeners.add(listener);
  return () => outboxListeners.delete(listener);
}

/** Records the change's event for every enabled endpoint subscribed to its type, in `trx`. */
export async function recordChangeEvent(trx: Tx, webhooksVersion: number, change: ChangeEvent): Promise<void> {
  const type = eventTypeOf(change.actionType);
  if (type === null) return;
  const { endpoints } = await subscribersOf(trx, change.workspaceId, webhooksVersion);
  if (endpoints.length === 0) return;
  const targets = endpoints.filter((endpoint) => endpoint.events.has(type)).map((endpoint) => endpoint.id);
  if (targets.length === 0) return;
  await insertOutboxEvent(trx, { id: newId(), workspaceId: change.workspaceId, type, data: JSON.stringify(change.data), createdAt: change.at }, targets, newId);
  for (const listener of outboxListeners) listener();
}
