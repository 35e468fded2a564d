import { isIP } from 'node:net';
import { DEFAULT_LIMITS, type LimitSettings } from './graphql/limits/settings';
import { JWT_DEFAULT_CUSTOMER_CLAIM, JWT_DEFAULT_WORKSPACE_CLAIM, type JwtSettings } from './services/jwt';
import { DEFAULT_BUCKET, DEFAULT_MAX_QUERY_COST } from './graphql/limits/plugin';
import type { HttpTimeouts } from './http/server';
import type { LogFormat } from './shared/logger';
import { OTLP_PROTOCOLS, TRACES_SAMPLERS, type OtlpProtocol, type TracesSampler, type TracingSettings } from './shared/tracing';

/**
 * Configuration from the environment: one place that names every variable, its default and
 * its check, so a bad value stops the process at start with a message naming the variable.
 */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  publicUrl: string;
  logLevel: string;
  /** LOG_FORMAT: `json` or `pretty`; unset: pretty when stdout is a terminal. */
  logFormat: LogFormat | undefined;
  /** Prometheus metrics at `/metrics` (METRICS=off turns them off). */
  metrics: boolean;
  /** When set, `/metrics` requires it as a bearer token. */
  metricsToken: string | undefined;
  /** OpenTelemetry traces: on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. */
  tracing: TracingSettings | undefined;
  /** Run migrations on start (MIGRATE=false refuses to start on an unmigrated database). */
  migrate: boolean;
  /** Serve the explorer page at `/`. */
  explorer: boolean;
  /** Grace period for in-flight requests on SIGTERM/SIGINT, in milliseconds. */
  shutdownTimeoutMs: number;
  poolSize: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  /** Request limits: MAX_QUERY_TOKENS, MAX_QUERY_DEPTH, MAX_ALIASES, MAX_DIRECTIVES, MAX_REQUESTED_NODES, EXECUTION_TIMEOUT_MS, TRUSTED_GATEWAY. */
  limits: LimitSettings;
  /** node:http timeouts: HTTP_REQUEST_TIMEOUT_MS, HTTP_HEADERS_TIMEOUT_MS, HTTP_KEEP_ALIVE_TIMEOUT_MS. */
  httpTimeouts: HttpTimeouts;
  /** Most points one operation may cost (0: no limit). */
  maxQueryCost: number;
  /** Per-API-key rate limiting (RATE_LIMIT=off turns it off). */
  rateLimit: boolean;
  /** Points in each key's leaky bucket. */
  rateLimitBucket: number;
  /** Points restored to each bucket per second. */
  rateLimitRestore: number;
  /** How long a verified API key is trusted before it is read again (0: every request). */
  apiKeyCacheTtlMs: number;
  /** Browser origins allowed to call the gateway cross-origin (CORS_ORIGINS, exact matches; empty: none). */
  corsOrigins: string[];
  /** JWT bearer tokens: JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, JWT_WORKSPACE_CLAIM, JWT_CUSTOMER_CLAIM (off unless JWT_JWKS_URL is set). */
  jwt: JwtSettings | undefined;
  /** Webhooks may target loopback and private networks, and plain http on loopback (WEBHOOK_ALLOW_PRIVATE_TARGETS; development and tests). */
  webhookAllowPrivateTargets: boolean;
  /** Days delivered webhook events and attempt logs are kept (WEBHOOK_RETENTION_DAYS). */
  webhookRetentionDays: number;
}

type Env = Record<string, string | undefined>;

function intVar(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function boolVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'off', 'no'].includes(raw)) return false;
  throw new Error(`${name} must be true/false (or on/off, 1/0), got ${JSON.stringify(env[name])}`);
}

/**
 * A comma-separated list of origins, each exactly as a browser sends it in `Origin` (lower-case
 * scheme and host, no default port, no path), since they are matched as exact strings.
 */
function originsVar(env: Env, name: string): string[] {
  const entries = (env[name] ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries) {
    let origin: string | undefined;
    try {
      const url = new URL(entry);
      if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
    } catch {
      origin = undefined;
    }
    if (entry !== origin) {
      const hint = origin === undefined ? '' : ` (did you mean ${origin}?)`;
      throw new Error(`${name} entries must be origins such as https://app.example.com (http(s)://host[:port], no path, no wildcard), got ${JSON.stringify(entry)}${hint}`);
    }
  }
  return [...new Set(entries)];
}

