/** Audit log entries. */
import type { Resolvers } from '../../generated/graphql';

export const actionResolvers: Resolvers = {
  Action: {
    customer: async (action, _, ctx) => {
      const customer = await ctx.loaders.customerById.load(action.customerId);
      if (!customer) throw new Error(`action ${action.id} has no customer ${action.customerId}`);
      return customer;
    },
    member: (action, _, ctx) => (action.memberId ? ctx.loaders.memberById.load(action.memberId) : null),
  },
  ActionConnection: { totalCount: (connection) => connection.count() },
};
