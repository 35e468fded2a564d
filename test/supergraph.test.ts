/**
 * The subgraph inside a real supergraph: its `_service` SDL composed by @apollo/composition
 * with an orders subgraph (test/fixtures/orders, which extends Customer by id) and an invoices
 * subgraph (test/fixtures/invoices, which references Customer by externalId), and
 * @apollo/gateway in front of them on loopback, forwarding the caller's API key to this
 * subgraph only. Queries cross the subgraphs in both directions and stay within the caller's
 * workspace.
 */
import { ApolloServer, type BaseContext } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { parse } from 'graphql';
import { startTestApp, type RunningApp } from './app-harness';
import { startInvoicesSubgraph } from './fixtures/invoices/subgraph';
import { startOrdersSubgraph, type OrderRow } from './fixtures/orders/subgraph';
import type { FixtureSubgraph } from './fixtures/serve-subgraph';

interface GatewayContext extends BaseContext {
  /** The client's Authorization header, forwarded to the customers subgraph only. */
  authorization?: string;
}

/** Passes the caller's key on to the customers subgraph; other subgraphs never see it. */
class CustomersDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]) {
    if (context.authorization) request.http?.headers.set('authorization', context.authorization);
  }
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

interface GraphqlBody {
  data?: Record<string, any> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

let customers: RunningApp;
let orders: FixtureSubgraph;
/** The orders subgraph's rows: a test adds orders that reference customers it creates. */
let orderRows: OrderRow[];
let invoices: FixtureSubgraph;
let gateway: ApolloServer<GatewayContext>;
let gatewayUrl: string;
let supergraphSdl: string;
let hints: { code: string; message: string }[];
const seeded: Record<'ada' | 'grace' | 'betaCustomer', { id: string; email: string }> = {} as never;

async function customersQuery(key: string, query: string, variables?: Record<string, unknown>): Promise<GraphqlBody> {
  const response = await fetch(`${customers.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphqlBody;
}

async function createCustomer(key: string, email: string): Promise<{ id: string; email: string }> {
  const body = await customersQuery(key, 'mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { customer { id email } userErrors { code } } }', {
    in: { email, externalId: `crm-${email}` },
  });
  expect(body.data?.createCustomer.userErrors).toEqual([]);
  return body.data!.createCustomer.customer;
}

async function viaGateway(query: string, variables?: Record<string, unknown>, key?: string): Promise<{ status: number; body: GraphqlBody }> {
  const response = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphqlBody };
}

beforeAll(async () => {
  customers = await startTestApp();
  seeded.ada = await createCustomer(customers.a.key, 'ada@alpha.test');
  seeded.grace = await createCustomer(customers.a.key, 'grace@alpha.test');
  seeded.betaCustomer = await createCustomer(customers.b.key, 'someone@beta.test');
  orderRows = [
    { id: 'o-1', total: 10.5, customerId: seeded.ada.id },
    { id: 'o-2', total: 99, customerId: seeded.betaCustomer.id },
    { id: 'o-3', total: 7.25, customerId: seeded.ada.id },
    { id: 'o-4', total: 12, customerId: seeded.grace.id },
  ];
  orders = await startOrdersSubgraph(orderRows);
  invoices = await startInvoicesSubgraph([
    { number: 'INV-1', amount: 18.5, customerExternalId: 'crm-grace@alpha.test' },
    { number: 'INV-2', amount: 99, customerExternalId: 'crm-someone@beta.test' },
    { number: 'INV-3', amount: 1, customerExternalId: 'crm-nobody@alpha.test' },
  ]);
  const sdl = (await customersQuery(customers.a.key, '{ _service { sdl } }')).data!._service.sdl as string;
  const composed = composeServices([
    { name: 'customers', url: `${customers.url}/graphql`, typeDefs: parse(sdl) },
    { name: 'orders', url: orders.url, typeDefs: orders.typeDefs },
    { name: 'invoices', url: invoices.url, typeDefs: invoices.typeDefs },
  ]);
  if (composed.errors) throw new Error(`composition failed:\n${composed.errors.map((e) => e.message).join('\n')}`);
  supergraphSdl = composed.supergraphSdl;
  hints = composed.hints.map((hint) => ({ code: hint.definition.code, message: hint.message }));
  const apolloGateway = new ApolloGateway({
    supergraphSdl: withoutSecurityFeatures(supergraphSdl),
    logger: silent,
    buildService: ({ name, url }) => (name === 'customers' ? new CustomersDataSource({ url }) : new RemoteGraphQLDataSource({ url })),
  });
  gateway = new ApolloServer<GatewayContext>({ gateway: apolloGateway, logger: silent });
  const started = await startStandaloneServer(gateway, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  gatewayUrl = started.url;
});

/**
 * Apollo Router enforces the `for: SECURITY` features (@authenticated, @requiresScopes);
 * @apollo/gateway supports none and refuses a supergraph that links them. This test's gateway
 * gets a copy without them, which is also the case of a router that does not enforce them:
 * the subgraph then enforces the same rules itself (see 'scopes through the gateway' below).
 */
function withoutSecurityFeatures(sdl: string): string {
  return sdl
    .replace(/^\s*@link\(url: "https:\/\/specs\.apollo\.dev\/(authenticated|requiresScopes)\/v[\d.]+", for: SECURITY\)\n/gm, '')
    .replace(/^directive @(authenticated|requiresScopes)\b.*\n/gm, '')
    .replace(/^scalar requiresScopes__Scope\n/gm, '')
    .replace(/ @requiresScopes\(scopes: \[(\[[^\]]*\](, )?)+\]\)/g, '')
    .replace(/ @authenticated\b/g, '');
}

afterAll(async () => {
  await gateway?.stop();
  await orders?.stop();
  await invoices?.stop();
  await customers?.close();
});

describe('composition', () => {
  it('composes the customers SDL with the orders and invoices subgraphs without errors or hints', () => {
    // A hint would mean composition had to reconcile something between the subgraphs;
    // none is expected for subgraphs that only extend or reference Customer by a key.
    expect(hints).toEqual([]);
    expect(supergraphSdl).toMatch(/type Customer[^{]*@join__type\(graph: CUSTOMERS, key: "id"\)/);
    expect(supergraphSdl).toContain('@join__type(graph: CUSTOMERS, key: "externalId")');
    expect(supergraphSdl).toContain('@join__type(graph: ORDERS, key: "id")');
    expect(supergraphSdl).toContain('@join__type(graph: INVOICES, key: "externalId", resolvable: false)');
    expect(supergraphSdl).toMatch(/orders: \[Order!\]! @join__field\(graph: ORDERS\)/);
  });

  it('keeps the scope rules, so a router enforces what the subgraph enforces', () => {
    expect(supergraphSdl).toContain('@link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)');
    expect(supergraphSdl).toContain('@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)');
    expect(supergraphSdl).toMatch(/createCustomer\(input: CreateCustomerInput!\): CustomerPayload! @requiresScopes\(scopes: \[\["customers:write"\]\]\)/);
    expect(supergraphSdl).toMatch(/internalNote: String (@join__field\(graph: CUSTOMERS\) )?@requiresScopes\(scopes: \[\["customers:read"\], \["customers:write"\], \["export:read"\]\]\)/);
    expect(supergraphSdl).toMatch(/workspace: Workspace! (@join__field\(graph: CUSTOMERS\) )?@authenticated/);
    expect(supergraphSdl).toMatch(/me: Customer (@join__field\(graph: CUSTOMERS\) )?@requiresScopes\(scopes: \[\["customer:self"\]\]\)/);
  });
});

describe('queries through the gateway', () => {
  it('resolves customer fields of orders (orders -> customers) with the forwarded key', async () => {
    const { status, body } = await viaGateway('{ orders { id total customer { id email } } }', undefined, customers.a.key);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data!.orders).toEqual([
      { id: 'o-1', total: 10.5, customer: { id: seeded.ada.id, email: 'ada@alpha.test' } },
      // The beta workspace's customer is not visible with alpha's key: the entity is null.
      { id: 'o-2', total: 99, customer: null },
      { id: 'o-3', total: 7.25, customer: { id: seeded.ada.id, email: 'ada@alpha.test' } },
      { id: 'o-4', total: 12, customer: { id: seeded.grace.id, email: 'grace@alpha.test' } },
    ]);
  });

  it('resolves the orders of customers (customers -> orders)', async () => {
    const { body } = await viaGateway(
      'query($id: ID!) { customer(id: $id) { email orders { id total } } customers(first: 10, sort: { field: EMAIL, direction: ASC }) { nodes { email orders { id } } } }',
      { id: seeded.ada.id },
      customers.a.key,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.customer).toEqual({ email: 'ada@alpha.test', orders: [{ id: 'o-1', total: 10.5 }, { id: 'o-3', total: 7.25 }] });
    expect(body.data!.customers.nodes).toEqual([
      { email: 'ada@alpha.test', orders: [{ id: 'o-1' }, { id: 'o-3' }] },
      { email: 'grace@alpha.test', orders: [{ id: 'o-4' }] },
    ]);
  });

  it('round-trips customers -> orders -> customers in one query', async () => {
    const { body } = await viaGateway('query($id: ID!) { customer(id: $id) { orders { id customer { email } } } }', { id: seeded.grace.id }, customers.a.key);
    expect(body.errors).toBeUndefined();
    expect(body.data!.customer.orders).toEqual([{ id: 'o-4', customer: { email: 'grace@alpha.test' } }]);
  });

  it('joins by externalId: invoices -> customers (by externalId) -> orders (by id)', async () => {
    const { body } = await viaGateway('{ invoices { number customer { id email orders { id } } } }', undefined, customers.a.key);
    expect(body.errors).toBeUndefined();
    expect(body.data!.invoices).toEqual([
      { number: 'INV-1', customer: { id: seeded.grace.id, email: 'grace@alpha.test', orders: [{ id: 'o-4' }] } },
      // Another workspace's externalId, and one that exists nowhere: both null.
      { number: 'INV-2', customer: null },
      { number: 'INV-3', customer: null },
    ]);
    const asBeta = await viaGateway('{ invoices { number customer { email } } }', undefined, customers.b.key);
    expect(asBeta.body.data!.invoices.map((i: { customer: unknown }) => i.customer)).toEqual([null, { email: 'someone@beta.test' }, null]);
  });

  it('forwards the key to the customers subgraph only', async () => {
    orders.received.length = 0;
    invoices.received.length = 0;
    await viaGateway('{ orders { id customer { email } } invoices { customer { email } } }', undefined, customers.a.key);
    expect(orders.received.length).toBeGreaterThan(0);
    expect(invoices.received.length).toBeGreaterThan(0);
    for (const headers of [...orders.received, ...invoices.received]) expect(headers.authorization).toBeUndefined();
  });

  it('keeps each workspace to its own customers', async () => {
    const asBeta = await viaGateway('{ orders { id customer { email } } }', undefined, customers.b.key);
    expect(asBeta.body.errors).toBeUndefined();
    expect(asBeta.body.data!.orders).toEqual([
      { id: 'o-1', customer: null },
      { id: 'o-2', customer: { email: 'someone@beta.test' } },
      { id: 'o-3', customer: null },
      { id: 'o-4', customer: null },
    ]);
    const alphaCustomerAsBeta = await viaGateway('query($id: ID!) { customer(id: $id) { email orders { id } } }', { id: seeded.ada.id }, customers.b.key);
    expect(alphaCustomerAsBeta.body.errors).toBeUndefined();
    expect(alphaCustomerAsBeta.body.data!.customer).toBeNull();
  });

  it('passes UNAUTHENTICATED through when the caller sends no key', async () => {
    const { body } = await viaGateway('{ customers(first: 1) { nodes { email } } }');
    expect(body.data?.customers ?? null).toBeNull();
    expect(body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('passes UNAUTHENTICATED through for customer fields of orders when the caller sends no key', async () => {
    const { body } = await viaGateway('{ orders { id customer { email } } }');
    expect(body.errors?.length).toBeGreaterThan(0);
    for (const error of body.errors!) expect(error.extensions?.code).toBe('UNAUTHENTICATED');
    expect(body.data?.orders.map((o: { customer: unknown }) => o.customer)).toEqual([null, null, null, null]);
  });

  it('passes UNAUTHENTICATED through for a revoked or unknown key', async () => {
    const { body } = await viaGateway('{ workspace { name } }', undefined, 'cgk_not_a_real_key');
    expect(body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('merged customers through the gateway', () => {
  it('resolves an order that still holds a merged customer id to the survivor, in the gateway and in _entities', async () => {
    const keeper = await createCustomer(customers.a.key, 'keeper@alpha.test');
    const duplicate = await createCustomer(customers.a.key, 'keeper.duplicate@alpha.test');
    orderRows.push({ id: 'o-merged', total: 5, customerId: duplicate.id });
    const merged = await customersQuery(customers.a.key, 'mutation($in: MergeCustomersInput!) { mergeCustomers(input: $in) { customer { id mergedIds } userErrors { code } } }', {
      in: { survivorId: keeper.id, mergedId: duplicate.id },
    });
    expect(merged.data?.mergeCustomers).toEqual({ customer: { id: keeper.id, mergedIds: [duplicate.id] }, userErrors: [] });

    const { body } = await viaGateway('{ orders { id customer { id email mergedIds url } } }', undefined, customers.a.key);
    expect(body.errors).toBeUndefined();
    // The key field is the reference the orders subgraph holds (a router never asks the owner for
    // it); every other field is the survivor's, and mergedIds says the reference was merged.
    expect(body.data!.orders.find((o: { id: string }) => o.id === 'o-merged')).toEqual({
      id: 'o-merged',
      customer: { id: duplicate.id, email: 'keeper@alpha.test', mergedIds: [duplicate.id], url: `http://gw.test/customers/${keeper.id}` },
    });
    const entities = await customersQuery(
      customers.a.key,
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id email } } }',
      { r: [{ __typename: 'Customer', id: duplicate.id }, { __typename: 'Customer', externalId: 'crm-keeper.duplicate@alpha.test' }] },
    );
    expect(entities.data?._entities).toEqual([
      { id: keeper.id, email: 'keeper@alpha.test' },
      { id: keeper.id, email: 'keeper@alpha.test' },
    ]);
    // Another workspace still sees nothing behind the merged id.
    const asBeta = await viaGateway('{ orders { id customer { email } } }', undefined, customers.b.key);
    expect(asBeta.body.data!.orders.find((o: { id: string }) => o.id === 'o-merged')).toEqual({ id: 'o-merged', customer: null });
  });
});
