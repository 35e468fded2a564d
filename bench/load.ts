/**
 * Load test (a benchmark, not part of npm test): mixed reads and writes against the real server.
 *
 *   npm run bench:load                                   (SQLite)
 *   scripts/with-postgres.sh npm run bench:load          (PostgreSQL too: BENCH_DATABASE_URL)
 *
 * Requirement (issue "Hardening"): autocannon, 60 s, 50 connections, mixed reads and writes;
 * report requests/s, p50/p99 and error counts; zero 5xx, and every acknowledged write readable
 * afterwards with its content.
 *
 * What it does, per engine:
 * - migrates a fresh database (a temp SQLite DATA_DIR, or a new database created from the
 *   BENCH_DATABASE_URL admin URL), issues a key exempt from rate limiting, and spawns the
 *   compiled gateway (`dist/src/index.js`, RATE_LIMIT=off, LOG_LEVEL=warn) on a free port;
 * - seeds BENCH_SEED_CUSTOMERS customers over HTTP;
 * - drives it with autocannon for BENCH_DURATION seconds over BENCH_CONNECTIONS connections;
 *   each request is chosen by `setupRequest`: 40% customer(id), 20% a page of 20 customers,
 *   25% createCustomer, 15% updateCustomer (of a random known customer, no expectedVersion);
 *   `onResponse` records every acknowledged write (id, email, firstName, version), status
 *   codes and GraphQL error codes, and per-kind latency;
 * - afterwards reads every written customer back (nodes(ids), 100 at a time) and checks it:
 *   created ones exist with their email; the stored version is the highest acknowledged one
 *   and carries that write's firstName (no acknowledged write lost, none applied twice);
 * - then, on a fresh gateway per engine, compareAtFixedRate: customer(id) p99 under this mix
 *   against its p99 with the reads alone, both at one fixed request rate (issue 18; npm run bench
 *   runs it too);
 * - writes bench/results/load.json and exits non-zero on any 5xx or verification failure.
 *
 * Environment: BENCH_DURATION=60, BENCH_CONNECTIONS=50, BENCH_SEED_CUSTOMERS=1000,
 * BENCH_DATABASE_URL (PostgreSQL admin URL), BENCH_ENGINES=sqlite,postgres, BENCH_KEEP=1;
 * for the fixed-rate comparison BENCH_RATE (requests/s; default half the closed-loop mixed
 * throughput), BENCH_RATE_DURATION=10 seconds per run, BENCH_ROUNDS=3.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueKey } from '../src/services/keys';
import { migrateToLatest, openStore } from '../src/store/db';
import { adminQuery as adminQueryAt, freePort } from './lib/services';

// ---------------------------------------------------------------------------------------------
// autocannon has no type declarations; the part of its API used here.

interface Histogram {
  average: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  total: number;
}
interface AutocannonResult {
  requests: Histogram & { sent: number };
  latency: Histogram;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats?: Record<string, { count: number }>;
}
interface RequestContext {
  kind?: Kind;
  started?: number;
  write?: PendingWrite;
}
interface AutocannonRequest {
  method: 'POST';
  setupRequest: (request: { body?: string; headers?: Record<string, string> }, context: RequestContext) => { body?: string };
  onResponse: (status: number, body: string, context: RequestContext) => void;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  /** Requests per second over all connections: a fixed-rate (open) load instead of closed-loop. */
  overallRate?: number;
  headers: Record<string, string>;
  requests: AutocannonRequest[];
  timeout?: number;
}) => Promise<AutocannonResult>;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- autocannon ships no types; the cast gives it the declaration above
const autocannon = require('autocannon') as Autocannon;

// ---------------------------------------------------------------------------------------------
// Configuration

const DURATION = Number(process.env.BENCH_DURATION ?? 60);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SEED_CUSTOMERS = Number(process.env.BENCH_SEED_CUSTOMERS ?? 1000);
const ADMIN_URL = process.env.BENCH_DATABASE_URL || undefined;
const adminQuery = async (sql: string): Promise<void> => void (await adminQueryAt(ADMIN_URL, sql));
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,postgres').split(',').filter((e) => e === 'sqlite' || (e === 'postgres' && ADMIN_URL));
const SERVER = path.resolve(__dirname, '../src/index.js');
const RESULTS = path.resolve(__dirname, '../../bench/results/load.json');
const MIX: Mix = [
  ['customer', 0.4],
  ['page', 0.2],
  ['create', 0.25],
  ['update', 0.15],
];

