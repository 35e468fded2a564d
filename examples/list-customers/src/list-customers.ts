/**
 * Lists every customer of the API key's workspace, page by page, with typed GraphQL operations.
 *
 *   CUSTOMER_GATEWAY_KEY=cgk_... node dist/list-customers.js
 *
 * `graphql(...)` comes from the client preset's generated `./gql`: it returns a document typed
 * with its result and variables, so `data.customers.nodes[0].email` is checked against the schema
 * by tsc, and a typo in the query fails `npm run codegen` instead of a request at runtime.
 */
import { graphql } from './gql';
import type { ListCustomersQuery, TypedDocumentString } from './gql/graphql';

const ListCustomers = graphql(`
  query ListCustomers($first: Int!, $after: String) {
    customers(first: $first, after: $after, sort: { field: CREATED_AT, direction: ASC }) {
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
`);

interface GraphQLResponse<TData> {
  data?: TData | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POSTs one typed operation; throws with the server's message and code on any top-level error. */
async function execute<TResult, TVariables>(
  url: string,
  apiKey: string,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query: document.toString(), variables }),
  }).catch((error: Error) => {
    throw new Error(`cannot reach ${url}: ${error.cause instanceof Error ? error.cause.message : error.message}`);
  });
  const body = (await response.json()) as GraphQLResponse<TResult>;
  if (body.errors?.length) {
    const [first] = body.errors;
    throw new Error(`HTTP ${response.status}: ${first.message} (${first.extensions?.code ?? 'no code'})`);
  }
  if (!body.data) throw new Error(`HTTP ${response.status}: the response has neither data nor errors`);
  return body.data;
}

async function main(): Promise<void> {
  const url = process.env.CUSTOMER_GATEWAY_URL ?? 'http://localhost:4000/graphql';
  const apiKey = process.env.CUSTOMER_GATEWAY_KEY;
  if (!apiKey) throw new Error('set CUSTOMER_GATEWAY_KEY to an API key (npx customer-gateway key create --workspace default | tail -1)');
  const pageSize = Number(process.env.PAGE_SIZE ?? 20);

  let after: string | null = null;
  let seen = 0;
  let total = 0;
  for (;;) {
    // Annotated because `after` feeds back into the next call (TypeScript cannot infer through the loop).
    const { customers }: ListCustomersQuery = await execute(url, apiKey, ListCustomers, { first: pageSize, after });
    for (const customer of customers.nodes) {
      console.log(`${customer.id}  ${customer.email}  ${customer.name ?? '-'}  ${customer.status}`);
    }
    seen += customers.nodes.length;
    total = customers.totalCount;
    if (!customers.pageInfo.hasNextPage || !customers.pageInfo.endCursor) break;
    after = customers.pageInfo.endCursor;
  }
  console.log(`${seen} customers listed (totalCount ${total})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
