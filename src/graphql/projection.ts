/**
 * Projection: queries read only the customer and member columns their fields need. A customer
 * row has 46 columns; a page of 100 that shows 15 fields spends most of its SQLite time turning
 * the other 31 into JavaScript values, and the export drain does the same for every row of the
 * table. A page's members are read the same way: a query that shows no member timestamp reads
 * none (on PostgreSQL each one read is a Date parsed and formatted back).
 *
 * This module owns all of it: which GraphQL field reads which record fields
 * (CUSTOMER_FIELD_READS, MEMBER_FIELD_READS, MEMBER_CONNECTION_READS), how a document's
 * selection becomes column sets, and how a request's loaders learn them (ReadProjection). The
 * store only reads the columns it is given (store/customers.repository.ts and
 * members.repository.ts map record fields to columns, beside the row translation).
 *
 * Per document (Apollo hands the same DocumentNode to every request with the same query text):
 * every field selected on Customer (Member), or on an interface or union it belongs to (`node`,
 * `_entities`), anywhere in the document. Anything selected anywhere counts, whether or not
 * @skip/@include or the chosen operation end up using it: reading too much is only slower.
 * Only query operations are narrowed: mutations and their services read and write whole records.
 */
import {
  OperationTypeNode,
  TypeInfo,
  isAbstractType,
  isObjectType,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import type { Customer, Member, MemberConnection } from '../generated/graphql';
import type { RequestConcern, RequestHooks } from './request-hooks';
import { ALL_CUSTOMER_COLUMNS, customerColumnsFor, type CustomerColumns } from '../store/customers.repository';
import { ALL_MEMBER_COLUMNS, memberColumnsFor, type MemberColumns } from '../store/members.repository';
import type { CustomerRecord, MemberRecord } from '../store/records';

type Reads = readonly (keyof CustomerRecord)[];
type MemberReads = readonly (keyof MemberRecord)[];

/**
 * What each GraphQL Customer field reads of the CustomerRecord it resolves on: its default
 * resolver's own record field, or, for the fields src/graphql/resolvers/customer.ts resolves,
 * every record field that resolver touches. A resolver that starts reading another record
 * field must say so here. The type makes the table name every field of the schema's Customer.
 */
export const CUSTOMER_FIELD_READS: { [F in Exclude<keyof Customer, '__typename'>]-?: Reads } = {
  id: ['id'],
  externalId: ['externalId'],
  email: ['email'],
  emailVerified: ['emailVerified'],
  firstName: ['firstName'],
  lastName: ['lastName'],
  // displayName(): the explicit name, else first and last name.
  name: ['name', 'firstName', 'lastName'],
  phone: ['phone'],
  phoneCountry: ['phoneCountry'],
  birthDate: ['birthDate'],
  gender: ['gender'],
  // The stored avatar, else the Gravatar of the email.
  avatarUrl: ['avatarUrl', 'email'],
  profile: ['profile'],
  billingAddress: ['billingAddress'],
  type: ['type'],
  metadata: ['metadata'],
  // Loaded by customer id, as are the nested connections and the url.
  customFields: ['id'],
  unsubscribed: ['unsubscribed'],
  internalNote: ['internalNote'],
  netRevenue: ['netRevenue'],
  signInCount: ['signInCount'],
  lastRequestAt: ['lastRequestAt'],
  bouncedAt: ['bouncedAt'],
  status: ['status'],
  erasedAt: ['erasedAt'],
  erasedBy: ['erasedBy'],
  erasedVia: ['erasedVia'],
  mergedInto: ['mergedInto'],
  mergedIds: ['id'],
  archivedAt: ['archivedAt'],
  archivedBy: ['archivedBy'],
  archivedVia: ['archivedVia'],
  archiveReason: ['archiveReason'],
  createdAt: ['createdAt'],
  createdBy: ['createdBy'],
  createdVia: ['createdVia'],
  updatedAt: ['updatedAt'],
  updatedBy: ['updatedBy'],
  updatedVia: ['updatedVia'],
  version: ['version'],
  url: ['id'],
  members: ['id'],
  actions: ['id'],
};

/** What each GraphQL Member field reads of the MemberRecord (src/graphql/resolvers/member.ts resolves `customer`). */
export const MEMBER_FIELD_READS: { [F in Exclude<keyof Member, '__typename'>]-?: MemberReads } = {
  id: ['id'],
  customer: ['customerId'],
  email: ['email'],
  name: ['name'],
  externalId: ['externalId'],
  role: ['role'],
  createdAt: ['createdAt'],
  updatedAt: ['updatedAt'],
};

/** What the fields of a page of members read of its records: the cursors are built from createdAt and id. */
export const MEMBER_CONNECTION_READS: { [F in Exclude<keyof MemberConnection, '__typename'>]-?: MemberReads } = {
  edges: ['createdAt'],
  nodes: [],
  pageInfo: ['createdAt'],
  totalCount: [],
};

/** The record fields a document's selections read, per record kind. */
export interface DocumentReads {
  customer: Set<keyof CustomerRecord>;
  member: Set<keyof MemberRecord>;
}

function objectTypeOf(schema: GraphQLSchema, name: string) {
  const type = schema.getType(name);
  if (!isObjectType(type)) throw new Error(`readsOf: the schema has no object type ${name}`);
  return type;
}

/** The entry of a read table for a field name, nothing for a name it lacks. */
function entryOf<R>(table: Readonly<Record<string, readonly R[]>>, name: string): readonly R[] {
  return Object.prototype.hasOwnProperty.call(table, name) ? table[name] : [];
}

/** The record fields the document's Customer and Member selections read. */
export function readsOf(schema: GraphQLSchema, document: DocumentNode): DocumentReads {
  const customer = objectTypeOf(schema, 'Customer');
  const member = objectTypeOf(schema, 'Member');
  const memberConnection = objectTypeOf(schema, 'MemberConnection');
  const reads: DocumentReads = { customer: new Set(), member: new Set() };
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(field) {
        const parent = typeInfo.getParentType();
        if (!parent) return;
        const name = field.name.value;
        const on = (type: typeof customer) => parent === type || (isAbstractType(parent) && schema.isSubType(parent, type));
        if (on(customer)) for (const read of entryOf(CUSTOMER_FIELD_READS, name)) reads.customer.add(read);
        if (on(member)) for (const read of entryOf(MEMBER_FIELD_READS, name)) reads.member.add(read);
        if (parent === memberConnection) for (const read of entryOf(MEMBER_CONNECTION_READS, name)) reads.member.add(read);
      },
    }),
  );
  return reads;
}

