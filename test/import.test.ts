/**
 * `customer-gateway import` and `customer-gateway export` end to end: every fixture format
 * through the CLI (summary line, reject file, mapped data), idempotent re-runs, upserts by
 * externalId and by email, the audit trail, bad records in the middle of a run, batches that
 * commit on their own, the export file/stdout/cursor contract, an export -> import -> export
 * round trip, progress output, and the CLI's one-line failures. Runs on SQLite, or on
 * PostgreSQL with TEST_DATABASE_URL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../src/cli/main';
import { archiveCustomer, createCustomer, updateCustomer } from '../src/services/customers';
import { defineCustomField } from '../src/services/custom-fields';
import { importCustomers, type Rejection, type SourceItem } from '../src/import/engine';
import { issueKey } from '../src/services/keys';
import { addMember } from '../src/services/members';
import { toActionRecord } from '../src/store/actions.repository';
import { toCustomerRecord } from '../src/store/customers.repository';
import { findDefinitions, findValuesOfCustomers } from '../src/store/custom-fields.repository';
import { migrateToLatest, type Store } from '../src/store/db';
import { findMembersOfCustomers } from '../src/store/members.repository';
import type { ActionRecord, CustomerRecord } from '../src/store/records';
import { createTestDatabase, type TestDatabase } from './databases';

const FIXTURES = path.join(__dirname, 'fixtures', 'import');
const DEFAULT_ACTOR = `cli:${os.userInfo().username}`;

let database: TestDatabase;
let store: Store;
let tmp: string;

beforeAll(async () => {
  database = await createTestDatabase();
  store = database.open();
  await migrateToLatest(store.db);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-import-'));
});

afterAll(async () => {
  await store?.close();
  await database?.drop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

interface Workspace {
  name: string;
  id: string;
}

let workspaceCount = 0;
/** A fresh workspace in the shared test database, so tests never see each other's customers. */
async function newWorkspace(): Promise<Workspace> {
  const name = `imp-${++workspaceCount}`;
  const issued = await issueKey(store.db, { workspace: name });
  return { name, id: issued.workspace.id };
}

interface Run {
  code: number;
  out: string[];
  err: string[];
  /** Everything written to the (non-TTY) progress stream. */
  progress: string;
}

async function cli(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const progressStream = new PassThrough();
  let progress = '';
  progressStream.on('data', (chunk: Buffer) => {
    progress += chunk.toString('utf8');
  });
  const code = await runCli(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: { ...database.env }, progressStream });
  return { code, out, err, progress };
}

let dirCount = 0;
function freshDir(): string {
  const dir = path.join(tmp, `d${++dirCount}`);
  fs.mkdirSync(dir);
  return dir;
}

/** Copies a fixture into its own temp dir (the reject file is written next to it). */
function copyFixture(name: string): string {
  const target = path.join(freshDir(), name);
  fs.copyFileSync(path.join(FIXTURES, name), target);
  return target;
}

function writeFile(name: string, content: string): string {
  const target = path.join(freshDir(), name);
  fs.writeFileSync(target, content);
  return target;
}

function ndjson(records: unknown[]): string {
  return records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
}

function readRejects(file: string): Rejection[] {
  const target = `${file}.rejects.ndjson`;
  if (!fs.existsSync(target)) return [];
  const text = fs.readFileSync(target, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Rejection);
}

/** A rejection's errors as sorted `field:CODE` strings (order of discovery is not the contract). */
function errorKeys(rejection: Rejection): string[] {
  for (const error of rejection.errors) {
    expect(typeof error.message).toBe('string');
    expect(error.message.length).toBeGreaterThan(0);
  }
  return rejection.errors.map((e) => `${(e.field ?? []).join('.')}:${e.code}`).sort();
}

async function importFile(workspace: Workspace, format: string, file: string, ...extra: string[]): Promise<Run> {
  return cli('import', '--workspace', workspace.name, '--format', format, file, ...extra);
}

function summary(created: number, updated: number, unchanged: number, rejected: number, file?: string): string {
  // The reject file is named as the input was given, so the hint works from any directory.
  const see = rejected > 0 ? ` (see ${file ?? ''}.rejects.ndjson)` : '';
  return `created ${created}, updated ${updated}, unchanged ${unchanged}, rejected ${rejected}${see}`;
}

async function customersOf(workspace: Workspace): Promise<CustomerRecord[]> {
  const rows = await store.db.selectFrom('customers').selectAll().where('workspace_id', '=', workspace.id).orderBy('email').execute();
  return rows.map(toCustomerRecord);
}

async function customerByEmail(workspace: Workspace, email: string): Promise<CustomerRecord> {
  const found = (await customersOf(workspace)).filter((c) => c.email === email);
  expect(found).toHaveLength(1);
  return found[0];
}

async function actionsOf(workspace: Workspace): Promise<ActionRecord[]> {
  const rows = await store.db.selectFrom('actions').selectAll().where('workspace_id', '=', workspace.id).orderBy('created_at').orderBy('id').execute();
  return rows.map(toActionRecord);
}

async function fieldsOf(workspace: Workspace, customer: CustomerRecord): Promise<Record<string, unknown>> {
  const values = await findValuesOfCustomers(store.db, workspace.id, [customer.id]);
  return Object.fromEntries(values.map((v) => [v.key, v.value]));
}

async function membersOf(workspace: Workspace, customer: CustomerRecord) {
  return (await findMembersOfCustomers(store.db, workspace.id, [customer.id])).map((m) => ({
    email: m.email,
    name: m.name,
    externalId: m.externalId,
    role: m.role,
  }));
}

/** Everything a re-run must leave alone: versions, stamps, actions, members, custom field values. */
async function state(workspace: Workspace) {
  const customers = await customersOf(workspace);
  const ids = customers.map((c) => c.id);
  return {
    customers: customers.map((c) => ({ id: c.id, version: c.version, updatedAt: c.updatedAt, changeSeq: c.changeSeq })),
    actions: (await actionsOf(workspace)).map((a) => a.id),
    members: (await findMembersOfCustomers(store.db, workspace.id, ids)).map((m) => [m.id, m.updatedAt]),
    values: await findValuesOfCustomers(store.db, workspace.id, ids),
    definitions: await findDefinitions(store.db, workspace.id),
  };
}

interface ExportedLine {
  [key: string]: unknown;
  email: string;
  members: Record<string, unknown>[];
}

