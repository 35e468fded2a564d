/**
 * Webhooks through the real app: endpoints managed over GraphQL (HTTP on a loopback port), events
 * written with the change, delivered by the in-process sender to a loopback receiver that
 * verifies every request with the `standardwebhooks` package. The sender's clock is the real one
 * plus an offset the tests move forward, so retries come due without waiting.
 */
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { Webhook } from 'standardwebhooks';
import { importCustomers } from '../src/import/engine';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { createWebhookEndpoint } from '../src/services/webhooks';
import { pruneWebhooks } from '../src/store/webhooks.repository';
import { createTestDatabase, type TestDatabase } from './databases';
import { createLogger } from '../src/shared/logger';
import { startReceiver, type Receiver } from './webhook-receiver';

jest.setTimeout(60_000);

let database: TestDatabase;
let app: App;
let url: string;
let a: IssuedKey;
let b: IssuedKey;
let offset = 0;
/** Requests received by the receivers of finished tests and the current one. */
const receivers: Receiver[] = [];
const totalReceived = () => receivers.reduce((sum, receiver) => sum + receiver.received.length, 0);
const attempts: { outcome: string; durationMs: number; lagMs: number }[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const config = loadConfig({ ...database.env, PORT: '0', LOG_LEVEL: 'silent', RATE_LIMIT: 'off', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
  app = await createApp({
    config,
    logger: createLogger(process.env.WEBHOOK_TEST_LOG ?? 'silent'),
    webhooks: { now: () => Date.now() + offset, random: () => 0.5, onAttempt: (observation) => attempts.push(observation) },
  });
  url = await app.listen(0, '127.0.0.1');
  a = await issueKey(app.store.db, { workspace: 'alpha', name: 'alpha' });
  b = await issueKey(app.store.db, { workspace: 'beta', name: 'beta' });
});

afterEach(async () => {
  await recorded(totalReceived());
  offset = 0;
  for (const key of [a, b]) {
    for (const node of (await data(`{ webhookEndpoints(first: 100) { nodes { id } } }`, {}, key)).webhookEndpoints.nodes as { id: string }[]) {
      await unsubscribe(node.id, key);
    }
  }
});

afterAll(async () => {
  await app.stop(1000);
  await database.drop();
});

interface GqlResult<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function gql<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, key: IssuedKey = a): Promise<GqlResult<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GqlResult<T>;
}

async function data<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, key: IssuedKey = a): Promise<T> {
  const result = await gql<T>(query, variables, key);
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data as T;
}

