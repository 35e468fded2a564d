import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coerceCustomFieldText, isImportFormat, mapRecord, normaliseCustomFieldKey } from '../src/import/formats';
import type { ImportFormat, ImportRecord, MapResult } from '../src/import/formats';
import { toUtcTimestamp } from '../src/import/raw';
import { detectJsonLayout, ImportSourceError, readCsvRecords, readRecords } from '../src/import/sources';
import type { ReadOptions, SourceItem } from '../src/import/sources';
import type { FieldError } from '../src/services/validation';

const FIXTURES = join(__dirname, 'fixtures', 'import');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'import-formats-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function collect(source: AsyncIterable<SourceItem>): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source) items.push(item);
  return items;
}

let fileCount = 0;
/** Writes `content` to a fresh temp file and reads it back through readRecords. */
async function readText(content: string, extension = '.json', options?: ReadOptions): Promise<SourceItem[]> {
  const file = join(dir, `file-${++fileCount}${extension}`);
  writeFileSync(file, content);
  return collect(readRecords(file, options));
}

function fixture(name: string): string {
  return join(FIXTURES, name);
}

function mapped(result: MapResult): ImportRecord {
  if (!result.ok) throw new Error(`expected a record, got ${JSON.stringify(result.errors)}`);
  return result.record;
}

/** The (field, code) pairs of a failed mapping, every problem, in order. */
function problems(result: MapResult): [string[] | null, string][] {
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.record)}`);
  return result.errors.map((error: FieldError) => [error.field, error.code]);
}

async function mapFixture(format: ImportFormat, name: string): Promise<{ items: SourceItem[]; results: MapResult[] }> {
  const items = await collect(readRecords(fixture(name)));
  return { items, results: items.map((item) => mapRecord(format, item.raw)) };
}

describe('detectJsonLayout', () => {
  it.each([
    ['a JSON array', '[{"email":"a@example.com"}]', 'array'],
    ['an array after a byte-order mark and blank lines', '\uFEFF\n\n  [', 'array'],
    ['one object per line', '{"email":"a@example.com"}\n{"email":"b@example.com"}\n', 'ndjson'],
    ['a single record on one line', '{"email":"a@example.com"}\n', 'ndjson'],
    ['a minified envelope on one line', '{"data":{"users":[{"email":"a@example.com"}]}}', 'envelope'],
    ['a pretty-printed envelope', '{\n  "data": [\n    {"email": "a@example.com"}\n  ]\n}\n', 'envelope'],
    ['NDJSON whose first line is broken', '{"email": oops}\n{"email":"b@example.com"}\n', 'ndjson'],
    ['an envelope that opens an array on its first line', '{"customers": [\n{"email":"a@example.com"},\n{"email":"b@example.com"}\n]}', 'envelope'],
    ['text that is no JSON', 'email,name\n', 'ndjson'],
    ['an empty file', '', 'ndjson'],
  ])('reads %s', (_name, head, layout) => {
    expect(detectJsonLayout(head)).toBe(layout);
  });

  it('takes a first line longer than the peek for a minified document', () => {
    expect(detectJsonLayout('{"data":[{"email":"a@example.com"},', false)).toBe('envelope');
  });

  it('takes a complete first line with more to come beyond the peek for NDJSON', () => {
    expect(detectJsonLayout('{"data":"a record field, not an envelope"}\n', false)).toBe('ndjson');
  });
});

describe('readRecords with maxRecordBytes', () => {
  const limit = { maxRecordBytes: 40 };
  const tooLong = (line: number) => ({ line, raw: undefined, error: expect.stringContaining('40-byte limit'), code: 'TOO_LONG' });
  const big = 'y'.repeat(60);

  it('drops an oversize array element of any JSON type, keeping the elements around it', async () => {
    const text = JSON.stringify([{ a: 1 }, { b: big }, `${big}`, [big], 12, { c: { d: [big] } }, { e: '\u00e9"\\' }]);
    expect(await readText(text, '.json', limit)).toEqual([
      { line: 1, raw: { a: 1 } },
      tooLong(2),
      tooLong(3),
      tooLong(4),
      { line: 5, raw: 12 },
      tooLong(6),
      { line: 7, raw: { e: 'é"\\' } },
    ]);
  });

  it('finds the records array behind escaped keys and skips an oversize key outside it', async () => {
    const text = `{"${'k'.repeat(300)}": 1, "d\\u0061ta": {"us\\"ers": 0, "users": [{"a": 1}, {"b": "${big}"}, {"c": 3}]}}`;
    expect(await readText(text, '.json', limit)).toEqual([{ line: 1, raw: { a: 1 } }, tooLong(2), { line: 3, raw: { c: 3 } }]);
  });

  it('rejects an oversize single record: a JSON:API resource, a CRM data.user, a small pretty record', async () => {
    const resource = JSON.stringify({ data: { type: 'customers', id: '1', attributes: { email: 'a@example.com', bio: big } } }, null, 2);
    expect(await readText(resource, '.json', limit)).toEqual([tooLong(1)]);
    const user = JSON.stringify({ data: { user: { email: 'a@example.com', bio: big } } }, null, 2);
    expect(await readText(user, '.json', limit)).toEqual([tooLong(1)]);
    const single = JSON.stringify({ email: 'a@example.com', bio: big }, null, 2);
    expect(await readText(single, '.json', limit)).toEqual([tooLong(1)]);
  });

  it('counts lines of CSV and NDJSON across dropped records, and refuses an oversize CSV header', async () => {
    const csv = `email,name\n\na@example.com,"${big}\n${big}"\nb@example.com,B\n`;
    expect(await readText(csv, '.csv', limit)).toEqual([tooLong(3), { line: 5, raw: { email: 'b@example.com', name: 'B' } }]);
    const crlf = `email,name\r\na@example.com,"${big}\r\n${big}"\r\nb@example.com,B\r\n`;
    expect(await readText(crlf, '.csv', limit)).toEqual([tooLong(2), { line: 4, raw: { email: 'b@example.com', name: 'B' } }]);
    const lines = `{"a":1}\r\n{"b":"${big}"}\r\n\r\n{"c":3}\n{"d":"${big}"}`;
    expect(await readText(lines, '.ndjson', limit)).toEqual([{ line: 1, raw: { a: 1 } }, tooLong(2), { line: 4, raw: { c: 3 } }, tooLong(5)]);
    await expect(readText(`email,${big}\na@example.com,A\n`, '.csv', limit)).rejects.toThrow(/CSV header is over the 40-byte limit/);
  });
});

