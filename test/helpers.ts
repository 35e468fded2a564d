/**
 * Test harness: a real migrated database (SQLite in a temp dir, or PostgreSQL when
 * TEST_DATABASE_URL is set), the real Apollo server, two workspaces with keys, and a
 * statement counter fed by Kysely's log hook.
 */
import type { ApolloServer } from '@apollo/server';
import { createContext, type Context } from '../src/graphql/context';
import { defaultLimits, type Limits } from '../src/graphql/limits/plugin';
import { createLogger } from '../src/shared/logger';
import type { LimitSettings } from '../src/graphql/limits/settings';
import { createApolloServer } from '../src/graphql/server';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { migrateToLatest, type Store } from '../src/store/db';
import { createTestDatabase } from './databases';

export const PUBLIC_URL = 'https://customers.example.test';

export interface TestEnv {
  store: Store;
  apollo: ApolloServer<Context>;
  a: IssuedKey;
  b: IssuedKey;
  /** SQL text of every statement executed since the last `statements.length = 0`. */
  statements: string[];
  exec<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, as?: Partial<CallerOptions>): Promise<Result<T>>;
  /** Like exec, but fails the test on any top-level error and returns `data`. */
  data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, as?: Partial<CallerOptions>): Promise<T>;
  close(): Promise<void>;
}

export interface CallerOptions {
  key: IssuedKey;
  actor: string | null;
  via: string | null;
}

export interface Result<T> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown>; path?: (string | number)[] }[];
  extensions?: Record<string, any>;
}

export interface TestEnvOptions {
  /** Request limits for this server (defaults otherwise), e.g. to batch more aliases than 15. */
  limits?: Partial<LimitSettings>;
  /** Cost limit and rate limiting (built on the env's store); default: the default cost limit, no rate limiting. */
  cost?: (store: Store) => Limits;
}

export const silentLogger = createLogger('silent');

/**
 * MAX_QUERY_COST=0, as an operator sets it for bulk jobs: for suites about paging, batching and
 * the export feed at page sizes whose cost is over the default 1000 points.
 */
export const NO_COST_LIMIT: TestEnvOptions = { cost: () => ({ ...defaultLimits(), maxQueryCost: 0 }) };

/** A fresh database: a new SQLite file, or a fresh schema on the test PostgreSQL server. */
export async function createTestEnv(options: TestEnvOptions = {}): Promise<TestEnv> {
  const statements: string[] = [];
  const database = await createTestDatabase();
  const store = database.open({
    onQuery: (event) => {
      if (event.level === 'query') statements.push(event.query.sql);
    },
  });
  await migrateToLatest(store.db);
  const a = await issueKey(store.db, { workspace: 'alpha', name: 'alpha-test' });
  const b = await issueKey(store.db, { workspace: 'beta', name: 'beta-test' });
  const cost = options.cost?.(store);
  const apollo = createApolloServer({ logger: silentLogger, limits: options.limits, cost, checkCustomerRecords: true });
  await apollo.start();
  const exec = async <T>(query: string, variables?: Record<string, unknown>, as: Partial<CallerOptions> = {}) => {
    const key = as.key ?? a;
    const contextValue = createContext(
      { db: store.db, publicUrl: PUBLIC_URL, logger: silentLogger },
      { workspace: key.workspace, apiKey: key.record, actor: as.actor ?? null, via: as.via ?? null },
    );
    const response = await apollo.executeOperation<T>({ query, variables }, { contextValue });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return response.body.singleResult as Result<T>;
  };
  statements.length = 0;
  return {
    store,
    apollo,
    a,
    b,
    statements,
    exec,
    async data<T>(query: string, variables?: Record<string, unknown>, as?: Partial<CallerOptions>) {
      const result = await exec<T>(query, variables, as);
      if (result.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
      return result.data as T;
    },
    async close() {
      await apollo.stop();
      await cost?.buckets?.close?.();
      await store.close();
      await database.drop();
    },
  };
}

/** Every row of every table, for "nothing changed" assertions after a rejected mutation. */
export async function snapshot(store: Store): Promise<Record<string, unknown[]>> {
  const tables = ['workspaces', 'customers', 'members', 'actions', 'custom_field_definitions', 'custom_field_values'] as const;
  const result: Record<string, unknown[]> = {};
  for (const table of tables) {
    result[table] = await store.db.selectFrom(table).selectAll().orderBy(table === 'custom_field_definitions' ? 'key' : table === 'custom_field_values' ? 'customer_id' : 'id').execute();
  }
  return result;
}

export const CUSTOMER_FIELDS = `
  id externalId email emailVerified firstName lastName name phone phoneCountry birthDate gender avatarUrl
  profile { bio location website socials { twitter facebook instagram } }
  billingAddress { line1 line2 city state postalCode country }
  type metadata customFields { key value } unsubscribed internalNote netRevenue signInCount
  lastRequestAt bouncedAt status archivedAt archivedBy archivedVia archiveReason
  createdAt createdBy createdVia updatedAt updatedBy updatedVia version url
`;

export const USER_ERRORS = 'userErrors { field message code }';

export async function createCustomer(env: TestEnv, input: Record<string, unknown>, as?: Partial<CallerOptions>) {
  const data = await env.data<{ createCustomer: { customer: Record<string, any> | null; userErrors: unknown[] } }>(
    `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { ${CUSTOMER_FIELDS} } ${USER_ERRORS} } }`,
    { input },
    as,
  );
  if (data.createCustomer.userErrors.length) throw new Error(`createCustomer failed: ${JSON.stringify(data.createCustomer.userErrors)}`);
  return data.createCustomer.customer as Record<string, any>;
}
