/**
 * Every DataLoader, created per request (never at module scope, so nothing is shared between
 * workspaces or requests). Each batch function issues one statement for all its keys and
 * returns results in key order, null for a missing key.
 */
import DataLoader from 'dataloader';
import { countActionsOfCustomers, findActionsByIds, listActionsOfCustomers } from '../store/actions.repository';
import type { CustomerLookupColumn, KeysetPosition } from '../store/customers.repository';
import { findCustomersFollowingMerges, findMergedIdsOf } from '../store/privacy.repository';
import { findDefinitions, findValuesOfCustomers } from '../store/custom-fields.repository';
import { countMembersOfCustomers, findMembersByIds, listMembersOfCustomers } from '../store/members.repository';
import type {
  ActionRecord,
  CustomFieldDefinitionRecord,
  CustomFieldValueRecord,
  CustomerRecord,
  MemberRecord,
} from '../store/records';
import type { Db } from '../store/engine';
import { ReadProjection } from './projection';

/** Orders fetched rows by the requested keys: one result per key, null where missing. */
function byKey<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): (V | null)[] {
  const found = new Map<K, V>();
  for (const row of rows) found.set(keyOf(row), row);
  return keys.map((key) => found.get(key) ?? null);
}

/** Groups fetched rows under the requested keys: a (possibly empty) list per key. */
function groupedByKey<V>(keys: readonly string[], rows: V[], keyOf: (row: V) => string): V[][] {
  const groups = new Map<string, V[]>(keys.map((key) => [key, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key) ?? []);
}

/**
 * A DataLoader cache that also takes records another statement read (the rows of a page)
 * without a promise for each, as DataLoader's own `prime` makes: most are never loaded again,
 * so the promise is made by the first load that finds the record.
 */
export class RememberingCache<V> implements DataLoader.CacheMap<string, Promise<V>> {
  private readonly promises = new Map<string, Promise<V>>();
  private readonly records = new Map<string, V>();

  get(key: string): Promise<V> | undefined {
    const promise = this.promises.get(key);
    if (promise !== undefined || !this.records.has(key)) return promise;
    const made = Promise.resolve(this.records.get(key) as V);
    this.records.delete(key);
    this.promises.set(key, made);
    return made;
  }

  set(key: string, value: Promise<V>): void {
    this.records.delete(key);
    this.promises.set(key, value);
  }

  delete(key: string): void {
    this.records.delete(key);
    this.promises.delete(key);
  }

  clear(): void {
    this.records.clear();
    this.promises.clear();
  }

  /** Keeps `record` for `key` unless the key already has one (what DataLoader's `prime` does). */
  remember(key: string, record: V): void {
    if (!this.promises.has(key) && !this.records.has(key)) this.records.set(key, record);
  }
}

/** A nested-connection page request for one parent. */
export interface ChildPageKey {
  parentId: string;
  /** Rows to fetch (the page size plus one, to know whether more exist). */
  limit: number;
  after: KeysetPosition | null;
}

const childPageKey = (key: ChildPageKey) => `${key.parentId}|${key.limit}|${key.after?.value ?? ''}|${key.after?.id ?? ''}`;

type PageFetcher<V> = (
  db: Db,
  workspaceId: string,
  parentIds: readonly string[],
  limit: number,
  after: KeysetPosition | null,
) => Promise<V[]>;

/**
 * Pages of children for many parents: keys asking for the same page shape (size and cursor,
 * nearly always "the first N") share one windowed statement.
 */
function childPageLoader<V extends { customerId: string }>(db: Db, workspaceId: string, fetch: PageFetcher<V>) {
  return new DataLoader<ChildPageKey, V[], string>(
    async (keys) => {
      // Grouped in place (one array per shape, not a copy per key), answers by key position.
      const shapes = new Map<string, number[]>();
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        const shape = `${key.limit}|${key.after?.value ?? ''}|${key.after?.id ?? ''}`;
        const positions = shapes.get(shape);
        if (positions) positions.push(i);
        else shapes.set(shape, [i]);
      }
      const results = new Array<V[]>(keys.length);
      for (const positions of shapes.values()) {
        const { limit, after } = keys[positions[0]];
        const parentIds = positions.map((i) => keys[i].parentId);
        const rows = await fetch(db, workspaceId, parentIds, limit, after);
        const lists = groupedByKey(parentIds, rows, (row) => row.customerId);
        positions.forEach((at, i) => (results[at] = lists[i]));
      }
      return results;
    },
    { cacheKeyFn: childPageKey },
  );
}

/**
 * What the caller may see. Staff credentials see the whole workspace. An end user (a token with
 * `customer:self`) sees only their own customer (null when it does not exist) and its members,
 * and no audit action by id. Every lookup by id, externalId or email goes through it, and those
 * are how `me`, `customer*`, `node`/`nodes`, `_entities` and nested references reach records;
 * the pages of a customer's children are reached only through a visible customer.
 */
export type Visibility = { kind: 'workspace' } | { kind: 'self'; customerId: string | null };

const WHOLE_WORKSPACE: Visibility = { kind: 'workspace' };

/** Rows the caller may not see are left out, so their keys answer null like missing ones. */
function visibleRows<V>(visibility: Visibility, rows: V[], customerIdOf: ((row: V) => string) | null): V[] {
  if (visibility.kind === 'workspace') return rows;
  if (customerIdOf === null) return [];
  return rows.filter((row) => customerIdOf(row) === visibility.customerId);
}