export function loadConfig(env: Env = process.env): Config {
  const port = intVar(env, 'PORT', 4000, 0, 65535);
  const publicUrl = (env.PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(publicUrl)) {
    throw new Error(`PUBLIC_URL must be an absolute http(s) URL, got ${JSON.stringify(env.PUBLIC_URL)}`);
  }
  return {
    port,
    host: env.HOST || '0.0.0.0',
    dataDir: env.DATA_DIR || './data',
    databaseUrl: env.DATABASE_URL || undefined,
    publicUrl,
    logLevel: env.LOG_LEVEL || 'info',
    logFormat: loadLogFormat(env),
    metrics: boolVar(env, 'METRICS', true),
    metricsToken: loadMetricsToken(env),
    tracing: loadTracing(env),
    migrate: boolVar(env, 'MIGRATE', true),
    explorer: boolVar(env, 'EXPLORER', true),
    shutdownTimeoutMs: intVar(env, 'SHUTDOWN_TIMEOUT_MS', 10000, 0, 600000),
    poolSize: intVar(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    connectTimeoutMs: intVar(env, 'DATABASE_CONNECT_TIMEOUT_MS', 5000, 100, 600000),
    statementTimeoutMs: intVar(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 30000, 0, 3600000),
    limits: loadLimits(env),
    httpTimeouts: loadHttpTimeouts(env),
    maxQueryCost: intVar(env, 'MAX_QUERY_COST', DEFAULT_MAX_QUERY_COST, 0, 1_000_000_000),
    rateLimit: boolVar(env, 'RATE_LIMIT', true),
    rateLimitBucket: intVar(env, 'RATE_LIMIT_BUCKET', DEFAULT_BUCKET.capacity, 1, 1_000_000_000),
    rateLimitRestore: intVar(env, 'RATE_LIMIT_RESTORE', DEFAULT_BUCKET.restorePerSecond, 1, 1_000_000_000),
    apiKeyCacheTtlMs: intVar(env, 'API_KEY_CACHE_TTL_MS', 5000, 0, 60000),
    corsOrigins: originsVar(env, 'CORS_ORIGINS'),
    jwt: loadJwt(env),
    webhookAllowPrivateTargets: boolVar(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', false),
    webhookRetentionDays: intVar(env, 'WEBHOOK_RETENTION_DAYS', 30, 1, 3650),
  };
}

function loadLimits(env: Env): LimitSettings {
  const trustedGateway = env.TRUSTED_GATEWAY || undefined;
  // A guessable secret would hand execution traces to anyone who guesses it.
  if (trustedGateway !== undefined && trustedGateway.length < 32) {
    throw new Error('TRUSTED_GATEWAY must be a secret of at least 32 characters (for example `openssl rand -hex 32`)');
  }
  return {
    maxTokens: intVar(env, 'MAX_QUERY_TOKENS', DEFAULT_LIMITS.maxTokens, 50, 1_000_000),
    maxDepth: intVar(env, 'MAX_QUERY_DEPTH', DEFAULT_LIMITS.maxDepth, 2, 1000),
    maxAliases: intVar(env, 'MAX_ALIASES', DEFAULT_LIMITS.maxAliases, 0, 100_000),
    maxDirectives: intVar(env, 'MAX_DIRECTIVES', DEFAULT_LIMITS.maxDirectives, 0, 100_000),
    maxRequestedNodes: intVar(env, 'MAX_REQUESTED_NODES', DEFAULT_LIMITS.maxRequestedNodes, 0, 100_000_000),
    executionTimeoutMs: intVar(env, 'EXECUTION_TIMEOUT_MS', DEFAULT_LIMITS.executionTimeoutMs, 0, 3_600_000),
    trustedGateway,
  };
}

function loadHttpTimeouts(env: Env): HttpTimeouts {
  const requestTimeoutMs = intVar(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 1000, 3_600_000);
  const headersTimeoutMs = intVar(env, 'HTTP_HEADERS_TIMEOUT_MS', 15_000, 1000, 3_600_000);
  // node:http requires headersTimeout <= requestTimeout.
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new Error(`HTTP_HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);
  }
  return { requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs: intVar(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 5000, 1, 600_000) };
}

function loadLogFormat(env: Env): LogFormat | undefined {
  const raw = env.LOG_FORMAT || undefined;
  if (raw === undefined || raw === 'json' || raw === 'pretty') return raw;
  throw new Error(`LOG_FORMAT must be json or pretty, got ${JSON.stringify(raw)}`);
}

function loadMetricsToken(env: Env): string | undefined {
  const token = env.METRICS_TOKEN || undefined;
  if (token !== undefined && token.length < 16) throw new Error('METRICS_TOKEN must be at least 16 characters (for example `openssl rand -hex 32`)');
  return token;
}

/** `key1=value1,key2=value2`, values percent-encoded (the OpenTelemetry specification's format). */
function otlpHeaders(env: Env): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of (env.OTEL_EXPORTER_OTLP_TRACES_HEADERS || env.OTEL_EXPORTER_OTLP_HEADERS || '').split(',')) {
    if (entry.trim() === '') continue;
    const at = entry.indexOf('=');
    if (at <= 0) throw new Error(`OTEL_EXPORTER_OTLP_HEADERS entries must be name=value, got ${JSON.stringify(entry.trim())}`);
    headers[entry.slice(0, at).trim()] = decodeURIComponent(entry.slice(at + 1).trim());
  }
  return headers;
}

/** The standard OTEL_* variables the gateway honours (docs/operations.md). */
function loadTracing(env: Env): TracingSettings | undefined {
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
  if (tracesEndpoint === undefined && endpoint === undefined) return undefined;
  // The signal-specific variable is the URL as is; the general one is a base that gets the signal's path.
  const tracesUrl = tracesEndpoint ?? `${(endpoint as string).replace(/\/+$/, '')}/v1/traces`;
  try {
    if (!/^https?:$/.test(new URL(tracesUrl).protocol)) throw new Error('not http(s)');
  } catch {
    throw new Error(`OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL such as http://otel-collector:4318, got ${JSON.stringify(tracesEndpoint ?? endpoint)}`);
  }
  // The specification's default for OTLP is http/protobuf; gRPC is not built in.
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf') as OtlpProtocol;
  if (!OTLP_PROTOCOLS.includes(protocol)) {
    throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL must be one of ${OTLP_PROTOCOLS.join(', ')} (OTLP over HTTP), got ${JSON.stringify(protocol)}`);
  }
  const sampler = (env.OTEL_TRACES_SAMPLER || 'parentbased_always_on') as TracesSampler;
  if (!TRACES_SAMPLERS.includes(sampler)) throw new Error(`OTEL_TRACES_SAMPLER must be one of ${TRACES_SAMPLERS.join(', ')}, got ${JSON.stringify(sampler)}`);
  const rawRatio = env.OTEL_TRACES_SAMPLER_ARG || undefined;
  const samplerRatio = rawRatio === undefined ? 1 : Number(rawRatio);
  if (!(samplerRatio >= 0 && samplerRatio <= 1)) throw new Error(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got ${JSON.stringify(rawRatio)}`);
  return { tracesUrl, protocol, headers: otlpHeaders(env), serviceName: env.OTEL_SERVICE_NAME || 'customer-gateway', sampler, samplerRatio };
}

function loadJwt(env: Env): JwtSettings | undefined {
  const raw = env.JWT_JWKS_URL || undefined;
  if (raw === undefined) {
    const stray = ['JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_WORKSPACE_CLAIM', 'JWT_CUSTOMER_CLAIM'].filter((name) => env[name]);
    if (stray.length > 0) throw new Error(`${stray.join(', ')} set without JWT_JWKS_URL: set JWT_JWKS_URL to accept JWT bearer tokens`);
    return undefined;
  }
  let jwksUrl: URL;
  try {
    jwksUrl = new URL(raw);
  } catch {
    throw new Error(`JWT_JWKS_URL must be an absolute https URL, got ${JSON.stringify(raw)}`);
  }
  // Keys fetched in the clear could be swapped on the way; plain http is only for development and tests.
  if (!(jwksUrl.protocol === 'https:' || (jwksUrl.protocol === 'http:' && isLoopbackHost(jwksUrl.hostname)))) {
    throw new Error(`JWT_JWKS_URL must be an https URL (plain http only on 127.0.0.0/8, ::1 or localhost), got ${JSON.stringify(raw)}`);
  }
  // Without both checks, a token the provider issued for any other service or tenant would be accepted.
  const issuer = env.JWT_ISSUER || undefined;
  const audience = env.JWT_AUDIENCE || undefined;
  if (issuer === undefined || audience === undefined) {
    throw new Error('JWT_ISSUER and JWT_AUDIENCE must both be set when JWT_JWKS_URL is set');
  }
  return {
    jwksUrl,
    issuer,
    audience,
    workspaceClaim: env.JWT_WORKSPACE_CLAIM || JWT_DEFAULT_WORKSPACE_CLAIM,
    customerClaim: env.JWT_CUSTOMER_CLAIM || JWT_DEFAULT_CUSTOMER_CLAIM,
  };
}

/** `hostname` as the URL parser gives it: IPv4 normalised (127.1 is 127.0.0.1), IPv6 in brackets. */
function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}
