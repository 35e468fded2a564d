/**
 * Document shape limits: tokens, depth, aliases and directives. graphql's parser counts
 * tokens (parse options); graphql-armor's visitors count depth, aliases and directives
 * (fragments followed). Each rejection is an HTTP 400 with `extensions.code: QUERY_TOO_COMPLEX`
 * and `extensions.limit` naming the limit (src/shared/errors.ts gives it that code).
 *
 * Why not armor's rules as they come: each would run beside graphql's own validation, so a
 * document over a limit still got every other rule's complaint about each of its parts (60
 * unknown directives: 60 errors besides the limit's), and validating an oversized document
 * is the work the limit exists to refuse. So one rule runs the three counts at the document's
 * root and, at the first breach, reports that one error and ends validation. Armor's rules
 * throw on rejection, which Apollo turns into a 500, so they run with
 * `propagateOnRejection: false` and tell us through `onReject`; its max-tokens plugin turns
 * every syntax error into a 500, so graphql's `maxTokens` is used.
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { Kind, getEnterLeaveForKind, type ASTVisitor, type GraphQLError, type ParseOptions, type ValidationContext, type ValidationRule } from 'graphql';
import { limitExceeded } from '../../shared/errors';
import type { LimitName, LimitSettings } from './settings';

type Breach = (error: GraphQLError) => void;

/** Armor's rejection message ends "... exceeded, found N."; the count is kept for the caller. */
function reportTo(limit: LimitName, max: number, what: string, breach: Breach) {
  return (_context: ValidationContext | null, error: GraphQLError) => {
    const found = /found (\d+)/.exec(error.message)?.[1];
    breach(
      limitExceeded(limit, `The operation has ${found ?? 'more than ' + max} ${what}; at most ${max} are allowed.`, {
        max,
        ...(found ? { found: Number(found) } : {}),
      }),
    );
  };
}

/** Armor's visitors for one document, in the order their limits are checked. */
function counters(settings: LimitSettings, breach: Breach): ValidationRule[] {
  const common = { propagateOnRejection: false, exposeLimits: true } as const;
  return [
    maxDepthRule({
      ...common,
      n: settings.maxDepth,
      // Fragments count by the fields inside them, not as a level of their own.
      flattenFragments: true,
      // `__schema` introspection nests `ofType` deeply; graphql's own introspection-depth rule bounds it.
      ignoreIntrospection: true,
      onReject: [reportTo('depth', settings.maxDepth, 'levels of nesting', breach)],
    }),
    maxAliasesRule({ ...common, n: settings.maxAliases, onReject: [reportTo('aliases', settings.maxAliases, 'aliases', breach)] }),
    maxDirectivesRule({ ...common, n: settings.maxDirectives, onReject: [reportTo('directives', settings.maxDirectives, 'directives', breach)] }),
  ];
}

/**
 * The depth, alias and directive limits as one rule that decides at the document's root.
 * Apollo runs graphql's specified rules ahead of ours in one parallel walk; of those, only
 * ExecutableDefinitions reports anything at the root (a type definition in the document), so
 * a document over a limit gets that limit's error alone. Returning null from the root's
 * `enter` is graphql's way to skip a node's subtree: here, the whole document, so no other
 * rule sees any of it.
 */
function staticLimitsRule(settings: LimitSettings): ValidationRule {
  return (context) => {
    let breached: GraphQLError | null = null;
    const visitors: ASTVisitor[] = counters(settings, (error) => void (breached ??= error)).map((rule) => rule(context));
    return {
      Document(document) {
        for (const definition of document.definitions) {
          if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
          for (const visitor of visitors) {
            getEnterLeaveForKind(visitor, Kind.OPERATION_DEFINITION).enter?.call(visitor, definition, undefined, undefined, [], []);
            if (breached) {
              context.reportError(breached);
              return null;
            }
          }
        }
        return undefined;
      },
    };
  };
}

export function shapeRules(settings: LimitSettings): ValidationRule[] {
  return [staticLimitsRule(settings)];
}

export function parseOptions(settings: LimitSettings): ParseOptions {
  return { maxTokens: settings.maxTokens };
}
