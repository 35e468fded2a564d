/**
 * Scalars from graphql-scalars, adapted so resolvers and services see plain strings:
 * DateTime inputs become ISO 8601 UTC strings (not Date objects), Date is `YYYY-MM-DD`.
 */
import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { DateTimeResolver, JSONObjectResolver, JSONResolver, LocalDateResolver } from 'graphql-scalars';

const toIso = (value: unknown): string => (value as Date).toISOString();

/** The form `Date.prototype.toISOString` writes, which every stored timestamp has (engine.ts isoOf). */
const CANONICAL_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

/** The number written by the two ASCII digits at `at` (the caller has checked they are digits). */
const twoDigits = (value: string, at: number) => (value.charCodeAt(at) - 48) * 10 + (value.charCodeAt(at + 1) - 48);

/**
 * Canonical form and a real instant: month 1-12, a day the month has, hour < 24, second < 60.
 * It runs on every timestamp of every row served, so it reads digits in place (no substrings).
 */
function isCanonicalInstant(value: string): boolean {
  if (!CANONICAL_ISO.test(value)) return false;
  const year = twoDigits(value, 0) * 100 + twoDigits(value, 2);
  const month = twoDigits(value, 5);
  const day = twoDigits(value, 8);
  if (month < 1 || month > 12 || day < 1) return false;
  const days = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1];
  return day <= days && twoDigits(value, 11) < 24 && twoDigits(value, 14) < 60 && twoDigits(value, 17) < 60;
}

/**
 * Output: exactly what graphql-scalars' serialize followed by toISOString answers, at a fraction
 * of the cost on every timestamp of every row. A string in canonical form that names a real
 * instant is what that path would write back (it parses it into a Date and prints it again), so
 * it is sent as it is; a valid Date is written by toISOString as before. Everything else
 * (offsets, numbers, invalid values and their errors) takes graphql-scalars' path unchanged.
 * Inputs keep graphql-scalars' validation.
 */
export function serializeDateTime(value: unknown): string {
  if (typeof value === 'string' && isCanonicalInstant(value)) return value;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  return toIso(DateTimeResolver.serialize(value));
}

const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  name: 'DateTime',
  description: 'An instant, serialised as an ISO 8601 string in UTC.',
  serialize: serializeDateTime,
  parseValue: (value: unknown) => toIso(DateTimeResolver.parseValue(value)),
  parseLiteral: (ast: ValueNode) => toIso(DateTimeResolver.parseLiteral(ast)),
});

const DateScalar = new GraphQLScalarType({
  ...LocalDateResolver.toConfig(),
  name: 'Date',
  description: 'A calendar date, serialised as `YYYY-MM-DD`.',
});

/**
 * URLs are output-only here and were validated on the way in; they are sent exactly as stored,
 * so a client that writes back what it read changes nothing (graphql-scalars' URL would
 * re-serialise them, adding a trailing slash and lower-casing the host).
 */
function parseUrl(value: unknown): string {
  if (typeof value !== 'string' || !URL.canParse(value) || !/^https?:\/\//i.test(value)) {
    throw new TypeError('URL must be an absolute http(s) URL string');
  }
  return value;
}

const URLScalar = new GraphQLScalarType({
  name: 'URL',
  description: 'An absolute http(s) URL.',
  serialize(value: unknown): string {
    if (typeof value !== 'string' || !/^https?:\/\//i.test(value)) {
      throw new TypeError(`URL scalar expected an absolute http(s) URL string, got ${typeof value}`);
    }
    return value;
  },
  parseValue: parseUrl,
  parseLiteral: (ast: ValueNode) => parseUrl(ast.kind === Kind.STRING ? ast.value : null),
});

export const scalarResolvers = {
  DateTime,
  Date: DateScalar,
  JSON: JSONResolver,
  JSONObject: JSONObjectResolver,
  URL: URLScalar,
};
