/**
 * Projection: queries read only the customer columns their fields need. A customer row has 46
 * columns; a page of 100 that shows 15 fields spends most of its SQLite time turning the other
 * 31 into JavaScript values, and the export drain does the same for every row of the table.
 *
 * This module owns all of it: which GraphQL Customer field reads which record fields
 * (CUSTOMER_FIELD_READS), how a document's selection becomes a column set, and how a request's
 * loaders learn it (CustomerProjection). The store only reads the columns it is given
 * (store/customers.repository.ts maps record fields to columns, beside the row translation).
 *
 * Per document (Apollo hands the same DocumentNode to every request with the same query text):
 * every field selected on Customer, or on an interface or union Customer belongs to (`node`,
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
import type { Customer } from '../generated/graphql';
import type { RequestConcern, RequestHooks } from './request-hooks';
import { ALL_CUSTOMER_COLUMNS, customerColumnsFor, type CustomerColumns } from '../store/customers.repository';
import type { CustomerRecord } from '../store/records';

type Reads = readonly (keyof CustomerRecord)[];

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

const CUSTOMER = 'Customer';

function isCustomerField(name: string): name is keyof typeof CUSTOMER_FIELD_READS {
  return Object.prototype.hasOwnProperty.call(CUSTOMER_FIELD_READS, name);
}

/** The record fields the document's Customer selections read. */
export function customerReadsOf(schema: GraphQLSchema, document: DocumentNode): Set<keyof CustomerRecord> {
  const customer = schema.getType(CUSTOMER);
  const reads = new Set<keyof CustomerRecord>();
  if (!isObjectType(customer)) throw new Error(`customerReadsOf: the schema has no object type ${CUSTOMER}`);
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(field) {
        const parent = typeInfo.getParentType();
        if (!parent) return;
        const onCustomer = parent === customer || (isAbstractType(parent) && schema.isSubType(parent, customer));
        if (!onCustomer) return;
        const name = field.name.value;
        if (isCustomerField(name)) for (const read of CUSTOMER_FIELD_READS[name]) reads.add(read);
      },
    }),
  );
  return reads;
}

/**
 * The customer columns one request reads: whole records until its query operation is known,
 * then only what the query selects. Loaders and the page services read `columns` at load time.
 */
export class CustomerProjection {
  private selected: CustomerColumns = ALL_CUSTOMER_COLUMNS;

  get columns(): CustomerColumns {
    return this.selected;
  }

  /** Set once, before execution; records a write primes are whole, so mixing them is safe. */
  narrowTo(columns: CustomerColumns): void {
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
  loaders: { projection: CustomerProjection };
}

/** Narrows each query's customer reads once its operation is known; column sets remembered per document. */
export function projectionConcern<T extends ProjectingContext>(options: ProjectionOptions = {}): RequestConcern<T> {
  const planned = new WeakMap<DocumentNode, CustomerColumns>();
  const check = options.checkRecords === true;
  const hooks: RequestHooks<T> = {
    didResolveOperation({ operation, document, schema, contextValue }) {
      if (operation?.operation !== OperationTypeNode.QUERY) return;
      let columns = planned.get(document);
      if (!columns) planned.set(document, (columns = customerColumnsFor(customerReadsOf(schema, document), { checkRecords: check })));
      contextValue.loaders.projection.narrowTo(columns);
    },
  };
  return () => hooks;
}