interface Exported {
  run: Run;
  records: ExportedLine[];
  trailer: { endCursor: string; exported: number };
  lines: string[];
}

async function exportTo(workspace: Workspace, ...extra: string[]): Promise<Exported> {
  const file = path.join(freshDir(), 'export.ndjson');
  const run = await cli('export', '--workspace', workspace.name, '--out', file, ...extra);
  expect(run.err.filter((l) => l.startsWith('error'))).toEqual([]);
  expect(run.code).toBe(0);
  const text = fs.readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.split('\n').filter((l) => l !== '');
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = parsed[parsed.length - 1] as { trailer: { endCursor: string; exported: number } };
  return { run, records: parsed.slice(0, -1) as ExportedLine[], trailer: last.trailer, lines };
}

const who = (workspace: Workspace, actor = 'agent@example.com', via = 'back-office') => ({ workspaceId: workspace.id, actor, via });

async function created(result: Promise<{ customer: CustomerRecord | null; userErrors: unknown[] }>): Promise<CustomerRecord> {
  const { customer, userErrors } = await result;
  expect(userErrors).toEqual([]);
  if (!customer) throw new Error('no customer');
  return customer;
}

// ---------------------------------------------------------------------------------------------

describe('import of each fixture format', () => {
  interface Case {
    file: string;
    format: string;
    counts: [number, number, number, number];
    rejects: { line: number; errors: string[]; record: (fixture: string) => unknown }[];
    /** CSV custom field values need their field defined first. */
    prepare?: (workspace: Workspace) => Promise<void>;
  }

  const json = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
  const ndjsonLine = (file: string, line: number) => JSON.parse(fs.readFileSync(file, 'utf8').split('\n')[line - 1]);
  const defineLoyaltyTier = async (workspace: Workspace) => {
    const result = await defineCustomField(store.db, workspace.id, { key: 'loyalty_tier', label: 'Loyalty tier', valueType: 'STRING' });
    expect(result.userErrors).toEqual([]);
  };

  const cases: Case[] = [
    {
      file: 'kajabi.json',
      format: 'kajabi',
      counts: [2, 0, 0, 1],
      rejects: [
        {
          line: 3,
          errors: ['email:REQUIRED', 'sign_in_count:INVALID', 'socials.twitter:INVALID'],
          record: (f) => ({ ...json(f).data[2].attributes, id: '1827366' }),
        },
      ],
    },
    {
      file: 'crm.json',
      format: 'crm',
      counts: [3, 0, 0, 1],
      rejects: [{ line: 4, errors: ['email:REQUIRED', 'unsubscribed:INVALID'], record: (f) => json(f).data.users[3] }],
    },
    {
      file: 'khoros.ndjson',
      format: 'khoros',
      counts: [3, 0, 0, 1],
      rejects: [{ line: 5, errors: ['1stVisit:INVALID', 'email:REQUIRED', 'preferences:INVALID'], record: (f) => ndjsonLine(f, 5) }],
    },
    {
      file: 'rapidly.json',
      format: 'rapidly',
      counts: [2, 0, 0, 1],
      rejects: [
        {
          line: 3,
          errors: ['billing_address.country:REQUIRED', 'email:REQUIRED', 'email_verified:INVALID', 'members.0.email:REQUIRED', 'type:INVALID'],
          record: (f) => json(f)[2],
        },
      ],
    },
    {
      file: 'group-members.json',
      format: 'group-members',
      counts: [3, 0, 0, 1],
      rejects: [{ line: 4, errors: ['address:INVALID', 'email:REQUIRED'], record: (f) => json(f)[3] }],
    },
    {
      file: 'customers.csv',
      format: 'csv',
      counts: [3, 0, 0, 1],
      prepare: defineLoyaltyTier,
      rejects: [
        {
          line: 5,
          errors: ['email:REQUIRED', 'emailVerified:INVALID', 'signInCount:INVALID'],
          record: () =>
            expect.objectContaining({ email: '', externalId: 'csv-3', firstName: 'Missing', lastName: 'Email', emailVerified: 'maybe', signInCount: 'three' }),
        },
      ],
    },
    {
      file: 'customers.ndjson',
      format: 'ndjson',
      counts: [3, 0, 0, 1],
      rejects: [{ line: 4, errors: ['email:REQUIRED', 'signInCount:INVALID', 'type:INVALID'], record: (f) => ndjsonLine(f, 4) }],
    },
  ];

  test.each(cases.map((c) => [c.file, c] as const))('%s: summary, reject file, and a re-run that changes nothing', async (_name, c) => {
    const workspace = await newWorkspace();
    await c.prepare?.(workspace);
    const file = copyFixture(c.file);

    const first = await importFile(workspace, c.format, file);
    expect(first.err).toEqual([]);
    expect(first.code).toBe(0);
    expect(first.out).toEqual([summary(...c.counts, file)]);
    const [createdCount, , , rejectedCount] = c.counts;
    expect(await customersOf(workspace)).toHaveLength(createdCount);

    const rejects = readRejects(file);
    expect(rejects).toHaveLength(rejectedCount);
    rejects.forEach((rejection, i) => {
      expect(Object.keys(rejection).sort()).toEqual(['errors', 'line', 'record']);
      expect(rejection.line).toBe(c.rejects[i].line);
      expect(errorKeys(rejection)).toEqual(c.rejects[i].errors);
      expect(rejection.record).toEqual(c.rejects[i].record(file));
    });

    // Every import write is audited as the CLI user, through `import`.
    const actions = await actionsOf(workspace);
    expect(actions.length).toBeGreaterThanOrEqual(createdCount);
    for (const action of actions) expect([action.actor, action.via]).toEqual([DEFAULT_ACTOR, 'import']);

    const before = await state(workspace);
    const again = await importFile(workspace, c.format, file);
    expect(again.code).toBe(0);
    expect(again.out).toEqual([summary(0, 0, createdCount, rejectedCount, file)]);
    expect(await state(workspace)).toEqual(before);
    expect(readRejects(file)).toHaveLength(rejectedCount);
  });

  test('kajabi: profile, socials, revenue and sign-in data land on the customer', async () => {
    const workspace = await newWorkspace();
    expect((await importFile(workspace, 'kajabi', copyFixture('kajabi.json'))).code).toBe(0);
    const ada = await customerByEmail(workspace, 'ada@example.com');
    expect(ada).toMatchObject({
      externalId: 'usr_1001',
      name: 'Ada Lovelace',
      firstName: null,
      avatarUrl: 'https://cdn.example.com/avatars/ada.png',
      profile: {
        bio: 'Writes about analytical engines.',
        location: 'London',
        website: 'https://ada.example.org',
        socials: { twitter: '@ada', facebook: null, instagram: 'ada.codes' },
      },
      netRevenue: '1249.50',
      signInCount: 42,
      lastRequestAt: '2024-05-01T09:30:00.000Z',
      bouncedAt: null,
      createdAt: '2021-03-14T15:09:26.000Z',
      status: 'ACTIVE',
      version: 1,
    });
    const grace = await customerByEmail(workspace, 'grace@example.com');
    expect(grace).toMatchObject({ externalId: null, bouncedAt: '2023-12-24T08:00:00.000Z', netRevenue: null, signInCount: 0, avatarUrl: null });
  });

  test('crm: archivedAt archives the customer; national phones use phoneCountry; dates kept as written', async () => {
    const workspace = await newWorkspace();
    expect((await importFile(workspace, 'crm', copyFixture('crm.json'))).code).toBe(0);
    expect(await customerByEmail(workspace, 'lena.schmidt@example.com')).toMatchObject({
      externalId: 'crm-501',
      phone: '+493012345678',
      phoneCountry: 'DE',
      birthDate: '1988-04-12',
      gender: 'female',
      internalNote: 'Prefers email over phone.',
      status: 'ACTIVE',
      archivedAt: null,
      createdAt: '2022-06-01T08:15:00.000Z',
      createdBy: 'agent@example.org',
      createdVia: 'web',
    });
    expect(await customerByEmail(workspace, 'tom.baker@example.com')).toMatchObject({
      externalId: 'crm-502',
      status: 'ARCHIVED',
      archivedAt: '2024-02-29T17:45:00.000Z',
      archivedBy: 'agent@example.org',
      archivedVia: 'back-office',
      phone: '+442079460958',
      birthDate: '1975-11-30',
      gender: '1',
      unsubscribed: true,
    });
    expect(await customerByEmail(workspace, 'mia.wong@example.org')).toMatchObject({ status: 'ACTIVE', gender: null, phone: null, birthDate: null });
  });

  test('group-members: national phone becomes E.164 in the billing country, WI kept, USA becomes US, removed is archived', async () => {
    const workspace = await newWorkspace();
    expect((await importFile(workspace, 'group-members', copyFixture('group-members.json'))).code).toBe(0);
    expect(await customerByEmail(workspace, 'jane.doe@example.com')).toMatchObject({
      externalId: '2719',
      firstName: 'Jane',
      lastName: 'Doe',
      phone: '+16085550134',
      phoneCountry: 'US',
      billingAddress: { line1: '1000 Freedom Way', line2: null, city: 'West Bend', state: 'WI', postalCode: '53095', country: 'US' },
      status: 'ACTIVE',
      createdAt: '2022-02-22T14:59:52.000Z',
    });
    expect(await customerByEmail(workspace, 'tim.schmidt@example.org')).toMatchObject({
      externalId: '2720',
      phone: '+12623349921',
      billingAddress: { line1: '200 Lake Drive', line2: 'Apt 3', city: 'Milwaukee', state: 'WI', postalCode: '53202', country: 'US' },
      status: 'ARCHIVED',
      archivedAt: '2023-05-04T10:11:12.000Z',
      createdAt: '2021-09-30T23:45:00.000Z',
    });
    expect(await customerByEmail(workspace, 'lou.reed@example.com')).toMatchObject({
      externalId: '2721',
      phone: null,
      billingAddress: { line1: '7 River Road', line2: null, city: 'Madison', state: 'WI', postalCode: '53703', country: 'US' },
    });
  });

  test('rapidly: a team with its 2 members; a legacy null type is an individual; deleted_at archives; gravatar dropped', async () => {
    const workspace = await newWorkspace();
    expect((await importFile(workspace, 'rapidly', copyFixture('rapidly.json'))).code).toBe(0);
    const acme = await customerByEmail(workspace, 'billing@acme.example.com');
    expect(acme).toMatchObject({
      externalId: 'team_42',
      type: 'TEAM',
      name: 'Acme Robotics',
      emailVerified: true,
      avatarUrl: 'https://cdn.example.com/logos/acme.png',
      metadata: { plan: 'business', seats: 5 },
      billingAddress: { line1: '1 Main Street', line2: 'Suite 400', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' },
      createdAt: '2023-11-07T05:31:56.000Z',
      status: 'ACTIVE',
    });
    expect(await membersOf(workspace, acme)).toEqual([
      { email: 'jane@acme.example.com', name: 'Jane Doe', externalId: 'usr_1337', role: 'MEMBER' },
      { email: 'raj@acme.example.com', name: null, externalId: null, role: 'MEMBER' },
    ]);
    expect(await customerByEmail(workspace, 'lone.buyer@example.org')).toMatchObject({
      type: 'INDIVIDUAL',
      status: 'ARCHIVED',
      archivedAt: '2024-03-05T16:20:00.000Z',
      avatarUrl: null,
      externalId: null,
    });
  });

  test('khoros: non-core keys become non-searchable custom field definitions with their values set', async () => {
    const workspace = await newWorkspace();
    expect((await importFile(workspace, 'khoros', copyFixture('khoros.ndjson'))).code).toBe(0);
    const definitions = await findDefinitions(store.db, workspace.id);
    expect(definitions.map((d) => [d.key, d.valueType, d.searchable])).toEqual([
      ['custom_non_searchable_customer_field_one', 'BOOLEAN', false],
      ['custom_non_searchable_customer_field_two', 'DATE', false],
      ['custom_searchable_customer_field_one', 'STRING', false],
      ['custom_searchable_customer_field_two', 'NUMBER', false],
      ['favourite_colour', 'STRING', false],
      ['last_purchase_amount', 'NUMBER', false],
      ['loyalty_tier', 'STRING', false],
    ]);
    const sam = await customerByEmail(workspace, 'sam.rivera@example.com');
    expect(sam).toMatchObject({ externalId: 'kh-9001', firstName: 'Sam', lastName: 'Rivera', phone: '+14155552671' });
    expect(await fieldsOf(workspace, sam)).toEqual({
      custom_searchable_customer_field_one: 'gold',
      custom_searchable_customer_field_two: 7,
      custom_non_searchable_customer_field_one: true,
      custom_non_searchable_customer_field_two: '2024-03-01',
    });
    const jo = await customerByEmail(workspace, 'jo.kim@example.org');
    expect(jo).toMatchObject({ externalId: 'kh-9002', firstName: 'Jo', lastName: 'Kim' });
    expect(await fieldsOf(workspace, jo)).toEqual({ loyalty_tier: 'silver', favourite_colour: 'teal', last_purchase_amount: 19.99 });
    const pat = await customerByEmail(workspace, 'pat.lee@example.com');
    expect(pat).toMatchObject({ name: 'Pat Lee', externalId: null });
    expect(await fieldsOf(workspace, pat)).toEqual({ custom_non_searchable_customer_field_one: false });
  });

  test('khoros with --searchable defines just those keys as searchable (values indexed as searchable too)', async () => {
    const workspace = await newWorkspace();
    const run = await importFile(
      workspace,
      'khoros',
      copyFixture('khoros.ndjson'),
      '--searchable',
      'custom_searchable_customer_field_one, custom_searchable_customer_field_two',
    );
    expect(run.code).toBe(0);
    const searchable = (await findDefinitions(store.db, workspace.id)).filter((d) => d.searchable).map((d) => d.key);
    expect(searchable).toEqual(['custom_searchable_customer_field_one', 'custom_searchable_customer_field_two']);
    const values = await store.db
      .selectFrom('custom_field_values')
      .select(['field_key', 'searchable'])
      .where('workspace_id', '=', workspace.id)
      .orderBy('field_key')
      .execute();
    for (const value of values) expect([value.field_key, value.searchable]).toEqual([value.field_key, searchable.includes(value.field_key) ? 1 : 0]);
    expect(values.filter((v) => v.searchable === 1).map((v) => v.field_key)).toEqual(searchable);
  });

  test('csv: text cells become booleans, counts, nested profile/address, metadata and typed custom fields', async () => {
    const workspace = await newWorkspace();
    await defineLoyaltyTier(workspace);
    expect((await importFile(workspace, 'csv', copyFixture('customers.csv'))).code).toBe(0);
    const olivia = await customerByEmail(workspace, 'olivia.chen@example.com');
    expect(olivia).toMatchObject({
      externalId: 'csv-1',
      phone: '+14155552671',
      birthDate: '1990-07-15',
      emailVerified: true,
      unsubscribed: false,
      type: 'INDIVIDUAL',
      profile: { bio: 'Climbs on weekends.', socials: { twitter: '@olivia' } },
      billingAddress: { line1: '500 Howard St', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' },
      metadata: { plan: 'pro' },
      netRevenue: '320.00',
      signInCount: 12,
      createdAt: '2022-03-01T10:00:00.000Z',
    });
    expect(await fieldsOf(workspace, olivia)).toEqual({ loyalty_tier: 'gold' });
    expect(await customerByEmail(workspace, 'noah.berg@example.org')).toMatchObject({
      type: 'TEAM',
      name: 'Berg Family',
      phone: '+4930901820',
      emailVerified: true,
      unsubscribed: true,
      internalNote: 'Called twice.\nWants a callback in German.',
      billingAddress: { line1: 'Unter den Linden 1', city: 'Berlin', state: null, postalCode: '10117', country: 'DE' },
    });
    const emma = await customerByEmail(workspace, 'emma.stone@example.com');
    expect(emma).toMatchObject({ emailVerified: false, signInCount: 0, createdAt: '2023-09-09T09:09:09.000Z' });
    expect(await fieldsOf(workspace, emma)).toEqual({ loyalty_tier: 'silver' });
  });

  test('csv: a value for a custom field the workspace has not defined rejects that row only', async () => {
    const workspace = await newWorkspace();
    const file = copyFixture('customers.csv');
    const run = await importFile(workspace, 'csv', file);
    expect(run.out).toEqual([summary(1, 0, 0, 3, file)]);
    const rejects = readRejects(file);
    expect(rejects.map((r) => r.line)).toEqual([2, 5, 7]);
    expect(errorKeys(rejects[0])).toEqual(['customFields.0.key:INVALID']);
  });

  test('ndjson: an export file with custom fields, a team with members and an archived customer', async () => {
    const workspace = await newWorkspace();
    expect((await importFile(workspace, 'ndjson', copyFixture('customers.ndjson'))).code).toBe(0);
    const ada = await customerByEmail(workspace, 'ada.byron@example.com');
    expect(ada).toMatchObject({
      externalId: 'ext-ada',
      name: null,
      firstName: 'Ada',
      phone: '+16085550134',
      metadata: { plan: 'pro', seats: 3, trial: false },
      netRevenue: '199.99',
      signInCount: 17,
      createdAt: '2023-01-05T09:00:00.000Z',
      createdBy: 'alice',
      createdVia: 'api',
      updatedBy: DEFAULT_ACTOR,
      updatedVia: 'import',
    });
    expect(await fieldsOf(workspace, ada)).toEqual({ loyalty_tier: 'gold', orders: 12 });
    expect((await findDefinitions(store.db, workspace.id)).map((d) => [d.key, d.valueType])).toEqual([
      ['loyalty_tier', 'STRING'],
      ['orders', 'NUMBER'],
    ]);
    const initech = await customerByEmail(workspace, 'it@initech.example.com');
    expect(initech).toMatchObject({ type: 'TEAM', name: 'Initech', avatarUrl: 'https://cdn.example.com/initech.png', externalId: 'team_initech' });
    expect(await membersOf(workspace, initech)).toEqual([
      { email: 'peter@initech.example.com', name: 'Peter Gibbons', externalId: 'emp-1', role: 'OWNER' },
      { email: 'milton@initech.example.com', name: null, externalId: null, role: 'MEMBER' },
    ]);
    expect(await customerByEmail(workspace, 'gone@example.org')).toMatchObject({
      status: 'ARCHIVED',
      archivedAt: '2024-03-01T12:00:00.000Z',
      archivedBy: 'carol',
      archivedVia: 'back-office',
      archiveReason: 'customer request',
      unsubscribed: true,
      internalNote: 'Asked to be removed.',
    });
  });
});

describe('upserts and the audit trail', () => {
  test('a record matching an existing customer by externalId updates it (even its email) and is counted updated', async () => {
    const workspace = await newWorkspace();
    const file = copyFixture('crm.json');
    expect((await importFile(workspace, 'crm', file)).code).toBe(0);
    const before = await customerByEmail(workspace, 'lena.schmidt@example.com');
    const actionsBefore = await actionsOf(workspace);

    const document = JSON.parse(fs.readFileSync(file, 'utf8'));
    document.data.users[0].firstName = 'Helena';
    document.data.users[0].email = 'helena@example.com';
    fs.writeFileSync(file, JSON.stringify(document, null, 2));
    const run = await importFile(workspace, 'crm', file, '--actor', 'sync-bot');
    expect(run.out).toEqual([summary(0, 1, 2, 1, file)]);

    expect(await customersOf(workspace)).toHaveLength(3);
    const after = await customerByEmail(workspace, 'helena@example.com');
    expect(after).toMatchObject({ id: before.id, firstName: 'Helena', version: before.version + 1, updatedBy: 'sync-bot', updatedVia: 'import' });
    const added = (await actionsOf(workspace)).slice(actionsBefore.length);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      customerId: before.id,
      type: 'CUSTOMER_UPDATED',
      actor: 'sync-bot',
      via: 'import',
      changes: { firstName: { from: 'Lena', to: 'Helena' }, email: { from: 'lena.schmidt@example.com', to: 'helena@example.com' } },
    });
  });

  test('a record without externalId matching an existing email case-insensitively updates that customer', async () => {
    const workspace = await newWorkspace();
    const existing = await created(createCustomer(store.db, who(workspace), { email: 'Mia.Wong@Example.org', lastName: 'Wong' }));
    expect(existing.version).toBe(1);
    const file = writeFile('mia.ndjson', ndjson([{ email: '  MIA.WONG@EXAMPLE.ORG ', firstName: 'Mia', favouriteColour: 'red' }]));
    const run = await importFile(workspace, 'khoros', file);
    expect(run.out).toEqual([summary(0, 1, 0, 0)]);
    const customers = await customersOf(workspace);
    expect(customers).toHaveLength(1);
    expect(customers[0]).toMatchObject({ id: existing.id, email: 'mia.wong@example.org', firstName: 'Mia', lastName: 'Wong', version: 2 });
    expect(await fieldsOf(workspace, customers[0])).toEqual({ favourite_colour: 'red' });

    const again = await importFile(workspace, 'khoros', file);
    expect(again.out).toEqual([summary(0, 0, 1, 0)]);
    expect((await customerByEmail(workspace, 'mia.wong@example.org')).version).toBe(2);
  });

  test('every change of an import is audited with via import and the --actor (customers and members)', async () => {
    const workspace = await newWorkspace();
    const run = await importFile(workspace, 'rapidly', copyFixture('rapidly.json'), '--actor', 'ops@example.com');
    expect(run.code).toBe(0);
    const acme = await customerByEmail(workspace, 'billing@acme.example.com');
    const lone = await customerByEmail(workspace, 'lone.buyer@example.org');
    const actions = await actionsOf(workspace);
    expect(actions.map((a) => [a.customerId, a.type, a.actor, a.via]).sort()).toEqual(
      [
        [acme.id, 'CUSTOMER_CREATED', 'ops@example.com', 'import'],
        [acme.id, 'MEMBER_ADDED', 'ops@example.com', 'import'],
        [acme.id, 'MEMBER_ADDED', 'ops@example.com', 'import'],
        [lone.id, 'CUSTOMER_CREATED', 'ops@example.com', 'import'],
      ].sort(),
    );
    expect(acme).toMatchObject({ createdBy: 'ops@example.com', createdVia: 'import', updatedBy: 'ops@example.com', updatedVia: 'import', version: 3 });
    expect(actions.filter((a) => a.type === 'MEMBER_ADDED').every((a) => a.memberId !== null)).toBe(true);
  });

  test('without --actor the audit log names cli:<user>', async () => {
    const workspace = await newWorkspace();
    const file = writeFile('one.ndjson', ndjson([{ email: 'solo@example.com', firstName: 'Solo' }]));
    expect((await importFile(workspace, 'ndjson', file)).out).toEqual([summary(1, 0, 0, 0)]);
    const actions = await actionsOf(workspace);
    expect(actions.map((a) => [a.type, a.actor, a.via])).toEqual([['CUSTOMER_CREATED', DEFAULT_ACTOR, 'import']]);
    expect(await customerByEmail(workspace, 'solo@example.com')).toMatchObject({ createdBy: DEFAULT_ACTOR, createdVia: 'import', updatedBy: DEFAULT_ACTOR });
  });
});

