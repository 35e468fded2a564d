/**
 * Enforces the SDL's @authenticated and @requiresScopes in the subgraph itself, so a direct call
 * follows the same rules a router applies from the composed supergraph.
 *
 * The rules are read once from the schema's directives. Per document and operation the fields
 * that carry a rule are collected once (documents come from Apollo's parse cache, so the walk
 * runs once per distinct query text); per request only the caller's scopes are checked. The
 * check runs before execution, so a refused operation runs no resolver and writes nothing.
 * A field under @skip/@include counts as selected: a rule never depends on variables.
 */
import {
  Kind,
  TypeInfo,
  getNamedType,
  isInterfaceType,
  isObjectType,
  valueFromASTUntyped,
  visit,
  visitWithTypeInfo,
  type ConstDirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { satisfies } from '../services/scopes';
import { forbidden } from '../shared/errors';
import type { Context } from './context';
import type { RequestConcern, RequestHooks } from './request-hooks';

/** Any one of the inner lists, each needing all of its scopes; `[[]]` is "any credential". */
export type AnyOfScopes = readonly (readonly string[])[];

export interface FieldRule {
  /** `Type.field`, as in the SDL. */
  coordinate: string;
  anyOf: AnyOfScopes;
}

const AUTHENTICATED: AnyOfScopes = [[]];

function ruleOf(directives: readonly ConstDirectiveNode[] | undefined): AnyOfScopes | undefined {
  let rule: AnyOfScopes | undefined;
  for (const directive of directives ?? []) {
    if (directive.name.value === 'authenticated') rule ??= AUTHENTICATED;
    if (directive.name.value === 'requiresScopes') {
      const argument = directive.arguments?.find((arg) => arg.name.value === 'scopes');
      const value = argument ? valueFromASTUntyped(argument.value) : undefined;
      if (!Array.isArray(value) || !value.every((all) => Array.isArray(all) && all.every((s) => typeof s === 'string'))) {
        throw new Error(`@requiresScopes expects scopes: [[String!]!]!; got ${JSON.stringify(value)}`);
      }
      rule = value;
    }
  }
  return rule;
}

/**
 * The rule of every field that has one: its own directives, else its type's. `Query._entities`
 * (added by federation, so the SDL cannot annotate it) is a fetch by key like `Query.node`,
 * and takes node's rule.
 */
export function fieldRules(schema: GraphQLSchema): Map<string, AnyOfScopes> {
  const rules = new Map<string, AnyOfScopes>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    const typeRule = ruleOf([type.astNode, ...type.extensionASTNodes].flatMap((node) => node?.directives ?? []));
    for (const field of Object.values(type.getFields())) {
      const rule = ruleOf(field.astNode?.directives) ?? typeRule;
      if (rule) rules.set(`${type.name}.${field.name}`, rule);
    }
  }
  const query = schema.getQueryType()?.name ?? 'Query';
  const node = rules.get(`${query}.node`);
  if (node && schema.getQueryType()?.getFields()._entities) rules.set(`${query}._entities`, node);
  return rules;
}

/** The fields with a rule that an operation selects, through its fragments, each once. */
function selectedRules(schema: GraphQLSchema, rules: Map<string, AnyOfScopes>, document: DocumentNode, operation: OperationDefinitionNode): FieldRule[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const found = new Map<string, FieldRule>();
  const seenFragments = new Set<string>();
  const pending: (OperationDefinitionNode | FragmentDefinitionNode)[] = [operation];
  while (pending.length > 0) {
    const node = pending.pop() as OperationDefinitionNode | FragmentDefinitionNode;
    const typeInfo = new TypeInfo(schema);
    visit(
      node,
      visitWithTypeInfo(typeInfo, {
        Field(field) {
          const parent = typeInfo.getParentType();
          if (!parent) return;
          const coordinate = `${getNamedType(parent).name}.${field.name.value}`;
          const rule = rules.get(coordinate);
          if (rule && !found.has(coordinate)) found.set(coordinate, { coordinate, anyOf: rule });
        },
        FragmentSpread(spread) {
          const name = spread.name.value;
          const fragment = fragments.get(name);
          if (fragment && !seenFragments.has(name)) {
            seenFragments.add(name);
            pending.push(fragment);
          }
        },
      }),
    );
  }
  return [...found.values()];
}

export interface ScopeCheck {
  /** The rules the operation's fields need and the caller's scopes do not satisfy; empty when allowed. */
  (document: DocumentNode, operation: OperationDefinitionNode, scopes: ReadonlySet<string>): FieldRule[];
}

/** Builds the check for one schema; the per-document walk is remembered with the document. */
export function scopeCheck(schema: GraphQLSchema): ScopeCheck {
  const rules = fieldRules(schema);
  const memo = new WeakMap<DocumentNode, Map<OperationDefinitionNode, FieldRule[]>>();
  return (document, operation, scopes) => {
    let perOperation = memo.get(document);
    if (!perOperation) memo.set(document, (perOperation = new Map<OperationDefinitionNode, FieldRule[]>()));
    let needed = perOperation.get(operation);
    if (!needed) perOperation.set(operation, (needed = selectedRules(schema, rules, document, operation)));
    return needed.filter((rule) => !satisfies(scopes, rule.anyOf));
  };
}

/** A rule in words: "customers:read, or customers:write". */
export function describeScopes(anyOf: AnyOfScopes): string {
  if (anyOf.length === 1 && anyOf[0].length === 0) return 'any credential';
  return anyOf.map((all) => all.join(' and ')).join(', or ');
}

/**
 * The request hook (src/graphql/request-hooks.ts): once the operation is known, and before
 * anything runs, refuses it with FORBIDDEN (HTTP 403) when the credential lacks a scope one of
 * its fields needs. `requiredScopes` is the first such field's rule; the message names them all.
 */
export function scopeConcern(schema: GraphQLSchema): RequestConcern<Context> {
  const check = scopeCheck(schema);
  const hooks: RequestHooks<Context> = {
    didResolveOperation({ document, operation, contextValue }) {
      if (!operation) return;
      const missing = check(document, operation, contextValue.scopes);
      if (missing.length === 0) return;
      const fields = missing.map((rule) => `\`${rule.coordinate}\` needs ${describeScopes(rule.anyOf)}`).join('; ');
      const held = [...contextValue.scopes].sort().join(', ') || 'none';
      throw forbidden(`This credential may not run this operation: ${fields}. Its scopes: ${held}.`, missing[0].anyOf);
    },
  };
  return () => hooks;
}
