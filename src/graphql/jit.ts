/**
 * Executes operations with graphql-jit: each operation is compiled once into plain JavaScript
 * (kept in a bounded LRU by query hash and operation name) and then run without graphql-js's
 * per-field interpretation, which costs more than the database work for a page of 100.
 *
 * It plugs into Apollo Server through the public `gateway` hook (GatewayInterface): Apollo
 * still parses, validates (with every validation rule), runs every plugin hook
 * (didResolveOperation, willSendResponse, ...) and formats errors (formatError); only the
 * execution step is ours. An operation jit cannot compile runs on graphql-js `execute`, exactly as
 * Apollo would have run it.
 */
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { execute, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LruCache } from '../shared/lru';
import { asLocatedGraphQLError } from '../shared/errors';

// Apollo's gateway hook types, through @apollo/server's own exports.
type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;

/** Distinct operations kept compiled; past this the least recently used is dropped. */
const COMPILED_CACHE_SIZE = 500;

type Runner = (context: unknown, variables: Record<string, unknown> | undefined) => Promise<ExecutionResult> | ExecutionResult;

/** graphql-js, for what jit cannot compile (its answer says why it refused, not a user error). */
function fallback(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): Runner {
  return (contextValue, variableValues) => execute({ schema, document, contextValue, variableValues, operationName });
}

/**
 * jit's errors look like graphql-js's but are not built the same: `extensions` is undefined
 * when empty (Apollo's error formatting reads `extensions.code` and would fail) and only
 * `locations` is set (no nodes). Rebuilt as graphql-js builds a located resolver error, they
 * format exactly as before.
 */
function withGraphQLErrors(result: ExecutionResult): ExecutionResult {
  return result.errors ? { ...result, errors: result.errors.map(asLocatedGraphQLError) } : result;
}

function compile(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): Runner {
  let compiled: CompiledQuery | ExecutionResult;
  try {
    // Custom scalars (DateTime, Date, URL, JSON, ...) are serialized by the schema's own scalars,
    // so they answer exactly as graphql-js would. The built-in scalars and enums are passed as
    // the resolvers return them (disableLeafSerialization): every resolver's return type is
    // generated from the SDL, the records behind the default resolvers are built by typed row
    // mappers (Number(), === 1), no enum has internal values and the schema has no Float, so
    // graphql-js's coercion of those leaves is the identity here. Serializing them cost a
    // quarter of a page's garbage: graphql-jit 0.8.9 builds the location and path arrays of
    // every such leaf eagerly, for every row. test/execution.test.ts holds the answers to
    // graphql-js's, on both engines.
    compiled = compileQuery(schema, document, operationName, { disableLeafSerialization: true });
  } catch {
    return fallback(schema, document, operationName);
  }
  if (!isCompiledQuery(compiled)) return fallback(schema, document, operationName);
  const query = compiled.query.bind(compiled);
  const reference = fallback(schema, document, operationName);
  return (context, variables) => {
    const result = query(undefined, context, variables);
    // No `data` at all: the variables were refused before anything ran. graphql-js words (and
    // locates) that refusal the way Apollo recognises as BAD_USER_INPUT, so it answers instead.
    const finish = (done: ExecutionResult) => (done.data === undefined ? reference(context, variables) : withGraphQLErrors(done));
    return result instanceof Promise ? result.then(finish) : finish(result);
  };
}

/** A least-recently-used map of compiled operations. */
export class CompiledOperations extends LruCache<Runner> {
  constructor(limit: number = COMPILED_CACHE_SIZE) {
    super(limit);
  }
}

function jitExecutor(schema: GraphQLSchema, cache = new CompiledOperations()): GatewayExecutor {
  return async (requestContext) => {
    const { document, operationName, queryHash, request, context } = requestContext;
    // A router asking for an inline trace (ftv1) needs Apollo's per-field hooks, which wrap the
    // schema's resolvers; compiled code may hold the unwrapped ones, so graphql-js answers it.
    if (request.http?.headers.get('apollo-federation-include-trace') === 'ftv1') {
      return execute({ schema, document, contextValue: context, variableValues: request.variables, operationName });
    }
    const key = `${queryHash}:${operationName ?? ''}`;
    const run = cache.get(key, () => compile(schema, document, operationName ?? undefined));
    return run(context, request.variables);
  };
}

/**
 * A fixed schema served through Apollo's gateway hook with the jit executor. The schema never
 * changes at run time, so the update callback fires once, at load.
 */
export function jitGateway(schema: GraphQLSchema): GatewayInterface {
  const listeners = new Set<Parameters<GatewayInterface['onSchemaLoadOrUpdate']>[0]>();
  return {
    onSchemaLoadOrUpdate(callback) {
      listeners.add(callback);
      return () => listeners.delete(callback);
    },
    async load() {
      for (const listener of listeners) listener({ apiSchema: schema, coreSupergraphSdl: '' });
      return { executor: jitExecutor(schema) };
    },
    async stop() {
      listeners.clear();
    },
  };
}
