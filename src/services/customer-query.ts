/** Reading customers in pages: filter and sort arguments -> one keyset query. */
import type { CustomerFilter, CustomerSort, CustomerSortField } from '../generated/graphql';
import { badUserInput } from '../shared/errors';
import { CONNECTIONS } from './connections';
import { buildConnection, decodePageCursor, encodePageCursor, parsePaging, type CustomerConnectionModel, type PagingArgs } from './paging';
import {
  countCustomers,
  listCustomers,
  listCustomersWith,
  sortValueOf,
  type CustomerColumns,
  type CustomerListFilter,
  type CustomerSortColumn,
} from '../store/customers.repository';
import { valueText } from '../store/custom-fields.repository';
import { memberPageCompanion, memberPagesReadWithPages, type MemberColumns } from '../store/members.repository';
import type { CustomFieldDefinitionRecord, CustomerRecord, MemberRecord } from '../store/records';
import type { Db } from '../store/engine';
import { LIMITS, Problems, checkCountry, checkCustomFieldValue } from './validation';

const SORT_COLUMNS: Record<CustomerSortField, CustomerSortColumn> = {
  CREATED_AT: 'created_at',
  UPDATED_AT: 'updated_at',
  EMAIL: 'email',
  NAME: 'sort_name',
};

/** Turns the first problem a checker found into a BAD_USER_INPUT error naming the filter. */
function rejectIfAny(problems: Problems, what: string): void {
  const [first] = problems.list;
  if (first) throw badUserInput(`filter.${what}: ${first.message}`, 'filter');
}

function customFieldFilters(
  filters: NonNullable<CustomerFilter['customFields']>,
  definitions: CustomFieldDefinitionRecord[],
): CustomerListFilter['customFields'] {
  if (filters.length > 10) throw badUserInput('filter.customFields: at most 10 custom field filters', 'filter');
  return filters.map(({ key, value }) => {
    const definition = definitions.find((d) => d.key === key);
    if (!definition) throw badUserInput(`filter.customFields: unknown custom field "${key.slice(0, 64)}"`, 'filter');
    if (!definition.searchable) {
      throw badUserInput(`filter.customFields: custom field "${key}" is not searchable; define it with searchable: true to filter on it`, 'filter');
    }
    const problems = new Problems();
    const typed = checkCustomFieldValue(definition.valueType, value, ['filter', 'customFields', key], problems);
    rejectIfAny(problems, `customFields.${key}`);
    return { key, valueText: valueText(typed as NonNullable<typeof typed>) };
  });
}

function buildCustomerFilter(filter: CustomerFilter | null | undefined, definitions: CustomFieldDefinitionRecord[]): CustomerListFilter {
  const f = filter ?? {};
  if (f.status && f.status.length > LIMITS.list) throw badUserInput(`filter.status: at most ${LIMITS.list} items, got ${f.status.length}`, 'filter');
  const problems = new Problems();
  const country = f.country ? checkCountry(f.country, ['country'], problems) : undefined;
  rejectIfAny(problems, 'country');
  const search = f.search?.trim().toLowerCase();
  if (search && search.length > LIMITS.name) throw badUserInput(`filter.search: at most ${LIMITS.name} characters`, 'filter');
  return {
    statuses: f.status && f.status.length > 0 ? [...new Set(f.status)] : ['ACTIVE'],
    type: f.type ?? undefined,
    search: search || undefined,
    emailVerified: f.emailVerified ?? undefined,
    unsubscribed: f.unsubscribed ?? undefined,
    country,
    createdAfter: f.createdAfter ?? undefined,
    createdBefore: f.createdBefore ?? undefined,
    updatedAfter: f.updatedAfter ?? undefined,
    customFields: f.customFields ? customFieldFilters(f.customFields, definitions) : [],
  };
}

export interface CustomerPageArgs extends PagingArgs {
  filter?: CustomerFilter | null;
  sort?: CustomerSort | null;
}

/** The first page of members to read with each customer of a page: rows (page size plus one) and columns. */
export interface MemberPageRequest {
  limit: number;
  read: MemberColumns;
}

export interface CustomerPage {
  connection: CustomerConnectionModel;
  /** Each customer's first page of members (read with `limit`), when they came with the page (PostgreSQL); null otherwise. */
  memberPages: { limit: number; pages: Map<string, MemberRecord[]> } | null;
}

export async function findCustomerPage(
  db: Db,
  workspaceId: string,
  args: CustomerPageArgs,
  definitions: CustomFieldDefinitionRecord[],
  columns?: CustomerColumns,
  /** The members page to read with the page, asked only where the engine can (so its planning costs SQLite nothing). */
  members: (() => MemberPageRequest | null) | null = null,
): Promise<CustomerPage> {
  const paging = parsePaging(args, CONNECTIONS['Query.customers']);
  const column = SORT_COLUMNS[args.sort?.field ?? 'CREATED_AT'];
  const descending = (args.sort?.direction ?? 'ASC') === 'DESC';
  // The cursor names sort and direction: a position means nothing under another order.
  const ordering = `customers.${column}.${descending ? 'desc' : 'asc'}`;
  const filter = buildCustomerFilter(args.filter, definitions);
  const query = {
    filter,
    column,
    descending: descending !== paging.backward,
    after: paging.cursor === null ? null : decodePageCursor(ordering, paging.cursor, paging.backward ? 'before' : 'after'),
    limit: paging.limit + 1,
    columns,
  };
  const request = members && memberPagesReadWithPages(db) ? members() : null;
  const companion = request && memberPageCompanion(db, workspaceId, request.limit, request.read);
  let rows: CustomerRecord[];
  let memberPages: CustomerPage['memberPages'] = null;
  if (request && companion) {
    const read = await listCustomersWith(db, workspaceId, query, companion);
    rows = read.customers;
    memberPages = { limit: request.limit, pages: new Map(rows.map((customer, i) => [customer.id, read.companions[i]])) };
  } else rows = await listCustomers(db, workspaceId, query);
  const connection = buildConnection(
    rows,
    paging,
    (c) => encodePageCursor(ordering, { value: sortValueOf(c, column), id: c.id }),
    () => countCustomers(db, workspaceId, filter),
  );
  return { connection, memberPages };
}
