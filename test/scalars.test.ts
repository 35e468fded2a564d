/**
 * DateTime output takes a short path for stored timestamps (src/graphql/resolvers/scalars.ts); it must
 * answer exactly what graphql-scalars' serialization followed by toISOString answers, value for
 * value and error for error, so responses stay byte-identical.
 */
import { DateTimeResolver } from 'graphql-scalars';
import { serializeDateTime } from '../src/graphql/resolvers/scalars';

const reference = (value: unknown): string => (DateTimeResolver.serialize(value)).toISOString();

function outcome(serialize: (value: unknown) => string, value: unknown): string {
  try {
    return `ok ${serialize(value)}`;
  } catch (error) {
    return `error ${(error as Error).message}`;
  }
}

const expectSameAsGraphqlScalars = (value: unknown) => expect(outcome(serializeDateTime, value)).toBe(outcome(reference, value));

describe('DateTime output', () => {
  it.each([
    '2023-06-15T14:58:47.000Z',
    '2024-02-29T00:00:00.000Z',
    '2000-02-29T23:59:59.999Z',
    '1900-02-29T00:00:00.000Z',
    '2023-02-29T00:00:00.000Z',
    '2023-04-31T10:00:00.000Z',
    '2023-13-01T00:00:00.000Z',
    '2023-00-10T00:00:00.000Z',
    '2023-01-00T00:00:00.000Z',
    '2023-01-01T24:00:00.000Z',
    '2023-01-01T23:60:00.000Z',
    '2023-01-01T23:59:60.000Z',
    '0000-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999Z',
    '2023-06-15T14:58:47Z',
    '2023-06-15T14:58:47.1Z',
    '2023-06-15T14:58:47.000+02:00',
    '2023-06-15t14:58:47.000z',
    '2023-06-15T14:58:47.000Z\n',
    'not a date',
    '',
  ])('answers %j as graphql-scalars does', (value) => expectSameAsGraphqlScalars(value));

  it.each([new Date(0), new Date(Date.UTC(2024, 1, 29, 12)), new Date(Number.NaN), 0, 1.7e12, null, undefined, {}, true])(
    'answers the non-string %p as graphql-scalars does',
    (value) => expectSameAsGraphqlScalars(value),
  );

  it('answers generated instants, and each with one digit changed, as graphql-scalars does', () => {
    let state = 42;
    const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 5000; i++) {
      const canonical = new Date((next() % 400_000) * 10_000_000).toISOString();
      const at = next() % canonical.length;
      const changed = /\d/.test(canonical[at]) ? canonical.slice(0, at) + String(next() % 10) + canonical.slice(at + 1) : canonical;
      expectSameAsGraphqlScalars(canonical);
      expectSameAsGraphqlScalars(changed);
    }
  });
});
