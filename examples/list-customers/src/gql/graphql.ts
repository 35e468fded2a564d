/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Lifecycle state of a customer. Archived customers are kept, hidden from lists by default, and can be restored. ERASED and MERGED customers are tombstones that never change again. */
export type CustomerStatus =
  | 'ACTIVE'
  | 'ARCHIVED'
  /** Erased by `eraseCustomer`: only the id, externalId, version and erasure stamps remain. */
  | 'ERASED'
  /** Merged into another customer by `mergeCustomers`; every lookup of it answers that customer (`mergedInto`). */
  | 'MERGED';

export type ListCustomersQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
}>;


export type ListCustomersQuery = { customers: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, email: string, name: string | null, status: CustomerStatus, createdAt: string }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const ListCustomersDocument = new TypedDocumentString(`
    query ListCustomers($first: Int!, $after: String) {
  customers(
    first: $first
    after: $after
    sort: {field: CREATED_AT, direction: ASC}
  ) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      id
      email
      name
      status
      createdAt
    }
  }
}
    `) as unknown as TypedDocumentString<ListCustomersQuery, ListCustomersQueryVariables>;