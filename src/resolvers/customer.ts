/** Customer queries, fields and mutations: arguments -> loader or service -> payload. */
import { isUuid } from '../ids';
import type { Context } from '../context';
import type { Resolvers } from '../generated/graphql';
import { displayName } from '../store/customers.repository';
import type { CustomerRecord } from '../store/records';
import { findCustomerPage } from '../services/customer-query';
import { archiveCustomer, createCustomer, restoreCustomer, updateCustomer, type CustomerResult } from '../services/customers';
import { buildConnection, decodeCursor, encodeCursor, parsePaging, type PagingArgs } from '../services/paging';
import { gravatarUrl } from '../services/validation';
import { actorOf } from './who';

/** After a write, later fields of the same request see the new state. */
function primed(ctx: Context, result: CustomerResult): CustomerResult {
  if (result.customer && result.userErrors.length === 0) ctx.loaders.customerChanged(result.customer);
  return result;
}

function memberPage(customer: CustomerRecord, args: PagingArgs, ctx: Context) {
  const paging = parsePaging({ first: args.first, after: args.after });
  const after = paging.cursor ? decodeCursor('members', paging.cursor, 'after') : null;
  return ctx.loaders.memberPage.load({ parentId: customer.id, limit: paging.limit + 1, after }).then((rows) =>
    buildConnection(
      rows,
      paging,
      (m) => encodeCursor('members', { value: m.createdAt, id: m.id }),
      () => ctx.loaders.memberCount.load(customer.id),
    ),
  );
}

function actionPage(customer: CustomerRecord, args: PagingArgs, ctx: Context) {
  const paging = parsePaging({ first: args.first, after: args.after });
  const after = paging.cursor ? decodeCursor('actions', paging.cursor, 'after') : null;
  return ctx.loaders.actionPage.load({ parentId: customer.id, limit: paging.limit + 1, after }).then((rows) =>
    buildConnection(
      rows,
      paging,
      (a) => encodeCursor('actions', { value: a.createdAt, id: a.id }),
      () => ctx.loaders.actionCount.load(customer.id),
    ),
  );
}

export const customerResolvers: Resolvers = {
  Query: {
    customer: (_, { id }, ctx) => (isUuid(id) ? ctx.loaders.customerById.load(id) : null),
    customerByExternalId: (_, { externalId }, ctx) => ctx.loaders.customerByExternalId.load(externalId.trim()),
    customerByEmail: (_, { email }, ctx) => ctx.loaders.customerByEmail.load(email.trim().toLowerCase()),
    customers: async (_, args, ctx) =>
      findCustomerPage(ctx.db, ctx.workspace.id, args, await ctx.loaders.customFieldDefinitions()),
  },
  Customer: {
    __resolveReference: (reference, ctx) => {
      if ('id' in reference && typeof reference.id === 'string') {
        return isUuid(reference.id) ? ctx.loaders.customerById.load(reference.id) : null;
      }
      return null;
    },
    name: (customer) => displayName(customer),
    avatarUrl: (customer) => customer.avatarUrl ?? gravatarUrl(customer.email),
    url: (customer, _, ctx) => `${ctx.publicUrl}/customers/${customer.id}`,
    customFields: (customer, _, ctx) => ctx.loaders.customFieldValues.load(customer.id),
    members: (customer, args, ctx) => memberPage(customer, args, ctx),
    actions: (customer, args, ctx) => actionPage(customer, args, ctx),
  },
  CustomerConnection: { totalCount: (connection) => connection.count() },
  Mutation: {
    createCustomer: async (_, { input }, ctx) => primed(ctx, await createCustomer(ctx.db, actorOf(ctx), input)),
    updateCustomer: async (_, { input }, ctx) => primed(ctx, await updateCustomer(ctx.db, actorOf(ctx), input)),
    archiveCustomer: async (_, { input }, ctx) => primed(ctx, await archiveCustomer(ctx.db, actorOf(ctx), input)),
    restoreCustomer: async (_, { input }, ctx) => primed(ctx, await restoreCustomer(ctx.db, actorOf(ctx), input)),
  },
};
