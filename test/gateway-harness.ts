/**
 * A real gateway over real HTTP for the limits suites: the app on an ephemeral port, on a
 * fresh database (SQLite, or PostgreSQL when TEST_DATABASE_URL is set), with one API key.
 */
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/shared/logger';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { createTestDatabase, type TestDatabase } from './databases';
import { snapshot } from './helpers';

export interface Sent {
  status: number;
  headers: Headers;
  text: string;
  json: { data?: Record<string, any> | null; errors?: { message: string; extensions?: Record<string, any> }[]; extensions?: Record<string, any> };
}

export interface Gateway {
  app: App;
  url: string;
  key: IssuedKey;
  /** POSTs JSON `{ query, variables }`; with the key unless `headers` says otherwise. */
  post(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<Sent>;
  /** Any request to `/graphql` (or another path). */
  send(init: RequestInit & { path?: string }): Promise<Sent>;
  /** Every row of every table, for "nothing was written". */
  rows(): Promise<Record<string, unknown[]>>;
  close(): Promise<void>;
}

export async function read(response: Response): Promise<Sent> {
  const text = await response.text();
  let json: Sent['json'] = {};
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: the test looks at `text`
  }
  return { status: response.status, headers: response.headers, text, json };
}

export async function startGateway(env: Record<string, string> = {}): Promise<Gateway> {
  const database: TestDatabase = await createTestDatabase();
  const config = loadConfig({ ...database.env, PORT: '0', PUBLIC_URL: 'http://gw.test', LOG_LEVEL: 'silent', ...env });
  const app = await createApp({ config, logger: createLogger('silent') });
  const url = await app.listen(0, '127.0.0.1');
  const key = await issueKey(app.store.db, { workspace: 'hostile', name: 'hostile-test' });
  const auth = { authorization: `Bearer ${key.key}` };
  const send = async ({ path = '/graphql', ...init }: RequestInit & { path?: string }) => read(await fetch(`${url}${path}`, init));
  return {
    app,
    url,
    key,
    send,
    post: (query, variables, headers = auth) =>
      send({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) }),
    rows: () => snapshot(app.store),
    async close() {
      await app.stop();
      await database.drop();
    },
  };
}

/** The codes of a response's errors. */
export const codes = (sent: Sent): unknown[] => (sent.json.errors ?? []).map((e) => e.extensions?.code);

/** No error of the response carries a stack trace or a schema suggestion. */
export function expectNoDisclosure(sent: Sent): void {
  expect(sent.text).not.toMatch(/stacktrace|\bat [\w.<>]+ \(|Did you mean/i);
}
