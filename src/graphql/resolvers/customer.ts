/** Customer queries, fields and mutations: arguments -> loader or service -> payload. */
import { isUuid } from '../../shared/ids';
import type { Context } from '../context';
import type { Resolvers } from '../../generated/graphql';
import { displayName } from '../../store/customers.repository';
import type DataLoader from 'dataloader';
import { getArgumentValues, Kind, type FieldNode, type GraphQLObjectType, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { ChildPageKey } from '../loaders';
import type { ActionRecord, CustomerRecord, MemberRecord } from '../../store/records';
import { findCustomerPage } from '../../services/customer-query';
import { archiveCustomer, createCustomer, restoreCustomer, updateCustomer, type CustomerResult } from '../../services/customers';
import { CONNECTIONS } from '../../services/connections';
import { buildConnection, decodePageCursor, encodePageCursor, parsePaging, type ConnectionModel, type PagingArgs } from '../../services/paging';
import { gravatarUrl } from '../../services/validation';
import { referenceString, referenceUuid } from './reference';
import { ARGUMENT_BOUNDS as MAX, boundedString } from '../limits/inputs';
import { actorOf } from './who';

/** After a write, later fields of the same request see the new state. */
function primed(ctx: Context, result: CustomerResult): CustomerResult {
  if (result.customer && result.userErrors.length === 0) ctx.loaders.customerChanged(result.customer);
  return result;
}

/** A nested connection's paging and the loader key of one parent's page (the page size plus one row). */
function childPaging(ordering: 'members' | 'actions', parentId: string, args: PagingArgs) {
  const paging = parsePaging({ first: args.first, after: args.after }, CONNECTIONS[`Customer.${ordering}`]);
  const after = paging.cursor ? decodePageCursor(ordering, paging.cursor, 'after') : null;
  const key: ChildPageKey = { parentId, limit: paging.limit + 1, after };
  return { paging, key };
}

/**
 * A nested connection (members oldest first, actions newest first), batched per page shape.
 * A page already read (`read`: the members a customers page read with it) answers at once.
 */
function childPage<T extends MemberRecord | ActionRecord>(
  ordering: 'members' | 'actions',
  customer: CustomerRecord,
  args: PagingArgs,
  loader: DataLoader<ChildPageKey, T[], string>,
  count: () => Promise<number>,
  read?: (key: ChildPageKey) => T[] | undefined,
): ConnectionModel<T> | Promise<ConnectionModel<T>> {
  const { paging, key } = childPaging(ordering, customer.id, args);
  const connection = (rows: T[]) => buildConnection(rows, paging, (row) => encodePageCursor(ordering, { value: row.createdAt, id: row.id }), count);
  const known = read?.(key);
  return known ? connection(known) : loader.load(key).then(connection);
}

/** The fields named `name` in a selection set, through inline fragments and fragment spreads. */
function fieldsNamed(set: SelectionSetNode | undefined, name: string, info: GraphQLResolveInfo): FieldNode[] {
  const found: FieldNode[] = [];
  for (const selection of set?.selections ?? []) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === name) found.push(selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) found.push(...fieldsNamed(selection.selectionSet, name, info));
    else found.push(...fieldsNamed(info.fragments[selection.name.value]?.selectionSet, name, info));
  }
  return found;
}

/**
 * The loader limit of the members page every customer of a `customers` page asks for, when
 * they all ask for the same first page (`members(first: N)` without a cursor, under `nodes` or
 * `edges.node`), so the page can read it in its own statement; null otherwise (no members,
 * several shapes, a cursor, or arguments the field will refuse: the loader then serves them).
 * A members field skipped by @skip/@include still counts: its page is read, and not shown.
 */