describe('a bad record never stops the run', () => {
  const lines = [
    { email: 'first@example.com', firstName: 'First' },
    '{"email": "broken json',
    { email: 'not-an-email' },
    { email: 'team@example.com', type: 'TEAM', members: [{ email: 'ok@example.com' }, { email: 'no good' }] },
    { email: 'second@example.com', externalId: 'x-2' },
    { email: 'FIRST@example.com', externalId: 'x-2' },
    { email: 'third@example.com', lastName: 'Third' },
  ];

  test.each([1, 2, 500])('with --batch-size %i every good record after a bad one is imported', async (batchSize) => {
    const workspace = await newWorkspace();
    const file = writeFile('mixed.ndjson', ndjson(lines));
    const run = await importFile(workspace, 'ndjson', file, '--batch-size', String(batchSize));
    expect(run.code).toBe(0);
    expect(run.out).toEqual([summary(3, 0, 0, 4, file)]);
    expect((await customersOf(workspace)).map((c) => c.email)).toEqual(['first@example.com', 'second@example.com', 'third@example.com']);
    const rejects = readRejects(file);
    expect(rejects.map((r) => r.line)).toEqual([2, 3, 4, 6]);
    expect(rejects[0].record).toBeUndefined();
    expect(errorKeys(rejects[0])).toEqual([':INVALID']);
    expect(errorKeys(rejects[1])).toEqual(['email:INVALID']);
    expect(rejects[1].record).toEqual({ email: 'not-an-email' });
    // The team's own writes (customer and first member) were undone with the record.
    expect(errorKeys(rejects[2])).toEqual(['members.1.email:INVALID']);
    expect(await store.db.selectFrom('members').select('id').where('workspace_id', '=', workspace.id).execute()).toEqual([]);
    // Its externalId names the customer line 5 imported: the file imports each customer once.
    expect(errorKeys(rejects[3])).toEqual([':DUPLICATE']);
    expect(await customerByEmail(workspace, 'second@example.com')).toMatchObject({ externalId: 'x-2', version: 1 });
    // Only the three created customers were audited.
    expect((await actionsOf(workspace)).map((a) => a.type)).toEqual(['CUSTOMER_CREATED', 'CUSTOMER_CREATED', 'CUSTOMER_CREATED']);
  });

  test('a file without rejects leaves no reject file (and removes a stale one)', async () => {
    const workspace = await newWorkspace();
    const file = writeFile('clean.ndjson', ndjson([{ email: 'clean@example.com' }]));
    fs.writeFileSync(`${file}.rejects.ndjson`, '{"line":1,"errors":[],"record":null}\n');
    const run = await importFile(workspace, 'ndjson', file);
    expect(run.out).toEqual([summary(1, 0, 0, 0)]);
    expect(fs.existsSync(`${file}.rejects.ndjson`)).toBe(false);
  });
});

