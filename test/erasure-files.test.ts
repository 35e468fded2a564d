/**
 * Erasure leaves no copy in the database: the real app over HTTP writes a person (with
 * Idempotency-Keys, so the idempotency store holds responses naming them), changes them, erases
 * them, and restarts. On SQLite every file in the data directory is then scanned byte by byte
 * for the erased values; on PostgreSQL every table is read. Then an old export holding the
 * erased people is imported through the CLI: refused line by line with ERASED in the reject
 * file, and let through only with --allow-erased. `export-customer` prints one customer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { sql } from 'kysely';
import { createApp, type App } from '../src/app';
import { runCli } from '../src/cli/main';
import { loadConfig } from '../src/config';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { createTestDatabase, testEngine, type TestDatabase } from './databases';
import { silentLogger } from './helpers';

jest.setTimeout(60_000);

const ZELDA = {
  email: 'zelda.quartzonian@secret-mail.example',
  externalId: 'crm-zq-991',
  firstName: 'Zeldaxq',
  lastName: 'Quartzonian',
  phone: '+14155550199',
  internalNote: 'secret-note-kq7 prefers calls after six',
};
const RENAMED = 'Zeldinaqq';
const MEMBER_EMAIL = 'member.zq@secret-mail.example';
const YUSUF = { email: 'yusuf.vantablack@secret-mail.example', firstName: 'Yusufvb' };
/** Every value of the erased people that must leave no byte in the database. */
const NEEDLES = [ZELDA.email, ZELDA.firstName, ZELDA.lastName, ZELDA.phone, 'secret-note-kq7', RENAMED, MEMBER_EMAIL, YUSUF.email, YUSUF.firstName];

let database: TestDatabase;
let app: App;
let url: string;
let key: IssuedKey;
let tmp: string;

async function start(): Promise<void> {
  const config = loadConfig({ ...database.env, PORT: '0', LOG_LEVEL: 'silent' });
  app = await createApp({ config, logger: silentLogger });
  url = await app.listen(0, '127.0.0.1');
}

