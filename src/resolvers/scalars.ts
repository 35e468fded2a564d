/**
 * Scalars from graphql-scalars, adapted so resolvers and services see plain strings:
 * DateTime inputs become ISO 8601 UTC strings (not Date objects), Date is `YYYY-MM-DD`.
 */
import { GraphQLScalarType, type ValueNode } from 'graphql';
import { DateTimeResolver, JSONObjectResolver, JSONResolver, LocalDateResolver, URLResolver } from 'graphql-scalars';

const toIso = (value: unknown): string => (value as Date).toISOString();

export const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  name: 'DateTime',
  description: 'An instant, serialised as an ISO 8601 string in UTC.',
  parseValue: (value: unknown) => toIso(DateTimeResolver.parseValue(value)),
  parseLiteral: (ast: ValueNode) => toIso(DateTimeResolver.parseLiteral(ast)),
});

export const DateScalar = new GraphQLScalarType({
  ...LocalDateResolver.toConfig(),
  name: 'Date',
  description: 'A calendar date, serialised as `YYYY-MM-DD`.',
});

export const scalarResolvers = {
  DateTime,
  Date: DateScalar,
  JSON: JSONResolver,
  JSONObject: JSONObjectResolver,
  URL: URLResolver,
};
