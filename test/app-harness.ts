/**
 * The real app (src/app.ts) on a loopback port over a fresh test database (SQLite, or
 * PostgreSQL when TEST_DATABASE_URL is set), with a key for each of two workspaces.
 */
import type { LogEvent } from 'kysely';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { createTestDatabase } from './databases';
import { silentLogger } from './helpers';

export interface RunningApp {
  app: App;
  /** Base URL, e.g. http://127.0.0.1:43121 (GraphQL at `${url}/graphql`). */
  url: string;
  a: IssuedKey;
  b: IssuedKey;
  /** SQL text of every statement the app ran (with `recordStatements`; empty otherwise). */
  statements: string[];
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}, { recordStatements = false } = {}): Promise<RunningApp> {
  const database = await createTestDatabase();
  const config = loadConfig({ ...database.env, PORT: '0', PUBLIC_URL: 'http://gw.test', LOG_LEVEL: 'silent', ...env });
  const statements: string[] = [];
  const store = recordStatements ? { onQuery: (event: LogEvent) => void (event.level === 'query' && statements.push(event.query.sql)) } : undefined;
  const app = await createApp({ config, logger: silentLogger, store });
  const url = await app.listen(0, '127.0.0.1');
  const a = await issueKey(app.store.db, { workspace: 'alpha', name: 'alpha-test' });
  const b = await issueKey(app.store.db, { workspace: 'beta', name: 'beta-test' });
  return {
    app,
    url,
    a,
    b,
    statements,
    async close() {
      await app.stop(1000);
      await database.drop();
    },
  };
}
