/**
 * Everything createApolloServer needs for the static limits, in one call: validation rules,
 * parse options and plugins. (The query cost model and rate limiting live elsewhere.)
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { GraphQLSchema, ParseOptions, ValidationRule } from 'graphql';
import type { RequestConcern } from '../request-hooks';
import { deadlineOperation, guardMutations } from '../deadline';
import { requestedNodesLimit } from './nodes';
import { parseOptions, shapeRules } from './rules';
import { limitSettings, type LimitSettings } from './settings';
import { inlineTracePlugin } from '../trace';

export { limitSettings, DEFAULT_LIMITS, type LimitSettings } from './settings';

export interface LimitServerOptions<T extends BaseContext> {
  validationRules: ValidationRule[];
  parseOptions: ParseOptions;
  /** Per-request hooks, for the server's one plugin of request hooks (src/graphql/request-hooks.ts), in this order. */
  concerns: RequestConcern<T>[];
  /** Inline traces: Apollo's own plugin, kept whole. */
  plugins: ApolloServerPlugin<T>[];
  /** The schema with its mutation fields guarded by the execution deadline. */
  schema: GraphQLSchema;
}

export function limitServerOptions<T extends BaseContext>(schema: GraphQLSchema, given: Partial<LimitSettings> = {}): LimitServerOptions<T> {
  const settings = limitSettings(given);
  return {
    validationRules: shapeRules(settings),
    parseOptions: parseOptions(settings),
    concerns: [requestedNodesLimit<T>(settings), deadlineOperation<T>()],
    plugins: [inlineTracePlugin<T>(settings)],
    schema: guardMutations(schema),
  };
}
