/** Member fields and mutations. */
import type { Context } from '../context';
import type { Resolvers } from '../generated/graphql';
import { addMember, removeMember, updateMember, type MemberResult } from '../services/members';
import { isUuid } from '../ids';
import { actorOf } from './who';

function primed<T extends Pick<MemberResult, 'customer' | 'userErrors'>>(ctx: Context, result: T): T {
  if (result.customer && result.userErrors.length === 0) ctx.loaders.customerChanged(result.customer);
  return result;
}

export const memberResolvers: Resolvers = {
  Member: {
    __resolveReference: (reference, ctx) =>
      'id' in reference && typeof reference.id === 'string' && isUuid(reference.id) ? ctx.loaders.memberById.load(reference.id) : null,
    customer: async (member, _, ctx) => {
      const customer = await ctx.loaders.customerById.load(member.customerId);
      // Members are deleted with their customer only, never left behind: a gap is a bug.
      if (!customer) throw new Error(`member ${member.id} has no customer ${member.customerId}`);
      return customer;
    },
  },
  MemberConnection: { totalCount: (connection) => connection.count() },
  Mutation: {
    addMember: async (_, { input }, ctx) => primed(ctx, await addMember(ctx.db, actorOf(ctx), input)),
    updateMember: async (_, { input }, ctx) => primed(ctx, await updateMember(ctx.db, actorOf(ctx), input)),
    removeMember: async (_, { input }, ctx) => primed(ctx, await removeMember(ctx.db, actorOf(ctx), input)),
  },
};
