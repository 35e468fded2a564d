/** Relay `node`/`nodes` and the caller's workspace. */
import { badUserInput } from '../../shared/errors';
import type { Context } from '../context';
import type { Resolvers } from '../../generated/graphql';
import { isUuid } from '../../shared/ids';
import { ARGUMENT_BOUNDS, boundedString } from '../limits/inputs';
import type { ActionRecord, CustomerRecord, MemberRecord } from '../../store/records';

type NodeRecord = CustomerRecord | MemberRecord | ActionRecord;
type NodeTypename = 'Customer' | 'Member' | 'Action';

/**
 * The type each loaded node record came back as. Remembered beside the record rather than
 * copied into it: a copy would read every field of a customer read with only the columns the
 * query asks for (src/graphql/customer-reads.ts). Weak, so nothing outlives its request.
 */
const nodeTypes = new WeakMap<NodeRecord, NodeTypename>();

function typed<T extends NodeRecord>(record: T, typename: NodeTypename): T {
  nodeTypes.set(record, typename);
  return record;
}

export const MAX_NODES = 100;

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
  if (customer) return typed(customer, 'Customer');
  if (member) return typed(member, 'Member');
  if (action) return typed(action, 'Action');
  return null;
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
    __resolveType: (node) => {
      const typename = nodeTypes.get(node as NodeRecord);
      if (!typename) throw new Error('Node.__resolveType: expected a record loaded by node/nodes, got an unknown object');
      return typename;
    },
  },
};