describe('a record over --max-record-bytes', () => {
  const limit = 70_000;
  // Longer than one 64 KiB read of the file, so the record is dropped across reads.
  const long = 'x'.repeat(100_000);
  const before = { email: 'before@example.com', firstName: 'Before' };
  const after = { email: 'after@example.com', firstName: 'After' };
  const huge = { email: 'huge@example.com', firstName: long };
  const cases = [
    { name: 'NDJSON', file: 'long.ndjson', text: ndjson([before, huge, after]), line: 2 },
    { name: 'NDJSON, the long line last and unterminated', file: 'last.ndjson', text: ndjson([before, after]) + JSON.stringify(huge), line: 3 },
    { name: 'a JSON array', file: 'long.json', text: JSON.stringify([before, huge, after], null, 2), line: 2 },
    { name: 'a list envelope', file: 'envelope.json', text: JSON.stringify({ data: { users: [before, huge, after] }, meta: { total: 3 } }), line: 2 },
    { name: 'CSV, the long cell quoted over lines', file: 'long.csv', text: `email,firstName\nbefore@example.com,Before\nhuge@example.com,"${long}\n${long}"\nafter@example.com,After\n`, line: 3 },
  ];

  test.each(cases.map((c) => [c.name, c] as const))('%s: rejected unread as TOO_LONG, the rest imported, one stderr line', async (_name, c) => {
    const workspace = await newWorkspace();
    const file = writeFile(c.file, c.text);
    const format = c.file.endsWith('.csv') ? 'csv' : 'ndjson';
    const run = await importFile(workspace, format, file, '--max-record-bytes', String(limit), '--batch-size', '1');
    expect(run.code).toBe(0);
    expect(run.out).toEqual([summary(2, 0, 0, 1, file)]);
    expect(run.err).toEqual([`1 record(s) over the ${limit}-byte limit were rejected unread (see ${file}.rejects.ndjson; --max-record-bytes raises the limit)`]);
    expect((await customersOf(workspace)).map((c) => c.email)).toEqual(['after@example.com', 'before@example.com']);
    const rejects = readRejects(file);
    expect(rejects.map((r) => [r.line, errorKeys(r), r.record])).toEqual([[c.line, [':TOO_LONG'], undefined]]);
    expect(rejects[0].errors[0].message).toContain(`${limit}-byte limit`);
  });

  test('under the default limit of 1 MiB the same record is read and validated as before', async () => {
    const workspace = await newWorkspace();
    const file = writeFile('fits.ndjson', ndjson([before, huge, after]));
    const run = await importFile(workspace, 'ndjson', file);
    expect(run.err).toEqual([]);
    expect(run.out).toEqual([summary(2, 0, 0, 1, file)]);
    const rejects = readRejects(file);
    expect(rejects.map((r) => [r.line, errorKeys(r)])).toEqual([[2, ['firstName:TOO_LONG']]]);
    expect(rejects[0].record).toEqual(huge);
  });

  test('--max-record-bytes must be a whole number of at least 1', async () => {
    const workspace = await newWorkspace();
    const run = await importFile(workspace, 'ndjson', writeFile('x.ndjson', ndjson([before])), '--max-record-bytes', '0');
    expect(run.code).toBe(1);
    expect(run.err.join('\n')).toMatch(/--max-record-bytes must be a whole number/);
  });
});