describe('readRecords', () => {
  const users = [{ email: 'a@example.com' }, { email: 'b@example.com' }];

  it.each([
    ['CRM list data.users', { app: 'crm', warnings: [{}], data: { users, next: 'abc', query: {} } }],
    ['CRM export data.items', { data: { items: users, next: null } }],
    ['a data array', { data: users, meta: { count: 2 } }],
    ['an items array', { items: users }],
    ['a customers array', { total: 2, customers: users }],
  ])('streams the records of %s with their 1-based index', async (_name, document) => {
    expect(await readText(JSON.stringify(document, null, 2))).toEqual([
      { line: 1, raw: { email: 'a@example.com' } },
      { line: 2, raw: { email: 'b@example.com' } },
    ]);
  });

  it('streams a JSON array with each element index as its line', async () => {
    expect(await readText(JSON.stringify([{ email: 'a@example.com' }, 'not a record']))).toEqual([
      { line: 1, raw: { email: 'a@example.com' } },
      { line: 2, raw: 'not a record' },
    ]);
  });

  it('flattens a JSON:API list to attributes plus id', async () => {
    const document = { data: [{ type: 'customers', id: '7', attributes: { email: 'a@example.com' }, links: {} }] };
    expect(await readText(JSON.stringify(document))).toEqual([{ line: 1, raw: { email: 'a@example.com', id: '7' } }]);
  });

  it('reads a JSON:API single resource whatever the order of its members', async () => {
    const document = { data: { attributes: { email: 'a@example.com', name: 'A' }, type: 'group-members', id: 'x-1' }, included: [] };
    expect(await readText(JSON.stringify(document, null, 2))).toEqual([{ line: 1, raw: { email: 'a@example.com', name: 'A', id: 'x-1' } }]);
  });

  it('reads the CRM single-customer response data.user', async () => {
    expect(await readText(JSON.stringify({ requestId: 'r', data: { user: { email: 'a@example.com', id: 'crm-1' } } }))).toEqual([
      { line: 1, raw: { email: 'a@example.com', id: 'crm-1' } },
    ]);
  });

  it('reads a pretty-printed object without envelope keys as one record', async () => {
    expect(await readText(JSON.stringify({ id: 'r-1', email: 'a@example.com', members: [] }, null, 2))).toEqual([
      { line: 1, raw: { id: 'r-1', email: 'a@example.com', members: [] } },
    ]);
  });

  it('reads an empty record array as no records', async () => {
    expect(await readText('{"data":{"users":[],"next":null}}')).toEqual([]);
  });

  it('reads the array at a caller-given envelope path', async () => {
    const document = { result: { page: { rows: users } }, data: [{ email: 'ignored@example.com' }] };
    expect(await readText(JSON.stringify(document), '.json', { envelope: 'result.page.rows' })).toHaveLength(2);
  });

  it('refuses an object that holds no records where any layout keeps them', async () => {
    await expect(readText('{"data":{"succeed":true,"id":"1"}}')).rejects.toThrow(ImportSourceError);
    await expect(readText('{"data":{"succeed":true,"id":"1"}}')).rejects.toThrow(/no customer records/);
  });

  it('throws when the file cannot be opened', async () => {
    await expect(collect(readRecords(join(dir, 'missing.json')))).rejects.toThrow(/ENOENT/);
    await expect(collect(readCsvRecords(join(dir, 'missing.csv')))).rejects.toThrow(/ENOENT/);
  });

  it('yields a bad NDJSON line as an error item with its line number and reads on', async () => {
    const items = await readText('\uFEFF{"email":"a@example.com"}\n{"email": nope}\n\n{"email":"c@example.com"}\r\n42\n', '.ndjson');
    expect(items).toEqual([
      { line: 1, raw: { email: 'a@example.com' } },
      { line: 2, raw: undefined, error: expect.stringMatching(/^not valid JSON: /) },
      { line: 4, raw: { email: 'c@example.com' } },
      { line: 5, raw: 42 },
    ]);
  });

  it('yields the records before a syntax error in an array, then the error at the next index', async () => {
    // Records arrive before the parser reaches the broken tail: the array is streamed, not loaded.
    const items = await readText('{"data":{"users":[{"email":"a@example.com"},{"email":"b@example.com"},{"email": tru');
    expect(items).toEqual([
      { line: 1, raw: { email: 'a@example.com' } },
      { line: 2, raw: { email: 'b@example.com' } },
      { line: 3, raw: undefined, error: expect.stringMatching(/^not valid JSON: .*the rest of the file was not read$/) },
    ]);
  });

  it('stops reading when the consumer stops early', async () => {
    const file = join(dir, 'early.ndjson');
    writeFileSync(file, '{"email":"a@example.com"}\n{"email":"b@example.com"}\n');
    for await (const item of readRecords(file)) {
      expect(item.line).toBe(1);
      break;
    }
  });
});

