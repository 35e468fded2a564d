/** Composes store, Apollo server and HTTP server; used by src/index.ts and by the tests. */
import type { AddressInfo } from 'node:net';
import type { ApolloServer } from '@apollo/server';
import type { LogEvent } from 'kysely';
import type { Config } from './config';
import type { Context } from './graphql/context';
import { createCorsGate } from './http/cors';
import { createHttpServer, type GatewayHttpServer } from './http/server';
import type { Limits } from './graphql/limits/plugin';
import { createBucketStore, type Clock } from './graphql/limits/rate-limit';
import type { Logger } from './shared/logger';
import { fieldRules } from './graphql/scopes';
import { buildSchema, createApolloServer } from './graphql/server';
import { JwtVerifier } from './services/jwt';
import { VerifiedKeys, issueKey } from './services/keys';
import { TokenAuthenticator } from './services/tokens';
import { WebhookSender, type SenderOptions } from './services/webhook-sender';
import { migrateToLatest, openStore, pendingMigrations, type Store, type StoreOptions } from './store/db';
import type { Engine } from './store/engine';
import { Metrics } from './shared/metrics';
import type { Tracing } from './shared/tracing';
import { countWorkspaces } from './store/workspaces.repository';
import { countPendingDeliveries } from './store/webhooks.repository';

export interface App {
  store: Store;
  apollo: ApolloServer<Context>;
  http: GatewayHttpServer;
  /** Null with METRICS=off. */
  metrics: Metrics | null;
  /** Delivers webhook events; started with the app, stopped before the store closes. */
  webhooks: WebhookSender;
  /** Listens and returns the base URL. */
  listen(port: number, host?: string): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (up to the timeout), closes the database, flushes the spans. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface AppOptions {
  config: Config;
  logger: Logger;
  store?: StoreOptions;
  /** Sender options beyond the config: an attempt observer (metrics), a resolver/connect or clock for tests. */
  webhooks?: Partial<Omit<SenderOptions, 'db' | 'logger'>>;
  /**
   * Tracing started from config.tracing (src/shared/tracing.ts startTracing), before the logger
   * so that its lines carry trace ids; the app shuts it down when it stops.
   */
  tracing?: Tracing;
}

/** Kysely's statement hook feeding the statement histogram and spans; none when neither is on. */
function statementHook(metrics: Metrics | null, tracing: Tracing | undefined, engine: () => Engine): ((event: LogEvent) => void) | undefined {
  if (!metrics && !tracing) return undefined;
  return (event) => {
    const kind = event.query.query.kind;
    metrics?.recordStatement(kind, event.queryDurationMillis / 1000);
    tracing?.statement(engine() === 'postgres' ? 'postgresql' : 'sqlite', kind, event.query.sql, event.queryDurationMillis, event.level === 'error');
  };
}

/** Opens the database and brings it to the latest migration, or refuses when MIGRATE=false. */
export async function prepareStore(config: Config, logger: Logger, extra: StoreOptions = {}): Promise<Store> {
  const store = openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.poolSize,
    connectTimeoutMs: config.connectTimeoutMs,
    statementTimeoutMs: config.statementTimeoutMs,
    onPoolError: (error) => logger.warn({ err: error }, 'a database connection failed; it was discarded'),
    onCheckpointError: (error) => logger.error({ err: error }, 'the SQLite checkpointer thread failed; the connection checkpoints by itself again'),
    ...extra,
  });
  try {
    if (config.migrate) {
      const applied = await migrateToLatest(store.db);
      if (applied.length > 0) logger.info({ applied }, 'database migrated');
    } else {
      const pending = await pendingMigrations(store.db);
      if (pending.length > 0) {
        throw new Error(`the database has pending migrations (${pending.join(', ')}) and MIGRATE=false: run \`customer-gateway migrate\` first`);
      }
    }
    return store;
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** The cost limits a gateway runs with: buckets in memory on SQLite, shared through the database on PostgreSQL. */
export function limitsFromConfig(config: Config, store: Pick<Store, 'db' | 'engine'>, clock?: Clock, logger?: Logger): Limits {
  const bucket = { capacity: config.rateLimitBucket, restorePerSecond: config.rateLimitRestore };
  return {
    maxQueryCost: config.maxQueryCost,
    bucket,
    buckets: config.rateLimit ? createBucketStore(store.engine, store.db, bucket, clock, { logger }) : null,
  };
}

export async function createApp(options: AppOptions): Promise<App> {
  const { config, logger, tracing } = options;
  const metrics = config.metrics ? new Metrics() : null;
  let engine: Engine = 'sqlite';
  const observe = statementHook(metrics, tracing, () => engine);
  const testHook = options.store?.onQuery;
  const onQuery = observe && testHook ? (event: LogEvent) => (observe(event), testHook(event)) : (observe ?? testHook);
  const store = await prepareStore(config, logger, { ...options.store, onQuery });
  engine = store.engine;
  metrics?.watchConnections(() => store.connections());
  const schema = buildSchema();
  const cost = limitsFromConfig(config, store, undefined, logger);
  const apollo = createApolloServer({ schema, logger, limits: config.limits, cost });
  await apollo.start();
  const server = createHttpServer({
    apollo,
    db: store.db,
    publicUrl: config.publicUrl,
    logger,
    keys: new VerifiedKeys({ ttlMs: config.apiKeyCacheTtlMs }),
    tokens: config.jwt ? new TokenAuthenticator(new JwtVerifier(config.jwt)) : undefined,
    explorer: config.explorer,
    executionTimeoutMs: config.limits.executionTimeoutMs,
    timeouts: config.httpTimeouts,
    cors: createCorsGate(config.corsOrigins),
    exportScopes: fieldRules(schema).get('Query.exportCustomers'),
    metrics: metrics ?? undefined,
    metricsToken: config.metricsToken,
    tracing,
    webhookTargets: { allowPrivateTargets: config.webhookAllowPrivateTargets },
  });
  const webhooks = new WebhookSender({
    db: store.db,
    logger,
    retentionDays: config.webhookRetentionDays,
    ...options.webhooks,
    onAttempt: (attempt) => {
      metrics?.recordWebhookAttempt(attempt);
      options.webhooks?.onAttempt?.(attempt);
    },
    transport: { allowPrivateTargets: config.webhookAllowPrivateTargets, ...options.webhooks?.transport },
  });
  metrics?.watchOutboxBacklog(() => countPendingDeliveries(store.db));
  webhooks.start();
  return {
    store,
    apollo,
    http: server,
    metrics,
    webhooks,
    listen: (port, host = '0.0.0.0') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address() as AddressInfo;
          resolve(`http://${host === '0.0.0.0' ? 'localhost' : host}:${address.port}`);
        });
      }),
    stop: async (timeoutMs = config.shutdownTimeoutMs) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.drain();
      const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
      await closed;
      clearTimeout(timer);
      await apollo.stop();
      await webhooks.stop(timeoutMs);
      // The spend this instance has not yet pushed to the shared buckets goes before the database closes.
      await cost.buckets?.close?.();
      await store.close();
      await tracing?.shutdown();
    },
  };
}

/**
 * On a first start (no workspace at all) creates `default` with one key and returns it, so a
 * new user can make a request straight away. The key is shown once; only its hash is stored.
 */
export async function bootstrapDefaultWorkspace(store: Store): Promise<string | null> {
  if ((await countWorkspaces(store.db)) > 0) return null;
  const issued = await issueKey(store.db, { workspace: 'default', name: 'bootstrap' });
  return issued.key;
}
