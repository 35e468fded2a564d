/** Composes store, Apollo server and HTTP server; used by src/index.ts and by the tests. */
import type { AddressInfo } from 'node:net';
import type { ApolloServer } from '@apollo/server';
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
import { countWorkspaces } from './store/workspaces.repository';

export interface App {
  store: Store;
  apollo: ApolloServer<Context>;
  http: GatewayHttpServer;
  /** Delivers webhook events; started with the app, stopped before the store closes. */
  webhooks: WebhookSender;
  /** Listens and returns the base URL. */
  listen(port: number, host?: string): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (up to the timeout), closes the database. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface AppOptions {
  config: Config;
  logger: Logger;
  store?: StoreOptions;
  /** Sender options beyond the config: an attempt observer (metrics), a resolver/connect or clock for tests. */
  webhooks?: Partial<Omit<SenderOptions, 'db' | 'logger'>>;
}

/** Opens the database and brings it to the latest migration, or refuses when MIGRATE=false. */
export async function prepareStore(config: Config, logger: Logger, extra: StoreOptions = {}): Promise<Store> {
  const store = openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.poolSize,
    connectTimeoutMs: config.connectTimeoutMs,
    statementTimeoutMs: config.statementTimeoutMs,
    onPoolError: (error) => logger.warn({ err: error }, 'an idle database connection failed; it was discarded'),
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

/** The cost limits a gateway runs with: buckets in memory on SQLite, in the database on PostgreSQL. */
export function limitsFromConfig(config: Config, store: Pick<Store, 'db' | 'engine'>, clock?: Clock): Limits {
  const bucket = { capacity: config.rateLimitBucket, restorePerSecond: config.rateLimitRestore };
  return {
    maxQueryCost: config.maxQueryCost,
    bucket,
    buckets: config.rateLimit ? createBucketStore(store.engine, store.db, bucket, clock) : null,
  };
}

export async function createApp(options: AppOptions): Promise<App> {
  const { config, logger } = options;
  const store = await prepareStore(config, logger, options.store);
  const schema = buildSchema();
  const apollo = createApolloServer({ schema, logger, limits: config.limits, cost: limitsFromConfig(config, store) });
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
    webhookTargets: { allowPrivateTargets: config.webhookAllowPrivateTargets },
  });
  const webhooks = new WebhookSender({
    db: store.db,
    logger,
    retentionDays: config.webhookRetentionDays,
    ...options.webhooks,
    transport: { allowPrivateTargets: config.webhookAllowPrivateTargets, ...options.webhooks?.transport },
  });
  webhooks.start();
  return {
    store,
    apollo,
    http: server,
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
      await store.close();
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