type Kind = 'customer' | 'page' | 'create' | 'update';
type Mix = [Kind, number][];

/** The reads of MIX alone, scaled to 100%: the read-only run of the p99 comparison. */
const READ_ONLY_MIX: Mix = (() => {
  const reads = MIX.filter(([kind]) => kind === 'customer' || kind === 'page');
  const share = reads.reduce((sum, [, s]) => sum + s, 0);
  return reads.map(([kind, s]) => [kind, s / share]);
})();

const log = (message: string) => process.stderr.write(`[bench:load] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const CREATE = `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { customer { id email firstName version } userErrors { code } } }`;
const UPDATE = `mutation($in: UpdateCustomerInput!) { updateCustomer(input: $in) { customer { id email firstName version } userErrors { code } } }`;
const READ = `query($id: ID!) { customer(id: $id) { id email firstName lastName version billingAddress { country } } }`;
const PAGE = `query($after: String) { customers(first: 20, after: $after) { nodes { id email name version } pageInfo { endCursor } } }`;

// ---------------------------------------------------------------------------------------------
// What the run acknowledged

interface PendingWrite {
  kind: 'create' | 'update';
  id?: string;
  email?: string;
  firstName: string;
}

interface Acknowledged {
  email: string;
  created: boolean;
  /** Highest acknowledged version and the firstName that write set. */
  version: number;
  firstName: string | null;
}

class Ledger {
  readonly ids: string[] = [];
  readonly acknowledged = new Map<string, Acknowledged>();
  readonly statuses: Record<string, number> = {};
  readonly errorCodes: Record<string, number> = {};
  readonly userErrorCodes: Record<string, number> = {};
  readonly latencies: Record<Kind, number[]> = { customer: [], page: [], create: [], update: [] };
  /**
   * firstNames of every update sent, by customer id. autocannon stops at the deadline without
   * waiting for responses in flight, so some writes commit without being acknowledged here.
   */
  readonly issuedUpdates = new Map<string, Set<string>>();
  pageCursor: string | null = null;
  counter = 0;

  record(id: string, email: string, firstName: string | null, version: number, created: boolean): void {
    const known = this.acknowledged.get(id);
    if (!known) {
      this.acknowledged.set(id, { email, created, version, firstName });
      this.ids.push(id);
    } else if (version > known.version) {
      Object.assign(known, { version, firstName });
    }
  }
}

function pick<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)];
}

function chooseKind(mix: Mix): Kind {
  let r = Math.random();
  for (const [kind, share] of mix) {
    if ((r -= share) < 0) return kind;
  }
  return 'customer';
}

/** The body of the next request, remembering in the context what it was. */
function nextBody(ledger: Ledger, context: RequestContext, mix: Mix = MIX): string {
  const kind = chooseKind(mix);
  context.kind = kind;
  context.started = performance.now();
  context.write = undefined;
  const n = (ledger.counter += 1);
  const firstName = `Load${n}`;
  switch (kind) {
    case 'customer':
      return JSON.stringify({ query: READ, variables: { id: pick(ledger.ids) } });
    case 'page':
      return JSON.stringify({ query: PAGE, variables: { after: Math.random() < 0.5 ? null : ledger.pageCursor } });
    case 'create': {
      const email = `load-${process.pid}-${n}-${crypto.randomBytes(3).toString('hex')}@example.com`;
      context.write = { kind, email, firstName };
      const input = { email, firstName, lastName: 'Bench', phone: '+14155552671', billingAddress: { country: 'US', state: 'WI' }, metadata: { n: String(n) } };
      return JSON.stringify({ query: CREATE, variables: { in: input } });
    }
    case 'update': {
      const id = pick(ledger.ids);
      context.write = { kind, id, firstName };
      if (!ledger.issuedUpdates.has(id)) ledger.issuedUpdates.set(id, new Set());
      ledger.issuedUpdates.get(id)?.add(firstName);
      return JSON.stringify({ query: UPDATE, variables: { in: { id, firstName } } });
    }
  }
}

interface GraphqlBody {
  data?: Record<string, any> | null;
  errors?: { extensions?: { code?: string } }[];
}

function onResponse(ledger: Ledger, status: number, text: string, context: RequestContext): void {
  ledger.statuses[status] = (ledger.statuses[status] ?? 0) + 1;
  if (context.kind && context.started !== undefined) ledger.latencies[context.kind].push(performance.now() - context.started);
  let body: GraphqlBody;
  try {
    body = JSON.parse(text) as GraphqlBody;
  } catch {
    ledger.errorCodes.NOT_JSON = (ledger.errorCodes.NOT_JSON ?? 0) + 1;
    return;
  }
  for (const error of body.errors ?? []) {
    const code = error.extensions?.code ?? 'NO_CODE';
    ledger.errorCodes[code] = (ledger.errorCodes[code] ?? 0) + 1;
  }
  if (context.kind === 'page') ledger.pageCursor = body.data?.customers?.pageInfo?.endCursor ?? null;
  const write = context.write;
  const payload = write ? body.data?.[write.kind === 'create' ? 'createCustomer' : 'updateCustomer'] : undefined;
  if (!write || !payload) return;
  for (const e of payload.userErrors as { code: string }[]) ledger.userErrorCodes[e.code] = (ledger.userErrorCodes[e.code] ?? 0) + 1;
  const customer = payload.customer as { id: string; email: string; firstName: string | null; version: number } | null;
  if (status === 200 && customer && payload.userErrors.length === 0) {
    ledger.record(customer.id, customer.email, customer.firstName, customer.version, write.kind === 'create');
    // Answered: a stored version past the acknowledged one can no longer be explained by it.
    if (write.kind === 'update') ledger.issuedUpdates.get(customer.id)?.delete(write.firstName);
  }
}

// ---------------------------------------------------------------------------------------------
// Databases and the gateway process

interface Target {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}


async function prepareTarget(engine: string): Promise<Target & { key: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-load-'));
  let databaseUrl: string | undefined;
  let name: string | null = null;
  if (engine === 'postgres' && ADMIN_URL) {
    name = `cg_load_${crypto.randomBytes(4).toString('hex')}`;
    await adminQuery(`create database ${name}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
  }
  const store = openStore({ databaseUrl, dataDir: dir });
  await migrateToLatest(store.db);
  const { key } = await issueKey(store.db, { workspace: 'load', name: 'bench-load', rateLimited: false });
  await store.close();
  return {
    key,
    env: { DATA_DIR: dir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) },
    async cleanup() {
      if (process.env.BENCH_KEEP) {
        log(`kept ${dir}${name ? ` and database ${name}` : ''}`);
        return;
      }
      fs.rmSync(dir, { recursive: true, force: true });
      if (name) await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}


