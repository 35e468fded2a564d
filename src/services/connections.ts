/**
 * Every paged field and every by-ids field of the schema, in one table. The resolvers apply
 * these sizes; the cost analysis, the requested-nodes count and the analysis memo
 * (src/graphql/limits) read the same entries, so what they charge is what the resolvers fetch.
 */

export interface PageSizes {
  /** Page size when neither `first` nor `last` is given. */
  readonly default: number;
  /** Largest `first`/`last` accepted; a larger one is BAD_USER_INPUT. */
  readonly max: number;
}

export interface ByIds {
  /** The list argument, each element of which fetches one item. */
  readonly argument: string;
  /** Most elements accepted (null: bounded elsewhere, by the router's batch). */
  readonly max: number | null;
}

const ORDINARY: PageSizes = { default: 20, max: 100 };

/** Connections by schema coordinate (`Type.field`). test/connections.test.ts checks every connection of the schema is listed. */
export const CONNECTIONS = {
  'Query.customers': ORDINARY,
  'Query.exportCustomers': { default: 100, max: 1000 },
  'Customer.members': ORDINARY,
  'Customer.actions': ORDINARY,
  'Query.webhookEndpoints': ORDINARY,
  'Query.webhookDeliveries': ORDINARY,
} as const satisfies Record<string, PageSizes>;

/** Root fields that fetch one item per element of a list argument. */
export const BY_IDS = {
  'Query.nodes': { argument: 'ids', max: 100 },
  'Query._entities': { argument: 'representations', max: null },
} as const satisfies Record<string, ByIds>;

/** Arguments that size a page: an analysis must read their values. */
export const PAGE_SIZE_ARGUMENTS: ReadonlySet<string> = new Set(['first', 'last']);
/** Arguments whose list length alone sizes a fetch. */
export const BY_IDS_ARGUMENTS: ReadonlySet<string> = new Set(Object.values(BY_IDS).map((entry) => entry.argument));

/** The page sizes of a connection field. */
export function pageSizesOf(coordinate: string): PageSizes {
  return (CONNECTIONS as Record<string, PageSizes>)[coordinate] ?? ORDINARY;
}

/** The by-ids entry of a field, or undefined when it fetches no list by id. */
export function byIdsOf(coordinate: string): ByIds | undefined {
  return (BY_IDS as Record<string, ByIds>)[coordinate];
}