/** The record fields the document's Customer selections read. */
export function customerReadsOf(schema: GraphQLSchema, document: DocumentNode): Set<keyof CustomerRecord> {
  return readsOf(schema, document).customer;
}

/** The column sets one request reads. */
export interface ReadColumns {
  customers: CustomerColumns;
  members: MemberColumns;
}

const WHOLE_RECORDS: ReadColumns = { customers: ALL_CUSTOMER_COLUMNS, members: ALL_MEMBER_COLUMNS };

/**
 * The customer and member columns one request reads: whole records until its query operation
 * is known, then only what the query selects. Loaders and the page services read them at load time.
 */
export class ReadProjection {
  private selected: ReadColumns = WHOLE_RECORDS;

  get customers(): CustomerColumns {
    return this.selected.customers;
  }

  get members(): MemberColumns {
    return this.selected.members;
  }

  /** Set once, before execution; records a write primes are whole, so mixing them is safe. */
  narrowTo(columns: ReadColumns): void {
    this.selected = columns;
  }
}

export interface ProjectionOptions {
  /**
   * A narrow record throws when a field it was not read with is read (tests turn this on, so a
   * resolver reading a field its CUSTOMER_FIELD_READS entry does not name fails loudly).
   */
  checkRecords?: boolean;
}

/** What the concern needs of a request's context (Context has it; named here so this module does not import the context that imports it). */
interface ProjectingContext {
  loaders: { projection: ReadProjection };
}

/** The column sets a document's selections read. */
function columnsOf(schema: GraphQLSchema, document: DocumentNode, checkRecords: boolean): ReadColumns {
  const reads = readsOf(schema, document);
  return { customers: customerColumnsFor(reads.customer, { checkRecords }), members: memberColumnsFor(reads.member, { checkRecords }) };
}

/** Narrows each query's customer and member reads once its operation is known; column sets remembered per document. */
export function projectionConcern<T extends ProjectingContext>(options: ProjectionOptions = {}): RequestConcern<T> {
  const planned = new WeakMap<DocumentNode, ReadColumns>();
  const check = options.checkRecords === true;
  const hooks: RequestHooks<T> = {
    didResolveOperation({ operation, document, schema, contextValue }) {
      if (operation?.operation !== OperationTypeNode.QUERY) return;
      let columns = planned.get(document);
      if (!columns) planned.set(document, (columns = columnsOf(schema, document, check)));
      contextValue.loaders.projection.narrowTo(columns);
    },
  };
  return () => hooks;
}
