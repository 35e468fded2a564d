/**
 * The static request limits and their defaults. src/config.ts reads them from the environment;
 * createApolloServer and the HTTP front take them as options, so tests can tighten any one.
 */
export interface LimitSettings {
  /** Lexical tokens in one query document (graphql's own `parseOptions.maxTokens`). */
  maxTokens: number;
  /** Field nesting of an operation, fragments followed (introspection excluded). */
  maxDepth: number;
  /** Aliased fields in an operation, fragments followed (`__typename` aliases are free). */
  maxAliases: number;
  /** Directives in an operation, fragments followed. */
  maxDirectives: number;
  /** Nodes an operation can ask for: page sizes multiplied along nested connections, summed. */
  maxRequestedNodes: number;
  /** Execution deadline of one HTTP request in milliseconds (`0`: none); kept by src/http/server.ts, see src/graphql/deadline.ts. */
  executionTimeoutMs: number;
  /**
   * Shared secret of the trusted router (`TRUSTED_GATEWAY`): only a request carrying it in
   * `X-Trusted-Gateway` gets inline traces (ftv1). Unset: inline traces are never produced.
   */
  trustedGateway: string | undefined;
}

export const DEFAULT_LIMITS: LimitSettings = {
  maxTokens: 500,
  maxDepth: 10,
  maxAliases: 15,
  maxDirectives: 10,
  maxRequestedNodes: 10_000,
  executionTimeoutMs: 10_000,
  trustedGateway: undefined,
};

/** Fills in the defaults for whatever a caller left out. */
export function limitSettings(given: Partial<LimitSettings> = {}): LimitSettings {
  const merged: LimitSettings = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(given) as [keyof LimitSettings, LimitSettings[keyof LimitSettings]][]) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  return merged;
}

export type LimitName = 'tokens' | 'depth' | 'aliases' | 'directives' | 'requestedNodes';
