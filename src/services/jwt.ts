import {
  createLocalJWKSet,
  createRemoteJWKSet,
  jwtVerify,
  type FlattenedJWSInput,
  type LocalJWKSet,
  type RemoteJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { LruCache } from '../shared/lru';
import { SELF_SCOPE } from './scopes';

/**
 * Bearer tokens from the product's own identity provider: signature against the provider's
 * published key set (JWKS), issuer, audience, time window, and the claims the gateway needs.
 * A bearer value that is a JWT is checked here; a `cgk_` key never reaches this module.
 */

/** The JWT_* settings; present only when JWT_JWKS_URL is set. */
export interface JwtSettings {
  jwksUrl: URL;
  issuer: string;
  audience: string;
  /** Claim holding the workspace NAME the token acts in. */
  workspaceClaim: string;
  /** Claim matched against a customer's externalId for `customer:self` tokens. */
  customerClaim: string;
}

export const JWT_ALGORITHMS = ['RS256', 'ES256'] as const;
export const JWT_CLOCK_TOLERANCE_SECONDS = 60;
export const JWT_DEFAULT_WORKSPACE_CLAIM = 'workspace';
export const JWT_DEFAULT_CUSTOMER_CLAIM = 'sub';
/** Longer values are refused unread, so neither parsing nor the cache holds unbounded client bytes. */
export const MAX_TOKEN_LENGTH = 8192;

/** A JWKS fetch that hangs must not hold requests longer than this. */
const JWKS_TIMEOUT_MS = 5_000;
/** An unknown `kid` refetches the key set at most once per this interval. */
const JWKS_COOLDOWN_MS = 30_000;
/** A key set older than this is fetched again before use, so a revoked key stops verifying. */
const JWKS_MAX_AGE_MS = 10 * 60_000;
/** After a failed fetch, requests use the last good keys (or fail fast) for this long instead of fetching. */
const JWKS_RETRY_AFTER_FAILURE_MS = 5_000;
/** A verified token is trusted this long (or until it expires, if sooner) without checking it again. */
const VERIFIED_TOKEN_TTL_MS = 30_000;
const VERIFIED_TOKEN_CACHE_SIZE = 4096;

/** What a verified token grants. */
export interface JwtIdentity {
  /** The `sub` claim: the audit actor and, with the workspace, the rate-limit bucket. */
  subject: string;
  workspaceName: string;
  scopes: ReadonlySet<string>;
  /** The customer claim's value (an externalId); required when the scopes hold `customer:self`. */
  customerRef: string | null;
  /** The `exp` claim, in seconds since the epoch. */
  expiresAt: number;
}

export type JwtRejection =
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'unknown_signer'
  | 'missing_claim';

/** The token itself fails a check. The message names the check and never quotes the token. */
export class JwtRejected extends Error {
  override readonly name = 'JwtRejected';
  constructor(
    readonly reason: JwtRejection,
    detail: string,
  ) {
    super(`Bearer token rejected: ${detail}`);
  }
}

/** No key can be had: the key set cannot be fetched and none is cached. Retrying later may succeed. */
export class JwksUnavailable extends Error {
  override readonly name = 'JwksUnavailable';
  /** `cause`: what the fetch or the key set failed with, for the log; the client sees only the message. */
  constructor(cause?: unknown) {
    super("The identity provider's signing keys cannot be fetched right now; retry later", { cause });
  }
}

export type JwtFailure = JwtRejected | JwksUnavailable;

export function isJwtFailure(error: unknown): error is JwtFailure {
  return error instanceof JwtRejected || error instanceof JwksUnavailable;
}

export interface JwtFailureResponse {
  code: 'UNAUTHENTICATED' | 'SERVICE_UNAVAILABLE';
  status: 401 | 503;
  message: string;
}

/** How a failure is answered: a bad token is the client's problem, missing keys are ours and retryable. */
export function jwtFailureResponse(failure: JwtFailure): JwtFailureResponse {
  if (failure instanceof JwksUnavailable) return { code: 'SERVICE_UNAVAILABLE', status: 503, message: failure.message };
  return { code: 'UNAUTHENTICATED', status: 401, message: failure.message };
}

type Header = Parameters<JWTVerifyGetKey>[0];
type Key = Awaited<ReturnType<JWTVerifyGetKey>>;

/**
 * jose's remote key set (cached, refetched on an unknown `kid` at most once per cooldown, with a
 * timeout), plus what it lacks: while the provider is unreachable, the last keys it served keep
 * verifying, and no request fetches again until a pause has passed, so traffic cannot turn an
 * outage into one fetch per request.
 */
class KeySource {
  private readonly remote: RemoteJWKSet;
  private failedAt = Number.NEGATIVE_INFINITY;
  private lastGood: LocalJWKSet | null = null;

  constructor(url: URL) {
    this.remote = createRemoteJWKSet(url, {
      timeoutDuration: JWKS_TIMEOUT_MS,
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_MAX_AGE_MS,
    });
  }

  readonly getKey = async (header: Header, token: FlattenedJWSInput): Promise<Key> => {
    if (Date.now() < this.failedAt + JWKS_RETRY_AFTER_FAILURE_MS) return this.fromLastGood(header, token);
    try {
      return await this.remote(header, token);
    } catch (error) {
      if (isNoKeyForToken(error)) throw error;
      this.failedAt = Date.now();
      const keys = this.remote.jwks();
      this.lastGood = keys ? createLocalJWKSet(keys) : null;
      return this.fromLastGood(header, token, error);
    }
  };

  private async fromLastGood(header: Header, token: FlattenedJWSInput, failure?: unknown): Promise<Key> {
    if (!this.lastGood) throw new JwksUnavailable(failure);
    try {
      return await this.lastGood(header, token);
    } catch (error) {
      if (joseCode(error) === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
      // No usable key here, and the provider, which may have published one since, cannot be asked.
      throw new JwksUnavailable(failure ?? error);
    }
  }
}

/** The key set answered, and holds no single key for this token: the token's fault, not the set's. */
function isNoKeyForToken(error: unknown): boolean {
  const code = joseCode(error);
  return code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS';
}

function joseCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

interface CachedVerification {
  identity: Promise<JwtIdentity>;
  /** Milliseconds since the epoch; unbounded while the verification is still running. */
  expiresAt: number;
}

export interface JwtVerifierOptions {
  /** Most verified tokens kept. */
  cacheSize?: number;
}

export class JwtVerifier {
  private readonly keys: KeySource;
  /** Verified tokens (and ones being verified, so concurrent requests share one check); failures are dropped. */
  private readonly verified: LruCache<CachedVerification>;
  private verificationCount = 0;

  constructor(
    private readonly settings: JwtSettings,
    options: JwtVerifierOptions = {},
  ) {
    this.keys = new KeySource(settings.jwksUrl);
    this.verified = new LruCache(options.cacheSize ?? VERIFIED_TOKEN_CACHE_SIZE);
  }

  /** Full verifications run so far (cache hits excluded). */
  get verifications(): number {
    return this.verificationCount;
  }

  get cachedTokens(): number {
    return this.verified.size;
  }

  /** The identity a token grants; rejects with a JwtRejected or JwksUnavailable. */
  verify(token: string): Promise<JwtIdentity> {
    if (token.length > MAX_TOKEN_LENGTH) {
      return Promise.reject(new JwtRejected('malformed', `it is longer than ${MAX_TOKEN_LENGTH} characters`));
    }
    let entry = this.verified.get(token, () => this.start(token));
    if (entry.expiresAt <= Date.now()) {
      this.verified.delete(token);
      entry = this.verified.get(token, () => this.start(token));
    }
    return entry.identity;
  }

  private start(token: string): CachedVerification {
    const entry: CachedVerification = { identity: this.check(token), expiresAt: Number.POSITIVE_INFINITY };
    entry.identity.then(
      (identity) => {
        entry.expiresAt = Math.min(identity.expiresAt * 1000, Date.now() + VERIFIED_TOKEN_TTL_MS);
      },
      () => this.verified.delete(token),
    );
    return entry;
  }

  private async check(token: string): Promise<JwtIdentity> {
    this.verificationCount += 1;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys.getKey, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: [...JWT_ALGORITHMS],
        clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(Date.now()),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw rejectionFor(error);
    }
    return identityFrom(payload, this.settings);
  }
}

function identityFrom(payload: JWTPayload, settings: JwtSettings): JwtIdentity {
  const subject = stringClaim(payload, 'sub');
  const workspaceName = stringClaim(payload, settings.workspaceClaim);
  if (subject === null) throw new JwtRejected('missing_claim', 'its "sub" claim is missing or not a non-empty string');
  if (workspaceName === null) {
    throw new JwtRejected('missing_claim', `its "${settings.workspaceClaim}" claim (the workspace name) is missing or not a non-empty string`);
  }
  const scopes = scopesFrom(payload.scope);
  const customerRef = stringClaim(payload, settings.customerClaim);
  if (customerRef === null && scopes.has(SELF_SCOPE)) {
    throw new JwtRejected('missing_claim', `it has scope ${SELF_SCOPE} but no "${settings.customerClaim}" claim naming the customer`);
  }
  return { subject, workspaceName, scopes, customerRef, expiresAt: payload.exp as number };
}

function stringClaim(payload: JWTPayload, claim: string): string | null {
  const value = payload[claim];
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The `scope` claim: space-separated per RFC 8693, though some providers send an array. */
function scopesFrom(claim: unknown): ReadonlySet<string> {
  if (claim === undefined) return new Set();
  if (typeof claim === 'string') return new Set(claim.split(' ').filter((scope) => scope !== ''));
  if (Array.isArray(claim) && claim.every((scope) => typeof scope === 'string')) return new Set(claim);
  throw new JwtRejected('malformed', 'its "scope" claim is neither a space-separated string nor an array of strings');
}

/** jose's failure as ours; jose's own messages are not passed on, so nothing from the token leaks. */
function rejectionFor(error: unknown): Error {
  if (isJwtFailure(error)) return error;
  switch (joseCode(error)) {
    case 'ERR_JWT_EXPIRED':
      return new JwtRejected('expired', 'it has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimRejection(error as { claim: string; reason: string });
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new JwtRejected('unknown_signer', `it is not signed with ${JWT_ALGORITHMS.join(' or ')}`);
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new JwtRejected('unknown_signer', "no key in the identity provider's key set matches its key id and algorithm");
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new JwtRejected('unknown_signer', 'it names no key id (kid) and several keys could have signed it');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new JwtRejected('unknown_signer', "its signature does not verify with the identity provider's key");
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new JwtRejected('malformed', 'it is not a well-formed signed JWT');
    default:
      return error instanceof Error ? error : new Error(`JWT verification failed with a non-error: ${typeof error}`);
  }
}

/** jose's JWTClaimValidationFailed: which claim, and whether it was missing or failed its check. */
function claimRejection({ claim, reason }: { claim: string; reason: string }): JwtRejected {
  if (claim === 'iss') return new JwtRejected('wrong_issuer', 'its issuer ("iss") is not the configured JWT_ISSUER');
  if (claim === 'aud') return new JwtRejected('wrong_audience', 'its audience ("aud") does not include the configured JWT_AUDIENCE');
  if (reason === 'missing') return new JwtRejected('missing_claim', `its "${claim}" claim is missing`);
  if (reason !== 'check_failed') return new JwtRejected('malformed', `its "${claim}" claim is not valid`);
  switch (claim) {
    case 'nbf':
      return new JwtRejected('not_yet_valid', 'it is not valid yet ("nbf" is in the future)');
    case 'iat':
      return new JwtRejected('not_yet_valid', 'it was issued in the future ("iat")');
    default:
      return new JwtRejected('malformed', `its "${claim}" claim is not valid`);
  }
}
