/** Member fields and mutations. */
import type { Context } from '../context';
import type { Resolvers } from '../../generated/graphql';
import type { MemberRecord } from '../../store/records';
import { addMember, removeMember, updateMember, type MemberResult } from '../../services/members';
import { referenceUuid } from './reference';
import { actorOf } from './who';

/** After a write, later fields of the same request see the new customer and member state. */
function primed<T extends Pick<MemberResult, 'customer' | 'userErrors'>>(ctx: Context, result: T, member: { id: string | null; now: MemberRecord | null }): T {
  if (!result.customer || result.userErrors.length > 0) return result;
  ctx.loaders.customerChanged(result.customer);
  if (member.id) ctx.loaders.memberChanged(member.id, member.now);
  return result;
}

export const memberResolvers: Resolvers = {
  Member: {
    __resolveReference: (reference, ctx) => {
      const id = referenceUuid(reference);
      return id ? ctx.loaders.memberById.load(id) : null;
    },
    customer: async (member, _, ctx) => {
      const customer = await ctx.loaders.customerById.load(member.customerId);
      // Members are deleted with their customer only, never left behind: a gap is a bug.
      if (!customer) throw new Error(`member ${member.id} has no customer ${member.customerId}`);
      return customer;
    },
  },
  MemberConnection: { totalCount: (connection) => connection.count() },
  Mutation: {
    addMember: async (_, { input }, ctx) => {
      const result = await addMember(ctx.db, actorOf(ctx), input);
      return primed(ctx, result, { id: result.member?.id ?? null, now: result.member });
    },
    updateMember: async (_, { input }, ctx) => {
      const result = await updateMember(ctx.db, actorOf(ctx), input);
      return primed(ctx, result, { id: result.member?.id ?? null, now: result.member });
    },
    removeMember: async (_, { input }, ctx) => {
      const result = await removeMember(ctx.db, actorOf(ctx), input);
      return primed(ctx, result, { id: result.removedMemberId, now: null });
    },
  },
};
