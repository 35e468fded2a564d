/** Relay `node`/`nodes` and the caller's workspace. */
import { badUserInput } from '../../shared/errors';
import type { Context } from '../context';
import type { Resolvers } from '../../generated/graphql';
import { isUuid } from '../../shared/ids';
import { BY_IDS } from '../../services/connections';
import { ARGUMENT_BOUNDS, boundedString } from '../limits/inputs';
import type { ActionRecord, CustomerRecord, MemberRecord } from '../../store/records';

type NodeRecord = CustomerRecord | MemberRecord | ActionRecord;

/**
 * The type of a loaded node record, told by a field only its kind has. Not a copy with a
 * typename: a copy would read every field of a customer read with only the columns the query
 * asks for (src/graphql/projection.ts).
 */
function typenameOf(record: NodeRecord): 'Customer' | 'Member' | 'Action' {
  if ('role' in record) return 'Member';
  if ('changes' in record) return 'Action';
  return 'Customer';
}

const MAX_NODES = BY_IDS['Query.nodes'].max;

/**
 * Ids are UUIDs without a type prefix (they are the public ids clients already hold), so a
 * node is looked up among customers, members and actions at once, each through its loader:
 * a `nodes` call costs one statement per type, whatever the number of ids.
 */
async function loadNode(id: string, ctx: Context): Promise<NodeRecord | null> {
  if (!isUuid(id)) return null;
  const [customer, member, action] = await Promise.all([
    ctx.loaders.customerById.load(id),
    ctx.loaders.memberById.load(id),
    ctx.loaders.actionById.load(id),
  ]);
  return customer ?? member ?? action ?? null;
}

export const nodeResolvers: Resolvers = {
  Query: {
    node: (_, { id }, ctx) => loadNode(boundedString(id, ARGUMENT_BOUNDS.id, 'id'), ctx),
    nodes: (_, { ids }, ctx) => {
      if (ids.length > MAX_NODES) throw badUserInput(`\`ids\` takes at most ${MAX_NODES} ids, got ${ids.length}`, 'ids');
      for (const id of ids) boundedString(id, ARGUMENT_BOUNDS.id, 'ids');
      return Promise.all(ids.map((id) => loadNode(id, ctx)));
    },
    workspace: (_, __, ctx) => ctx.workspace,
  },
  Node: {
    __resolveType: (node) => typenameOf(node),
  },
};
