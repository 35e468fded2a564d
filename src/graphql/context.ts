/**
 * Per-request context: who is calling (workspace, API key or token, scopes, actor, channel) and
 * fresh loaders that see what the caller may see.
 */
import crypto from 'node:crypto';
import { serviceUnavailable, unauthenticated } from '../shared/errors';
import { createLoaders, type Loaders, type Visibility } from './loaders';
import type { Logger } from '../shared/logger';
import { isJwtFailure, jwtFailureResponse } from '../services/jwt';
import { authenticateKey, type VerifiedKeys } from '../services/keys';
import { ALL_KEY_SCOPES, effectiveScopes } from '../services/scopes';
import type { TokenAuthenticator, TokenPrincipal } from '../services/tokens';
import type { TargetPolicy } from '../services/webhook-target';
import type { ApiKeyRecord, WorkspaceRecord } from '../store/records';
import type { Db } from '../store/engine';

export interface Context {
  db: Db;
  workspace: WorkspaceRecord;
  apiKey: ApiKeyRecord | null;
  /** What the credential may do (src/services/scopes.ts), implications applied. */
  scopes: ReadonlySet<string>;
  /** Whose rate-limit bucket and idempotency keys: the API key's id, or `jwt:<workspace id>:<sub>` for a token. */
  principalId: string;
  /** Whether the principal is rate limited (keys made with --no-rate-limit are not; tokens always are). */
  rateLimited: boolean;
  /** For an end user (scope `customer:self`): the id of their own customer, null when none exists. */
  self: { customerId: string | null } | null;
  /** Who acted: a token's `sub`; else `X-Actor`, else the key's name, else `key:<prefix>`. */
  actor: string | null;
  /** Through which channel: `X-Via`, else `api`. */
  via: string;
  requestId: string;
  publicUrl: string;
  /** Which webhook targets endpoints may name (WEBHOOK_ALLOW_PRIVATE_TARGETS). */
  webhookTargets: TargetPolicy;
  loaders: Loaders;
  logger: Logger;
}

export interface ContextDeps {
  db: Db;
  publicUrl: string;
  logger: Logger;
  /** Verified keys remembered for API_KEY_CACHE_TTL_MS; without it every request reads its key. */
  keys?: VerifiedKeys;
  /** Bearer tokens that are not `cgk_` keys; without it (no JWT_JWKS_URL) they are refused as keys. */
  tokens?: TokenAuthenticator;
  /** Without it, endpoints on loopback and private networks are refused. */
  webhookTargets?: TargetPolicy;
}

const PUBLIC_TARGETS_ONLY: TargetPolicy = { allowPrivateTargets: false };

/** A caller that presented a verified token instead of an API key. */
export type TokenCaller = Omit<TokenPrincipal, 'workspace'>;

export interface Caller {
  workspace: WorkspaceRecord;
  apiKey: ApiKeyRecord | null;
  token?: TokenCaller;
  actor?: string | null;
  via?: string | null;
  requestId?: string;
}

/** A key's scopes as a set, made once per key record (the key cache hands out the same record). */
const keyScopes = new WeakMap<ApiKeyRecord, ReadonlySet<string>>();

function scopesOfKey(key: ApiKeyRecord): ReadonlySet<string> {
  if (key.scopes === null) return ALL_KEY_SCOPES;
  let scopes = keyScopes.get(key);
  if (!scopes) keyScopes.set(key, (scopes = effectiveScopes(key.scopes)));
  return scopes;
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
  readonly db: Db;
  readonly workspace: WorkspaceRecord;
  readonly apiKey: ApiKeyRecord | null;
  readonly scopes: ReadonlySet<string>;
  readonly principalId: string;
  readonly rateLimited: boolean;
  readonly self: { customerId: string | null } | null;
  readonly actor: string | null;
  readonly via: string;
  readonly requestId: string;
  readonly publicUrl: string;
  readonly webhookTargets: TargetPolicy;
  readonly loaders: Loaders;
  private readonly parentLogger: Logger;
  private childLogger: Logger | undefined = undefined;

  constructor(deps: ContextDeps, caller: Caller) {
    this.db = deps.db;
    this.workspace = caller.workspace;
    this.apiKey = caller.apiKey;
    const { token } = caller;
    // In-process callers with neither (tests, tools) are trusted like a key without scopes.
    this.scopes = token ? token.scopes : caller.apiKey ? scopesOfKey(caller.apiKey) : ALL_KEY_SCOPES;
    this.principalId = token ? `jwt:${caller.workspace.id}:${token.subject}` : (caller.apiKey?.id ?? '');
    this.rateLimited = token ? true : (caller.apiKey?.rateLimited ?? false);
    this.self = token?.self ?? null;
    // A token's subject is who acted: an end user must not be able to name someone else.
    this.actor = token ? token.subject : (caller.actor ?? (caller.apiKey ? (caller.apiKey.name ?? `key:${caller.apiKey.prefix}`) : null));
    this.via = caller.via ?? 'api';
    this.requestId = caller.requestId ?? crypto.randomUUID();
    this.publicUrl = deps.publicUrl;
    this.webhookTargets = deps.webhookTargets ?? PUBLIC_TARGETS_ONLY;
    const visibility: Visibility = this.self ? { kind: 'self', customerId: this.self.customerId } : { kind: 'workspace' };
    this.loaders = createLoaders(deps.db, caller.workspace.id, visibility);
    this.parentLogger = deps.logger;
  }

  get logger(): Logger {
    this.childLogger ??= this.parentLogger.child({ request_id: this.requestId });
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

/** A bearer value that is not an API key is a token (DESIGN.md), when tokens are configured. */
async function tokenCaller(tokens: TokenAuthenticator, deps: ContextDeps, token: string): Promise<TokenPrincipal> {
  let principal: TokenPrincipal | null;
  try {
    principal = await tokens.authenticate(deps.db, token);
  } catch (error) {
    if (!isJwtFailure(error)) throw error;
    const answer = jwtFailureResponse(error);
    throw answer.status === 503 ? serviceUnavailable(answer.message) : unauthenticated(answer.message);
  }
  if (!principal) throw unauthenticated('The token is not valid here: its workspace claim names no workspace of this gateway.');
  return principal;
}

/** Authenticates the request; throws UNAUTHENTICATED (HTTP 401) without a live key or a valid token. */
export async function contextFromHeaders(deps: ContextDeps, headers: RequestHeaders, requestId: string): Promise<Context> {
  const presented = presentedKey(headers);
  if (!presented) {
    throw unauthenticated('An API key or token is required: send `Authorization: Bearer <key or token>` or `X-Api-Key: <key>`.');
  }
  const via = headerText(headers.get('x-via'), 64);
  if (deps.tokens && !presented.startsWith('cgk_') && headers.get('authorization') !== undefined) {
    const { workspace, ...token } = await tokenCaller(deps.tokens, deps, presented);
    return createContext(deps, { workspace, apiKey: null, token, via, requestId });
  }
  const found = deps.keys ? await deps.keys.authenticate(deps.db, presented) : await authenticateKey(deps.db, presented);
  if (!found) throw unauthenticated('The API key is invalid or has been revoked.');
  return createContext(deps, {
    workspace: found.workspace,
    apiKey: found.key,
    actor: headerText(headers.get('x-actor')),
    via,
    requestId,
  });
}
