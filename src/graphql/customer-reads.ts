/**
 * Reads only the customer columns a query asks for. A customer row has 46 columns; a page of
 * 100 that shows 15 fields spends most of its SQLite time turning the other 31 into JavaScript
 * values, and the export drain does the same for every row of the table.
 *
 * Per document (Apollo hands the same DocumentNode to every request with the same query text,
 * so the walk runs once per query text): every field selected on Customer, or on an interface
 * or union Customer belongs to (`node`, `_entities`), anywhere in the document, mapped through
 * CUSTOMER_FIELD_READS to record fields and then to columns. Anything selected anywhere
 * counts, whether or not @skip/@include or the chosen operation end up using it: reading too
 * much is only slower. Only query operations are narrowed: mutations and their services read
 * and write whole records.
 */
import {
  TypeInfo,
  isAbstractType,
  isObjectType,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import type { Context } from './context';
import type { RequestConcern, RequestHooks } from './request-hooks';
import { CUSTOMER_FIELD_READS } from './resolvers/customer-fields';
import { customerColumnsFor, type CustomerColumns } from '../store/customers.repository';
import type { CustomerRecord } from '../store/records';

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

const planned = new WeakMap<DocumentNode, CustomerColumns>();

/** The columns a query document's customer reads need, remembered per document. */
export function customerColumnsOf(schema: GraphQLSchema, document: DocumentNode): CustomerColumns {
  let columns = planned.get(document);
  if (!columns) {
    columns = customerColumnsFor(customerReadsOf(schema, document));
    planned.set(document, columns);
  }
  return columns;
}

/** Narrows the request's customer reads once the operation is known (queries only). */
export function customerReadsConcern(): RequestConcern<Context> {
  const hooks: RequestHooks<Context> = {
    didResolveOperation({ operation, document, schema, contextValue }) {
      if (operation?.operation !== 'query') return;
      contextValue.loaders.readCustomerColumns(customerColumnsOf(schema, document));
    },
  };
  return () => hooks;
}