describe('a second run of a file changes nothing', () => {
  const lines = [
    { email: 'twice@example.com', firstName: 'First' },
    { email: 'other@example.com', externalId: 'o-1' },
    { email: 'TWICE@example.com', firstName: 'Second' },
    { email: 'moved@example.com', externalId: 'o-1', firstName: 'Moved' },
    { email: 'last@example.com' },
  ];

  test.each([1, 500])('with --batch-size %i a later record for the same customer is rejected as DUPLICATE, every run', async (batchSize) => {
    const workspace = await newWorkspace();
    const file = writeFile('twice.ndjson', ndjson(lines));
    const first = await importFile(workspace, 'ndjson', file, '--batch-size', String(batchSize));
    expect(first.code).toBe(0);
    expect(first.out).toEqual([summary(3, 0, 0, 2, file)]);
    expect((await customerByEmail(workspace, 'twice@example.com')).firstName).toBe('First');
    expect((await customerByEmail(workspace, 'other@example.com')).externalId).toBe('o-1');
    const rejects = readRejects(file);
    expect(rejects.map((r) => [r.line, errorKeys(r)])).toEqual([
      [3, [':DUPLICATE']],
      [4, [':DUPLICATE']],
    ]);
    expect(rejects.map((r) => r.errors[0].message)).toEqual([expect.stringContaining('line 1'), expect.stringContaining('line 2')]);

    const before = await state(workspace);
    for (let run = 0; run < 2; run++) {
      const again = await importFile(workspace, 'ndjson', file, '--batch-size', String(batchSize));
      expect(again.out).toEqual([summary(0, 0, 3, 2, file)]);
      expect(await state(workspace)).toEqual(before);
    }
  });
});