async function gql<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, idempotencyKey?: string): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}`, ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(`unexpected errors: ${JSON.stringify(body.errors)}`);
  return body.data as T;
}

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: { ...database.env }, progressStream: new PassThrough() });
  return { code, out, err };
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

/** The needles found in the database: raw file bytes on SQLite, every row of every table on PostgreSQL. */
async function needlesInDatabase(): Promise<string[]> {
  const found = new Set<string>();
  const variants = (needle: string) => [needle, needle.toLowerCase()];
  if (testEngine === 'sqlite') {
    for (const file of filesUnder(database.env.DATA_DIR)) {
      const bytes = fs.readFileSync(file);
      for (const needle of NEEDLES) if (variants(needle).some((v) => bytes.includes(Buffer.from(v, 'utf8')))) found.add(needle);
    }
    return [...found];
  }
  const store = database.open();
  try {
    const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(store.db);
    for (const { table_name } of tables.rows) {
      const rows = await sql<{ row: string }>`select row_to_json(t)::text as row from ${sql.table(table_name)} t`.execute(store.db);
      const text = rows.rows.map((r) => r.row).join('\n');
      for (const needle of NEEDLES) if (variants(needle).some((v) => text.includes(v))) found.add(needle);
    }
  } finally {
    await store.close();
  }
  return [...found];
}

const CREATE = `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id email firstName lastName phone internalNote } userErrors { code } } }`;

let zeldaId: string;
let yusufId: string;
let exportFile: string;

beforeAll(async () => {
  database = await createTestDatabase();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-erasure-'));
  await start();
  key = await issueKey(app.store.db, { workspace: 'acme', name: 'privacy-test' });
  const zelda = await gql<{ createCustomer: { customer: { id: string } } }>(CREATE, { input: { ...ZELDA, type: 'TEAM', metadata: { favourite: ZELDA.firstName } } }, 'create-zelda');
  zeldaId = zelda.createCustomer.customer.id;
  await gql(`mutation($input: AddMemberInput!) { addMember(input: $input) { member { id email } userErrors { code } } }`, { input: { customerId: zeldaId, email: MEMBER_EMAIL } }, 'add-member');
  await gql(`mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { id firstName } userErrors { code } } }`, { input: { id: zeldaId, firstName: RENAMED } }, 'rename-zelda');
  const yusuf = await gql<{ createCustomer: { customer: { id: string } } }>(CREATE, { input: YUSUF }, 'create-yusuf');
  yusufId = yusuf.createCustomer.customer.id;
  await gql(CREATE, { input: { email: 'bystander@example.com', firstName: 'Bystander' } }, 'create-bystander');
  exportFile = path.join(tmp, 'before-erasure.ndjson');
  await app.stop();
  const exported = await cli(['export', '--workspace', 'acme', '--out', exportFile]);
  expect(exported.code).toBe(0);
  await start();
});

afterAll(async () => {
  await app?.stop();
  await database?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('before erasure the scan finds the values (so it can see them)', async () => {
  expect((await needlesInDatabase()).sort()).toEqual([...NEEDLES].sort());
});

test('after erasure and a restart no byte sequence of the erased values is left in the database, the idempotency store included', async () => {
  const erase = `mutation($input: EraseCustomerInput!) { eraseCustomer(input: $input) { customer { id status } userErrors { code } } }`;
  expect(await gql(erase, { input: { id: zeldaId, reason: 'GDPR request 17' } }, 'erase-zelda')).toEqual({ eraseCustomer: { customer: { id: zeldaId, status: 'ERASED' }, userErrors: [] } });
  expect(await gql(erase, { input: { id: yusufId } })).toEqual({ eraseCustomer: { customer: { id: yusufId, status: 'ERASED' }, userErrors: [] } });
  // While the server still runs (its connection open, so nothing was checkpointed on close).
  expect(await needlesInDatabase()).toEqual([]);
  await app.stop();
  await start();
  const read = await gql<{ customer: { status: string; email: string } }>(`query($id: ID!) { customer(id: $id) { status email } }`, { id: zeldaId });
  expect(read.customer).toEqual({ status: 'ERASED', email: '' });
  await app.stop();
  expect(await needlesInDatabase()).toEqual([]);
  const store = database.open();
  try {
    const keys = await store.db.selectFrom('idempotency_keys').select('key').orderBy('key').execute();
    // The bystander's stored response stays; every key whose stored response named an erased person went.
    expect(keys.map((k) => k.key)).toEqual(['create-bystander', 'erase-zelda']);
  } finally {
    await store.close();
  }
  await start();
});

test('importing an old export that holds the erased people is refused line by line with ERASED, and let through only with --allow-erased', async () => {
  await app.stop();
  const refused = await cli(['import', exportFile, '--workspace', 'acme', '--format', 'ndjson']);
  expect(refused.code).toBe(0);
  expect(refused.out).toEqual([`created 0, updated 0, unchanged 1, rejected 2 (see ${exportFile}.rejects.ndjson)`]);
  const rejects = fs.readFileSync(`${exportFile}.rejects.ndjson`, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { line: number; errors: { code: string; field: string[] | null }[] });
  expect(rejects.map((r) => r.errors.map((e) => e.code))).toEqual([['ERASED'], ['ERASED']]);
  expect(rejects.map((r) => r.line)).toEqual([1, 2]);

  const allowed = await cli(['import', exportFile, '--workspace', 'acme', '--format', 'ndjson', '--allow-erased']);
  // Yusuf comes back under his email; Zelda's externalId stays with her tombstone.
  expect(allowed.out).toEqual([`created 1, updated 0, unchanged 1, rejected 1 (see ${exportFile}.rejects.ndjson)`]);
  const stillRejected = JSON.parse(fs.readFileSync(`${exportFile}.rejects.ndjson`, 'utf8').trim()) as { errors: { code: string }[] };
  expect(stillRejected.errors.map((e) => e.code)).toEqual(['TAKEN']);
  await start();
});

test('an export taken after the erasure carries the tombstones, and importing it elsewhere rejects them as ERASED', async () => {
  await app.stop();
  const after = path.join(tmp, 'after-erasure.ndjson');
  expect((await cli(['export', '--workspace', 'acme', '--out', after])).code).toBe(0);
  const lines = fs.readFileSync(after, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { id?: string; status?: string });
  expect(lines.filter((l) => l.id === zeldaId).map((l) => l.status)).toEqual(['ERASED']);
  expect(fs.readFileSync(after, 'utf8')).not.toContain(ZELDA.email);
  const store = database.open();
  await issueKey(store.db, { workspace: 'elsewhere' });
  await store.close();
  const imported = await cli(['import', after, '--workspace', 'elsewhere', '--format', 'ndjson']);
  const rejects = fs.readFileSync(`${after}.rejects.ndjson`, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { errors: { code: string }[] });
  // Zelda's and Yusuf's tombstones (Yusuf came back as a new customer, which imports).
  expect(rejects.map((r) => r.errors.map((e) => e.code))).toEqual([['ERASED'], ['ERASED']]);
  expect(imported.out[0]).toMatch(/^created 2, .* rejected 2 /);
  await start();
});

test('export-customer prints one customer as JSON; an unknown id fails with one line', async () => {
  await app.stop();
  const printed = await cli(['export-customer', zeldaId, '--workspace', 'acme']);
  expect(printed.code).toBe(0);
  const exported = JSON.parse(printed.out.join('\n')) as { customer: Record<string, unknown>; history: { type: string }[] };
  expect(exported.customer).toMatchObject({ id: zeldaId, status: 'ERASED', email: '', externalId: ZELDA.externalId, members: [], customFields: [] });
  expect(exported.history.map((a) => a.type)).toEqual(['CUSTOMER_CREATED', 'MEMBER_ADDED', 'CUSTOMER_UPDATED', 'CUSTOMER_ERASED']);
  const missing = await cli(['export-customer', '00000000-0000-4000-8000-000000000000', '--workspace', 'acme']);
  expect(missing.code).toBe(1);
  expect(missing.err).toEqual([expect.stringContaining('no customer with id')]);
  await start();
});
