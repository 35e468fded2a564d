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
  /** Run migrations on start (MIGRATE=false refuses to start on an unmigrated database). */
  migrate: boolean;
  /** Serve the explorer page at `/`. */
  explorer: boolean;
  /** Grace period for in-flight requests on SIGTERM/SIGINT, in milliseconds. */
  shutdownTimeoutMs: number;
  poolSize: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  /** Most points one operation may cost (0: no limit). */
  maxQueryCost: number;
  /** Per-API-key rate limiting (RATE_LIMIT=off turns it off). */
  rateLimit: boolean;
  /** Points in each key's leaky bucket. */
  rateLimitBucket: number;
  /** Points restored to each bucket per second. */
  rateLimitRestore: number;
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
    migrate: boolVar(env, 'MIGRATE', true),
    explorer: boolVar(env, 'EXPLORER', true),
    shutdownTimeoutMs: intVar(env, 'SHUTDOWN_TIMEOUT_MS', 10000, 0, 600000),
    poolSize: intVar(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    connectTimeoutMs: intVar(env, 'DATABASE_CONNECT_TIMEOUT_MS', 5000, 100, 600000),
    statementTimeoutMs: intVar(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 30000, 0, 3600000),
    maxQueryCost: intVar(env, 'MAX_QUERY_COST', 1000, 0, 1_000_000_000),
    rateLimit: boolVar(env, 'RATE_LIMIT', true),
    rateLimitBucket: intVar(env, 'RATE_LIMIT_BUCKET', 1000, 1, 1_000_000_000),
    rateLimitRestore: intVar(env, 'RATE_LIMIT_RESTORE', 100, 1, 1_000_000_000),
  };
}
