/**
 * PostgreSQL `timestamptz` values reach the store as the ISO text a Date would have given
 * (src/store/db.ts parseTimestamptz), without the Date: the text PostgreSQL sends in a UTC
 * session is cut to milliseconds exactly as pg's parser + toISOString did; anything else (another
 * session time zone, a year past 9999, BC) still becomes pg's Date. The parser is checked
 * against pg's own on generated text everywhere; the round trip through a server needs
 * TEST_DATABASE_URL.
 */
import fc from 'fast-check';
import { sql } from 'kysely';
import { types } from 'pg';
import { parseTimestamptz } from '../src/store/db';
import { isoOf } from '../src/store/engine';
import { createTestDatabase, testEngine } from './databases';

const pgParse = types.getTypeParser(1184, 'text') as (text: string) => Date;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** How PostgreSQL writes a timestamptz in a UTC session: trailing zeros of the fraction dropped. */
function utcText(ms: number, micros: number): string {
  const d = new Date(ms);
  const fraction = pad(d.getUTCMilliseconds() * 1000 + micros, 6).replace(/0+$/, '');
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${time}${fraction ? `.${fraction}` : ''}+00`;
}

const instants = fc.record({
  ms: fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }),
  micros: fc.integer({ min: 0, max: 999 }),
});

describe('parseTimestamptz', () => {
  test('UTC text gives the ISO text of pg Date, milliseconds cut as the Date cut them', () => {
    fc.assert(
      fc.property(instants, ({ ms, micros }) => {
        const text = utcText(ms, micros);
        expect(parseTimestamptz(text)).toBe(pgParse(text).toISOString());
      }),
      { numRuns: 5000 },
    );
    expect(parseTimestamptz('2024-05-01 10:00:00+00')).toBe('2024-05-01T10:00:00.000Z');
    expect(parseTimestamptz('2024-05-01 10:00:00.5+00')).toBe('2024-05-01T10:00:00.500Z');
    expect(parseTimestamptz('2024-05-01 10:00:00.123999+00')).toBe('2024-05-01T10:00:00.123Z');
  });

  test.each([
    '2024-05-01 12:30:00.123456+02:30',
    '2024-05-01 05:00:00-05',
    '1883-11-18 11:51:58-04:56:02',
    '10000-01-01 00:00:00+00',
    '0044-03-15 12:00:00+00 BC',
  ])('%s is left to pg: the same value as before', (text) => {
    const parsed = parseTimestamptz(text);
    expect(parsed).toBeInstanceOf(Date);
    expect((parsed as Date).getTime()).toEqual(pgParse(text).getTime());
  });
});

const onPostgres = testEngine === 'postgres' ? describe : describe.skip;

onPostgres('timestamptz read from PostgreSQL', () => {
  const stored = ['2024-05-01T10:00:00.123456Z', '1999-12-31T23:59:59.999999Z', '2030-01-02T03:04:05Z', '2024-02-29T12:00:00.1Z'];
  const expected = ['2024-05-01T10:00:00.123Z', '1999-12-31T23:59:59.999Z', '2030-01-02T03:04:05.000Z', '2024-02-29T12:00:00.100Z'];

  test.each([
    ['UTC', 'string'],
    ['America/New_York', 'object'],
    ['Asia/Kolkata', 'object'],
  ])('in a %s session the store reads the same instants (%s as read)', async (zone, kind) => {
    const database = await createTestDatabase();
    const url = new URL(database.options.databaseUrl as string);
    url.searchParams.set('options', `-c TimeZone=${zone}`);
    const store = database.open({ databaseUrl: url.toString() });
    try {
      for (const [i, value] of stored.entries()) {
        const { rows } = await sql<{ at: string | Date }>`select ${value}::timestamptz as at`.execute(store.db);
        expect(typeof rows[0].at).toBe(kind);
        expect(isoOf(rows[0].at)).toBe(expected[i]);
      }
    } finally {
      await store.close();
      await database.drop();
    }
  });
});