describe('batches commit independently', () => {
  const record = (i: number): SourceItem => ({ line: i, raw: { email: `b${i}@example.com`, externalId: `b-${i}`, firstName: `B${i}` } });

  test('a source failing after 5 records keeps the 2 full batches; a re-run finishes with them unchanged', async () => {
    const workspace = await newWorkspace();
    const actor = { workspaceId: workspace.id, actor: 'batch-test', via: 'import' };
    async function* failing(): AsyncGenerator<SourceItem> {
      for (let i = 1; i <= 5; i++) yield record(i);
      throw new Error('the disk went away');
    }
    const batches: number[] = [];
    await expect(
      importCustomers(store.db, actor, failing(), { format: 'ndjson', batchSize: 2, onBatch: (s) => batches.push(s.created) }),
    ).rejects.toThrow('the disk went away');
    expect(batches).toEqual([2, 4]);
    expect((await customersOf(workspace)).map((c) => c.email)).toEqual(['b1@example.com', 'b2@example.com', 'b3@example.com', 'b4@example.com']);
    const before = await state(workspace);

    async function* full(): AsyncGenerator<SourceItem> {
      for (let i = 1; i <= 6; i++) yield record(i);
    }
    const result = await importCustomers(store.db, actor, full(), { format: 'ndjson', batchSize: 2 });
    expect(result).toEqual({ read: 6, created: 2, updated: 0, unchanged: 4, rejected: 0 });
    const after = await state(workspace);
    expect(after.customers.filter((c) => before.customers.some((b) => b.id === c.id))).toEqual(before.customers);
    expect((await customersOf(workspace)).map((c) => c.email)).toHaveLength(6);
  });
});