describe('readCsvRecords', () => {
  it('yields header-keyed rows with the line each record starts on', async () => {
    const csv = '\uFEFFemail,internalNote\na@example.com,"two\nlines"\n\nb@example.com,plain\nc@example.com\n';
    expect(await readText(csv, '.csv')).toEqual([
      { line: 2, raw: { email: 'a@example.com', internalNote: 'two\nlines' } },
      { line: 5, raw: { email: 'b@example.com', internalNote: 'plain' } },
      { line: 6, raw: undefined, error: 'not valid CSV: the row has 1 cells but the header names 2 columns' },
    ]);
  });

  it('reads CSV whatever the file name when the caller says so', async () => {
    expect(await readText('email\na@example.com', '.txt', { format: 'csv' })).toEqual([{ line: 2, raw: { email: 'a@example.com' } }]);
  });

  it('ends with an error item at an unclosed quote', async () => {
    const items = await readText('email,name\na@example.com,A\nb@example.com,"open\n', '.csv');
    expect(items).toEqual([
      { line: 2, raw: { email: 'a@example.com', name: 'A' } },
      { line: 3, raw: undefined, error: expect.stringMatching(/^not valid CSV: Quote Not Closed/) },
    ]);
  });

  it('refuses a header that names a column twice', async () => {
    await expect(readText('email,name,email\na,b,c\n', '.csv')).rejects.toThrow(/names the column "email" twice/);
  });
});

describe('kajabi fixture (JSON:API list)', () => {
  it('reads and maps every record as documented', async () => {
    const { items, results } = await mapFixture('kajabi', 'kajabi.json');
    expect(items.map((item) => item.line)).toEqual([1, 2, 3]);
    expect(items[0].raw).toMatchObject({ id: '1827364', email: 'ada@example.com' });
    expect(mapped(results[0])).toEqual({
      input: {
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        avatarUrl: 'https://cdn.example.com/avatars/ada.png',
        externalId: 'usr_1001',
        profile: {
          bio: 'Writes about analytical engines.',
          location: 'London',
          website: 'https://ada.example.org',
          socials: { twitter: '@ada', instagram: 'ada.codes' },
        },
      },
      extras: { netRevenue: '1249.50', signInCount: 42, lastRequestAt: '2024-05-01T09:30:00.000Z', createdAt: '2021-03-14T15:09:26.000Z' },
      members: [],
      customFieldKeys: [],
    });
    expect(mapped(results[1])).toEqual({
      input: { email: 'grace@example.com', name: 'Grace Hopper' },
      extras: { signInCount: 0, bouncedAt: '2023-12-24T08:00:00.000Z', createdAt: '2023-01-02T10:00:00.000Z' },
      members: [],
      customFieldKeys: [],
    });
    expect(problems(results[2])).toEqual([
      [['email'], 'REQUIRED'],
      [['socials', 'twitter'], 'INVALID'],
      [['sign_in_count'], 'INVALID'],
    ]);
  });

  it('accepts a record still in its JSON:API wrapping', () => {
    const record = mapped(mapRecord('kajabi', { id: '9', type: 'customers', attributes: { email: 'w@example.com', name: 'W' } }));
    expect(record.input).toEqual({ email: 'w@example.com', name: 'W' });
  });
});

