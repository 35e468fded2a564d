/**
 * Compiled execution (graphql-jit, src/graphql/jit.ts) answers exactly as graphql-js does:
 * the same data, the same errors (messages, codes, paths, locations), on the same database.
 */
import type { ApolloServer } from '@apollo/server';
import { createContext, type Context } from '../src/graphql/context';
import { CompiledOperations } from '../src/graphql/jit';
import { createApolloServer } from '../src/graphql/server';
import { createCustomer, createTestEnv, CUSTOMER_FIELDS, PUBLIC_URL, silentLogger, USER_ERRORS, type TestEnv } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.spyOn needs the mutable exports object; an import binding cannot be replaced
const customersRepository = require('../src/store/customers.repository') as typeof import('../src/store/customers.repository');

let env: TestEnv;
let reference: ApolloServer<Context>;
let ids: string[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  reference = createApolloServer({ logger: silentLogger, jit: false });
  await reference.start();
  await env.data('mutation { defineCustomField(input: { key: "tier", label: "Tier", valueType: STRING, searchable: true }) { userErrors { code } } }');
  const team = await createCustomer(env, { email: 'team@example.com', name: 'Lovelace Household', type: 'TEAM', customFields: [{ key: 'tier', value: 'gold' }] });
  const person = await createCustomer(env, {
    email: 'ada@example.com',
    firstName: 'Ada',
    lastName: 'Lovelace',
    phone: '+14155552671',
    billingAddress: { line1: '1 Main St', city: 'West Bend', state: 'WI', postalCode: '53095', country: 'US' },
    metadata: { plan: 'pro', seats: 3, trial: false },
  });
  const archived = await createCustomer(env, { email: 'gone@example.com', firstName: 'Gone' });
  await env.data(`mutation { archiveCustomer(input: { id: "${archived.id}", reason: "duplicate" }) { ${USER_ERRORS} } }`);
  for (const email of ['owner@example.com', 'second@example.com']) {
    await env.data(`mutation { addMember(input: { customerId: "${team.id}", email: "${email}", role: MEMBER }) { ${USER_ERRORS} } }`);
  }
  ids = [team.id, person.id, archived.id];
});

afterAll(async () => {
  await reference.stop();
  await env.close();
});

/** The same operation through both servers, with the same caller. */
async function both(query: string, variables?: Record<string, unknown>) {
  const run = async (server: ApolloServer<Context>) => {
    const contextValue = createContext(
      { db: env.store.db, publicUrl: PUBLIC_URL, logger: silentLogger },
      { workspace: env.a.workspace, apiKey: env.a.record, requestId: 'same-request' },
    );
    const response = await server.executeOperation({ query, variables }, { contextValue });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return { status: response.http.status ?? 200, result: response.body.singleResult };
  };
  return { jit: await run(env.apollo), graphqlJs: await run(reference) };
}

const CASES: [string, string, (() => Record<string, unknown>)?][] = [
  ['one customer with every field', `query($id: ID!) { customer(id: $id) { ${CUSTOMER_FIELDS} } }`, () => ({ id: ids[1] })],
  ['a missing customer', 'query($id: ID!) { customer(id: $id) { id } }', () => ({ id: '0190a0a0-0000-7000-8000-000000000000' })],
  [
    'a page with members, actions, custom fields and paging',
    `{ customers(first: 2, filter: { status: [ACTIVE, ARCHIVED] }, sort: { field: EMAIL, direction: DESC }) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id name avatarUrl url customFields { key value }
          members(first: 1) { totalCount pageInfo { hasNextPage endCursor } nodes { id email role customer { id } } }
          actions(first: 2) { nodes { type actor via changes } } } } } }`,
  ],
  ['a search', '{ customers(filter: { search: "love" }) { nodes { id email name } } }'],
  ['the change feed', '{ exportCustomers(first: 2) { edges { cursor node { id status version } } pageInfo { hasNextPage endCursor } } }'],
  ['node and nodes with fragments and __typename', `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Customer { email } } }`, () => ({ ids: [...ids, 'nope'] })],
  [
    'federation entities',
    'query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Customer { id email members { nodes { email } } } } }',
    () => ({ r: ids.map((id) => ({ __typename: 'Customer', id })) }),
  ],
  ['aliases, @skip and @include', `query($yes: Boolean!) { a: customer(id: "${'0'.repeat(8)}") { id } customers(first: 1) { nodes { id @include(if: $yes) email @skip(if: $yes) } } }`, () => ({ yes: true })],
  ['an out-of-range page size (BAD_USER_INPUT in a resolver)', '{ customers(first: 1000) { nodes { id } } }'],
  ['a foreign cursor', '{ customers(first: 1, after: "bm90LWEtY3Vyc29y") { nodes { id } } }'],
  ['a wrongly typed variable', 'query($id: ID!) { customer(id: $id) { id } }', () => ({ id: { not: 'an id' } })],
  ['a missing required variable', 'query($id: ID!) { customer(id: $id) { id } }', () => ({})],
  ['a bad DateTime variable', 'query($since: DateTime) { exportCustomers(updatedSince: $since) { nodes { id } } }', () => ({ since: 'yesterday' })],
  ['a mutation refused with userErrors', `mutation { createCustomer(input: { email: "not-an-email" }) { customer { id } ${USER_ERRORS} } }`],
  ['an invalid query (validation)', '{ customer { id } }'],
];

describe('compiled execution answers like graphql-js', () => {
  it.each(CASES.map(([name, query, variables]) => ({ name, query, variables })))('$name', async ({ query, variables }) => {
    const { jit, graphqlJs } = await both(query, variables?.());
    expect(jit).toEqual(graphqlJs);
  });

  it('an unexpected failure inside a resolver (masked the same way, with path and locations)', async () => {
    jest.spyOn(customersRepository, 'findCustomersBy').mockRejectedValue(new Error('boom'));
    const { jit, graphqlJs } = await both('query($id: ID!) { customer(id: $id) { id } }', { id: ids[0] });
    expect(jit.result.errors?.[0]).toMatchObject({ path: ['customer'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(jit).toEqual(graphqlJs);
  });

  it('keeps at most the configured number of compiled operations, most recently used last', () => {
    const cache = new CompiledOperations(2);
    const built: string[] = [];
    const runner = (key: string) =>
      cache.get(key, () => {
        built.push(key);
        return () => ({ data: {} });
      });
    runner('a');
    runner('b');
    runner('a');
    runner('c');
    runner('a');
    runner('b');
    expect(cache.size).toBe(2);
    expect(built).toEqual(['a', 'b', 'c', 'b']);
  });

  it('an operation asked for twice in a row stays the most recently used', () => {
    const cache = new CompiledOperations(2);
    const built: string[] = [];
    const runner = (key: string) =>
      cache.get(key, () => {
        built.push(key);
        return () => ({ data: { key } });
      });
    expect(runner('a')).toBe(runner('a'));
    runner('b');
    runner('b');
    runner('a');
    runner('a');
    // `b` is now the least recently used: `c` evicts it, not `a`.
    runner('c');
    runner('a');
    runner('b');
    expect(built).toEqual(['a', 'b', 'c', 'b']);
  });
});