describe('export', () => {
  async function seeded(): Promise<{ workspace: Workspace; customers: CustomerRecord[] }> {
    const workspace = await newWorkspace();
    const customers: CustomerRecord[] = [];
    for (const email of ['e1@example.com', 'e2@example.com', 'e3@example.com']) {
      customers.push(await created(createCustomer(store.db, who(workspace), { email, firstName: email.slice(0, 2) })));
    }
    return { workspace, customers };
  }

  test('--out writes NDJSON ending in the trailer and prints the cursor as the last stdout line', async () => {
    const { workspace, customers } = await seeded();
    const exported = await exportTo(workspace);
    expect(exported.records.map((r) => r.email).sort()).toEqual(customers.map((c) => c.email).sort());
    expect(exported.lines[exported.lines.length - 1]).toBe(JSON.stringify({ trailer: { endCursor: exported.trailer.endCursor, exported: 3 } }));
    expect(exported.trailer.exported).toBe(3);
    expect(exported.run.out[exported.run.out.length - 1]).toBe(exported.trailer.endCursor);
  });

  test('without --out the NDJSON goes to stdout (io.stdout), trailer last', async () => {
    const { workspace } = await seeded();
    // Keep anything written straight to the process's stdout out of the test output.
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let run: Run;
    try {
      run = await cli('export', '--workspace', workspace.name);
    } finally {
      spy.mockRestore();
    }
    expect(run.code).toBe(0);
    const trailers = run.out.filter((l) => l.startsWith('{"trailer":'));
    expect(trailers).toHaveLength(1);
    expect(run.out[run.out.length - 1]).toBe(trailers[0]);
    expect(JSON.parse(trailers[0])).toEqual({ trailer: { endCursor: expect.any(String), exported: 3 } });
    expect(run.out.filter((l) => l.startsWith('{"id":'))).toHaveLength(3);
  });

  test('--after a cursor exports just the customer changed since, then nothing', async () => {
    const { workspace, customers } = await seeded();
    const first = await exportTo(workspace);
    const updated = await created(updateCustomer(store.db, who(workspace), { id: customers[0].id, lastName: 'Changed' }));
    const second = await exportTo(workspace, '--after', first.trailer.endCursor);
    expect(second.records.map((r) => [r.id, r.lastName, r.version])).toEqual([[customers[0].id, 'Changed', updated.version]]);
    expect(second.trailer.exported).toBe(1);
    expect(second.trailer.endCursor).not.toBe(first.trailer.endCursor);
    const third = await exportTo(workspace, '--after', second.trailer.endCursor);
    expect(third.records).toEqual([]);
    expect(third.trailer).toEqual({ endCursor: second.trailer.endCursor, exported: 0 });
  });

  test('--since exports only customers changed at or after the instant', async () => {
    const { workspace, customers } = await seeded();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await created(updateCustomer(store.db, who(workspace), { id: customers[1].id, lastName: 'Later' }));
    const exported = await exportTo(workspace, '--since', since);
    expect(exported.records.map((r) => r.email)).toEqual(['e2@example.com']);
    expect(exported.trailer.exported).toBe(1);
    const all = await exportTo(workspace, '--since', '2000-01-01T00:00:00Z');
    expect(all.records).toHaveLength(3);
  });

  test('a bad --after or --since exits 1 with one error line', async () => {
    const { workspace } = await seeded();
    const other = await newWorkspace();
    const foreign = (await exportTo(other)).trailer.endCursor;
    for (const argv of [['--after', 'not-a-cursor'], ['--after', foreign], ['--since', 'yesterday']]) {
      const out = path.join(freshDir(), 'x.ndjson');
      const run = await cli('export', '--workspace', workspace.name, '--out', out, ...argv);
      expect(run.code).toBe(1);
      expect(run.out).toEqual([]);
      expect(run.err).toHaveLength(1);
      expect(run.err[0]).toMatch(new RegExp(`^error: .*${argv[0]}`));
    }
  });
});

