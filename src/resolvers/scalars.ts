/**
 * Scalars from graphql-scalars, adapted so resolvers and services see plain strings:
 * DateTime inputs become ISO 8601 UTC strings (not Date objects), Date is `YYYY-MM-DD`.
 */
import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { DateTimeResolver, JSONObjectResolver, JSONResolver, LocalDateResolver } from 'graphql-scalars';

const toIso = (value: unknown): string => (value as Date).toISOString();

export const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  name: 'DateTime',
  description: 'An instant, serialised as an ISO 8601 string in UTC.',
  serialize: (value: unknown) => toIso(DateTimeResolver.serialize(value)),
  parseValue: (value: unknown) => toIso(DateTimeResolver.parseValue(value)),
  parseLiteral: (ast: ValueNode) => toIso(DateTimeResolver.parseLiteral(ast)),
});

export const DateScalar = new GraphQLScalarType({
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

export const URLScalar = new GraphQLScalarType({
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