describe('crm fixture ({ data: { users } } envelope)', () => {
  it('reads and maps every record as documented', async () => {
    const { items, results } = await mapFixture('crm', 'crm.json');
    expect(items.map((item) => item.line)).toEqual([1, 2, 3, 4]);
    expect(mapped(results[0])).toEqual({
      input: {
        email: 'lena.schmidt@example.com',
        externalId: 'crm-501',
        firstName: 'Lena',
        lastName: 'Schmidt',
        phone: '030 12345678',
        birthDate: '1988-04-12',
        gender: 'female',
        unsubscribed: false,
        internalNote: 'Prefers email over phone.',
      },
      extras: { phoneRegion: 'DE', createdAt: '2022-06-01T08:15:00.000Z', createdBy: 'agent@example.org', createdVia: 'web' },
      members: [],
      customFieldKeys: [],
    });
    expect(mapped(results[1])).toEqual({
      input: {
        email: 'tom.baker@example.com',
        externalId: 'crm-502',
        firstName: 'Tom',
        lastName: 'Baker',
        phone: '+44 20 7946 0958',
        birthDate: '1975-11-30',
        gender: '1',
        unsubscribed: true,
      },
      extras: {
        createdAt: '2020-01-15T09:00:00.000Z',
        createdVia: 'import',
        status: 'ARCHIVED',
        archivedAt: '2024-02-29T17:45:00.000Z',
        archivedBy: 'agent@example.org',
        archivedVia: 'back-office',
      },
      members: [],
      customFieldKeys: [],
    });
    expect(mapped(results[2])).toEqual({
      input: { email: 'mia.wong@example.org', externalId: 'crm-503', firstName: 'Mia', lastName: 'Wong', unsubscribed: false },
      extras: { createdAt: '2023-07-07T07:07:07.000Z', createdVia: 'web' },
      members: [],
      customFieldKeys: [],
    });
    expect(problems(results[3])).toEqual([
      [['email'], 'REQUIRED'],
      [['unsubscribed'], 'INVALID'],
    ]);
  });

  it('takes a gender label out of an object and ignores a region that is no alpha-2 code', () => {
    const record = mapped(mapRecord('crm', { email: 'g@example.com', gender: { label: 'non-binary' }, phone: '0301234567', phoneCountry: 'DEU' }));
    expect(record.input.gender).toBe('non-binary');
    expect(record.extras.phoneRegion).toBeUndefined();
  });
});

describe('khoros fixture (NDJSON with custom fields)', () => {
  it('reads and maps every record as documented', async () => {
    const { items, results } = await mapFixture('khoros', 'khoros.ndjson');
    expect(items.map((item) => item.line)).toEqual([1, 2, 4, 5]);
    expect(mapped(results[0])).toEqual({
      input: {
        email: 'sam.rivera@example.com',
        firstName: 'Sam',
        lastName: 'Rivera',
        phone: '+1 415 555 2671',
        externalId: 'kh-9001',
        customFields: [
          { key: 'custom_searchable_customer_field_one', value: 'gold' },
          { key: 'custom_searchable_customer_field_two', value: 7 },
          { key: 'custom_non_searchable_customer_field_one', value: true },
          { key: 'custom_non_searchable_customer_field_two', value: '2024-03-01' },
        ],
      },
      extras: {},
      members: [],
      customFieldKeys: [
        { key: 'custom_searchable_customer_field_one', valueType: 'STRING' },
        { key: 'custom_searchable_customer_field_two', valueType: 'NUMBER' },
        { key: 'custom_non_searchable_customer_field_one', valueType: 'BOOLEAN' },
        { key: 'custom_non_searchable_customer_field_two', valueType: 'DATE' },
      ],
    });
    expect(mapped(results[1])).toEqual({
      input: {
        email: 'jo.kim@example.org',
        firstName: 'Jo',
        lastName: 'Kim',
        externalId: 'kh-9002',
        customFields: [
          { key: 'loyalty_tier', value: 'silver' },
          { key: 'favourite_colour', value: 'teal' },
          { key: 'last_purchase_amount', value: 19.99 },
        ],
      },
      extras: {},
      members: [],
      customFieldKeys: [
        { key: 'loyalty_tier', valueType: 'STRING' },
        { key: 'favourite_colour', valueType: 'STRING' },
        { key: 'last_purchase_amount', valueType: 'NUMBER' },
      ],
    });
    expect(mapped(results[2])).toEqual({
      input: { email: 'pat.lee@example.com', name: 'Pat Lee', customFields: [{ key: 'custom_non_searchable_customer_field_one', value: false }] },
      extras: {},
      members: [],
      customFieldKeys: [{ key: 'custom_non_searchable_customer_field_one', valueType: 'BOOLEAN' }],
    });
    expect(problems(results[3])).toEqual([
      [['1stVisit'], 'INVALID'],
      [['preferences'], 'INVALID'],
      [['email'], 'REQUIRED'],
    ]);
  });

  it('reports two keys that normalise to one with different values', () => {
    expect(problems(mapRecord('khoros', { email: 'k@example.com', firstName: 'A', first_name: 'B' }))).toEqual([[['first_name'], 'INVALID']]);
    expect(mapped(mapRecord('khoros', { email: 'k@example.com', firstName: 'A', first_name: 'A' })).input.firstName).toBe('A');
  });

  it('prefers externalId over the Khoros id', () => {
    expect(mapped(mapRecord('khoros', { email: 'k@example.com', id: 'kh-1', externalId: 'mine' })).input.externalId).toBe('mine');
  });
});

