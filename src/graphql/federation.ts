/**
 * Federation entry points beyond what @apollo/subgraph does by itself: `_entities` refuses
 * representations that name no entity of this subgraph with a clear BAD_USER_INPUT (the
 * library throws a plain Error for them, which would be masked as INTERNAL_SERVER_ERROR, or
 * it echoes a non-entity's fields back unresolved), and the SDL a supergraph composes from.
 */
import { executeSync, parse, type GraphQLSchema } from 'graphql';
import { badUserInput } from '../shared/errors';
import type { ResolverWrapper } from './resolver';

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

/** Resolver wrapper for `Query._entities` (composed in pipeline.ts): checks every representation first. */
export function entityRepresentationGuard(entities: ReadonlySet<string>): ResolverWrapper {
  return (next) => (source, args, context, info) => {
    const representations = args.representations;
    if (!Array.isArray(representations)) throw new Error(`expected _entities(representations:) to be a list; got ${describeValue(representations)}`);
    representations.forEach((representation, index) => checkRepresentation(representation, index, entities));
    return next(source, args, context, info);
  };
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
