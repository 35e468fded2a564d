/**
 * Document shape limits: tokens, depth, aliases and directives. graphql-armor's standalone
 * rules count depth, aliases and directives (fragments followed); graphql's own parser counts
 * tokens. Each rejection is an HTTP 400 with `extensions.code: QUERY_TOO_COMPLEX` and
 * `extensions.limit` naming the limit.
 *
 * Why not armor's defaults: its rules throw on rejection, which Apollo turns into a 500, so
 * they run with `propagateOnRejection: false` and report through the ValidationContext; its
 * max-tokens plugin turns every syntax error into a 500, so graphql's `maxTokens` is used.
 */
import type { BaseContext } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, type ParseOptions, type ValidationContext, type ValidationRule } from 'graphql';
import { ErrorCode } from '../../shared/errors';
import type { RequestConcern, RequestHooks } from '../request-hooks';
import { LIMIT_EXTENSION, type LimitName, type LimitSettings } from './settings';

export function limitError(limit: LimitName, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, [LIMIT_EXTENSION]: limit, ...extra, http: { status: 400 } },
  });
}

/** Armor's rejection message ends "... exceeded, found N."; the count is kept for the caller. */
function reportTo(limit: LimitName, max: number, what: string) {
  return (context: ValidationContext | null, error: GraphQLError) => {
    const found = /found (\d+)/.exec(error.message)?.[1];
    context?.reportError(
      limitError(limit, `The operation has ${found ?? 'more than ' + max} ${what}; at most ${max} are allowed.`, {
        max,
        ...(found ? { found: Number(found) } : {}),
      }),
    );
  };
}

export function shapeRules(settings: LimitSettings): ValidationRule[] {
  const common = { propagateOnRejection: false, exposeLimits: true } as const;
  return [
    maxDepthRule({
      ...common,
      n: settings.maxDepth,
      // Fragments count by the fields inside them, not as a level of their own.
      flattenFragments: true,
      // `__schema` introspection nests `ofType` deeply; graphql's own introspection-depth rule bounds it.
      ignoreIntrospection: true,
      onReject: [reportTo('depth', settings.maxDepth, 'levels of nesting')],
    }),
    maxAliasesRule({ ...common, n: settings.maxAliases, onReject: [reportTo('aliases', settings.maxAliases, 'aliases')] }),
    maxDirectivesRule({ ...common, n: settings.maxDirectives, onReject: [reportTo('directives', settings.maxDirectives, 'directives')] }),
  ];
}

export function parseOptions(settings: LimitSettings): ParseOptions {
  return { maxTokens: settings.maxTokens };
}

// graphql 16's message for `maxTokens` ("more that", sic); test/limits.test.ts fails if an upgrade changes it.
const TOO_MANY_TOKENS = /^Syntax Error: Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/;
// Apollo strips suggestions from validation errors only; variable coercion errors carry them too.
const SUGGESTION = / ?Did you mean(.+?)\?$/;

interface FormattedError {
  message: string;
  extensions?: Record<string, unknown>;
}

/**
 * Drops "Did you mean ...?" from every error (they would describe the schema). And: Apollo files every validation error under GRAPHQL_VALIDATION_FAILED and every parse error
 * under GRAPHQL_PARSE_FAILED; a limit is neither a mistake in the query nor bad syntax, so
 * its errors get QUERY_TOO_COMPLEX back, the one code a client checks for "ask for less".
 */
function relabel(error: FormattedError, settings: LimitSettings): void {
  error.message = error.message.replace(SUGGESTION, '');
  const extensions = error.extensions;
  if (!extensions) return;
  if (extensions.code === ErrorCode.GRAPHQL_PARSE_FAILED && TOO_MANY_TOKENS.test(error.message)) {
    error.message = `The query document has more than ${settings.maxTokens} tokens; at most ${settings.maxTokens} are allowed.`;
    Object.assign(extensions, { code: ErrorCode.QUERY_TOO_COMPLEX, [LIMIT_EXTENSION]: 'tokens', max: settings.maxTokens });
  } else if (extensions.code === ErrorCode.GRAPHQL_VALIDATION_FAILED && typeof extensions[LIMIT_EXTENSION] === 'string') {
    extensions.code = ErrorCode.QUERY_TOO_COMPLEX;
  }
}

/** Relabels the response's errors (see relabel); one stateless set of hooks serves every request. */
export function limitCodes<T extends BaseContext>(settings: LimitSettings): RequestConcern<T> {
  const hooks: RequestHooks<T> = {
    willSendResponse({ response, errors }) {
      if (response.body.kind !== 'single' || (!errors && !response.body.singleResult.errors)) return;
      for (const error of response.body.singleResult.errors ?? []) relabel(error as FormattedError, settings);
      // The originals too, so the request log (a later concern) records the code the client saw.
      for (const error of errors ?? []) relabel(error as FormattedError, settings);
    },
  };
  return () => hooks;
}
