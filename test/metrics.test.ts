/**
 * `/metrics` over real HTTP: exact operation counters by name, type and outcome, the bound on
 * operation-name labels, the database, export and process metrics, and METRICS_TOKEN.
 */
import crypto from 'node:crypto';
import { startTestApp, type RunningApp } from './app-harness';
import { issueKey } from '../src/services/keys';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, as a scraper reads it. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(url: string, token?: string): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parseMetrics(await res.text());
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function post(url: string, key: string | null, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as { errors?: { extensions?: { code?: string } }[] } };
}

/** 30 ids that exist nowhere: requested and actual cost are both 30. */
const THIRTY = 'query Thirty($ids: [ID!]!) { nodes(ids: $ids) { id } }';
const thirtyIds = () => ({ ids: Array.from({ length: 30 }, () => crypto.randomUUID()) });

describe('metrics', () => {
  let gw: RunningApp;
  let exempt: string;

  beforeAll(async () => {
    // 50 points restoring 1 a second: after one 30-point query, the next ones are throttled for 10 s.
    gw = await startTestApp({ RATE_LIMIT_BUCKET: '50', RATE_LIMIT_RESTORE: '1' });
    exempt = (await issueKey(gw.app.store.db, { workspace: 'alpha', name: 'unlimited', rateLimited: false })).key;
  });

  afterAll(() => gw.close());

  it('counts N named, M rejected and K throttled operations exactly, with their durations and costs', async () => {
    const N = 4;
    for (let i = 0; i < N; i++) expect((await post(gw.url, exempt, 'query Workspace { workspace { name } }')).status).toBe(200);
    // M = 3 rejected: a validation failure of a known name, a parse failure, a refused credential.
    expect((await post(gw.url, exempt, 'query Workspace { workspace { nope } }')).status).toBe(400);
    expect((await post(gw.url, exempt, 'query Workspace { workspace { name }')).status).toBe(400);
    expect((await post(gw.url, null, 'query Workspace { workspace { name } }')).status).toBe(401);
    // K = 3 throttled, after one that fits the bucket.
    const K = 3;
    expect((await post(gw.url, gw.a.key, THIRTY, thirtyIds())).status).toBe(200);
    for (let i = 0; i < K; i++) expect((await post(gw.url, gw.a.key, THIRTY, thirtyIds())).body.errors?.[0]?.extensions?.code).toBe('THROTTLED');

    const samples = await scrape(gw.url);
    const operations = samples.filter((s) => s.name === 'graphql_operations_total');
    expect(operations.map((s) => ({ ...s.labels, count: s.value })).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual(
      [
        { operation_name: 'Thirty', operation_type: 'query', outcome: 'success', count: 1 },
        { operation_name: 'Thirty', operation_type: 'query', outcome: 'throttled', count: K },
        { operation_name: 'Workspace', operation_type: 'query', outcome: 'rejected', count: 1 },
        { operation_name: 'Workspace', operation_type: 'query', outcome: 'success', count: N },
        { operation_name: '__invalid__', operation_type: 'unknown', outcome: 'rejected', count: 2 },
      ].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    );
    expect(value(samples, 'graphql_throttled_requests_total')).toBe(K);
    const durations = (name: string) => value(samples, 'graphql_operation_duration_seconds_count', { operation_name: name, operation_type: 'query' });
    expect(durations('Workspace')).toBe(N + 1);
    expect(durations('Thirty')).toBe(1 + K);
    // Priced: every operation that resolved (N, the fitting one, K throttled); measured: the ones that ran.
    expect(value(samples, 'graphql_query_cost_count', { kind: 'requested' })).toBe(N + 1 + K);
    expect(value(samples, 'graphql_query_cost_count', { kind: 'actual' })).toBe(N + 1);
    expect(value(samples, 'graphql_query_cost_sum', { kind: 'actual' })).toBe(value(samples, 'graphql_query_cost_sum', { kind: 'requested' })! - 30 * K);
  });

  it('labels anonymous operations __anonymous__', async () => {
    await post(gw.url, exempt, '{ workspace { name } }');
    expect(value(await scrape(gw.url), 'graphql_operations_total', { operation_name: '__anonymous__', outcome: 'success' })).toBe(1);
  });

  it('reports statement durations, connection use, export requests and the process metrics', async () => {
    const before = value(await scrape(gw.url), 'db_statement_duration_seconds_count', { statement: 'select' }) ?? 0;
    const exported = await fetch(`${gw.url}/export/customers.ndjson`, { headers: { authorization: `Bearer ${exempt}` } });
    expect(exported.status).toBe(200);
    await exported.text();
    const refused = await fetch(`${gw.url}/export/customers.ndjson`);
    expect(refused.status).toBe(401);
    await refused.text();
    // Nothing is left holding a connection. Background work borrows one for a moment (on
    // PostgreSQL the rate-limit sync every 100 ms, the webhook sender's poll), so the gauge
    // must reach 0 within a few scrapes, not on the first.
    let samples = await scrape(gw.url);
    for (let i = 0; i < 20 && value(samples, 'db_pool_connections_in_use') !== 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      samples = await scrape(gw.url);
    }
    expect(value(samples, 'db_statement_duration_seconds_count', { statement: 'select' })).toBeGreaterThan(before);
    expect(value(samples, 'db_pool_connections_in_use')).toBe(0);
    expect(value(samples, 'db_pool_connections_waiting')).toBe(0);
    expect(value(samples, 'export_requests_total', { outcome: 'streamed' })).toBe(1);
    expect(value(samples, 'export_requests_total', { outcome: 'refused' })).toBe(1);
    expect(value(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(samples, 'nodejs_eventloop_lag_seconds')).toBeDefined();
  });
});

describe('metrics access', () => {
  it('keeps at most 200 operation names as labels, the rest as __other__, whatever callers send', async () => {
    const gw = await startTestApp();
    try {
      const exempt = (await issueKey(gw.app.store.db, { workspace: 'alpha', name: 'unlimited', rateLimited: false })).key;
      // A name first seen on a request that never ran takes no slot, even before the slots are full.
      await post(gw.url, exempt, 'query Intruder { nothing }');
      for (let batch = 0; batch < 50; batch++) {
        await Promise.all(Array.from({ length: 20 }, (_, i) => post(gw.url, exempt, `query Name${batch}_${i} { workspace { name } }`)));
      }
      const samples = await scrape(gw.url);
      const names = new Set(samples.filter((s) => s.name === 'graphql_operations_total').map((s) => s.labels.operation_name));
      expect(names.size).toBeLessThanOrEqual(201);
      expect(names.has('__other__')).toBe(true);
      expect(names.has('Intruder')).toBe(false);
      const counted = samples.filter((s) => s.name === 'graphql_operations_total' && /^Name|__other__/.test(s.labels.operation_name)).reduce((sum, s) => sum + s.value, 0);
      expect(counted).toBe(1001);
    } finally {
      await gw.close();
    }
  });

  it('requires METRICS_TOKEN as a bearer token when it is set', async () => {
    const token = crypto.randomBytes(24).toString('hex');
    const gw = await startTestApp({ METRICS_TOKEN: token });
    try {
      for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', token, `Basic ${token}`]) {
        const res = await fetch(`${gw.url}/metrics`, { headers: authorization ? { authorization } : {} });
        await res.text();
        expect(res.status).toBe(401);
      }
      expect((await scrape(gw.url, token)).length).toBeGreaterThan(0);
    } finally {
      await gw.close();
    }
  });

  it('serves no /metrics with METRICS=off', async () => {
    const gw = await startTestApp({ METRICS: 'off' });
    try {
      const res = await fetch(`${gw.url}/metrics`);
      await res.text();
      expect(res.status).toBe(404);
      expect(gw.app.metrics).toBeNull();
    } finally {
      await gw.close();
    }
  });
});
