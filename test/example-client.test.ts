/**
 * The typed client example (examples/list-customers): compiled with tsc from its own tsconfig,
 * exactly as a frontend team would, and run as a separate process against a real gateway on an
 * ephemeral port, paging through every customer of its key's workspace and nothing else.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/shared/logger';
import { issueKey, type IssuedKey } from '../src/services/keys';

const ROOT = path.resolve(__dirname, '..');
const EXAMPLE = path.join(ROOT, 'examples', 'list-customers');

let dir: string;
let outDir: string;
let app: App;
let url: string;
let acme: IssuedKey;
const emails = ['ada@example.com', 'grace@example.com', 'edsger@example.com', 'barbara@example.com', 'alan@example.com'];

async function createCustomer(key: string, input: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: 'mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { userErrors { message } } }', variables: { input } }),
  });
  const body = (await response.json()) as { data?: { createCustomer: { userErrors: unknown[] } }; errors?: unknown[] };
  expect(body.errors ?? body.data?.createCustomer.userErrors).toEqual([]);
}

/** Runs the compiled example as a child process; asynchronously, since the server runs in this process. */
function runExample(env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(outDir, 'list-customers.js')], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-example-'));
  outDir = path.join(dir, 'out');
  // The example's own compiler settings; a type error against the generated documents fails here.
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(EXAMPLE, 'tsconfig.json'), '--outDir', outDir], { stdio: 'pipe' });
  const config = loadConfig({ DATA_DIR: path.join(dir, 'data'), PORT: '0', LOG_LEVEL: 'silent' });
  app = await createApp({ config, logger: createLogger('silent') });
  url = await app.listen(0, '127.0.0.1');
  acme = await issueKey(app.store.db, { workspace: 'acme', name: 'example-client' });
  const other = await issueKey(app.store.db, { workspace: 'globex', name: 'other' });
  for (const [i, email] of emails.entries()) await createCustomer(acme.key, { email, firstName: `Person ${i + 1}` });
  await createCustomer(other.key, { email: 'not-yours@example.com' });
}, 60_000);

afterAll(async () => {
  await app?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('typed client example (examples/list-customers)', () => {
  it('lists every customer of its workspace across pages', async () => {
    const run = await runExample({ CUSTOMER_GATEWAY_URL: `${url}/graphql`, CUSTOMER_GATEWAY_KEY: acme.key, PAGE_SIZE: '2' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    // Five customers over three pages of two, in creation order, then the summary.
    expect(lines.slice(0, -1).map((line) => line.split(/\s{2}/)[1])).toEqual(emails);
    expect(lines[0]).toMatch(/^[0-9a-f-]{36} {2}ada@example\.com {2}Person 1 {2}ACTIVE$/);
    expect(lines.at(-1)).toBe('5 customers listed (totalCount 5)');
    expect(run.stdout).not.toContain('not-yours@example.com');
  });

  it('exits non-zero with the server message when the key is wrong', async () => {
    const run = await runExample({ CUSTOMER_GATEWAY_URL: `${url}/graphql`, CUSTOMER_GATEWAY_KEY: 'cgk_wrong' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^HTTP 401: .*\(UNAUTHENTICATED\)/);
  });

  it('explains how to get a key when none is set', async () => {
    const run = await runExample({ CUSTOMER_GATEWAY_URL: `${url}/graphql` });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('CUSTOMER_GATEWAY_KEY');
  });
});
