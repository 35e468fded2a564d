/**
 * The query cost model, in the manner of Shopify's GraphQL Admin API:
 *
 * - scalars and enums cost 0; an object costs 1;
 * - a connection costs 2 plus its page size (`first`, else `last`, else the list's default page
 *   size) times the cost of one item (the item's object, 1, plus whatever is selected under it);
 *   `edges`, `pageInfo` and `cursor` are part of the connection and cost nothing of their own;
 * - an interface costs the most expensive of its possible selections (the library does this);
 * - `nodes(ids)` and `_entities(representations)` cost one item per id;
 * - a mutation costs 10 plus what its payload selects beyond the payload's own objects (the
 *   record just written and its userErrors come with the write; a connection under it does not);
 * - an unpaged list of small value objects (customFields, customFieldDefinitions) counts as one
 *   object.
 *
 * The requested cost is computed before execution from the document and variables (fragments,
 * variables and @skip/@include handled by graphql-query-complexity); the actual cost after
 * execution, by the same rules, from the sizes of the lists that came back.
 */
import {
  GraphQLError,
  Kind,
  getNamedType,
  isAbstractType,
  isLeafType,
  isObjectType,
  validate,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields';
import { getVariableValues } from 'graphql/execution/values';
import { createComplexityRule, type ComplexityEstimatorArgs } from 'graphql-query-complexity';
import { queryTooComplex } from '../../shared/errors';
import { byIdsOf, pageSizesOf } from '../../services/connections';

const COST = { object: 1, connection: 2, mutation: 10 } as const;

/**
 * How a field is charged. `item`: one list element (Connection.nodes, Edge.node, nodes(ids));
 * `free`: wrappers that come with their parent (edges, pageInfo, a mutation payload's objects).
 */
type FieldRule =
  | { kind: 'leaf' }
  | { kind: 'object' }
  | { kind: 'free' }
  | { kind: 'item' }
  | { kind: 'connection'; defaultPageSize: number }
  | { kind: 'mutation' }
  | { kind: 'byIds'; argument: string };

/** Rules (and named return types) per field definition: the schema is fixed, and a result walk asks once per row. */
const rules = new WeakMap<GraphQLField<unknown, unknown>, FieldRule>();
const returnedTypes = new WeakMap<GraphQLField<unknown, unknown>, GraphQLCompositeType>();

function ruleOf(parent: GraphQLCompositeType, field: GraphQLField<unknown, unknown>, schema: GraphQLSchema): FieldRule {
  let rule = rules.get(field);
  if (!rule) rules.set(field, (rule = classify(parent, field, schema)));
  return rule;
}

function classify(parent: GraphQLCompositeType, field: GraphQLField<unknown, unknown>, schema: GraphQLSchema): FieldRule {
  const returned = getNamedType(field.type);
  if (isLeafType(returned)) return { kind: 'leaf' };
  if (parent === schema.getMutationType()) return { kind: 'mutation' };
  const coordinate = `${parent.name}.${field.name}`;
  const byIds = byIdsOf(coordinate);
  if (byIds) return { kind: 'byIds', argument: byIds.argument };
  if (parent.name.endsWith('Payload')) return { kind: 'free' };
  if (returned.name.endsWith('Connection')) {
    return { kind: 'connection', defaultPageSize: pageSizesOf(coordinate).default };
  }
  if (parent.name.endsWith('Connection')) return field.name === 'nodes' ? { kind: 'item' } : { kind: 'free' };
  if (parent.name.endsWith('Edge') && field.name === 'node') return { kind: 'item' };
  return { kind: 'object' };
}

function pageSize(args: Record<string, unknown>, fallback: number): number {
  const size = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : fallback;
  return Math.max(0, size);
}

function idCount(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  return value === null || value === undefined ? 0 : 1;
}

/** The estimator graphql-query-complexity calls for every selected field, children first. */
function estimator(schema: GraphQLSchema) {
  return ({ type, field, args, childComplexity }: ComplexityEstimatorArgs): number => {
    const rule = ruleOf(type, field, schema);
    switch (rule.kind) {
      case 'leaf':
        return 0;
      case 'free':
        return childComplexity;
      case 'object':
      case 'item':
        return COST.object + childComplexity;
      case 'connection':
        return COST.connection + pageSize(args, rule.defaultPageSize) * childComplexity;
      case 'mutation':
        return COST.mutation + childComplexity;
      case 'byIds':
        return idCount(args[rule.argument]) * (COST.object + childComplexity);
    }
  };
}

/**
 * Selections evaluated before the cost is given up as unbounded: fragments spread into
 * fragments can multiply a short document into millions of fields.
 */
const MAX_COSTED_SELECTIONS = 10_000;

export interface OperationToCost {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

/**
 * The cost of the operation before it runs. Problems the library reports (a variable of the
 * wrong type, say) leave their field uncosted: execution rejects those fields without running
 * them. A document too large to cost is QUERY_TOO_COMPLEX.
 */
export function requestedQueryCost(operation: OperationToCost): number {
  let cost = 0;
  const rule = createComplexityRule({
    maximumComplexity: Infinity,
    estimators: [estimator(operation.schema)],
    variables: operation.variables ?? {},
    operationName: operation.operationName ?? undefined,
    maxQueryNodes: MAX_COSTED_SELECTIONS,
    onComplete: (complexity) => {
      cost = complexity;
    },
  });
  try {
    validate(operation.schema, operation.document, [rule]);
  } catch (error) {
    if (error instanceof GraphQLError && /maximum allowed number of nodes/.test(error.message)) {
      throw queryTooComplex(`The query has more than ${MAX_COSTED_SELECTIONS} selections once fragments are expanded; it cannot be costed.`);
    }
    throw error;
  }
  return cost;
}

interface Walk {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  /** Sub-selections per (field nodes, type): a page of 1000 rows collects them once, not 1000 times. */
  collected: WeakMap<readonly FieldNode[], Map<GraphQLObjectType, Map<string, readonly FieldNode[]>>>;
  /** The object types a value of a type may be (graphql's type checks are slow outside production). */
  candidates: Map<GraphQLCompositeType, readonly GraphQLObjectType[]>;
  /** Per collected selection, only the fields that can cost something (leaves never do). */
  costed: WeakMap<Map<string, readonly FieldNode[]>, readonly CostedField[]>;
}

interface CostedField {
  responseKey: string;
  field: GraphQLField<unknown, unknown>;
  nodes: readonly FieldNode[];
}

function costedFields(walk: Walk, parent: GraphQLObjectType, fields: Map<string, readonly FieldNode[]>): readonly CostedField[] {
  const known = walk.costed.get(fields);
  if (known) return known;
  const costed: CostedField[] = [];
  for (const [responseKey, nodes] of fields) {
    const field = parent.getFields()[nodes[0].name.value];
    // __typename costs nothing, and neither does a leaf.
    if (field && ruleOf(parent, field, walk.schema).kind !== 'leaf') costed.push({ responseKey, field, nodes });
  }
  walk.costed.set(fields, costed);
  return costed;
}

function subfields(walk: Walk, type: GraphQLObjectType, fieldNodes: readonly FieldNode[]): Map<string, readonly FieldNode[]> {
  let byType = walk.collected.get(fieldNodes);
  if (!byType) walk.collected.set(fieldNodes, (byType = new Map<GraphQLObjectType, Map<string, readonly FieldNode[]>>()));
  let fields = byType.get(type);
  if (!fields) byType.set(type, (fields = collectSubfields(walk.schema, walk.fragments, walk.variables, type, fieldNodes)));
  return fields;
}

/**
 * The cost of a field's returned value: each object in it (lists flattened, however nested)
 * costs `perItem` plus what its own fields cost. The walk runs on every row of every answer,
 * so it allocates nothing per value.
 */
function itemsCost(walk: Walk, type: GraphQLCompositeType, fieldNodes: readonly FieldNode[], value: unknown, perItem: number): number {
  if (!Array.isArray(value)) return perItem + objectCost(walk, type, fieldNodes, value);
  let total = 0;
  for (let i = 0; i < value.length; i++) total += itemsCost(walk, type, fieldNodes, value[i], perItem);
  return total;
}

/** The cost of one returned object: for an interface, the dearest of the types it may be. */
function objectCost(walk: Walk, type: GraphQLCompositeType, fieldNodes: readonly FieldNode[], value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let candidates = walk.candidates.get(type);
  if (!candidates) walk.candidates.set(type, (candidates = isAbstractType(type) ? walk.schema.getPossibleTypes(type) : isObjectType(type) ? [type] : []));
  let dearest = 0;
  for (const candidate of candidates) {
    const fields = subfields(walk, candidate, fieldNodes);
    dearest = Math.max(dearest, fieldsCost(walk, candidate, fields, value as Record<string, unknown>));
  }
  return dearest;
}

function fieldsCost(walk: Walk, parent: GraphQLObjectType, fields: Map<string, readonly FieldNode[]>, value: Record<string, unknown>): number {
  let total = 0;
  for (const { responseKey, field, nodes } of costedFields(walk, parent, fields)) {
    // A key absent from the result (skipped, or of another possible type) costs nothing.
    if (!(responseKey in value)) continue;
    total += fieldCost(walk, parent, field, nodes, value[responseKey]);
  }
  return total;
}

function fieldCost(walk: Walk, parent: GraphQLObjectType, field: GraphQLField<unknown, unknown>, nodes: readonly FieldNode[], value: unknown): number {
  const rule = ruleOf(parent, field, walk.schema);
  if (rule.kind === 'leaf') return 0;
  let returned = returnedTypes.get(field);
  if (!returned) returnedTypes.set(field, (returned = getNamedType(field.type) as GraphQLCompositeType));
  switch (rule.kind) {
    case 'free':
      return itemsCost(walk, returned, nodes, value, 0);
    case 'object':
      return COST.object + itemsCost(walk, returned, nodes, value, 0);
    case 'item':
    case 'byIds':
      return itemsCost(walk, returned, nodes, value, COST.object);
    case 'connection':
      return COST.connection + itemsCost(walk, returned, nodes, value, 0);
    case 'mutation':
      return COST.mutation + itemsCost(walk, returned, nodes, value, 0);
  }
}

/**
 * Everything the actual-cost walk of one operation needs besides the result: it depends on
 * the document and on the variables only through @skip/@include, so the cost plugin keeps one
 * per document and variables signature (src/graphql/limits/memo.ts) and reuses its collected fields.
 */
export interface ResultWalk {
  walk: Walk;
  root: GraphQLObjectType;
  fields: Map<string, readonly FieldNode[]>;
}

/**
 * Field collection reads variables only through @skip/@include, and a walk outlives its
 * request in the memo: it keeps those variables (booleans) and none of the client's other bytes.
 */
function conditionVariables(document: DocumentNode, variables: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  visit(document, {
    Directive(directive) {
      if (directive.name.value !== 'skip' && directive.name.value !== 'include') return false;
      for (const argument of directive.arguments ?? []) {
        if (argument.value.kind === Kind.VARIABLE && Object.hasOwn(variables, argument.value.name.value)) {
          kept[argument.value.name.value] = variables[argument.value.name.value];
        }
      }
      return false;
    },
  });
  return kept;
}

export function resultWalk(operation: OperationToCost & { operation: OperationDefinitionNode }): ResultWalk | null {
  const root = operation.schema.getRootType(operation.operation.operation);
  if (!root) return null;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of operation.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const coerced = getVariableValues(operation.schema, operation.operation.variableDefinitions ?? [], operation.variables ?? {});
  const walk: Walk = {
    schema: operation.schema,
    fragments,
    variables: conditionVariables(operation.document, coerced.coerced ?? {}),
    collected: new WeakMap(),
    candidates: new Map(),
    costed: new WeakMap(),
  };
  return { walk, root, fields: collectFields(walk.schema, fragments, walk.variables, root, operation.operation.selectionSet) };
}

/**
 * The cost of what the operation actually returned: each connection charged for the items in
 * its page rather than the page size asked for. An object that came back null still costs its
 * lookup; a field absent from the result (skipped, or of another possible type) costs nothing.
 */
export function actualQueryCost(
  operation: OperationToCost & { operation: OperationDefinitionNode },
  data: Record<string, unknown>,
  prepared: ResultWalk | null = resultWalk(operation),
): number {
  if (!prepared) return 0;
  return fieldsCost(prepared.walk, prepared.root, prepared.fields, data);
}
