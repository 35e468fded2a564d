/** Per-request context: who is calling (workspace, key, actor, channel) and fresh loaders. */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { unauthenticated } from '../shared/errors';
import { createLoaders, type Loaders } from './loaders';
import type { Logger } from '../shared/logger';
import { authenticateKey, type VerifiedKeys } from '../services/keys';
import type { ApiKeyRecord, WorkspaceRecord } from '../store/records';
import type { Database } from '../store/tables';

export interface Context {
  db: Kysely<Database>;
  workspace: WorkspaceRecord;
  apiKey: ApiKeyRecord | null;
  /** Who acted: `X-Actor`, else the key's name, else `key:<prefix>`. */
  actor: string | null;
  /** Through which channel: `X-Via`, else `api`. */
  via: string;
  requestId: string;
  publicUrl: string;
  loaders: Loaders;
  logger: Logger;
}

export interface ContextDeps {
  db: Kysely<Database>;
  publicUrl: string;
  logger: Logger;
  /** Verified keys remembered for API_KEY_CACHE_TTL_MS; without it every request reads its key. */
  keys?: VerifiedKeys;
}

export interface Caller {
  workspace: WorkspaceRecord;
  apiKey: ApiKeyRecord | null;
  actor?: string | null;
  via?: string | null;
  requestId?: string;
}

/** Header values are bounded and trimmed before they land in the audit log. */
function headerText(value: string | undefined, max = 256): string | null {
  const text = value?.trim();
  return text ? text.slice(0, max) : null;
}

/**
 * A class rather than an object literal so that `logger`, a pino child carrying the request id,
 * is made on first use: most requests never log through it, and a child costs about 0.5 us and
 * a dozen properties. The getter sits on the prototype, which Apollo's per-request copy of the
 * context keeps (a getter in an object literal would be called by that copy).
 */
class RequestContext implements Context {
  readonly db: Kysely<Database>;
  readonly workspace: WorkspaceRecord;
  readonly apiKey: ApiKeyRecord | null;
  readonly actor: string | null;
  readonly via: string;
  readonly requestId: string;
  readonly publicUrl: string;
  readonly loaders: Loaders;
  private readonly parentLogger: Logger;
  private childLogger: Logger | undefined = undefined;

  constructor(deps: ContextDeps, caller: Caller) {
    this.db = deps.db;
    this.workspace = caller.workspace;
    this.apiKey = caller.apiKey;
    this.actor = caller.actor ?? (caller.apiKey ? (caller.apiKey.name ?? `key:${caller.apiKey.prefix}`) : null);
    this.via = caller.via ?? 'api';
    this.requestId = caller.requestId ?? crypto.randomUUID();
    this.publicUrl = deps.publicUrl;
    this.loaders = createLoaders(deps.db, caller.workspace.id);
    this.parentLogger = deps.logger;
  }

  get logger(): Logger {
    this.childLogger ??= this.parentLogger.child({ requestId: this.requestId });
    return this.childLogger;
  }
}

export function createContext(deps: ContextDeps, caller: Caller): Context {
  return new RequestContext(deps, caller);
}

export interface RequestHeaders {
  get(name: string): string | undefined;
}

/** The presented API key: `Authorization: Bearer <key>` or `X-Api-Key: <key>`. */
export function presentedKey(headers: RequestHeaders): string | null {
  const authorization = headers.get('authorization');
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? match[1] : null;
  }
  return headers.get('x-api-key')?.trim() || null;
}

/** Authenticates the request; throws UNAUTHENTICATED (HTTP 401) without a live key. */
export async function contextFromHeaders(deps: ContextDeps, headers: RequestHeaders, requestId: string): Promise<Context> {
  const key = presentedKey(headers);
  if (!key) {
    throw unauthenticated('An API key is required: send `Authorization: Bearer <key>` or `X-Api-Key: <key>`.');
  }
  const found = deps.keys ? await deps.keys.authenticate(deps.db, key) : await authenticateKey(deps.db, key);
  if (!found) throw unauthenticated('The API key is invalid or has been revoked.');
  return createContext(deps, {
    workspace: found.workspace,
    apiKey: found.key,
    actor: headerText(headers.get('x-actor')),
    via: headerText(headers.get('x-via'), 64),
    requestId,
  });
}