describe('round trip export -> import --format ndjson -> export', () => {
  test('every customer record comes back identical except ids, versions and who/when stamps', async () => {
    const a = await newWorkspace();
    const b = await newWorkspace();
    const as = who(a);
    for (const [key, valueType, searchable] of [
      ['tier', 'STRING', true],
      ['score', 'NUMBER', false],
      ['vip', 'BOOLEAN', false],
      ['renewal', 'DATE', true],
    ] as const) {
      expect((await defineCustomField(store.db, a.id, { key, label: key, valueType, searchable })).userErrors).toEqual([]);
    }
    await created(
      createCustomer(store.db, as, {
        email: 'full@example.com',
        externalId: 'ext-full',
        firstName: 'Fay',
        lastName: 'Full',
        phone: '(608) 555-0134',
        birthDate: '1980-02-29',
        gender: 'nonbinary',
        emailVerified: true,
        unsubscribed: true,
        internalNote: 'Line one.\nLine two.',
        profile: { bio: 'Bio', location: 'Madison', website: 'https://fay.example.com', socials: { twitter: '@fay', facebook: 'fay.fb', instagram: null } },
        billingAddress: { line1: '1000 Freedom Way', line2: 'Suite 1', city: 'West Bend', state: 'US-WI', postalCode: '53095', country: 'USA' },
        metadata: { zeta: 'last', plan: 'pro', seats: 3, trial: false, a: 'first' },
        customFields: [
          { key: 'tier', value: 'Gold' },
          { key: 'score', value: 4.5 },
          { key: 'vip', value: false },
          { key: 'renewal', value: '2025-01-31' },
        ],
      }),
    );
    const team = await created(
      createCustomer(store.db, as, { email: 'team@initech.example.com', type: 'TEAM', name: 'Initech', avatarUrl: 'https://cdn.example.com/i.png', customFields: [{ key: 'score', value: 10 }] }),
    );
    for (const member of [
      { email: 'peter@initech.example.com', name: 'Peter', externalId: 'emp-1', role: 'OWNER' as const },
      { email: 'milton@initech.example.com' },
    ]) {
      expect((await addMember(store.db, as, { customerId: team.id, ...member })).userErrors).toEqual([]);
    }
    const leaving = await created(createCustomer(store.db, as, { email: 'leaving@example.com', firstName: 'Lee', customFields: [{ key: 'vip', value: true }] }));
    expect((await archiveCustomer(store.db, as, { id: leaving.id, reason: 'moved away' })).userErrors).toEqual([]);
    // Import-only fields (revenue, sign-ins, vendor creation times) too.
    expect((await importFile(a, 'kajabi', copyFixture('kajabi.json'))).code).toBe(0);

    const exportA = await exportTo(a);
    expect(exportA.records).toHaveLength(5);
    const file = path.join(freshDir(), 'a.ndjson');
    fs.writeFileSync(file, exportA.lines.join('\n') + '\n');

    const imported = await importFile(b, 'ndjson', file);
    expect(imported.err).toEqual([]);
    expect(imported.out).toEqual([summary(5, 0, 0, 0)]);
    expect(fs.existsSync(`${file}.rejects.ndjson`)).toBe(false);

    const exportB = await exportTo(b);
    const comparable = (records: ExportedLine[]) =>
      Object.fromEntries(
        records.map((record) => {
          const { id, version, updatedAt, updatedBy, updatedVia, createdBy, createdVia, members, ...rest } = record;
          void [id, version, updatedAt, updatedBy, updatedVia, createdBy, createdVia];
          return [record.email, { ...rest, members: members.map(({ id: memberId, createdAt, updatedAt: memberUpdatedAt, ...m }) => (void [memberId, createdAt, memberUpdatedAt], m)) }];
        }),
      );
    expect(comparable(exportB.records)).toEqual(comparable(exportA.records));
    // Spot checks that the comparison covered the interesting parts.
    const full = exportB.records.find((r) => r.email === 'full@example.com');
    expect(full).toMatchObject({
      customFields: expect.arrayContaining([{ key: 'score', value: 4.5 }, { key: 'vip', value: false }, { key: 'renewal', value: '2025-01-31' }, { key: 'tier', value: 'Gold' }]),
      billingAddress: { state: 'WI', country: 'US', line2: 'Suite 1' },
      metadata: { zeta: 'last', plan: 'pro', seats: 3, trial: false, a: 'first' },
    });
    expect(exportB.records.find((r) => r.email === 'team@initech.example.com')?.members).toHaveLength(2);
    expect(exportB.records.find((r) => r.email === 'leaving@example.com')).toMatchObject({ status: 'ARCHIVED', archiveReason: 'moved away', archivedBy: 'agent@example.com' });

    // Importing the same export again changes nothing.
    const before = await state(b);
    const again = await importFile(b, 'ndjson', file);
    expect(again.out).toEqual([summary(0, 0, 5, 0)]);
    expect(await state(b)).toEqual(before);
  });
});

describe('progress', () => {
  test('import writes a final plain progress line with the record count (and 100% when the total is known)', async () => {
    const workspace = await newWorkspace();
    const json = await importFile(workspace, 'kajabi', copyFixture('kajabi.json'));
    const jsonLines = json.progress.trimEnd().split('\n');
    expect(jsonLines[jsonLines.length - 1]).toMatch(/^import: 3, \d+\/s, created 2 updated 0 unchanged 0 rejected 1$/);

    const nd = await importFile(workspace, 'ndjson', copyFixture('customers.ndjson'));
    const ndLines = nd.progress.trimEnd().split('\n');
    expect(ndLines[ndLines.length - 1]).toMatch(/^import: 4 of 4 \(100%\), \d+\/s.*created 3 updated 0 unchanged 0 rejected 1$/);
    expect(nd.progress).not.toMatch(/\u001b\[/);
  });

  test('export writes a final "export: N of N (100%)" line', async () => {
    const workspace = await newWorkspace();
    expect((await importFile(workspace, 'crm', copyFixture('crm.json'))).code).toBe(0);
    const exported = await exportTo(workspace);
    const lines = exported.run.progress.trimEnd().split('\n');
    expect(lines[lines.length - 1]).toMatch(/^export: 3 of 3 \(100%\), \d+\/s/);
  });
});

describe('CLI failures are one line and exit 1', () => {
  test('unknown workspace', async () => {
    const file = copyFixture('crm.json');
    const run = await cli('import', '--workspace', 'ghost', '--format', 'crm', file);
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err).toEqual(['error: no workspace named "ghost"']);
    expect(fs.existsSync(`${file}.rejects.ndjson`)).toBe(false);
    const exported = await cli('export', '--workspace', 'ghost', '--out', path.join(freshDir(), 'x.ndjson'));
    expect(exported.code).toBe(1);
    expect(exported.err).toEqual(['error: no workspace named "ghost"']);
  });

  test('unknown --format', async () => {
    const workspace = await newWorkspace();
    const run = await importFile(workspace, 'xml', copyFixture('crm.json'));
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toMatch(/^error: .*--format.*ndjson, csv, kajabi, crm, khoros, rapidly, group-members/);
    expect(await customersOf(workspace)).toEqual([]);
  });

  test('missing file', async () => {
    const workspace = await newWorkspace();
    const missing = path.join(freshDir(), 'nope.json');
    const run = await importFile(workspace, 'crm', missing);
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err).toEqual([`error: no such file: ${missing}`]);
  });
});
