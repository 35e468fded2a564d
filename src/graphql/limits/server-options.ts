/**
 * Everything createApolloServer needs for the static limits, in one call: validation rules,
 * parse options and plugins. (The query cost model and rate limiting live elsewhere.)
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { ParseOptions, ValidationRule } from 'graphql';
import type { RequestConcern } from '../request-hooks';
import { deadlineOperation } from '../deadline';
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
}

export function limitServerOptions<T extends BaseContext>(given: Partial<LimitSettings> = {}): LimitServerOptions<T> {
  const settings = limitSettings(given);
  return {
    validationRules: shapeRules(settings),
    parseOptions: parseOptions(settings),
    concerns: [requestedNodesLimit<T>(settings), deadlineOperation<T>()],
    plugins: [inlineTracePlugin<T>(settings)],
  };
}
