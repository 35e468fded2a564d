/**
 * Requested nodes per operation, in the manner of GitHub's node limit: every connection asks
 * for (its page size x the page sizes of the connections around it) nodes, and an operation's
 * total is the sum over its connections. `customers(first: 100) { nodes { actions(first: 50) } }`
 * asks for 100 + 100 x 50 = 5,100 nodes. Lists fetched by id (`nodes(ids)`, `_entities`)
 * count one node per id.
 *
 * It runs once the operation is known and before execution (it needs the variables, which
 * validation rules never see). Fields are collected as graphql's executor collects them, so
 * fragments, `@skip`/`@include` and merged duplicate fields count exactly as they will run;
 * for an interface the costliest implementation counts.
 */
import type { BaseContext } from '@apollo/server';
import {
  getNamedType,
  isAbstractType,
  isObjectType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values';
import { byIdsOf, pageSizesOf } from '../../services/connections';
import { DocumentMemo, requestSignature } from './memo';
import type { RequestConcern, RequestHooks } from '../request-hooks';
import { limitExceeded } from '../../shared/errors';
import type { LimitSettings } from './settings';

type Variables = Record<string, unknown>;
type FieldMap = Map<string, ReadonlyArray<FieldNode>>;

interface Walk {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Variables;
}

/** How many nodes one execution of this field fetches, or null when it is not a list of nodes. */
function fetchedNodes(parent: GraphQLObjectType, field: GraphQLField<unknown, unknown>, node: FieldNode, walk: Walk): number | null {
  let args: Record<string, unknown>;
  try {
    args = getArgumentValues(field, node, walk.variables);
  } catch {
    return null; // Invalid arguments fail in execution with their own error.
  }
  const coordinate = `${parent.name}.${field.name}`;
  const byIds = byIdsOf(coordinate);
  if (byIds) {
    const list = args[byIds.argument];
    if (!Array.isArray(list)) return null;
    // Over its bound the resolver refuses the list, fetching nothing.
    return byIds.max === null || list.length <= byIds.max ? list.length : 0;
  }
  const isConnection = getNamedType(field.type).name.endsWith('Connection') && field.args.some((a) => a.name === 'first');
  if (!isConnection) return null;
  const { default: fallback, max } = pageSizesOf(coordinate);
  const given = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : fallback;
  // A size out of range fetches nothing: the resolver refuses it with BAD_USER_INPUT, which
  // says more than a complexity error would.
  return given >= 1 && given <= max ? given : 0;
}

function countFields(parent: GraphQLObjectType, fields: FieldMap, multiplier: number, walk: Walk): number {
  let total = 0;
  for (const nodes of fields.values()) {
    const name = nodes[0].name.value;
    const field = parent.getFields()[name];
    if (name.startsWith('__') || !field) continue;
    const fetched = fetchedNodes(parent, field, nodes[0], walk);
    const inner = fetched === null ? multiplier : multiplier * fetched;
    if (fetched !== null) total += inner;
    const type = getNamedType(field.type);
    const candidates = isObjectType(type) ? [type] : isAbstractType(type) ? walk.schema.getPossibleTypes(type) : [];
    let deepest = 0;
    for (const candidate of candidates) {
      const sub = collectSubfields(walk.schema, walk.fragments, walk.variables, candidate, nodes);
      deepest = Math.max(deepest, countFields(candidate, sub, inner, walk));
    }
    total += deepest;
  }
  return total;
}

/** The operation's requested nodes, or null when its variables are invalid (execution reports those). */
function requestedNodes(schema: GraphQLSchema, operation: OperationDefinitionNode, fragmentList: readonly FragmentDefinitionNode[], inputs: Variables): number | null {
  const root = schema.getRootType(operation.operation);
  if (!root) return null;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], inputs, { maxErrors: 1 });
  if (coerced.errors) return null;
  const fragments = Object.fromEntries(fragmentList.map((f) => [f.name.value, f]));
  const walk: Walk = { schema, fragments, variables: coerced.coerced };
  return countFields(root, collectFields(schema, fragments, walk.variables, root, operation.selectionSet), 1, walk);
}

export function requestedNodesLimit<T extends BaseContext>(settings: LimitSettings): RequestConcern<T> {
  // Counts per document and variables signature: `customer(id: $id)` is counted once for every id.
  const counts = new DocumentMemo<number | null>();
  const hooks: RequestHooks<T> = {
    didResolveOperation({ schema, document, operation, operationName, request, contextValue }) {
      if (!operation) return;
      const signature = requestSignature(contextValue, schema, document, operationName, request.variables);
      const count = counts.get(document, signature, () => {
        const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
        return requestedNodes(schema, operation, fragments, request.variables ?? {});
      });
      if (count !== null && count > settings.maxRequestedNodes) {
        throw limitExceeded(
          'requestedNodes',
          `The operation requests up to ${count} nodes; at most ${settings.maxRequestedNodes} are allowed. Ask for smaller pages or fewer nested connections.`,
          { requestedNodes: count, max: settings.maxRequestedNodes },
        );
      }
    },
  };
  // A limit of 0 is no limit: nothing to do in any request.
  return () => (settings.maxRequestedNodes > 0 ? hooks : undefined);
}
