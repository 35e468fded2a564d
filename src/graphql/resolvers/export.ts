/** The change feed for incremental sync. */
import type { Resolvers } from '../../generated/graphql';
import { exportPage } from '../../services/export';

export const exportResolvers: Resolvers = {
  Query: {
    exportCustomers: (_, args, ctx) => exportPage(ctx.db, ctx.workspace.id, args, ctx.loaders.projection.customers),
  },
};
