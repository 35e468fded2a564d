/**
 * The resolver pipeline: every wrapper that runs around a resolver, and on which fields, in one
 * place and in order. The wrappers live beside the concern they serve (federation.ts,
 * deadline.ts, idempotency.ts) and only return a new resolver; nothing else rewrites a
 * field's `resolve`.
 */
import { defaultFieldResolver, isUnionType, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { refuseAfterDeadline } from './deadline';
import { entityRepresentationGuard } from './federation';
import { idempotentMutation } from './idempotency';
import type { Resolver, ResolverWrapper } from './resolver';

/** One wrapper from several, outermost first: `compose([a, b])(r)` runs a, then b, then r. */
export function compose(wrappers: readonly ResolverWrapper[]): ResolverWrapper {
  return (resolve) => wrappers.reduceRight((next, wrap) => wrap(next), resolve);
}

function wrapFields(type: GraphQLObjectType | null | undefined, names: readonly string[] | 'every field', wrap: ResolverWrapper): void {
  const fields = type?.getFields() ?? {};
  const chosen = names === 'every field' ? Object.keys(fields) : names;
  for (const name of chosen) {
    const field = fields[name];
    if (!field) throw new Error(`the resolver pipeline expected a field ${type?.name ?? '(missing type)'}.${name} in the schema`);
    field.resolve = wrap((field.resolve ?? defaultFieldResolver) as Resolver);
  }
}

/** The entity type names `_entities` may be asked for: the members of the `_Entity` union. */
function entityNames(schema: GraphQLSchema): ReadonlySet<string> {
  const union = schema.getType('_Entity');
  if (!isUnionType(union)) throw new Error('expected a subgraph schema with the _Entity union; does the SDL declare any @key?');
  return new Set(union.getTypes().map((type) => type.name));
}

/**
 * Wraps the resolvers of a freshly built schema (call it once per schema):
 *
 * - `Query._entities`: representations that name no entity of this subgraph are refused with
 *   BAD_USER_INPUT before @apollo/subgraph sees them.
 * - every `Mutation` field, outermost first:
 *   1. the execution deadline: once the request was answered at its deadline (503, "nothing was
 *      written"), the field refuses to start. It runs first so that nothing after it acts on a
 *      request the client has already been told failed: no write under a claimed key, and no
 *      answer from a recovered key's stored payload that would then be kept as the key's
 *      response (idempotency.ts gives the key back or keeps it recoverable instead).
 *   2. idempotency: under a claimed `Idempotency-Key`, the field's transaction also writes the
 *      key's commit mark before COMMIT; a key whose write committed earlier answers from its
 *      stored payload without running the resolver.
 */
export function applyResolverPipeline(schema: GraphQLSchema): GraphQLSchema {
  wrapFields(schema.getQueryType(), ['_entities'], entityRepresentationGuard(entityNames(schema)));
  wrapFields(schema.getMutationType(), 'every field', compose([refuseAfterDeadline, idempotentMutation]));
  return schema;
}
