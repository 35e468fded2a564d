/**
 * Webhooks survive a crash: with the receiver down, changes are committed through the real
 * server (dist/), the server is killed with SIGKILL, started again on the same data, and the
 * receiver comes back. Every acknowledged change must then arrive, verified, at least once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { issueKey } from '../src/services/keys';
import { migrateToLatest } from '../src/store/db';
import { createTestDatabase, type TestDatabase } from './databases';
import { killGatewayProcess, startGatewayProcess, type GatewayProcess } from './gateway-process';
import { startReceiver, type Receiver } from './webhook-receiver';

const CHANGES = 30;

jest.setTimeout(120_000);

const startGateway = (env: Record<string, string>) => startGatewayProcess({ ...env, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
const kill = killGatewayProcess;

/** A loopback port with nothing listening on it: the receiver is down. */
async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let database: TestDatabase;
let key: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const store = database.open();
  await migrateToLatest(store.db);
  key = (await issueKey(store.db, { workspace: 'crash', name: 'crash' })).key;
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

test('changes committed while the receiver is down arrive after a SIGKILL and restart', async () => {
  const port = await freePort();
  let gateway = await startGateway(database.env);
  let receiver: Receiver | null = null;
  try {
    const created = await gql(gateway, `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret userErrors { code } } }`, {
      input: { url: `http://127.0.0.1:${port}/hooks`, events: ['CUSTOMER_CREATED', 'CUSTOMER_UPDATED'] },
    });
    const secret = created.createWebhookEndpoint.signingSecret as string;
    const committed = new Set<string>();
    await Promise.all(
      Array.from({ length: 3 }, async (_, worker) => {
        for (let i = worker; i < CHANGES; i += 3) {
          const result = await gql(gateway, `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }`, { input: { email: `crash${i}@example.com` } });
          const id = result.createCustomer.customer.id as string;
          committed.add(id);
          if (i % 2 === 0) {
            await gql(gateway, `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { id } } }`, { input: { id, firstName: `F${i}` } });
            committed.add(`${id}@2`);
          }
        }
      }),
    );
    await kill(gateway);
    gateway = await startGateway(database.env);
    receiver = await startReceiver(port);
    receiver.secrets.push(secret);
    const arrived = new Set<string>();
    for (let waited = 0; [...committed].some((change) => !arrived.has(change)); waited += 100) {
      if (waited > 90_000) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const delivery of receiver.received) {
        expect(delivery.verified).not.toBeNull();
        const { data } = delivery.verified as { data: { id: string; version: number } };
        arrived.add(data.version === 1 ? data.id : `${data.id}@${data.version}`);
      }
    }
    expect([...committed].filter((change) => !arrived.has(change))).toEqual([]);
    expect(committed.size).toBe(CHANGES + CHANGES / 2);
  } finally {
    await kill(gateway);
    await receiver?.close();
  }
});
