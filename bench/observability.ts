/**
 * Benchmark (not a test): what metrics and tracing cost on the request path, measured over HTTP
 * on three compiled gateways (`dist/src/index.js`) over one SQLite file, rate limiting on with a
 * bucket too big to run dry:
 *   - `off`: METRICS=off, no OTLP endpoint: the baseline;
 *   - `metrics`: the defaults (metrics on, tracing off): issue 17's target is >= 0.95 of `off`;
 *   - `metrics+traces`: and tracing on at 100% sampling (always_on), exporting OTLP/HTTP JSON to a
 *     loopback sink in this process: its cost is reported, no target.
 *
 *   npm run bench:ops
 *
 * Two requests: `customer(id)` and a page of 20 customers. Rounds are interleaved (each round
 * runs every gateway on every request, in turn) so drift on this shared machine hits all alike;
 * ratios are medians of per-round ratios against `off`. Results: printed, and
 * bench/results/observability.json.
 *
 * Knobs: BENCH_ROUNDS=3, BENCH_DURATION=3 (seconds per run), BENCH_WARMUP=2,
 * BENCH_CONNECTIONS=10, BENCH_CUSTOMERS=2000.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createCustomer } from '../src/services/customers';
import { issueKey } from '../src/services/keys';
import { migrateToLatest, openStore } from '../src/store/db';
import { autocannon } from './lib/autocannon';
import { processCpuMs } from './lib/machine';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 2000);
const RESULTS = path.resolve(__dirname, '../../bench/results/observability.json');
const SERVER = path.resolve(__dirname, '../src/index.js');
const log = (message: string) => process.stderr.write(`[bench:ops] ${message}\n`);

const REQUESTS = {
  'customer(id)': { query: 'query Customer($id: ID!) { customer(id: $id) { id email name } }', byId: true },
  page: { query: 'query CustomerPage { customers(first: 20) { nodes { id email name } } }', byId: false },
} as const;
type RequestName = keyof typeof REQUESTS;

async function seed(dir: string): Promise<{ ids: string[]; key: string }> {
  const store = openStore({ dataDir: dir });
  await migrateToLatest(store.db);
  const issued = await issueKey(store.db, { workspace: 'bench', name: 'bench' });
  const who = { workspaceId: issued.workspace.id, actor: 'bench', via: 'bench' };
  const ids: string[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const created = await createCustomer(store.db, who, { email: `c${i}@bench.test`, firstName: `C${i}`, lastName: 'Bench' });
    if (created.customer) ids.push(created.customer.id);
  }
  await store.close();
  return { ids, key: issued.key };
}

/** An OTLP/HTTP collector that accepts and drops what it is sent. */
async function otlpSink(): Promise<{ url: string; spansBytes: () => number; close(): void }> {
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spansBytes: () => bytes, close: () => server.close() };
}

async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function startGateway(dir: string, env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dir, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', RATE_LIMIT_BUCKET: '1000000000', RATE_LIMIT_RESTORE: '1000000000', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode}`);
    if (await fetch(`${url}/livez`).then((r) => r.ok, () => false)) return { url, child };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the gateway did not answer /livez within 20 s');
}

interface Run {
  variant: string;
  request: RequestName;
  requestsPerSecond: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  errors: number;
}

async function load(url: string, pid: number, variant: string, request: RequestName, key: string, ids: string[], seconds: number): Promise<Run> {
  let n = 0;
  let bad = 0;
  const { query, byId } = REQUESTS[request];
  const fixed = JSON.stringify({ query });
  const cpuBefore = processCpuMs(pid);
  const result = await autocannon({
    url: `${url}/graphql`,
    connections: CONNECTIONS,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    requests: [
      {
        setupRequest: (req) => ({ ...req, body: byId ? JSON.stringify({ query, variables: { id: ids[(n++ * 7919) % ids.length] } }) : fixed }),
        onResponse: (status, body) => {
          if (status !== 200 || body.includes('"errors"')) bad += 1;
        },
      },
    ],
  });
  return {
    variant,
    request,
    requestsPerSecond: Math.round((result.requests.total / result.duration) * 10) / 10,
    p99Ms: result.latency.p99,
    cpuMsPerRequest: Math.round(((processCpuMs(pid) - cpuBefore) / Math.max(1, result.requests.total)) * 1000) / 1000,
    errors: result.errors + result.timeouts + result.non2xx + bad,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round3 = (value: number) => Math.round(value * 1000) / 1000;

async function main(): Promise<void> {
  if (!fs.existsSync(SERVER)) throw new Error(`${SERVER} is missing: run npm run build first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-ops-'));
  const sink = await otlpSink();
  log(`seeding ${CUSTOMERS} customers`);
  const { ids, key } = await seed(dir);
  const variants: [string, Record<string, string>][] = [
    ['off', { METRICS: 'off' }],
    ['metrics', {}],
    ['metrics+traces', { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_SAMPLER: 'always_on' }],
  ];
  const gateways = await Promise.all(variants.map(async ([name, env]) => ({ name, ...(await startGateway(dir, env)) })));
  const requests = Object.keys(REQUESTS) as RequestName[];
  try {
    for (const gw of gateways) for (const request of requests) await load(gw.url, gw.child.pid as number, gw.name, request, key, ids, WARMUP);
    const rounds: Run[][] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const round: Run[] = [];
      for (const request of requests) for (const gw of gateways) round.push(await load(gw.url, gw.child.pid as number, gw.name, request, key, ids, DURATION));
      rounds.push(round);
      log(`round ${r + 1}: ${round.map((x) => `${x.request} ${x.variant} ${x.requestsPerSecond}/s`).join(', ')}`);
    }
    const summary = requests.flatMap((request) =>
      variants.map(([variant]) => {
        const pick = (round: Run[], v: string) => round.find((x) => x.request === request && x.variant === v) as Run;
        const mine = rounds.map((round) => pick(round, variant));
        const ratios = rounds.map((round, i) => mine[i].requestsPerSecond / (pick(round, 'off').requestsPerSecond || 1));
        return {
          request,
          variant,
          requestsPerSecond: median(mine.map((x) => x.requestsPerSecond)),
          p99Ms: median(mine.map((x) => x.p99Ms)),
          cpuMsPerRequest: median(mine.map((x) => x.cpuMsPerRequest)),
          errors: mine.reduce((sum, x) => sum + x.errors, 0),
          ratioToOff: round3(median(ratios)),
          ratioRange: [Math.min(...ratios), Math.max(...ratios)].map(round3),
        };
      }),
    );
    for (const row of summary) {
      log(`${row.request.padEnd(13)} ${row.variant.padEnd(15)} ${String(row.requestsPerSecond).padStart(8)} req/s  p99 ${row.p99Ms} ms  CPU ${row.cpuMsPerRequest} ms/req  ratio to off ${row.ratioToOff} (rounds ${row.ratioRange.join('-')})  errors ${row.errors}`);
    }
    log(`OTLP bytes received by the sink: ${sink.spansBytes()}`);
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(RESULTS, JSON.stringify({ when: new Date().toISOString(), rounds: ROUNDS, durationSeconds: DURATION, connections: CONNECTIONS, customers: CUSTOMERS, summary, perRound: rounds }, null, 2) + '\n');
    log(`written to ${RESULTS}`);
  } finally {
    for (const gw of gateways) gw.child.kill('SIGTERM');
    sink.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
