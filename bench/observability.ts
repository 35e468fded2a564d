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
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { requireCompiledServer, runGraphql, seedWorkspace, startCompiledGateway, summarizeRuns, type HttpRun } from './lib/compiled-gateway';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 2000);
const RESULTS = path.resolve(__dirname, '../../bench/results/observability.json');
const log = (message: string) => process.stderr.write(`[bench:ops] ${message}\n`);

const REQUESTS = {
  'customer(id)': { query: 'query Customer($id: ID!) { customer(id: $id) { id email name } }', byId: true },
  page: { query: 'query CustomerPage { customers(first: 20) { nodes { id email name } } }', byId: false },
} as const;
type RequestName = keyof typeof REQUESTS;

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

interface Run extends HttpRun {
  variant: string;
  request: RequestName;
}

function load(url: string, pid: number, variant: string, request: RequestName, key: string, ids: string[], seconds: number): Promise<Run> {
  let n = 0;
  const { query, byId } = REQUESTS[request];
  const fixed = JSON.stringify({ query });
  const body = () => (byId ? JSON.stringify({ query, variables: { id: ids[(n++ * 7919) % ids.length] } }) : fixed);
  return runGraphql(url, pid, { bearer: key, body, seconds, connections: CONNECTIONS }).then((run) => ({ variant, request, ...run }));
}

async function main(): Promise<void> {
  requireCompiledServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-ops-'));
  const sink = await otlpSink();
  log(`seeding ${CUSTOMERS} customers`);
  const { ids, keys } = await seedWorkspace(dir, CUSTOMERS, { bench: undefined });
  const key = keys.bench;
  const variants: [string, Record<string, string>][] = [
    ['off', { METRICS: 'off' }],
    ['metrics', {}],
    ['metrics+traces', { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_SAMPLER: 'always_on' }],
  ];
  const gateways = await Promise.all(variants.map(async ([name, env]) => ({ name, ...(await startCompiledGateway(dir, env)) })));
  const requests = Object.keys(REQUESTS) as RequestName[];
  try {
    for (const gw of gateways) for (const request of requests) await load(gw.url, gw.pid, gw.name, request, key, ids, WARMUP);
    const rounds: Run[][] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const round: Run[] = [];
      for (const request of requests) for (const gw of gateways) round.push(await load(gw.url, gw.pid, gw.name, request, key, ids, DURATION));
      rounds.push(round);
      log(`round ${r + 1}: ${round.map((x) => `${x.request} ${x.variant} ${x.requestsPerSecond}/s`).join(', ')}`);
    }
    const summary = requests.flatMap((request) =>
      variants.map(([variant]) => {
        const pick = (round: Run[], v: string) => round.find((x) => x.request === request && x.variant === v) as Run;
        const { ratio, ...figures } = summarizeRuns(
          rounds.map((round) => pick(round, variant)),
          rounds.map((round) => pick(round, 'off')),
        );
        return { request, variant, ...figures, ratioToOff: ratio };
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
