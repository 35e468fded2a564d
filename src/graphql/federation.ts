/**
 * Federation entry points beyond what @apollo/subgraph does by itself: `_entities` refuses
 * representations that name no entity of this subgraph with a clear BAD_USER_INPUT (the
 * library throws a plain Error for them, which would be masked as INTERNAL_SERVER_ERROR, or
 * it echoes a non-entity's fields back unresolved), and the SDL a supergraph composes from.
 */
import { executeSync, isUnionType, parse, type GraphQLSchema } from 'graphql';
import { badUserInput } from '../shared/errors';

function describeValue(value: unknown): string {
  return value === null ? 'null' : typeof value === 'object' ? `__typename ${JSON.stringify((value as Record<string, unknown>).__typename ?? null)}` : typeof value;
}

function checkRepresentation(representation: unknown, index: number, entities: ReadonlySet<string>): void {
  const typename = typeof representation === 'object' && representation !== null ? (representation as Record<string, unknown>).__typename : undefined;
  if (typeof typename === 'string' && entities.has(typename)) return;
  throw badUserInput(
    `representations[${index}] must be an object whose __typename is an entity of this subgraph (${[...entities].join(', ')}); got ${describeValue(representation)}`,
    'representations',
  );
}

/** Wraps `Query._entities` of a schema built by buildSubgraphSchema with the check above. */
export function guardEntityRepresentations(schema: GraphQLSchema): GraphQLSchema {
  const field = schema.getQueryType()?.getFields()._entities;
  const union = schema.getType('_Entity');
  const resolve = field?.resolve;
  if (!field || !resolve || !isUnionType(union)) {
    throw new Error('expected a subgraph schema with Query._entities and the _Entity union; does the SDL declare any @key?');
  }
  const entities = new Set(union.getTypes().map((type) => type.name));
  field.resolve = (source, args: { representations: unknown[] }, context, info) => {
    args.representations.forEach((representation, index) => checkRepresentation(representation, index, entities));
    return resolve(source, args, context, info);
  };
  return schema;
}

/**
 * The SDL `_service { sdl }` answers (read from that very resolver, so the two never differ):
 * what rover and routers compose the supergraph from.
 */
export function subgraphSdl(schema: GraphQLSchema): string {
  const result = executeSync({ schema, document: parse('{ _service { sdl } }') });
  const sdl = (result.data?._service as { sdl?: unknown } | undefined)?.sdl;
  if (result.errors?.length || typeof sdl !== 'string') {
    throw new Error(`expected _service { sdl } to answer a string; got ${JSON.stringify(result)}`);
  }
  return sdl;
}