function customerLoader(
  db: Db,
  workspaceId: string,
  column: CustomerLookupColumn,
  keyOf: (c: CustomerRecord) => string,
  projection: ReadProjection,
  visibility: Visibility,
  cacheMap?: RememberingCache<CustomerRecord | null>,
) {
  // A merged customer's id, externalId or email answers its survivor (the match's key, the survivor's record).
  return new DataLoader<string, CustomerRecord | null>(
    async (values) => {
      const resolved = await findCustomersFollowingMerges(db, workspaceId, column, values, projection.customers);
      return byKey(values, visibleRows(visibility, resolved, (r) => r.answer.id), (r) => keyOf(r.matched)).map((r) => r?.answer ?? null);
    },
    { cacheMap },
  );
}

function countLoader(db: Db, workspaceId: string, count: typeof countMembersOfCustomers) {
  return new DataLoader<string, number>(async (ids) => {
    const counts = await count(db, workspaceId, ids);
    return ids.map((id) => counts.get(id) ?? 0);
  });
}

export function createLoaders(db: Db, workspaceId: string, visibility: Visibility = WHOLE_WORKSPACE) {
  let definitions: Promise<CustomFieldDefinitionRecord[]> | null = null;
  const projection = new ReadProjection();
  const customersRead = new RememberingCache<CustomerRecord | null>();
  const membersRead = new RememberingCache<MemberRecord | null>();
  /** First member pages read with a customers page, by rows per page (the limit) and customer id. */
  const memberPagesRead = new Map<number, Map<string, MemberRecord[]>>();
  return {
    /** The customer and member columns this request's reads select (src/graphql/projection.ts). */
    projection,
    customerById: customerLoader(db, workspaceId, 'id', (c) => c.id, projection, visibility, customersRead),
    customerByExternalId: customerLoader(db, workspaceId, 'external_id', (c) => c.externalId ?? '', projection, visibility),
    customerByEmail: customerLoader(db, workspaceId, 'email', (c) => c.email, projection, visibility),
    memberById: new DataLoader<string, MemberRecord | null>(
      async (ids) =>
        byKey(ids, visibleRows(visibility, await findMembersByIds(db, workspaceId, ids, projection.members), (m) => m.customerId), (m) => m.id),
      { cacheMap: membersRead },
    ),
    actionById: new DataLoader<string, ActionRecord | null>(async (ids) =>
      byKey(ids, visibleRows(visibility, await findActionsByIds(db, workspaceId, ids), null), (a) => a.id),
    ),
    memberPage: childPageLoader<MemberRecord>(db, workspaceId, (db, workspaceId, parentIds, limit, after) =>
      listMembersOfCustomers(db, workspaceId, parentIds, limit, after, projection.members),
    ),
    actionPage: childPageLoader<ActionRecord>(db, workspaceId, listActionsOfCustomers),
    memberCount: countLoader(db, workspaceId, countMembersOfCustomers),
    actionCount: countLoader(db, workspaceId, countActionsOfCustomers),
    /** Ids of the customers merged into each customer. */
    mergedIds: new DataLoader<string, string[]>(async (ids) =>
      groupedByKey(ids, await findMergedIdsOf(db, workspaceId, ids), (m) => m.mergedInto).map((list) => list.map((m) => m.id)),
    ),
    customFieldValues: new DataLoader<string, CustomFieldValueRecord[]>(async (ids) =>
      groupedByKey(ids, await findValuesOfCustomers(db, workspaceId, ids), (v) => v.customerId),
    ),
    /** The workspace's definitions, read once per request. */
    customFieldDefinitions(): Promise<CustomFieldDefinitionRecord[]> {
      definitions ??= findDefinitions(db, workspaceId);
      return definitions;
    },
    /**
     * Records a page read, for later lookups by id in the same request (a member's `customer`
     * finds it here): as DataLoader's `prime`, without a promise per record.
     */
    rememberCustomers(customers: readonly CustomerRecord[]): void {
      for (const customer of customers) customersRead.remember(customer.id, customer);
    },
    rememberMembers(members: readonly MemberRecord[]): void {
      for (const member of members) membersRead.remember(member.id, member);
    },
    /**
     * The first member pages a customers page read in its own statement (limit: rows per
     * page, the page size plus one). `Customer.members` answers from them without a load.
     */
    rememberMemberPages(limit: number, pages: Map<string, MemberRecord[]>): void {
      const known = memberPagesRead.get(limit);
      if (!known) memberPagesRead.set(limit, pages);
      else for (const [parentId, page] of pages) if (!known.has(parentId)) known.set(parentId, page);
    },
    /** The page `key` asks for when a customers page read it (memberPagesRead), else undefined. */
    memberPageRead(key: ChildPageKey): MemberRecord[] | undefined {
      return key.after === null ? memberPagesRead.get(key.limit)?.get(key.parentId) : undefined;
    },
    /** After a write: forget everything cached about the customer and remember its new state. */
    customerChanged(customer: CustomerRecord): void {
      memberPagesRead.clear();
      for (const loader of [this.memberPage, this.actionPage]) loader.clearAll();
      for (const loader of [this.memberCount, this.actionCount, this.customFieldValues, this.mergedIds]) loader.clear(customer.id);
      this.customerByEmail.clearAll();
      this.customerByExternalId.clearAll();
      this.customerById.clear(customer.id).prime(customer.id, customer);
    },
    /** After a member write: its new state, or null once removed. */
    memberChanged(id: string, member: MemberRecord | null): void {
      this.memberById.clear(id).prime(id, member);
    },
    definitionsChanged(): void {
      definitions = null;
    },
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
