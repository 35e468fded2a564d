/**
 * Several gateways share the webhook work on PostgreSQL: two real server processes (dist/) on one
 * database and one loopback receiver. Every committed change arrives, and no event is attempted
 * twice within a second (a claim taken by both processes would show up exactly so). PostgreSQL
 * only: it is skipped without TEST_DATABASE_URL.
 */
import { issueKey } from '../src/services/keys';
import { migrateToLatest } from '../src/store/db';
import { createTestDatabase, testEngine, type TestDatabase } from './databases';
import { killGatewayProcess, startGatewayProcess, type GatewayProcess } from './gateway-process';
import { startReceiver } from './webhook-receiver';

const CHANGES = 60;

jest.setTimeout(120_000);

const startGateway = (env: Record<string, string>) => startGatewayProcess({ ...env, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
const kill = killGatewayProcess;

const onPostgres = testEngine === 'postgres' ? describe : describe.skip;

onPostgres('two gateway processes on one PostgreSQL database', () => {
  let database: TestDatabase;
  let key: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const store = database.open();
    await migrateToLatest(store.db);
    key = (await issueKey(store.db, { workspace: 'shared', name: 'shared' })).key;
    await store.close();
  });

  afterAll(async () => {
    await database.drop();
  });

  async function gql(gateway: GatewayProcess, query: string, variables: Record<string, unknown>): Promise<Record<string, any>> {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
    if (body.errors || !body.data) throw new Error(`${response.status} ${JSON.stringify(body)}`);
    return body.data;
  }

  test('every event arrives, and none is attempted twice within a second', async () => {
    const receiver = await startReceiver();
    // About a third of first attempts fail, so retries are claimed by whichever process comes first.
    receiver.respond = ({ count }) => (count === 0 && Math.random() < 0.3 ? 500 : 200);
    const gateways = await Promise.all([startGateway(database.env), startGateway(database.env)]);
    try {
      const created = await gql(gateways[0], `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret } }`, {
        input: { url: receiver.url, events: ['CUSTOMER_CREATED'] },
      });
      receiver.secrets.push(created.createWebhookEndpoint.signingSecret as string);
      const ids: string[] = [];
      await Promise.all(
        gateways.map(async (gateway, g) => {
          for (let i = g; i < CHANGES; i += 2) {
            const result = await gql(gateway, `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }`, { input: { email: `mp${i}@example.com` } });
            ids.push(result.createCustomer.customer.id as string);
          }
        }),
      );
      const delivered = (): Set<string> => new Set(receiver.received.filter((r) => r.status === 200 && r.verified).map((r) => (r.verified as { data: { id: string } }).data.id));
      for (let waited = 0; ids.some((id) => !delivered().has(id)) && waited < 60_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ids.filter((id) => !delivered().has(id))).toEqual([]);
      expect(receiver.received.every((r) => r.verified !== null)).toBe(true);
      const byEvent = new Map<string, number[]>();
      for (const r of receiver.received) byEvent.set(r.id, [...(byEvent.get(r.id) ?? []), r.at]);
      const doubles = [...byEvent].filter(([, times]) => times.some((t, i) => i > 0 && t - times[i - 1] < 1000));
      expect(doubles).toEqual([]);
    } finally {
      await Promise.all(gateways.map(kill));
      await receiver.close();
    }
  });
});
