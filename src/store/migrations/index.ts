import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './001_initial';
import * as rateLimits from './002_rate_limits';
import * as idempotency from './003_idempotency';
import * as leastPrivilege from './004_least_privilege';
import * as webhooks from './005_webhooks';
import * as privacy from './006_privacy';
import * as rateLimitSync from './007_rate_limit_sync';

/**
 * Migrations are listed in code rather than read from a folder, so they work the same from
 * ts-jest, from the compiled build and from the CLI. Append new ones; never edit a released one.
 */
const migrations: Record<string, Migration> = {
  '001_initial': initial,
  '002_rate_limits': rateLimits,
  '003_idempotency': idempotency,
  '004_least_privilege': leastPrivilege,
  '005_webhooks': webhooks,
  '006_privacy': privacy,
  '007_rate_limit_sync': rateLimitSync,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