describe('rapidly fixture (JSON array)', () => {
  it('reads and maps every record as documented', async () => {
    const { items, results } = await mapFixture('rapidly', 'rapidly.json');
    expect(items.map((item) => item.line)).toEqual([1, 2, 3]);
    expect(mapped(results[0])).toEqual({
      input: {
        email: 'billing@acme.example.com',
        externalId: 'team_42',
        emailVerified: true,
        name: 'Acme Robotics',
        billingAddress: { line1: '1 Main Street', line2: 'Suite 400', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' },
        metadata: { plan: 'business', seats: 5 },
        type: 'TEAM',
        avatarUrl: 'https://cdn.example.com/logos/acme.png',
      },
      extras: { createdAt: '2023-11-07T05:31:56.000Z' },
      members: [
        { email: 'jane@acme.example.com', name: 'Jane Doe', externalId: 'usr_1337', role: 'MEMBER' },
        { email: 'raj@acme.example.com', role: 'MEMBER' },
      ],
      customFieldKeys: [],
    });
    expect(mapped(results[1])).toEqual({
      input: { email: 'lone.buyer@example.org', emailVerified: false, metadata: {}, type: 'INDIVIDUAL' },
      extras: { createdAt: '2024-01-20T14:00:00.000Z', status: 'ARCHIVED', archivedAt: '2024-03-05T16:20:00.000Z' },
      members: [],
      customFieldKeys: [],
    });
    expect(problems(results[2])).toEqual([
      [['email'], 'REQUIRED'],
      [['email_verified'], 'INVALID'],
      [['billing_address', 'country'], 'REQUIRED'],
      [['type'], 'INVALID'],
      [['members', '0', 'email'], 'REQUIRED'],
    ]);
  });
});

describe('group-members fixture (JSON array, one record in JSON:API wrapping)', () => {
  it('reads and maps every record as documented', async () => {
    const { items, results } = await mapFixture('group-members', 'group-members.json');
    expect(items.map((item) => item.line)).toEqual([1, 2, 3, 4]);
    expect(mapped(results[0])).toEqual({
      input: {
        email: 'jane.doe@example.com',
        externalId: '2719',
        firstName: 'Jane',
        lastName: 'Doe',
        phone: '(608) 555-0134',
        billingAddress: { line1: '1000 Freedom Way', city: 'West Bend', state: 'WI', postalCode: '53095', country: 'USA' },
      },
      extras: { createdAt: '2022-02-22T14:59:52.000Z' },
      members: [],
      customFieldKeys: [],
    });
    expect(mapped(results[1])).toEqual({
      input: {
        email: 'tim.schmidt@example.org',
        externalId: '2720',
        firstName: 'Tim',
        lastName: 'Schmidt',
        phone: '(262) 334-9921',
        billingAddress: { line1: '200 Lake Drive', line2: 'Apt 3', city: 'Milwaukee', state: 'WI', postalCode: '53202', country: 'USA' },
      },
      extras: { createdAt: '2021-09-30T23:45:00.000Z', status: 'ARCHIVED', archivedAt: '2023-05-04T10:11:12.000Z' },
      members: [],
      customFieldKeys: [],
    });
    expect(mapped(results[2])).toEqual({
      input: {
        email: 'lou.reed@example.com',
        externalId: '2721',
        firstName: 'Lou',
        lastName: 'Reed',
        billingAddress: { line1: '7 River Road', city: 'Madison', state: 'WI', postalCode: '53703', country: 'US' },
      },
      extras: { createdAt: '2024-01-01T00:00:00.000Z' },
      members: [],
      customFieldKeys: [],
    });
    expect(problems(results[3])).toEqual([
      [['email'], 'REQUIRED'],
      [['address'], 'INVALID'],
    ]);
  });

  it('accepts the API response shape, a JSON:API single resource', async () => {
    const response = { data: { type: 'group-members', id: 'g-1', attributes: { externalId: '1', email: 'one@example.com', name: 'One' } } };
    const [item] = await readText(JSON.stringify(response));
    expect(mapped(mapRecord('group-members', item.raw)).input).toEqual({ email: 'one@example.com', externalId: '1', firstName: 'One' });
  });
});

describe('customers.csv fixture', () => {
  it('reads and maps every row as documented', async () => {
    const { items, results } = await mapFixture('csv', 'customers.csv');
    expect(items.map((item) => item.line)).toEqual([2, 3, 5, 7]);
    expect(mapped(results[0])).toEqual({
      input: {
        email: 'olivia.chen@example.com',
        externalId: 'csv-1',
        firstName: 'Olivia',
        lastName: 'Chen',
        phone: '+1 415 555 2671',
        birthDate: '1990-07-15',
        emailVerified: true,
        unsubscribed: false,
        type: 'INDIVIDUAL',
        profile: { bio: 'Climbs on weekends.', socials: { twitter: '@olivia' } },
        billingAddress: { line1: '500 Howard St', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' },
        metadata: { plan: 'pro' },
        customFields: [{ key: 'loyalty_tier', value: 'gold' }],
      },
      extras: { netRevenue: '320.00', signInCount: 12, createdAt: '2022-03-01T10:00:00.000Z' },
      members: [],
      customFieldKeys: [],
    });
    expect(mapped(results[1])).toEqual({
      input: {
        email: 'noah.berg@example.org',
        externalId: 'csv-2',
        firstName: 'Noah',
        lastName: 'Berg',
        name: 'Berg Family',
        phone: '030 901820',
        emailVerified: true,
        unsubscribed: true,
        type: 'TEAM',
        billingAddress: { line1: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', country: 'DE' },
        internalNote: 'Called twice.\nWants a callback in German.',
      },
      extras: {},
      members: [],
      customFieldKeys: [],
    });
    expect(problems(results[2])).toEqual([
      [['emailVerified'], 'INVALID'],
      [['signInCount'], 'INVALID'],
      [['email'], 'REQUIRED'],
    ]);
    expect(mapped(results[3])).toEqual({
      input: {
        email: 'emma.stone@example.com',
        externalId: 'csv-4',
        firstName: 'Emma',
        lastName: 'Stone',
        emailVerified: false,
        unsubscribed: false,
        customFields: [{ key: 'loyalty_tier', value: 'silver' }],
      },
      extras: { signInCount: 0, createdAt: '2023-09-09T09:09:09.000Z' },
      members: [],
      customFieldKeys: [],
    });
  });

  it('reports an unknown column that has a value and ignores export-only ones', () => {
    const row = { email: 'c@example.com', frstName: 'Typo', id: 'ignored', version: '3', nickname: '' };
    expect(problems(mapRecord('csv', row))).toEqual([[['frstName'], 'INVALID']]);
    expect(mapped(mapRecord('csv', { email: 'c@example.com', id: 'x', updatedAt: 'y' })).input).toEqual({ email: 'c@example.com' });
  });

  it('keeps a metadata key named __proto__ as data', () => {
    const record = mapped(mapRecord('csv', { email: 'c@example.com', 'metadata.__proto__': 'x' }));
    expect(Object.getPrototypeOf(record.input.metadata)).toBe(Object.prototype);
    expect(Object.keys(record.input.metadata ?? {})).toEqual(['__proto__']);
  });
});

describe('customers.ndjson fixture (export shape)', () => {
  // An export is a full snapshot: its nulls are passed on so a re-import clears what was cleared.
  const NO_PROFILE = { bio: null, location: null, website: null, socials: { twitter: null, facebook: null, instagram: null } };
  const BLANK_INPUT = {
    firstName: null,
    lastName: null,
    name: null,
    phone: null,
    birthDate: null,
    gender: null,
    avatarUrl: null,
    internalNote: null,
    profile: NO_PROFILE,
    billingAddress: null,
  };
  const BLANK_EXTRAS = {
    netRevenue: null,
    lastRequestAt: null,
    bouncedAt: null,
    createdBy: null,
    createdVia: null,
    archivedAt: null,
    archivedBy: null,
    archivedVia: null,
    archiveReason: null,
  };

  it('reads and maps every record as documented', async () => {
    const { items, results } = await mapFixture('ndjson', 'customers.ndjson');
    expect(items.map((item) => item.line)).toEqual([1, 2, 3, 4, 5]);
    expect(mapped(results[0])).toEqual({
      input: {
        ...BLANK_INPUT,
        email: 'ada.byron@example.com',
        externalId: 'ext-ada',
        firstName: 'Ada',
        lastName: 'Byron',
        phone: '+16085550134',
        birthDate: '1985-12-10',
        gender: 'female',
        emailVerified: true,
        unsubscribed: false,
        type: 'INDIVIDUAL',
        profile: { ...NO_PROFILE, bio: 'Poet of numbers.', location: 'Madison, WI', socials: { twitter: '@adabyron', facebook: null, instagram: null } },
        billingAddress: { line1: '1000 Freedom Way', line2: null, city: 'West Bend', state: 'WI', postalCode: '53095', country: 'US' },
        metadata: { plan: 'pro', seats: 3, trial: false },
        customFields: [
          { key: 'loyalty_tier', value: 'gold' },
          { key: 'orders', value: 12 },
        ],
      },
      extras: {
        ...BLANK_EXTRAS,
        netRevenue: '199.99',
        signInCount: 17,
        lastRequestAt: '2024-04-30T18:00:00.000Z',
        createdAt: '2023-01-05T09:00:00.000Z',
        createdBy: 'alice',
        createdVia: 'api',
        status: 'ACTIVE',
      },
      members: [],
      customFieldKeys: [],
    });
    expect(mapped(results[1])).toEqual({
      input: {
        ...BLANK_INPUT,
        email: 'it@initech.example.com',
        externalId: 'team_initech',
        name: 'Initech',
        avatarUrl: 'https://cdn.example.com/initech.png',
        emailVerified: false,
        unsubscribed: false,
        type: 'TEAM',
        metadata: {},
        customFields: [],
      },
      extras: { ...BLANK_EXTRAS, signInCount: 0, createdAt: '2023-02-01T10:00:00.000Z', createdVia: 'import', status: 'ACTIVE' },
      members: [
        { email: 'peter@initech.example.com', name: 'Peter Gibbons', externalId: 'emp-1', role: 'OWNER' },
        { email: 'milton@initech.example.com', name: null, externalId: null, role: 'MEMBER' },
      ],
      customFieldKeys: [],
    });
    expect(mapped(results[2])).toEqual({
      // A null externalId is left out: once set it is immutable, so a null must not try to clear it.
      input: {
        ...BLANK_INPUT,
        email: 'gone@example.org',
        emailVerified: false,
        unsubscribed: true,
        internalNote: 'Asked to be removed.',
        type: 'INDIVIDUAL',
        metadata: {},
        customFields: [],
      },
      extras: {
        ...BLANK_EXTRAS,
        signInCount: 0,
        status: 'ARCHIVED',
        archivedAt: '2024-03-01T12:00:00.000Z',
        archivedBy: 'carol',
        archivedVia: 'back-office',
        archiveReason: 'customer request',
        createdAt: '2022-11-11T11:11:11.000Z',
      },
      members: [],
      customFieldKeys: [],
    });
    expect(mapped(results[2]).input).not.toHaveProperty('externalId');
    expect(problems(results[3])).toEqual([
      [['email'], 'REQUIRED'],
      [['type'], 'INVALID'],
      [['signInCount'], 'INVALID'],
    ]);
    // The export's trailer line is read like any line; the engine skips it.
    expect(items[4].raw).toEqual({ trailer: { endCursor: expect.any(String), exported: 4 } });
  });

  it('uses the plain name and avatar of a hand-written record without explicit* keys', () => {
    const record = mapped(mapRecord('ndjson', { email: 'h@example.com', name: 'H', avatarUrl: 'https://x.example.com/h.png', archivedAt: '2024-01-01 10:00:00' }));
    expect(record.input).toEqual({ email: 'h@example.com', name: 'H', avatarUrl: 'https://x.example.com/h.png' });
    expect(record.extras).toEqual({ status: 'ARCHIVED', archivedAt: '2024-01-01T10:00:00.000Z' });
  });
});

describe('mapRecord structural problems', () => {
  it.each([null, undefined, 'text', 42, [{ email: 'a@example.com' }]])('refuses %p as a record in every format', (raw) => {
    for (const format of ['ndjson', 'csv', 'kajabi', 'crm', 'khoros', 'rapidly', 'group-members'] as const) {
      expect(problems(mapRecord(format, raw))).toEqual([[null, 'INVALID']]);
    }
  });

  it('reports every wrong JSON type at once with the field as named in the source', () => {
    const raw = {
      email: 7,
      external_id: { id: 1 },
      email_verified: 'true',
      name: ['A'],
      billing_address: 'Main Street 1',
      metadata: 'plan=pro',
      members: { email: 'm@example.com' },
    };
    const result = mapRecord('rapidly', raw);
    expect(problems(result)).toEqual([
      [['email'], 'INVALID'],
      [['external_id'], 'INVALID'],
      [['email_verified'], 'INVALID'],
      [['name'], 'INVALID'],
      [['billing_address'], 'INVALID'],
      [['metadata'], 'INVALID'],
      [['members'], 'INVALID'],
    ]);
    expect(result.ok || result.errors[0].message).toBe('must be a string, not a number');
  });

  it('leaves content checks to the engine: an empty email or a bad country pass through', () => {
    const record = mapped(mapRecord('group-members', { email: '', address: { country: 'Atlantis' }, createdAt: 'yesterday' }));
    expect(record.input).toEqual({ email: '', billingAddress: { country: 'Atlantis' } });
    expect(record.extras).toEqual({ createdAt: 'yesterday' });
  });

  it('knows its format names', () => {
    expect(isImportFormat('group-members')).toBe(true);
    expect(isImportFormat('xml')).toBe(false);
  });
});

describe('custom field keys and values', () => {
  it.each([
    ['customSearchableCustomerFieldOne', 'custom_searchable_customer_field_one'],
    ['customerID', 'customer_id'],
    ['URLValue', 'url_value'],
    ['Favourite Colour', 'favourite_colour'],
    ['  café-au-lait!! ', 'cafe_au_lait'],
    ['already_snake_2', 'already_snake_2'],
    ['aVeryLongCustomFieldNameThatKeepsGoingOnAndOn', 'a_very_long_custom_field_name_that_keeps'],
    ['1stVisit', undefined],
    ['!!!', undefined],
    ['', undefined],
  ])('normalises %p to %p', (name, key) => {
    expect(normaliseCustomFieldKey(name)).toBe(key);
  });

  it('never leaves a trailing underscore after cutting at 40 characters', () => {
    const key = normaliseCustomFieldKey('abcdefghij_abcdefghij_abcdefghij_abcdef_ghij');
    expect(key).toBe('abcdefghij_abcdefghij_abcdefghij_abcdef');
    expect(key?.length).toBeLessThanOrEqual(40);
  });

  it('converts CSV text by the field type, leaving what does not convert for validation', () => {
    expect(coerceCustomFieldText('NUMBER', ' 42.5 ')).toBe(42.5);
    expect(coerceCustomFieldText('NUMBER', 'forty')).toBe('forty');
    expect(coerceCustomFieldText('BOOLEAN', 'Yes')).toBe(true);
    expect(coerceCustomFieldText('BOOLEAN', '0')).toBe(false);
    expect(coerceCustomFieldText('BOOLEAN', 'maybe')).toBe('maybe');
    expect(coerceCustomFieldText('DATE', ' 2024-03-01 ')).toBe('2024-03-01');
    expect(coerceCustomFieldText('STRING', '00123')).toBe('00123');
  });

  it.each([
    ['2022-02-22 14:59:52', '2022-02-22T14:59:52.000Z'],
    ['2023-11-07T05:31:56Z', '2023-11-07T05:31:56.000Z'],
    ['2023-11-07T07:31:56+02:00', '2023-11-07T05:31:56.000Z'],
    ['2023-11-07T07:31:56+0200', '2023-11-07T05:31:56.000Z'],
    ['2023-11-07', '2023-11-07T00:00:00.000Z'],
    ['2023-02-30 10:00:00', '2023-02-30 10:00:00'],
    ['last tuesday', 'last tuesday'],
  ])('reads the timestamp %p as %p', (text, iso) => {
    expect(toUtcTimestamp(text)).toBe(iso);
  });
});

describe('streaming', () => {
  const heapUsed = (): number => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    return process.memoryUsage().heapUsed;
  };

  async function writeLines(file: string, count: number, line: (i: number) => string, head = '', tail = ''): Promise<void> {
    const out = createWriteStream(file);
    out.write(head);
    for (let i = 0; i < count; i++) {
      if (!out.write(line(i))) await once(out, 'drain');
    }
    out.end(tail);
    await once(out, 'finish');
  }

  /** Reads every record, pausing now and then like a consumer writing batches, and returns the peak heap growth. */
  async function peakGrowth(file: string): Promise<{ count: number; growth: number }> {
    const before = heapUsed();
    let count = 0;
    let growth = 0;
    for await (const item of readRecords(file)) {
      count += 1;
      if (item.error) throw new Error(item.error);
      if (count % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (count % 10000 === 0) growth = Math.max(growth, process.memoryUsage().heapUsed - before);
    }
    return { count, growth };
  }

  it('reads 200,000 NDJSON records in bounded memory', async () => {
    const file = join(dir, 'big.ndjson');
    await writeLines(file, 200_000, (i) => `{"email":"c${i}@example.com","firstName":"Customer","signInCount":${i}}\n`);
    const { count, growth } = await peakGrowth(file);
    expect(count).toBe(200_000);
    expect(growth).toBeLessThan(100 * 1024 * 1024);
  });

  // stream-json runs several times slower inside Jest's VM than in plain Node: a smaller file keeps this quick.
  it('streams 30,000 records out of an envelope in bounded memory', async () => {
    const file = join(dir, 'big-envelope.json');
    const line = (i: number): string => `${i === 0 ? '' : ','}{"email":"c${i}@example.com","firstName":"Customer","signInCount":${i}}`;
    await writeLines(file, 30_000, line, '{"app":"crm","data":{"users":[', '],"next":null}}');
    const { count, growth } = await peakGrowth(file);
    expect(count).toBe(30_000);
    expect(growth).toBeLessThan(100 * 1024 * 1024);
  });
});
