/** Erasure, merge and the per-customer data export: arguments -> service -> payload. */
import type { Resolvers } from '../../generated/graphql';
import { customerDataExport } from '../../services/data-export';
import { eraseCustomer } from '../../services/erasure';
import { mergeCustomers, previewMerge } from '../../services/merge';
import type { CustomerResult } from '../../services/customers';
import type { Context } from '../context';
import { ARGUMENT_BOUNDS as MAX, boundedString } from '../limits/inputs';
import { actorOf } from './who';

/** After a write, later fields of the same request see the new state; `gone` are ids that now answer another customer. */
function primed(ctx: Context, result: CustomerResult, gone: string[] = []): CustomerResult {
  if (!result.customer || result.userErrors.length > 0) return result;
  ctx.loaders.customerChanged(result.customer);
  for (const id of gone) ctx.loaders.customerById.clear(id);
  return result;
}

export const privacyResolvers: Resolvers = {
  Query: {
    customerMergePreview: (_, args, ctx) =>
      previewMerge(ctx.db, ctx.workspace.id, {
        survivorId: boundedString(args.survivorId, MAX.id, 'survivorId'),
        mergedId: boundedString(args.mergedId, MAX.id, 'mergedId'),
        override: args.override,
      }),
    customerDataExport: (_, { id }, ctx) => customerDataExport(ctx.db, ctx.workspace.id, boundedString(id, MAX.id, 'id')),
  },
  Customer: {
    mergedIds: (customer, _, ctx) => ctx.loaders.mergedIds.load(customer.id),
  },
  Mutation: {
    eraseCustomer: async (_, { input }, ctx) => {
      const onReclaimError = (error: unknown) => ctx.logger.error({ err: error, customerId: input.id }, 'reclaiming space after an erasure failed; run VACUUM on the customer tables');
      const result = await eraseCustomer(ctx.db, actorOf(ctx), input, { onReclaimError });
      if (result.customer && result.userErrors.length === 0) {
        // Members and merged tombstones of the erased customer are gone or changed: nothing cached about them holds.
        ctx.loaders.memberById.clearAll();
        ctx.loaders.customerById.clearAll();
      }
      return primed(ctx, result);
    },
    mergeCustomers: async (_, { input }, ctx) => {
      const result = await mergeCustomers(ctx.db, actorOf(ctx), input);
      if (result.userErrors.length === 0) ctx.loaders.memberById.clearAll();
      return primed(ctx, result, [input.mergedId]);
    },
  },
};
