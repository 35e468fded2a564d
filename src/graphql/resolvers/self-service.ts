/** Customer self-service: `me` and `updateMe` for end users signed in with scope `customer:self`. */
import type { Resolvers } from '../../generated/graphql';
import { updateMe } from '../../services/self-service';
import type { Context } from '../context';
import { actorOf } from './who';

/** The caller's own customer id; the scope rules let only `customer:self` tokens get here. */
function ownCustomerId(ctx: Context): string | null {
  return ctx.self?.customerId ?? null;
}

export const selfServiceResolvers: Resolvers = {
  Query: {
    me: (_, __, ctx) => {
      const id = ownCustomerId(ctx);
      return id ? ctx.loaders.customerById.load(id) : null;
    },
  },
  Mutation: {
    updateMe: async (_, { input }, ctx) => {
      const result = await updateMe(ctx.db, actorOf(ctx), ownCustomerId(ctx), input);
      if (result.customer && result.userErrors.length === 0) ctx.loaders.customerChanged(result.customer);
      return result;
    },
  },
};