const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { webhookEndpoint { id url events enabled disabledReason description } signingSecret userErrors { field code message } } }`;
const CREATE_CUSTOMER = `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id externalId version } userErrors { field code } } }`;
const UPDATE_CUSTOMER = `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { id version } userErrors { field code } } }`;
const DELETE_ENDPOINT = `mutation($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { deletedWebhookEndpointId userErrors { field code message } } }`;

let serial = 0;
async function createCustomer(key: IssuedKey = a, extra: Record<string, unknown> = {}): Promise<{ id: string; externalId: string; version: number }> {
  serial += 1;
  const result = await data(CREATE_CUSTOMER, { input: { email: `wh${serial}@example.com`, externalId: `ext-${serial}`, firstName: 'Private', ...extra } }, key);
  expect(result.createCustomer.userErrors).toEqual([]);
  return result.createCustomer.customer;
}

/** An endpoint of workspace `key` at the receiver, the receiver trusting its secret. */
async function subscribe(receiver: Receiver, events: string[] = ['CUSTOMER_CREATED', 'CUSTOMER_UPDATED'], key: IssuedKey = a): Promise<string> {
  if (!receivers.includes(receiver)) receivers.push(receiver);
  const result = await data(CREATE_ENDPOINT, { input: { url: receiver.url, events, description: 'test' } }, key);
  expect(result.createWebhookEndpoint.userErrors).toEqual([]);
  expect(result.createWebhookEndpoint.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]{40,}={0,2}$/);
  receiver.secrets.push(result.createWebhookEndpoint.signingSecret);
  return result.createWebhookEndpoint.webhookEndpoint.id;
}

async function unsubscribe(id: string, key: IssuedKey = a): Promise<void> {
  const result = await data(DELETE_ENDPOINT, { id }, key);
  expect(result.deleteWebhookEndpoint.userErrors).toEqual([]);
}

/** Resolves once the sender has recorded `count` attempts in all (the receiver sees a request before it is recorded). */
async function recorded(count: number): Promise<void> {
  for (let waited = 0; attempts.length < count; waited += 10) {
    if (waited > 20_000) throw new Error(`${attempts.length} of ${count} attempts recorded`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Moves the sender's clock `ms` ahead once the attempts the receiver saw are recorded (moving
 * it while one is in flight would expire its lease), and makes every attempt due by then.
 */
async function advance(ms: number): Promise<void> {
  await recorded(totalReceived());
  offset += ms;
  await app.webhooks.drain();
}

async function countRows(table: 'webhook_events' | 'webhook_deliveries' | 'webhook_attempts'): Promise<number> {
  const row = await app.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('delivery', () => {
  test('a committed change arrives signed per Standard Webhooks, with a thin body of ids and version', async () => {
    const receiver = await startReceiver();
    const endpoint = await subscribe(receiver);
    const customer = await createCustomer();
    const [delivery] = await receiver.waitFor(1);
    expect(delivery.verified).not.toBeNull();
    const body = JSON.parse(delivery.body) as Record<string, any>;
    expect(body).toEqual({ type: 'customer.created', timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), data: { id: customer.id, externalId: customer.externalId, version: 1 } });
    expect(delivery.body).not.toContain('example.com');
    expect(delivery.body).not.toContain('Private');
    expect(Math.abs(Number(delivery.timestamp) - (Date.now() + offset) / 1000)).toBeLessThan(60);

    await recorded(totalReceived());
    const deliveries = await data(`query($id: ID!) { webhookDeliveries(endpointId: $id, first: 5) { nodes { eventId eventType attempt status responseCode durationMs attemptedAt nextRetryAt } } }`, { id: endpoint });
    expect(deliveries.webhookDeliveries.nodes).toEqual([
      { eventId: delivery.id, eventType: 'CUSTOMER_CREATED', attempt: 1, status: 'SUCCEEDED', responseCode: 200, durationMs: expect.any(Number), attemptedAt: expect.any(String), nextRetryAt: null },
    ]);
    expect(attempts.at(-1)).toEqual({ outcome: 'delivered', durationMs: expect.any(Number), lagMs: expect.any(Number) });
    await unsubscribe(endpoint);
    await receiver.close();
  });

  test('a rejected mutation sends nothing and writes no event', async () => {
    const receiver = await startReceiver();
    const endpoint = await subscribe(receiver);
    const events = await countRows('webhook_events');
    const rejected = await data(CREATE_CUSTOMER, { input: { email: 'not an email', externalId: 'rejected-1' } });
    expect(rejected.createCustomer.userErrors).toEqual([{ field: ['email'], code: 'INVALID' }]);
    const existing = await createCustomer();
    const conflict = await data(UPDATE_CUSTOMER, { input: { id: existing.id, firstName: 'Late', expectedVersion: 7 } });
    expect(conflict.updateCustomer.userErrors).toEqual([expect.objectContaining({ code: 'VERSION_CONFLICT' })]);
    // The one committed change is the only delivery, and the only event written.
    const received = await receiver.waitFor(1);
    await advance(0);
    expect(received.map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id)).toEqual([existing.id]);
    expect(await countRows('webhook_events')).toBe(events + 1);
    await unsubscribe(endpoint);
    await receiver.close();
  });

  test('a 500 is retried with the same webhook-id until a 2xx', async () => {
    const receiver = await startReceiver();
    receiver.respond = ({ count }) => (count < 2 ? 500 : 204);
    const endpoint = await subscribe(receiver);
    await createCustomer();
    await receiver.waitFor(1);
    await advance(3600_000);
    await advance(3600_000);
    const received = await receiver.waitFor(3);
    expect(received.map((r) => r.status)).toEqual([500, 500, 204]);
    expect(new Set(received.map((r) => r.id)).size).toBe(1);
    expect(received.every((r) => r.verified !== null)).toBe(true);
    const deliveries = await data(`query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { attempt status responseCode nextRetryAt } } }`, { id: endpoint });
    expect(deliveries.webhookDeliveries.nodes).toEqual([
      { attempt: 3, status: 'SUCCEEDED', responseCode: 204, nextRetryAt: null },
      { attempt: 2, status: 'FAILED', responseCode: 500, nextRetryAt: expect.any(String) },
      { attempt: 1, status: 'FAILED', responseCode: 500, nextRetryAt: expect.any(String) },
    ]);
    await unsubscribe(endpoint);
    await receiver.close();
  });

  test('a 410 disables the endpoint at once, saying why', async () => {
    const receiver = await startReceiver();
    receiver.respond = () => 410;
    const endpoint = await subscribe(receiver);
    await createCustomer();
    await receiver.waitFor(1);
    await advance(3600_000);
    expect(receiver.received).toHaveLength(1);
    const list = await data(`{ webhookEndpoints { nodes { id enabled disabledReason } } }`);
    expect(list.webhookEndpoints.nodes).toContainEqual({ id: endpoint, enabled: false, disabledReason: expect.stringContaining('410') });
    // A disabled endpoint is not subscribed any more: changes write no event for it.
    const events = await countRows('webhook_events');
    await createCustomer();
    expect(await countRows('webhook_events')).toBe(events);
    await unsubscribe(endpoint);
    await receiver.close();
  });

  test('during a rotation both secrets sign; each verifies on its own', async () => {
    const receiver = await startReceiver();
    const endpoint = await subscribe(receiver);
    const oldSecret = receiver.secrets[0];
    const rotated = await data(`mutation($id: ID!) { rotateWebhookSecret(input: { id: $id, gracePeriodHours: 2 }) { signingSecret previousSecretExpiresAt userErrors { code } } }`, { id: endpoint });
    const newSecret = rotated.rotateWebhookSecret.signingSecret as string;
    expect(newSecret).not.toBe(oldSecret);
    await createCustomer();
    const [delivery] = await receiver.waitFor(1);
    expect(delivery.signature.split(' ')).toHaveLength(2);
    receiver.secrets.length = 0;
    for (const secret of [oldSecret, newSecret]) {
      receiver.secrets.splice(0, 1, secret);
      expect(new Webhook(secret).verify(delivery.body, { 'webhook-id': delivery.id, 'webhook-timestamp': delivery.timestamp, 'webhook-signature': delivery.signature })).toBeTruthy();
    }
    // After the grace period only the new secret signs.
    offset += 3 * 3600_000;
    await createCustomer();
    const [, later] = await receiver.waitFor(2);
    expect(later.signature.split(' ')).toHaveLength(1);
    offset -= 3 * 3600_000;
    await unsubscribe(endpoint);
    await receiver.close();
  });

  test('member changes and imports emit events too; memberId rides along', async () => {
    const receiver = await startReceiver();
    const endpoint = await subscribe(receiver, ['MEMBER_ADDED', 'CUSTOMER_CREATED']);
    const team = await createCustomer(a, { type: 'TEAM' });
    const added = await data(`mutation($input: AddMemberInput!) { addMember(input: $input) { member { id } userErrors { code } } }`, { input: { customerId: team.id, email: 'm@example.com' } });
    async function* one() {
      yield { line: 1, raw: { email: 'imported@example.com', externalId: 'imp-1' } };
    }
    await importCustomers(app.store.db, { workspaceId: a.workspace.id, actor: 'import', via: 'import' }, one(), { format: 'ndjson' });
    const received = await receiver.waitFor(3);
    const bodies = received.map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });
    expect(bodies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'customer.created', data: expect.objectContaining({ id: team.id }) }),
        expect.objectContaining({ type: 'member.added', data: { id: team.id, externalId: team.externalId, version: 2, memberId: added.addMember.member.id } }),
        expect.objectContaining({ type: 'customer.created', data: expect.objectContaining({ externalId: 'imp-1' }) }),
      ]),
    );
    await unsubscribe(endpoint);
    await receiver.close();
  });

  test('merges and erasures emit their events through the same outbox, with no personal data in the body', async () => {
    const receiver = await startReceiver();
    const endpoint = await subscribe(receiver, ['CUSTOMER_MERGED', 'CUSTOMER_ERASED']);
    const survivor = await createCustomer();
    const merged = await createCustomer();
    const erased = await createCustomer();
    const merge = await data(`mutation($input: MergeCustomersInput!) { mergeCustomers(input: $input) { userErrors { code } } }`, {
      input: { survivorId: survivor.id, mergedId: merged.id },
    });
    expect(merge.mergeCustomers.userErrors).toEqual([]);
    const erase = await data(`mutation($input: EraseCustomerInput!) { eraseCustomer(input: $input) { userErrors { code } } }`, { input: { id: erased.id, reason: 'ticket 1' } });
    expect(erase.eraseCustomer.userErrors).toEqual([]);
    const received = await receiver.waitFor(3);
    const bodies = received.map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });
    expect(bodies.map((body) => `${body.type} ${String(body.data.id)}`).sort()).toEqual(
      [`customer.merged ${survivor.id}`, `customer.merged ${merged.id}`, `customer.erased ${erased.id}`].sort(),
    );
    for (const { body } of received) expect(body).not.toMatch(/@example\.com|Private/);
    // The sender's attempts reach /metrics through the app's wiring.
    await recorded(totalReceived());
    const scraped = (await app.metrics!.scrape()).body;
    expect(scraped).toMatch(/^webhook_deliveries_total\{outcome="delivered"\} [1-9]/m);
    expect(scraped).toMatch(/^webhook_delivery_lag_seconds_count [1-9]/m);
    await unsubscribe(endpoint);
    await receiver.close();
  });

  test('redeliverWebhookEvents sends events since an instant again, with their ids', async () => {
    const receiver = await startReceiver();
    const endpoint = await subscribe(receiver);
    const since = new Date(Date.now() - 1000).toISOString();
    await createCustomer();
    const [first] = await receiver.waitFor(1);
    const again = await data(`mutation($input: RedeliverWebhookEventsInput!) { redeliverWebhookEvents(input: $input) { queued userErrors { code } } }`, { input: { endpointId: endpoint, since } });
    expect(again.redeliverWebhookEvents).toEqual({ queued: 1, userErrors: [] });
    const [, second] = await receiver.waitFor(2);
    expect(second.id).toBe(first.id);
    expect(second.body).toBe(first.body);
    await unsubscribe(endpoint);
    await receiver.close();
  });
});

describe('endpoints', () => {
  test('bad URLs, no events and an unknown event are refused clearly, nothing written', async () => {
    const cases: [string, string[]][] = [
      ['not a url', ['url']],
      ['ftp://example.com/hook', ['url']],
      ['http://example.com/hook', ['url']],
      ['https://user:pw@example.com/hook', ['url']],
      [`https://example.com/${'x'.repeat(2100)}`, ['url']],
    ];
    for (const [bad, field] of cases) {
      const result = await gql(CREATE_ENDPOINT, { input: { url: bad, events: ['CUSTOMER_CREATED'] } });
      if (result.errors) {
        // The URL scalar refuses some before the resolver: a clear BAD_USER_INPUT, never a 500.
        expect(result.errors[0].extensions?.code).toBe('BAD_USER_INPUT');
      } else {
        expect(result.data?.createWebhookEndpoint.userErrors).toEqual([expect.objectContaining({ field, code: expect.stringMatching(/INVALID|TOO_LONG/) })]);
      }
    }
    const none = await data(CREATE_ENDPOINT, { input: { url: 'https://example.com/hook', events: [] } });
    expect(none.createWebhookEndpoint.userErrors).toEqual([expect.objectContaining({ field: ['events'], code: 'REQUIRED' })]);
    const unknown = await gql(CREATE_ENDPOINT, { input: { url: 'https://example.com/hook', events: ['CUSTOMER_EXPLODED'] } });
    expect(unknown.errors?.[0].extensions?.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    expect((await data(`{ webhookEndpoints { nodes { id } } }`)).webhookEndpoints.nodes).toEqual([]);
  });

  test('without WEBHOOK_ALLOW_PRIVATE_TARGETS, loopback and private literals are refused at creation', async () => {
    for (const target of ['https://127.0.0.1/h', 'https://10.1.2.3/h', 'https://169.254.169.254/latest', 'https://[::1]/h', 'https://localhost/h', 'http://127.0.0.1:9/h']) {
      const result = await createWebhookEndpoint(app.store.db, a.workspace.id, { url: target, events: ['CUSTOMER_CREATED'] }, { allowPrivateTargets: false });
      expect(result.userErrors).toEqual([expect.objectContaining({ field: ['url'], code: 'INVALID' })]);
    }
  });

  test('at most 20 endpoints per workspace', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const result = await data(CREATE_ENDPOINT, { input: { url: `https://hooks${i}.example.com/h`, events: ['CUSTOMER_CREATED'] } });
      expect(result.createWebhookEndpoint.userErrors).toEqual([]);
      ids.push(result.createWebhookEndpoint.webhookEndpoint.id);
    }
    const over = await data(CREATE_ENDPOINT, { input: { url: 'https://one-more.example.com/h', events: ['CUSTOMER_CREATED'] } });
    expect(over.createWebhookEndpoint).toEqual({ webhookEndpoint: null, signingSecret: null, userErrors: [expect.objectContaining({ code: 'LIMIT_EXCEEDED' })] });
    const page = await data(`{ webhookEndpoints(first: 15) { nodes { id } pageInfo { hasNextPage endCursor } } }`);
    const rest = await data(`query($after: String) { webhookEndpoints(first: 15, after: $after) { nodes { id } pageInfo { hasNextPage } } }`, { after: page.webhookEndpoints.pageInfo.endCursor });
    expect([...page.webhookEndpoints.nodes, ...rest.webhookEndpoints.nodes].map((n: { id: string }) => n.id)).toEqual(ids);
    expect(rest.webhookEndpoints.pageInfo.hasNextPage).toBe(false);
    for (const id of ids) await unsubscribe(id);
  });

  test('updateWebhookEndpoint changes events and turns an endpoint off and on', async () => {
    const receiver = await startReceiver();
    const endpoint = await subscribe(receiver, ['CUSTOMER_UPDATED']);
    const UPDATE = `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { webhookEndpoint { events enabled description } userErrors { field code } } }`;
    const changed = await data(UPDATE, { input: { id: endpoint, events: ['CUSTOMER_CREATED'], enabled: false, description: null } });
    expect(changed.updateWebhookEndpoint).toEqual({ webhookEndpoint: { events: ['CUSTOMER_CREATED'], enabled: false, description: null }, userErrors: [] });
    const events = await countRows('webhook_events');
    await createCustomer();
    expect(await countRows('webhook_events')).toBe(events);
    await data(UPDATE, { input: { id: endpoint, enabled: true } });
    const customer = await createCustomer();
    const [delivery] = await receiver.waitFor(1);
    expect(JSON.parse(delivery.body)).toMatchObject({ type: 'customer.created', data: { id: customer.id } });
    await unsubscribe(endpoint);
    await receiver.close();
  });

  test('another workspace cannot see, change, rotate, redeliver or read the deliveries of an endpoint, nor receive its events', async () => {
    const receiver = await startReceiver();
    const endpoint = await subscribe(receiver, ['CUSTOMER_CREATED'], a);
    await createCustomer(b);
    const own = await createCustomer(a);
    const received = await receiver.waitFor(1);
    await advance(0);
    expect(received.map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id)).toEqual([own.id]);

    expect((await data(`{ webhookEndpoints { nodes { id } } }`, {}, b)).webhookEndpoints.nodes).toEqual([]);
    expect((await data(`query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { id } } }`, { id: endpoint }, b)).webhookDeliveries.nodes).toEqual([]);
    const notFound = [expect.objectContaining({ code: 'NOT_FOUND' })];
    expect((await data(`mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, enabled: false }) { userErrors { code } } }`, { id: endpoint }, b)).updateWebhookEndpoint.userErrors).toEqual(notFound);
    expect((await data(`mutation($id: ID!) { rotateWebhookSecret(input: { id: $id }) { signingSecret userErrors { code } } }`, { id: endpoint }, b)).rotateWebhookSecret).toEqual({ signingSecret: null, userErrors: notFound });
    expect((await data(`mutation($id: ID!) { redeliverWebhookEvents(input: { endpointId: $id, since: "2000-01-01T00:00:00Z" }) { queued userErrors { code } } }`, { id: endpoint }, b)).redeliverWebhookEvents.userErrors).toEqual(notFound);
    expect((await data(DELETE_ENDPOINT, { id: endpoint }, b)).deleteWebhookEndpoint.userErrors).toEqual(notFound);
    expect((await data(`{ webhookEndpoints { nodes { id enabled } } }`, {}, a)).webhookEndpoints.nodes).toEqual([{ id: endpoint, enabled: true }]);
    await unsubscribe(endpoint);
    await receiver.close();
  });

  test('a key without webhooks:manage is refused before anything runs', async () => {
    const reader = await issueKey(app.store.db, { workspace: 'alpha', name: 'writer', scopes: ['customers:write'] });
    const refused = await gql(CREATE_ENDPOINT, { input: { url: 'https://example.com/h', events: ['CUSTOMER_CREATED'] } }, reader);
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', requiredScopes: [['webhooks:manage']] });
    expect((await gql(`{ webhookEndpoints { nodes { id } } }`, {}, reader)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('retention', () => {
  test('delivered events and attempt logs older than WEBHOOK_RETENTION_DAYS are pruned; pending ones stay', async () => {
    const receiver = await startReceiver();
    const endpoint = await subscribe(receiver);
    await createCustomer();
    await receiver.waitFor(1);
    receiver.respond = () => 503;
    await createCustomer();
    await receiver.waitFor(2);
    await recorded(totalReceived());
    expect(await countRows('webhook_deliveries')).toBeGreaterThanOrEqual(2);
    await pruneWebhooks(app.store.db, Date.now() + 60_000);
    const left = await app.store.db.selectFrom('webhook_deliveries').select('state').execute();
    expect(left.map((row) => row.state)).toEqual(['PENDING']);
    expect(await countRows('webhook_events')).toBe(1);
    expect(await countRows('webhook_attempts')).toBe(0);
    await unsubscribe(endpoint);
    await receiver.close();
  });
});