function memberPageLimitOf(info: GraphQLResolveInfo): number | null {
  const membersField = (info.schema.getType('Customer') as GraphQLObjectType).getFields().members;
  const customerSets = info.fieldNodes.flatMap((page) => [
    ...fieldsNamed(page.selectionSet, 'nodes', info),
    ...fieldsNamed(page.selectionSet, 'edges', info).flatMap((edges) => fieldsNamed(edges.selectionSet, 'node', info)),
  ]);
  const limits = new Set<number>();
  for (const field of customerSets.flatMap((customer) => fieldsNamed(customer.selectionSet, 'members', info))) {
    try {
      const args = getArgumentValues(membersField, field, info.variableValues) as PagingArgs;
      const { key } = childPaging('members', '', args);
      if (key.after !== null) return null;
      limits.add(key.limit);
    } catch {
      return null;
    }
  }
  return limits.size === 1 ? [...limits][0] : null;
}

export const customerResolvers: Resolvers = {
  Query: {
    customer: (_, { id }, ctx) => (isUuid(boundedString(id, MAX.id, 'id')) ? ctx.loaders.customerById.load(id) : null),
    customerByExternalId: (_, { externalId }, ctx) =>
      ctx.loaders.customerByExternalId.load(boundedString(externalId.trim(), MAX.externalId, 'externalId')),
    customerByEmail: (_, { email }, ctx) => ctx.loaders.customerByEmail.load(boundedString(email.trim().toLowerCase(), MAX.email, 'email')),
    customers: async (_, args, ctx, info) => {
      // Only a filter naming custom fields needs the workspace's definitions (one statement saved per page).
      const definitions = args.filter?.customFields?.length ? await ctx.loaders.customFieldDefinitions() : [];
      const members = () => {
        const limit = memberPageLimitOf(info);
        return limit === null ? null : { limit, read: ctx.loaders.projection.members };
      };
      const { connection, memberPages } = await findCustomerPage(ctx.db, ctx.workspace.id, args, definitions, ctx.loaders.projection.customers, members);
      // Nested nodes that point back at their customer (member.customer) find it here.
      ctx.loaders.rememberCustomers(connection.nodes);
      // Members that came with the page: Customer.members answers from them.
      if (memberPages) ctx.loaders.rememberMemberPages(memberPages.limit, memberPages.pages);
      return connection;
    },
  },
  Customer: {
    // Either key (@key "id" or "externalId"); each kind batches through its own loader.
    __resolveReference: (reference, ctx) => {
      if ('id' in reference) {
        const id = referenceUuid(reference);
        return id ? ctx.loaders.customerById.load(id) : null;
      }
      const externalId = referenceString(reference, 'externalId')?.trim();
      return externalId ? ctx.loaders.customerByExternalId.load(externalId) : null;
    },
    name: (customer) => displayName(customer),
    avatarUrl: (customer) => customer.avatarUrl ?? gravatarUrl(customer.email),
    url: (customer, _, ctx) => `${ctx.publicUrl}/customers/${customer.id}`,
    customFields: (customer, _, ctx) => ctx.loaders.customFieldValues.load(customer.id),
    members: (customer, args, ctx) => {
      const remembered = (page: ConnectionModel<MemberRecord>) => (ctx.loaders.rememberMembers(page.nodes), page);
      const page = childPage('members', customer, args, ctx.loaders.memberPage, () => ctx.loaders.memberCount.load(customer.id), (key) =>
        ctx.loaders.memberPageRead(key),
      );
      return page instanceof Promise ? page.then(remembered) : remembered(page);
    },
    actions: (customer, args, ctx) =>
      childPage('actions', customer, args, ctx.loaders.actionPage, () => ctx.loaders.actionCount.load(customer.id)),
  },
  CustomerConnection: { totalCount: (connection) => connection.count() },
  Mutation: {
    createCustomer: async (_, { input }, ctx) => primed(ctx, await createCustomer(ctx.db, actorOf(ctx), input)),
    updateCustomer: async (_, { input }, ctx) => primed(ctx, await updateCustomer(ctx.db, actorOf(ctx), input)),
    archiveCustomer: async (_, { input }, ctx) => primed(ctx, await archiveCustomer(ctx.db, actorOf(ctx), input)),
    restoreCustomer: async (_, { input }, ctx) => primed(ctx, await restoreCustomer(ctx.db, actorOf(ctx), input)),
  },
};
