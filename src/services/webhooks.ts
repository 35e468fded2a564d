/** Webhook endpoint management: the GraphQL mutations and connections of `webhooks:manage`. */
import type {
  CreateWebhookEndpointInput,
  RedeliverWebhookEventsInput,
  RotateWebhookSecretInput,
  UpdateWebhookEndpointInput,
} from '../generated/graphql';
import { newId, isUuid } from '../shared/ids';
import { withTransaction, type Db, type Tx } from '../store/engine';
import {
  bumpWebhooksVersion,
  countEndpoints,
  deleteEndpoint,
  findEndpoint,
  insertEndpoint,
  listAttempts,
  listEndpoints,
  requeueDeliveries,
  rotateEndpointSecret,
  updateEndpoint,
  type WebhookAttemptRecord,
  type WebhookEndpointRecord,
} from '../store/webhooks.repository';
import { pageSizesOf } from './connections';
import { buildConnection, decodePageCursor, encodePageCursor, parsePaging, type ConnectionModel } from './paging';
import { newSigningSecret } from './webhook-signing';
import { urlProblem, type TargetPolicy } from './webhook-target';
import { LIMITS, Problems, checkText, type FieldError } from './validation';

/** Each endpoint is a stream of outgoing requests per change; more than this is a misconfiguration. */
export const MAX_ENDPOINTS = 20;
const DEFAULT_GRACE_HOURS = 24;
const MAX_GRACE_HOURS = 168;

export interface EndpointResult {
  webhookEndpoint: WebhookEndpointRecord | null;
  userErrors: FieldError[];
}

function failed(problems: Problems): EndpointResult & { signingSecret: null } {
  return { webhookEndpoint: null, signingSecret: null, userErrors: problems.list };
}

function checkEndpointUrl(url: string, policy: TargetPolicy, problems: Problems): string | undefined {
  const trimmed = url.trim();
  if (trimmed.length > LIMITS.url) {
    problems.add(['url'], 'TOO_LONG', `must be at most ${LIMITS.url} characters`);
    return undefined;
  }
  const problem = urlProblem(trimmed, policy);
  if (problem) {
    problems.add(['url'], 'INVALID', `url ${problem}`);
    return undefined;
  }
  return new URL(trimmed).toString();
}

function checkEvents(events: readonly string[], problems: Problems): string[] | undefined {
  if (events.length === 0) {
    problems.add(['events'], 'REQUIRED', 'subscribe to at least one event');
    return undefined;
  }
  return [...new Set(events)];
}

function checkDescription(value: string | null | undefined, problems: Problems): string | null | undefined {
  return value == null ? null : checkText(value, LIMITS.shortText, ['description'], problems);
}

/** The endpoint `id` names in this workspace, or a NOT_FOUND problem. */
async function existing(trx: Tx, workspaceId: string, id: string, field: string, problems: Problems): Promise<WebhookEndpointRecord | null> {
  const found = isUuid(id) ? await findEndpoint(trx, workspaceId, id) : null;
  if (!found) problems.add([field], 'NOT_FOUND', 'no webhook endpoint with this id in the workspace');
  return found;
}

export async function createWebhookEndpoint(db: Db, workspaceId: string, input: CreateWebhookEndpointInput, policy: TargetPolicy) {
  return withTransaction(db, async (trx) => {
    const problems = new Problems();
    const url = checkEndpointUrl(input.url, policy, problems);
    const events = checkEvents(input.events, problems);
    const description = checkDescription(input.description, problems);
    if ((await countEndpoints(trx, workspaceId)) >= MAX_ENDPOINTS) {
      problems.add(null, 'LIMIT_EXCEEDED', `a workspace can have at most ${MAX_ENDPOINTS} webhook endpoints; delete one first`);
    }
    if (!problems.empty || url === undefined || events === undefined || description === undefined) return failed(problems);
    const now = new Date().toISOString();
    const signingSecret = newSigningSecret();
    const endpoint: WebhookEndpointRecord = { id: newId(), workspaceId, url, events, description, enabled: true, disabledReason: null, createdAt: now, updatedAt: now };
    await insertEndpoint(trx, { ...endpoint, secret: signingSecret });
    await bumpWebhooksVersion(trx, workspaceId);
    return { webhookEndpoint: endpoint, signingSecret, userErrors: [] };
  });
}

