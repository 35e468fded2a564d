/**
 * Everything createApolloServer needs for the static limits, in one call: validation rules,
 * parse options and plugins. (The query cost model and rate limiting live elsewhere.)
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLSchema, ParseOptions, ValidationRule } from 'graphql';
import { deadlinePlugin, guardMutations } from './deadline';
import { requestedNodesPlugin } from './nodes';
import { limitCodesPlugin, parseOptions, shapeRules } from './rules';
import { limitSettings, type LimitSettings } from './settings';
import { inlineTracePlugin } from './trace';

export { limitSettings, DEFAULT_LIMITS, type LimitSettings } from './settings';

export interface LimitServerOptions<T extends object> {
  validationRules: ValidationRule[];
  parseOptions: ParseOptions;
  plugins: ApolloServerPlugin<T>[];
  /** The schema with its mutation fields guarded by the execution deadline. */
  schema: GraphQLSchema;
}

export function limitServerOptions<T extends object>(schema: GraphQLSchema, given: Partial<LimitSettings> = {}): LimitServerOptions<T> {
  const settings = limitSettings(given);
  return {
    validationRules: shapeRules(settings),
    parseOptions: parseOptions(settings),
    plugins: [limitCodesPlugin<T>(settings), requestedNodesPlugin<T>(settings), deadlinePlugin<T>(), inlineTracePlugin<T>(settings)],
    schema: guardMutations(schema),
  };
}