async function startGateway(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', EXPLORER: 'false', RATE_LIMIT: 'off' };
  if (!env.DATABASE_URL) delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, [SERVER], { env: childEnv, stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode} before listening`);
    if (Date.now() > deadline) throw new Error('gateway did not answer /health within 30 s');
    if (await fetch(`${url}/health`).then((r) => r.status === 200, () => false)) return { url, child };
    await sleep(100);
  }
}

async function stopGateway(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

// ---------------------------------------------------------------------------------------------
// Seeding, verification, figures

async function gql(url: string, key: string, query: string, variables: Record<string, unknown>): Promise<Record<string, any>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as GraphqlBody;
  if (response.status !== 200 || body.errors) throw new Error(`HTTP ${response.status}: ${JSON.stringify(body.errors)}`);
  return body.data ?? {};
}

async function seed(url: string, key: string, ledger: Ledger): Promise<void> {
  for (let i = 0; i < SEED_CUSTOMERS; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, SEED_CUSTOMERS - i) }, async (_, j) => {
        const email = `seed-${i + j}@example.com`;
        const data = await gql(url, key, CREATE, { in: { email, firstName: `Seed${i + j}` } });
        const c = data.createCustomer.customer;
        ledger.record(c.id, c.email, c.firstName, c.version, true);
      }),
    );
  }
}

interface Verification {
  checked: number;
  missing: number;
  wrongContent: number;
  /** Stored past the last acknowledged version by an update whose answer autocannon dropped at the deadline. */
  laterUnacknowledged: number;
  examples: string[];
}

/**
 * Whether the stored customer is what the acknowledged writes say: exactly the highest
 * acknowledged version, or a later one set by an update that was sent but never answered.
 */
function matches(node: { email: string; firstName: string | null; version: number }, expected: Acknowledged, issued: Set<string> | undefined): 'ok' | 'later' | 'wrong' {
  if (node.email !== expected.email) return 'wrong';
  if (node.version === expected.version) return node.firstName === expected.firstName ? 'ok' : 'wrong';
  return node.version > expected.version && node.firstName !== null && issued?.has(node.firstName) ? 'later' : 'wrong';
}

/** Reads every acknowledged customer back and compares it with the highest acknowledged write. */
async function verify(url: string, key: string, ledger: Ledger): Promise<Verification> {
  const result: Verification = { checked: 0, missing: 0, wrongContent: 0, laterUnacknowledged: 0, examples: [] };
  const ids = [...ledger.acknowledged.keys()];
  for (let i = 0; i < ids.length; i += 100) {
    const batch = ids.slice(i, i + 100);
    const data = await gql(url, key, `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Customer { id email firstName version } } }`, { ids: batch });
    (data.nodes as ({ id: string; email: string; firstName: string | null; version: number } | null)[]).forEach((node, j) => {
      const expected = ledger.acknowledged.get(batch[j]) as Acknowledged;
      result.checked += 1;
      if (!node) {
        result.missing += 1;
        if (result.examples.length < 5) result.examples.push(`missing ${batch[j]}`);
        return;
      }
      const verdict = matches(node, expected, ledger.issuedUpdates.get(batch[j]));
      if (verdict === 'later') result.laterUnacknowledged += 1;
      if (verdict === 'wrong') {
        result.wrongContent += 1;
        if (result.examples.length < 5) result.examples.push(`${batch[j]}: stored ${JSON.stringify(node)}, acknowledged ${JSON.stringify(expected)}`);
      }
    });
  }
  return result;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 100) / 100;
}

async function runEngine(engine: string): Promise<Record<string, unknown>> {
  const target = await prepareTarget(engine);
  const gateway = await startGateway(target.env);
  try {
    const ledger = new Ledger();
    log(`${engine}: seeding ${SEED_CUSTOMERS} customers`);
    await seed(gateway.url, target.key, ledger);
    const loadBefore = os.loadavg()[0];
    log(`${engine}: ${DURATION} s, ${CONNECTIONS} connections, mix ${MIX.map(([k, s]) => `${k} ${s * 100}%`).join(', ')}`);
    const run = await autocannon({
      url: `${gateway.url}/graphql`,
      connections: CONNECTIONS,
      duration: DURATION,
      timeout: 30,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${target.key}` },
      requests: [
        {
          method: 'POST',
          setupRequest: (request, context) => ({ ...request, body: nextBody(ledger, context) }),
          onResponse: (status, body, context) => onResponse(ledger, status, body, context),
        },
      ],
    });
    log(`${engine}: verifying ${ledger.acknowledged.size} customers`);
    const verification = await verify(gateway.url, target.key, ledger);
    const fiveHundreds = Object.entries(ledger.statuses).filter(([s]) => Number(s) >= 500).reduce((sum, [, n]) => sum + n, 0);
    const writes = ledger.latencies.create.length + ledger.latencies.update.length;
    return {
      engine,
      durationSeconds: run.duration,
      // The machine is shared: a 1-minute load average far above the core count means the
      // figures measure contention as much as the gateway.
      loadAverage1m: { before: Math.round(loadBefore * 100) / 100, after: Math.round(os.loadavg()[0] * 100) / 100 },
      connections: CONNECTIONS,
      requests: run.requests.total,
      requestsPerSecond: Math.round(run.requests.average),
      latencyMs: { p50: run.latency.p50, p90: run.latency.p90, p99: run.latency.p99, max: run.latency.max, mean: run.latency.mean },
      latencyByKindMs: Object.fromEntries(
        Object.entries(ledger.latencies).map(([kind, values]) => [kind, { count: values.length, p50: percentile(values, 50), p99: percentile(values, 99) }]),
      ),
      writesPerSecond: Math.round(writes / run.duration),
      statusCodes: ledger.statuses,
      non2xx: run.non2xx,
      fiveHundreds,
      connectionErrors: run.errors,
      timeouts: run.timeouts,
      graphqlErrorCodes: ledger.errorCodes,
      userErrorCodes: ledger.userErrorCodes,
      acknowledgedCustomers: ledger.acknowledged.size,
      verification,
      ok: fiveHundreds === 0 && run.errors === 0 && run.timeouts === 0 && verification.missing === 0 && verification.wrongContent === 0,
    };
  } finally {
    await stopGateway(gateway.child);
    await target.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// customer(id) p99 under the mixed load against a read-only run at the same request rate

export interface RateComparisonOptions {
  engines: string[];
  /** Seconds per measured run (one read-only and one mixed run a round). */
  durationSeconds: number;
  rounds: number;
  connections: number;
  /** Requests per second of every run; undefined: RATE_SHARE of a short closed-loop mixed run's throughput. */
  rate?: number;
}

/**
 * Seconds per fixed-rate run by default: a p99 needs a few thousand customer(id) answers; at 3 s a
 * run's p99 is its third-slowest request and rounds swung from 0.2x to 2x on the shared machine.
 */
export const RATE_RUN_SECONDS = 10;

/** The share of the closed-loop mixed throughput the fixed rate is set to when none is given. */
const RATE_SHARE = 0.5;

interface RateRun {
  mix: 'read-only' | 'mixed';
  requestsPerSecond: number;
  customerRequests: number;
  customerP50Ms: number;
  customerP99Ms: number;
  errors: number;
}

/** customer(id) figures of one mix: medians over the rounds. */
interface MixFigures {
  requestsPerSecond: number;
  customerP50Ms: number;
  customerP99Ms: number;
}

export interface RateComparison {
  engine: string;
  rate: number;
  connections: number;
  durationSeconds: number;
  readOnly: MixFigures;
  mixed: MixFigures;
  /** mixed / read-only customer(id) p99, the median of the per-round ratios. */
  p99Ratio: number;
  p99Ratios: number[];
  /** The issue's bound on p99Ratio (SQLite), or null where it asks only for the figure. */
  target: number | null;
  errors: number;
  runs: RateRun[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** One autocannon run of `mix` against the gateway, at `rate` requests/s (closed-loop without it). */
async function runMix(url: string, key: string, seedIds: string[], mix: Mix, seconds: number, connections: number, rate?: number) {
  const ledger = new Ledger();
  ledger.ids.push(...seedIds);
  const run = await autocannon({
    url: `${url}/graphql`,
    connections,
    duration: seconds,
    timeout: 30,
    ...(rate ? { overallRate: rate } : {}),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    requests: [
      {
        method: 'POST',
        setupRequest: (request, context) => ({ ...request, body: nextBody(ledger, context, mix) }),
        onResponse: (status, body, context) => onResponse(ledger, status, body, context),
      },
    ],
  });
  const errors = run.errors + run.timeouts + run.non2xx + Object.values(ledger.errorCodes).reduce((sum, n) => sum + n, 0);
  return { run, ledger, errors };
}

/**
 * customer(id)'s p99 under the mixed load (MIX: 25% creates, 15% updates) against its p99 in a
 * read-only run (READ_ONLY_MIX: the same reads, no writes) at the same fixed request rate, so
 * the ratio shows what writes do to reads rather than how much more a closed loop can push.
 * Rounds interleave the two runs on one gateway (which goes first alternates); the ratio is the
 * median of the per-round ratios.
 */
export async function compareAtFixedRate(options: RateComparisonOptions): Promise<RateComparison[]> {
  const rows: RateComparison[] = [];
  for (const engine of options.engines) {
    const target = await prepareTarget(engine);
    const gateway = await startGateway(target.env);
    try {
      const seeded = new Ledger();
      log(`${engine}: seeding ${SEED_CUSTOMERS} customers for the fixed-rate comparison`);
      await seed(gateway.url, target.key, seeded);
      let rate = options.rate;
      if (!rate) {
        const probe = await runMix(gateway.url, target.key, seeded.ids, MIX, Math.min(5, options.durationSeconds), options.connections);
        rate = Math.max(10, Math.round((probe.run.requests.total / probe.run.duration) * RATE_SHARE));
        log(`${engine}: closed-loop mixed ${Math.round(probe.run.requests.total / probe.run.duration)} req/s; fixed rate ${rate} req/s`);
      }
      const runs: RateRun[] = [];
      const ratios: number[] = [];
      for (let round = 0; round < options.rounds; round++) {
        const order: RateRun['mix'][] = round % 2 === 0 ? ['read-only', 'mixed'] : ['mixed', 'read-only'];
        const measured = new Map<RateRun['mix'], RateRun>();
        for (const mix of order) {
          const { run, ledger, errors } = await runMix(gateway.url, target.key, seeded.ids, mix === 'mixed' ? MIX : READ_ONLY_MIX, options.durationSeconds, options.connections, rate);
          const customer = ledger.latencies.customer;
          measured.set(mix, {
            mix,
            requestsPerSecond: Math.round(run.requests.total / run.duration),
            customerRequests: customer.length,
            customerP50Ms: percentile(customer, 50),
            customerP99Ms: percentile(customer, 99),
            errors,
          });
        }
        const [readOnly, mixed] = [measured.get('read-only') as RateRun, measured.get('mixed') as RateRun];
        runs.push(readOnly, mixed);
        ratios.push(mixed.customerP99Ms / Math.max(0.01, readOnly.customerP99Ms));
        log(`${engine} fixed rate round ${round + 1}: customer(id) p99 read-only ${readOnly.customerP99Ms} ms (${readOnly.requestsPerSecond} req/s), mixed ${mixed.customerP99Ms} ms (${mixed.requestsPerSecond} req/s)`);
      }
      const of = (mix: RateRun['mix']): MixFigures => {
        const mine = runs.filter((r) => r.mix === mix);
        return {
          requestsPerSecond: Math.round(median(mine.map((r) => r.requestsPerSecond))),
          customerP50Ms: Math.round(median(mine.map((r) => r.customerP50Ms)) * 100) / 100,
          customerP99Ms: Math.round(median(mine.map((r) => r.customerP99Ms)) * 100) / 100,
        };
      };
      rows.push({
        engine,
        rate,
        connections: options.connections,
        durationSeconds: options.durationSeconds,
        readOnly: of('read-only'),
        mixed: of('mixed'),
        p99Ratio: Math.round(median(ratios) * 100) / 100,
        p99Ratios: ratios.map((x) => Math.round(x * 100) / 100),
        target: engine === 'sqlite' ? 3 : null,
        errors: runs.reduce((sum, r) => sum + r.errors, 0),
        runs,
      });
    } finally {
      await stopGateway(gateway.child);
      await target.cleanup();
    }
  }
  return rows;
}

/** One line per engine for the console. */
export function describeComparison(row: RateComparison): string {
  return `${row.engine} at ${row.rate} req/s: customer(id) p99 mixed ${row.mixed.customerP99Ms} ms / read-only ${row.readOnly.customerP99Ms} ms = ${row.p99Ratio}x (rounds ${row.p99Ratios.join(', ')})${row.target ? `, target <= ${row.target}x` : ''}`;
}

async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  for (const engine of ENGINES) rows.push(await runEngine(engine));
  const fixedRate = await compareAtFixedRate({
    engines: ENGINES,
    durationSeconds: Number(process.env.BENCH_RATE_DURATION ?? RATE_RUN_SECONDS),
    rounds: Number(process.env.BENCH_ROUNDS ?? 3),
    connections: CONNECTIONS,
    rate: process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined,
  });
  const report = { when: new Date().toISOString(), node: process.version, cpus: os.cpus().length, mix: Object.fromEntries(MIX), rows, fixedRate };
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
  for (const row of rows) {
    const latency = row.latencyMs as Record<string, number>;
    process.stdout.write(
      `${String(row.engine)}: ${String(row.requestsPerSecond)} req/s (${String(row.writesPerSecond)} writes/s), p50 ${latency.p50} ms, p99 ${latency.p99} ms, ` +
        `statuses ${JSON.stringify(row.statusCodes)}, errors ${JSON.stringify(row.graphqlErrorCodes)}, ` +
        `verified ${(row.verification as Verification).checked} customers: ${row.ok ? 'OK' : 'FAILED'}\n`,
    );
  }
  for (const row of fixedRate) process.stdout.write(`${describeComparison(row)}\n`);
  log(`results in ${path.relative(process.cwd(), RESULTS)}`);
  if (rows.some((row) => !row.ok)) process.exitCode = 1;
}

// bench/perf.ts imports compareAtFixedRate; only `npm run bench:load` runs the whole load test.
if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