export async function updateWebhookEndpoint(db: Db, workspaceId: string, input: UpdateWebhookEndpointInput, policy: TargetPolicy): Promise<EndpointResult> {
  return withTransaction(db, async (trx) => {
    const problems = new Problems();
    const url = input.url == null ? undefined : checkEndpointUrl(input.url, policy, problems);
    const events = input.events == null ? undefined : checkEvents(input.events, problems);
    const description = input.description === undefined ? undefined : checkDescription(input.description, problems);
    const current = await existing(trx, workspaceId, input.id, 'id', problems);
    if (!problems.empty || !current) return failed(problems);
    const enabled = input.enabled ?? current.enabled;
    const next: WebhookEndpointRecord = {
      ...current,
      url: url ?? current.url,
      events: events ?? current.events,
      description: description === undefined ? current.description : description,
      enabled,
      disabledReason: enabled ? null : input.enabled === false ? null : current.disabledReason,
      updatedAt: new Date().toISOString(),
    };
    await updateEndpoint(trx, next);
    await bumpWebhooksVersion(trx, workspaceId);
    return { webhookEndpoint: next, userErrors: [] };
  });
}

export async function deleteWebhookEndpoint(db: Db, workspaceId: string, id: string) {
  return withTransaction(db, async (trx) => {
    const problems = new Problems();
    if (!(await existing(trx, workspaceId, id, 'id', problems))) return { deletedWebhookEndpointId: null, userErrors: problems.list };
    await deleteEndpoint(trx, workspaceId, id);
    await bumpWebhooksVersion(trx, workspaceId);
    return { deletedWebhookEndpointId: id, userErrors: [] };
  });
}

export async function rotateWebhookSecret(db: Db, workspaceId: string, input: RotateWebhookSecretInput) {
  return withTransaction(db, async (trx) => {
    const problems = new Problems();
    const hours = input.gracePeriodHours ?? DEFAULT_GRACE_HOURS;
    if (!Number.isInteger(hours) || hours < 0 || hours > MAX_GRACE_HOURS) {
      problems.add(['gracePeriodHours'], 'INVALID', `must be a whole number of hours from 0 to ${MAX_GRACE_HOURS}`);
    }
    const current = await existing(trx, workspaceId, input.id, 'id', problems);
    if (!problems.empty || !current) return { ...failed(problems), previousSecretExpiresAt: null };
    const now = Date.now();
    const expires = now + hours * 3600_000;
    const signingSecret = newSigningSecret();
    await rotateEndpointSecret(trx, workspaceId, current.id, signingSecret, expires, now);
    const webhookEndpoint = { ...current, updatedAt: new Date(now).toISOString() };
    return { webhookEndpoint, signingSecret, previousSecretExpiresAt: new Date(expires).toISOString(), userErrors: [] };
  });
}

export async function redeliverWebhookEvents(db: Db, workspaceId: string, input: RedeliverWebhookEventsInput) {
  return withTransaction(db, async (trx) => {
    const problems = new Problems();
    const since = Date.parse(input.since);
    const endpoint = await existing(trx, workspaceId, input.endpointId, 'endpointId', problems);
    if (!problems.empty || !endpoint) return { queued: null, userErrors: problems.list };
    return { queued: await requeueDeliveries(trx, workspaceId, endpoint.id, since, Date.now()), userErrors: [] };
  });
}

interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
}

const noCount = () => Promise.reject(new Error('webhook connections have no totalCount'));

function keysetAfter(ordering: string, cursor: string | null): { at: number; id: string } | null {
  if (cursor === null) return null;
  const position = decodePageCursor(ordering, cursor, 'after');
  return { at: Number(position.value), id: position.id };
}

export async function webhookEndpointPage(db: Db, workspaceId: string, args: ConnectionArgs): Promise<ConnectionModel<WebhookEndpointRecord>> {
  const paging = parsePaging(args, pageSizesOf('Query.webhookEndpoints'));
  const rows = await listEndpoints(db, workspaceId, paging.limit + 1, keysetAfter('webhookEndpoints', paging.cursor));
  return buildConnection(rows, paging, (row) => encodePageCursor('webhookEndpoints', { value: String(Date.parse(row.createdAt)), id: row.id }), noCount);
}

/** Attempts to one endpoint of the workspace; an id of another workspace gives an empty page. */
export async function webhookDeliveryPage(db: Db, workspaceId: string, endpointId: string, args: ConnectionArgs): Promise<ConnectionModel<WebhookAttemptRecord>> {
  const paging = parsePaging(args, pageSizesOf('Query.webhookDeliveries'));
  const rows = await listAttempts(db, workspaceId, endpointId, paging.limit + 1, keysetAfter('webhookDeliveries', paging.cursor));
  return buildConnection(rows, paging, (row) => encodePageCursor('webhookDeliveries', { value: String(row.attemptedAtMs), id: row.id }), noCount);
}
