/**
 * Benchmark (not a test): the gateway against the physical floor of its stack, in one run.
 *
 *   npm run bench
 *
 * Requirement (issue 7): per scenario, requests/s, p50, p99 and peak RSS of the gateway and of
 * a floor server (plain node:http + better-sqlite3 prepared statements answering with
 * byte-identical JSON, bench/lib/floor.ts), and the ratio between them measured in the same run.
 * Also a bare Apollo Server `{ hello }`: the framework's own limit; and for `customer(id)` a stock
 * Apollo Server answering it from the floor's prepared statement (bench/lib/stock-apollo.ts): the
 * fixed stack's own ceiling for that scenario.
 *
 * What it does:
 * - migrates a fresh SQLite file with the real migrations, issues a key, defines two custom
 *   fields, and seeds BENCH_CUSTOMERS customers (30% TEAM with 2-3 members, audit actions, two
 *   custom field values each) with raw prepared inserts (bench/lib/dataset.ts);
 * - forks three servers on that file: the gateway (src/app.ts, port 0, LOG_LEVEL=warn,
 *   RATE_LIMIT=on with a bucket no run empties, so the charge and refund are measured), the floor,
 *   `{ hello }` and the stock Apollo reference; the load generator (autocannon) runs here;
 * - per scenario: one request to each, bodies compared byte for byte (a mismatch fails the
 *   scenario); warm-up; then BENCH_ROUNDS interleaved rounds (gateway, floor, gateway, ...) so
 *   both sides meet the same machine; the ratio is the median of the per-round ratios;
 * - export drain: a single consumer pages through the whole change feed (1000 a page) on the
 *   gateway and on the floor, rows/s and the server's peak RSS; again on a table of
 *   BENCH_LARGE_ROWS (default 1,000,000; 0 skips) to show RSS stays flat;
 * - with BENCH_DATABASE_URL (scripts/with-postgres.sh exports it): copies the same rows into a
 *   new PostgreSQL database migrated with the real migrations (bench/lib/postgres-copy.ts) and
 *   runs customer(id) (with stock Apollo + pg), the page, _entities x100 and the export drain
 *   against the pg floor (named prepared statements, bench/lib/floor.ts), plus customer(id) with
 *   the rate-limited key against the same gateway asked with an exempt key;
 * - the mixed-load comparison (bench/load.ts compareAtFixedRate): customer(id) p99 under 25%
 *   creates and 15% updates against a read-only run at the same fixed request rate, per engine;
 * - records the cores other work used during every round (/proc, bench/lib/machine.ts);
 * - writes bench/results/perf.json (SQLite at the top level as before, `postgres` and
 *   `mixedLoad` beside it) and bench/results/perf.svg (SQLite).
 *
 * The machine is shared (2 cores, other work running): compare ratios within a run, not
 * absolute figures across runs.
 *
 * Environment knobs (the defaults are the requirement; smaller for development runs):
 *   BENCH_CUSTOMERS=100000     customers seeded
 *   BENCH_LARGE_ROWS=1000000   customers for the large export drain (0 skips it)
 *   BENCH_DURATION=5           seconds per measured round
 *   BENCH_WARMUP=2             warm-up seconds per server and scenario
 *   BENCH_ROUNDS=5             measured rounds per server and scenario (3 left medians at the
 *                              mercy of one noisy round on a shared 2-core machine)
 *   BENCH_CONNECTIONS=10       autocannon connections
 *   BENCH_SCENARIOS=a,b        only these scenarios (names as in the table; `export drain`,
 *                              `customer(id) rate-limited vs exempt key`, `mixed load`)
 *   BENCH_DATABASE_URL=url     a PostgreSQL admin URL: the PostgreSQL part runs too
 *   BENCH_ENGINES=sqlite,postgres  the engines to run (default both; postgres needs the URL)
 *   BENCH_PG_CUSTOMERS=n       customers on PostgreSQL (default BENCH_CUSTOMERS; another figure
 *                              seeds a second SQLite file to copy from)
 *   BENCH_LOAD_RATE=n          the mixed-load comparison's fixed rate in requests/s (default half
 *                              the gateway's closed-loop mixed throughput, probed first)
 *   BENCH_LOAD_DURATION=10     seconds per mixed-load run (bench/load.ts RATE_RUN_SECONDS)
 *   BENCH_LOAD_CONNECTIONS=50  connections of the mixed-load runs
 *   BENCH_SEED_CUSTOMERS=1000  customers the mixed-load gateway is seeded with (over HTTP)
 *   BENCH_NOTE=text            a note stored with the results (what changed since the last run)
 *   BENCH_MAX_QUERY_COST=1000000  MAX_QUERY_COST for the gateway (a page of 100 with members
 *                              is over the default; the cost plugin still runs)
 *   BENCH_BASELINE=file       an earlier perf.json: its figures are kept in this run's results as
 *                              `before` (with its note), for before/after comparisons
 *   BENCH_CPU_PROF=dir         run the gateway under `node --cpu-prof`, profiles written to dir
 *   BENCH_KEEP=1               keep the temp dir
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import type { AutocannonResult } from './lib/autocannon';
import type { RateComparison } from './load';
import { seedCustomers } from './lib/dataset';
import { startFloor, startPostgresFloor } from './lib/floor';
import { copySqliteToPostgres, createDatabase } from './lib/postgres-copy';
import { startPostgresStockApollo, startStockApollo } from './lib/stock-apollo';
import { otherCoresMeter, processCpuMs, rssSampler } from './lib/machine';
import { barChart, type ChartRow } from './lib/svg';

const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 100_000);
const LARGE_ROWS = Number(process.env.BENCH_LARGE_ROWS ?? 1_000_000);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ONLY = process.env.BENCH_SCENARIOS?.split(',').map((s) => s.trim());
const DATABASE_URL = process.env.BENCH_DATABASE_URL || undefined;
const PG_CUSTOMERS = Number(process.env.BENCH_PG_CUSTOMERS ?? CUSTOMERS);
type Engine = 'sqlite' | 'postgres';
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,postgres')
  .split(',')
  .map((e) => e.trim())
  .filter((e): e is Engine => e === 'sqlite' || (e === 'postgres' && DATABASE_URL !== undefined));
const SEED = 0x0f1_0042;
const RESULTS_DIR = path.resolve(__dirname, '../../bench/results');
const EXPORT_PAGE = 1000;

const log = (message: string) => process.stderr.write(`[bench:perf] ${message}\n`);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits;

// Gateway modules are required on demand: the floor process loads none of them.
/* eslint-disable @typescript-eslint/no-require-imports -- loaded on demand, as said above */

// ---------------------------------------------------------------------------------------------
// Servers (each in its own process, so the load generator does not share their thread)

type Role = 'gateway' | 'floor' | 'hello' | 'stock' | 'pg-floor' | 'pg-stock';

interface Server {
  role: Role;
  label: string;
  url: string;
  pid: number;
  child: ChildProcess;
  /** The API key this side is asked with, when not the run's (the exempt-key side). */
  key?: string;
}

/** `where` is the data directory, or for the pg-* roles the database URL. */
async function serve(role: Role, where: string): Promise<void> {
  let port: number;
  if (role === 'gateway') {
    const { createApp } = require('../src/app') as typeof import('../src/app');
    const { loadConfig } = require('../src/config') as typeof import('../src/config');
    const { createLogger } = require('../src/shared/logger') as typeof import('../src/shared/logger');
    const config = loadConfig(process.env);
    const app = await createApp({ config, logger: createLogger(config.logLevel) });
    port = Number(new URL(await app.listen(0, '127.0.0.1')).port);
  } else if (role === 'floor') {
    port = (await startFloor(path.join(where, 'customer-gateway.sqlite'))).port;
  } else if (role === 'stock') {
    port = (await startStockApollo(path.join(where, 'customer-gateway.sqlite'))).port;
  } else if (role === 'pg-floor') {
    port = (await startPostgresFloor(where)).port;
  } else if (role === 'pg-stock') {
    port = (await startPostgresStockApollo(where)).port;
  } else {
    const { ApolloServer } = require('@apollo/server') as typeof import('@apollo/server');
    const { startStandaloneServer } = require('@apollo/server/standalone') as typeof import('@apollo/server/standalone');
    const server = new ApolloServer({ typeDefs: 'type Query { hello: String! }', resolvers: { Query: { hello: () => 'world' } } });
    port = Number(new URL((await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } })).url).port);
  }
  process.send?.({ port });
  process.once('SIGTERM', () => process.exit(0));
}

const running = new Set<ChildProcess>();

/** `databaseUrl`: the gateway runs on PostgreSQL (DATA_DIR still holds its local files). */
function startServer(role: Role, dir: string, label: string = role, databaseUrl?: string): Promise<Server> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dir,
    LOG_LEVEL: 'warn',
    // Rate limiting on, as in production, with a bucket the bench never empties: each request
    // pays for its charge and refund, and nothing is throttled.
    RATE_LIMIT: 'on',
    RATE_LIMIT_BUCKET: '1000000000',
    RATE_LIMIT_RESTORE: '1000000000',
    MAX_QUERY_COST: process.env.BENCH_MAX_QUERY_COST ?? '1000000',
    EXPLORER: 'false',
    NODE_ENV: 'production',
  };
  if (databaseUrl && role === 'gateway') env.DATABASE_URL = databaseUrl;
  else delete env.DATABASE_URL;
  const where = role === 'pg-floor' || role === 'pg-stock' ? (databaseUrl as string) : dir;
  const profile = role === 'gateway' && process.env.BENCH_CPU_PROF;
  const execArgv = profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [];
  const child = fork(__filename, ['--role', role, where], { env, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    child.once('message', (message: { port: number }) =>
      resolve({ role, label, url: `http://127.0.0.1:${message.port}`, pid: child.pid as number, child }),
    );
    child.once('exit', (code) => reject(new Error(`${label} server exited (${code}) before listening`)));
  });
}

function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    // SIGTERM lets a profiled gateway write its profile (the handler below exits).
    server.child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------------------------------------
// Dataset

interface Seeded {
  dir: string;
  key: string;
  /** A key of the same workspace exempt from rate limiting (`key create --no-rate-limit`). */
  exemptKey: string;
  workspaceId: string;
  ids: string[];
}

async function seed(dir: string, count: number, full: boolean): Promise<Seeded> {
  const { migrateToLatest, openStore } = require('../src/store/db') as typeof import('../src/store/db');
  const { issueKey } = require('../src/services/keys') as typeof import('../src/services/keys');
  const store = openStore({ dataDir: dir });
  await migrateToLatest(store.db);
  const issued = await issueKey(store.db, { workspace: 'bench', name: 'bench' });
  const exempt = await issueKey(store.db, { workspace: 'bench', name: 'bench-exempt', rateLimited: false });
  await store.close();
  const workspaceId = issued.workspace.id;
  const db = new SqliteDatabase(path.join(dir, 'customer-gateway.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -131072');
  const now = new Date().toISOString();
  const define = db.prepare(
    'insert into custom_field_definitions (workspace_id, key, label, value_type, searchable, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?)',
  );
  const tiers = ['bronze', 'silver', 'gold', 'platinum'];
  if (full) {
    define.run(workspaceId, 'tier', 'Tier', 'STRING', 1, now, now);
    define.run(workspaceId, 'score', 'Score', 'NUMBER', 0, now, now);
  }
  const started = performance.now();
  const ids = seedCustomers(db, {
    workspaceId,
    count,
    seed: SEED,
    generator: { teamShare: 0.3, membersPerTeam: [2, 3] },
    actions: full,
    customFields: full
      ? [
          { key: 'tier', valueType: 'STRING', searchable: true, valueOf: (i) => tiers[i % tiers.length] },
          { key: 'score', valueType: 'NUMBER', searchable: false, valueOf: (i) => (i * 37) % 1000 },
        ]
      : [],
    onProgress: (done) => {
      if (done % 250_000 === 0 || done === count) log(`  seeded ${done.toLocaleString('en-US')} / ${count.toLocaleString('en-US')}`);
    },
  });
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  log(`seeded ${count.toLocaleString('en-US')} customers in ${round((performance.now() - started) / 1000, 1)} s`);
  return { dir, key: issued.key, exemptKey: exempt.key, workspaceId, ids };
}

// ---------------------------------------------------------------------------------------------
// Scenarios: the same request to the gateway (GraphQL) and the floor (a path per scenario)

const CUSTOMER_FIELDS =
  'id email name firstName lastName phone type status version emailVerified signInCount netRevenue createdAt updatedAt billingAddress { city state country }';

const QUERIES = {
  customer: `query Customer($id: ID!) { customer(id: $id) { ${CUSTOMER_FIELDS} } }`,
  page: `query Page($first: Int!) { customers(first: $first) { nodes { ${CUSTOMER_FIELDS} members(first: 10) { nodes { id email name role } } } pageInfo { hasNextPage endCursor } } }`,
  entities: `query Entities($representations: [_Any!]!) { _entities(representations: $representations) { ... on Customer { ${CUSTOMER_FIELDS} } } }`,
  search: `query Search($search: String!, $first: Int!) { customers(first: $first, filter: { search: $search }) { nodes { ${CUSTOMER_FIELDS} } } }`,
  export: `query Export($first: Int!, $after: String) { exportCustomers(first: $first, after: $after) { edges { cursor node { ${CUSTOMER_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
  create: 'mutation Create($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { email name version status type } userErrors { field message code } } }',
};

type Variables = Record<string, unknown>;

interface Scenario {
  name: string;
  /** floor path (bench/lib/floor.ts handler) */
  floor: keyof typeof QUERIES;
  /** The target's share of the floor the issue asks for. */
  target: number;
  /** Variables of the n-th request (`tag` tells the servers apart where writes must not collide). */
  variables(n: number, tag: string): Variables;
  /** Bodies compared after this (create: each side writes its own email). */
  normalise?(body: string): string;
}

const SEARCH_TERMS = ['smith', 'garcia', 'chen', 'patel', 'nguyen', 'miller', 'lee', 'kim', 'brown', 'wilson'];
let ids: string[] = [];
const runTag = Date.now().toString(36);

const SCENARIOS: Scenario[] = [
  { name: 'customer(id)', floor: 'customer', target: 0.5, variables: (n) => ({ id: ids[(n * 7919) % ids.length] }) },
  { name: 'customers(first:100)+members', floor: 'page', target: 0.5, variables: () => ({ first: 100 }) },
  {
    name: '_entities x100',
    floor: 'entities',
    target: 0.5,
    variables: (n) => {
      const start = (n * 100) % Math.max(1, ids.length - 100);
      return { representations: ids.slice(start, start + 100).map((id) => ({ __typename: 'Customer', id })) };
    },
  },
  { name: 'customers(search)', floor: 'search', target: 0.5, variables: (n) => ({ search: SEARCH_TERMS[n % SEARCH_TERMS.length], first: 20 }) },
  {
    name: 'createCustomer',
    floor: 'create',
    target: 0.4,
    variables: (n, tag) => ({ input: { email: `${tag}-${runTag}-${n}@bench.example`, firstName: 'Bench', lastName: `Writer ${n % 100}` } }),
    normalise: (body) => body.replace(/"email":"[a-z]+-/g, '"email":"'),
  },
];

/** customer(id): the gateway's share of stock Apollo + the same SQL the issue asks for, on both engines. */
const STOCK_TARGET = 0.9;

/** The scenarios PostgreSQL runs besides the rate-limited one (issue 18). */
const POSTGRES_SCENARIOS = ['customer(id)', 'customers(first:100)+members', '_entities x100'];

/** customer(id) asked with a rate-limited key, against the same gateway asked with an exempt key. */
const RATE_LIMITED: Scenario = { ...SCENARIOS[0], name: 'customer(id) rate-limited vs exempt key', target: 0.85 };

function requestOf(server: Server, scenario: Scenario, variables: Variables): { url: string; body: string } {
  const query = QUERIES[scenario.floor];
  if (server.role === 'hello') return { url: `${server.url}/`, body: JSON.stringify({ query: '{ hello }' }) };
  if (server.role === 'floor' || server.role === 'pg-floor') return { url: `${server.url}/${scenario.floor}`, body: JSON.stringify({ query, variables }) };
  return { url: `${server.url}/graphql`, body: JSON.stringify({ query, variables }) };
}

async function post(url: string, key: string, body: string): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 300)}`);
  return text;
}

/** One request to each side with the same variables: the bodies must be byte-identical. */
async function checkIdentical(scenario: Scenario, gateway: Server, floor: Server, key: string): Promise<string | null> {
  const n = 1_000_000_000; // a variable set the load never uses
  const ask = (server: Server, tag: string) => {
    const request = requestOf(server, scenario, scenario.variables(n, tag));
    return post(request.url, server.key ?? key, request.body);
  };
  const a = await ask(gateway, 'gw');
  const b = await ask(floor, 'fl');
  // The bucket's level moves with every request (bench/lib/floor.ts reports it full).
  const steady = (body: string) => body.replace(/"currentlyAvailable":\d+/, '"currentlyAvailable":0');
  const [x, y] = [a, b].map((body) => steady(scenario.normalise ? scenario.normalise(body) : body));
  if (x === y) return null;
  let at = 0;
  while (at < x.length && x[at] === y[at]) at++;
  return `bodies differ at byte ${at}: gateway …${x.slice(Math.max(0, at - 80), at + 80)}… floor …${y.slice(Math.max(0, at - 80), at + 80)}…`;
}

/** A server's figures in one round, or their medians over the rounds. */
interface Summary {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  peakRssMb: number;
  /** CPU the server process spent per request: steadier than req/s on a busy machine. */
  cpuMsPerRequest: number;
  errors: number;
}

interface Round extends Summary {
  server: string;
  otherCores: number;
}

/** Requests sent per server label: writes never reuse a variable set (unique emails). */
const sent = new Map<string, number>();

async function load(server: Server, scenario: Scenario, key: string, seconds: number): Promise<Round> {
  let n = sent.get(server.label) ?? 0;
  const tag = server.role === 'gateway' ? 'gw' : 'fl';
  const first = requestOf(server, scenario, scenario.variables(0, tag));
  let badBodies = 0;
  const stopRss = rssSampler([server.pid]);
  const other = otherCoresMeter(() => [process.pid, server.pid]);
  const cpuBefore = processCpuMs(server.pid);
  // Required here, not at the top: the server processes (this same file) never load it.
  const { autocannon } = require('./lib/autocannon') as typeof import('./lib/autocannon');
  const result: AutocannonResult = await autocannon({
    url: first.url,
    connections: CONNECTIONS,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key ?? key}` },
    requests: [
      {
        setupRequest: (request) => {
          request.body = requestOf(server, scenario, scenario.variables(n++, tag)).body;
          return request;
        },
        onResponse: (status, body) => {
          if (status !== 200 || body.includes('"errors"')) badBodies += 1;
        },
      },
    ],
  });
  sent.set(server.label, n);
  const otherCores = other();
  const peak = stopRss().get(server.pid) ?? 0;
  return {
    server: server.label,
    requestsPerSecond: round(result.requests.total / result.duration, 1),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    peakRssMb: peak,
    cpuMsPerRequest: round((processCpuMs(server.pid) - cpuBefore) / Math.max(1, result.requests.total), 3),
    errors: result.errors + result.timeouts + result.non2xx + badBodies,
    otherCores,
  };
}

interface ScenarioResult {
  name: string;
  /** What `floor` stands for when it is not the floor (the same gateway asked with an exempt key). */
  against?: string;
  target: number;
  identical: boolean;
  mismatch?: string;
  gateway: Summary;
  floor: Summary;
  hello?: Summary;
  /** `{ hello }` / floor, the median of per-round ratios. */
  helloRatio?: number;
  /** customer(id) only: the stock Apollo reference (bench/lib/stock-apollo.ts). */
  stockApollo?: Summary;
  /** stock Apollo / floor, the median of per-round ratios: the stack's own ceiling for the scenario. */
  stockApolloRatio?: number;
  /** gateway / stock Apollo, the median of per-round ratios: the gateway's share of the stack's own ceiling. */
  stockRatio?: number;
  /** Median of the per-round gateway/floor ratios. */
  ratio: number;
  ratios: number[];
  /** floor CPU per request / gateway CPU per request (medians): the ratio as CPU cost. */
  cpuRatio: number;
  rounds: Round[];
}

function summarise(rounds: Round[]): Summary {
  return {
    requestsPerSecond: round(median(rounds.map((r) => r.requestsPerSecond)), 1),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    peakRssMb: Math.max(...rounds.map((r) => r.peakRssMb)),
    cpuMsPerRequest: round(median(rounds.map((r) => r.cpuMsPerRequest)), 3),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
  };
}

/** Per round, `label`'s requests/s over `other`'s (rounds list every side once per round, in order). */
function perRound(rounds: Round[], label: string, other: string): number[] {
  const of = (name: string) => rounds.filter((r) => r.server === name);
  const others = of(other);
  return of(label).map((r, i) => r.requestsPerSecond / others[i].requestsPerSecond);
}

/** The reference servers measured beside a scenario's gateway and floor (customer(id) only). */
interface References {
  hello?: Server;
  stock: Server;
}

async function runScenario(scenario: Scenario, gateway: Server, floor: Server, references: References | null, key: string): Promise<ScenarioResult> {
  const mismatch = await checkIdentical(scenario, gateway, floor, key);
  if (mismatch) log(`${scenario.name}: NOT IDENTICAL: ${mismatch}`);
  // The stock Apollo reference must give the same answer too, or it is not the same work.
  const stockMismatch = references && (await checkIdentical(scenario, references.stock, floor, key));
  if (stockMismatch) throw new Error(`${scenario.name}: the stock Apollo reference's answer differs from the floor's: ${stockMismatch}`);
  const sides = [gateway, floor, ...(references?.hello ? [references.hello] : []), ...(references ? [references.stock] : [])];
  for (const side of sides) await load(side, scenario, key, WARMUP);
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const measured = [];
    for (const side of sides) measured.push(await load(side, scenario, key, DURATION));
    rounds.push(...measured);
    log(`  ${scenario.name} round ${r + 1}: ${measured.map((m) => `${m.server} ${m.requestsPerSecond}/s`).join(', ')} (other work: ${measured.map((m) => m.otherCores).join('/')} cores)`);
  }
  const of = (label: string) => summarise(rounds.filter((r) => r.server === label));
  const ratios = perRound(rounds, gateway.label, floor.label);
  return {
    name: scenario.name,
    target: scenario.target,
    identical: mismatch === null,
    ...(mismatch ? { mismatch } : {}),
    gateway: of(gateway.label),
    floor: of(floor.label),
    ...(floor.role === 'gateway' ? { against: floor.label } : {}),
    ...(references?.hello
      ? { hello: of(references.hello.label), helloRatio: round(median(perRound(rounds, references.hello.label, floor.label)), 3) }
      : {}),
    ...(references
      ? {
          stockApollo: of(references.stock.label),
          stockApolloRatio: round(median(perRound(rounds, references.stock.label, floor.label)), 3),
          stockRatio: round(median(perRound(rounds, gateway.label, references.stock.label)), 3),
        }
      : {}),
    ratio: round(median(ratios), 3),
    ratios: ratios.map((x) => round(x, 3)),
    cpuRatio: round(of(floor.label).cpuMsPerRequest / Math.max(0.001, of(gateway.label).cpuMsPerRequest), 3),
    rounds,
  };
}

// ---------------------------------------------------------------------------------------------
// Export drain: one consumer pages through the whole feed

interface Drain {
  server: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
  cpuMsPer1000Rows: number;
  otherCores: number;
}

async function drain(server: Server, key: string): Promise<Drain> {
  const scenario: Scenario = { name: 'export', floor: 'export', target: 0.7, variables: () => ({}) };
  const stopRss = rssSampler([server.pid]);
  const other = otherCoresMeter(() => [process.pid, server.pid]);
  const cpuBefore = processCpuMs(server.pid);
  const started = performance.now();
  let after: string | null = null;
  let rows = 0;
  for (;;) {
    const request = requestOf(server, scenario, { first: EXPORT_PAGE, after });
    const body = JSON.parse(await post(request.url, key, request.body)) as {
      data: { exportCustomers: { edges: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    };
    const page = body.data.exportCustomers;
    rows += page.edges.length;
    after = page.pageInfo.endCursor;
    if (!page.pageInfo.hasNextPage) break;
  }
  const seconds = (performance.now() - started) / 1000;
  return { server: server.label, rows, seconds: round(seconds, 2), rowsPerSecond: round(rows / seconds), peakRssMb: stopRss().get(server.pid) ?? 0, cpuMsPer1000Rows: round(((processCpuMs(server.pid) - cpuBefore) * 1000) / Math.max(1, rows), 1), otherCores: other() };
}

interface DrainResult {
  name: string;
  rows: number;
  target: number;
  identical: boolean;
  mismatch?: string;
  gateway: { rowsPerSecond: number; peakRssMb: number; cpuMsPer1000Rows: number };
  floor: { rowsPerSecond: number; peakRssMb: number; cpuMsPer1000Rows: number };
  ratio: number;
  ratios: number[];
  drains: Drain[];
}

async function runDrain(name: string, gateway: Server, floor: Server, key: string, rounds: number): Promise<DrainResult> {
  const exportScenario: Scenario = { name, floor: 'export', target: 0.7, variables: () => ({ first: EXPORT_PAGE, after: null }) };
  const mismatch = await checkIdentical(exportScenario, gateway, floor, key);
  if (mismatch) log(`${name}: NOT IDENTICAL: ${mismatch}`);
  const drains: Drain[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const g = await drain(gateway, key);
    const f = await drain(floor, key);
    drains.push(g, f);
    ratios.push(g.rowsPerSecond / f.rowsPerSecond);
    log(`  ${name} round ${r + 1}: gateway ${g.rowsPerSecond} rows/s (${g.peakRssMb} MB), floor ${f.rowsPerSecond} rows/s (${f.peakRssMb} MB)`);
  }
  const of = (label: string) => {
    const mine = drains.filter((d) => d.server === label);
    return {
      rowsPerSecond: round(median(mine.map((d) => d.rowsPerSecond))),
      peakRssMb: Math.max(...mine.map((d) => d.peakRssMb)),
      cpuMsPer1000Rows: median(mine.map((d) => d.cpuMsPer1000Rows)),
    };
  };
  return {
    name,
    rows: drains[0]?.rows ?? 0,
    target: 0.7,
    identical: mismatch === null,
    ...(mismatch ? { mismatch } : {}),
    gateway: of(gateway.label),
    floor: of(floor.label),
    ratio: round(median(ratios), 3),
    ratios: ratios.map((x) => round(x, 3)),
    drains,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function table(results: ScenarioResult[], drains: DrainResult[]): string {
  const rows = [['scenario', 'floor req/s', 'gateway req/s', 'ratio (median)', 'target', 'CPU ms/req gw/floor (ratio)', 'gw p50/p99 ms', 'floor p50/p99 ms', 'gw peak RSS MB', 'identical']];
  for (const r of results) {
    rows.push([
      r.name,
      String(r.floor.requestsPerSecond),
      String(r.gateway.requestsPerSecond),
      `${Math.round(r.ratio * 100)}%`,
      `${Math.round(r.target * 100)}%`,
      `${r.gateway.cpuMsPerRequest}/${r.floor.cpuMsPerRequest} (${Math.round(r.cpuRatio * 100)}%)`,
      `${r.gateway.p50Ms}/${r.gateway.p99Ms}`,
      `${r.floor.p50Ms}/${r.floor.p99Ms}`,
      String(r.gateway.peakRssMb),
      r.identical ? 'yes' : 'NO',
    ]);
    if (r.stockApollo) rows.push(['  stock Apollo + SQL (the stack\'s ceiling)', '', String(r.stockApollo.requestsPerSecond), `${Math.round((r.stockApolloRatio ?? 0) * 100)}%`, '', `${r.stockApollo.cpuMsPerRequest}`, `${r.stockApollo.p50Ms}/${r.stockApollo.p99Ms}`, '', String(r.stockApollo.peakRssMb), 'yes']);
    if (r.stockRatio !== undefined) rows.push(['  gateway / stock Apollo + SQL', '', '', `${Math.round(r.stockRatio * 100)}%`, `${Math.round(STOCK_TARGET * 100)}%`, '', '', '', '', '']);
    if (r.hello) rows.push(['  { hello } (bare Apollo)', '', String(r.hello.requestsPerSecond), `${Math.round((r.helloRatio ?? 0) * 100)}%`, '', `${r.hello.cpuMsPerRequest}`, `${r.hello.p50Ms}/${r.hello.p99Ms}`, '', String(r.hello.peakRssMb), '']);
  }
  for (const d of drains) {
    rows.push([`${d.name} (rows/s)`, String(d.floor.rowsPerSecond), String(d.gateway.rowsPerSecond), `${Math.round(d.ratio * 100)}%`, `${Math.round(d.target * 100)}%`, `${d.gateway.cpuMsPer1000Rows}/${d.floor.cpuMsPer1000Rows} per 1000 rows`, '', '', `${d.gateway.peakRssMb} (floor ${d.floor.peakRssMb})`, d.identical ? 'yes' : 'NO']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ')).join('\n');
}

function chart(results: ScenarioResult[], drains: DrainResult[]): string {
  const rows: ChartRow[] = [
    ...results.flatMap((r) => [
      {
        label: r.name,
        ratio: r.ratio,
        target: r.target,
        detail: `gateway ${r.gateway.requestsPerSecond} req/s, floor ${r.floor.requestsPerSecond} req/s, p99 ${r.gateway.p99Ms} ms`,
      },
      ...(r.stockApollo && r.stockApolloRatio !== undefined
        ? [{ label: `${r.name}: stock Apollo + SQL (reference)`, ratio: r.stockApolloRatio, target: null, detail: `${r.stockApollo.requestsPerSecond} req/s: the stack's ceiling for this scenario` }]
        : []),
    ]),
    ...drains.map((d) => ({
      label: `${d.name} (${d.rows.toLocaleString('en-US')} rows)`,
      ratio: d.ratio,
      target: d.target,
      detail: `gateway ${d.gateway.rowsPerSecond} rows/s, floor ${d.floor.rowsPerSecond} rows/s, peak RSS ${d.gateway.peakRssMb} MB`,
    })),
  ];
  return barChart(
    'customer-gateway vs the physical floor (same run)',
    `share of a bare node:http + better-sqlite3 server's throughput; dashed: target; ${os.cpus().length} cores, shared`,
    rows,
  );
}

/** The headline figures of an earlier run, for the before/after record. */
function baselineSummary(file: string) {
  const earlier = JSON.parse(fs.readFileSync(file, 'utf8')) as { when: string; note: string | null; scenarios: ScenarioResult[]; exportDrains: DrainResult[] };
  return {
    when: earlier.when,
    note: earlier.note,
    scenarios: earlier.scenarios.map((r) => ({
      name: r.name,
      ratio: r.ratio,
      cpuRatio: r.cpuRatio ?? null,
      gatewayRequestsPerSecond: r.gateway.requestsPerSecond,
      floorRequestsPerSecond: r.floor.requestsPerSecond,
      gatewayP99Ms: r.gateway.p99Ms,
    })),
    exportDrains: earlier.exportDrains.map((d) => ({
      name: d.name,
      ratio: d.ratio,
      gatewayRowsPerSecond: d.gateway.rowsPerSecond,
      floorRowsPerSecond: d.floor.rowsPerSecond,
      gatewayPeakRssMb: d.gateway.peakRssMb,
    })),
  };
}

// ---------------------------------------------------------------------------------------------

interface EngineResults {
  scenarios: ScenarioResult[];
  exportDrains: DrainResult[];
}

const wanted = (name: string) => !ONLY || ONLY.includes(name);
const drainName = (rows: number) => `export drain ${rows >= 1_000_000 ? `${rows / 1_000_000}M` : rows >= 1000 ? `${rows / 1000}k` : rows}`;

/** SQLite: the gateway, the floor, `{ hello }` and stock Apollo on the seeded file; then the large drain. */
async function runSqlite(root: string, main: Seeded, servers: Server[]): Promise<EngineResults> {
  ids = main.ids;
  const gateway = await startServer('gateway', main.dir);
  const floor = await startServer('floor', main.dir);
  const hello = await startServer('hello', main.dir);
  const stock = await startServer('stock', main.dir);
  servers.push(gateway, floor, hello, stock);
  log(`SQLite servers: gateway ${gateway.url}, floor ${floor.url}, hello ${hello.url}, stock Apollo ${stock.url}`);

  const results: ScenarioResult[] = [];
  const drains: DrainResult[] = [];
  for (const scenario of SCENARIOS.filter((s) => wanted(s.name) && s.name !== 'createCustomer')) {
    log(`${scenario.name}`);
    results.push(await runScenario(scenario, gateway, floor, scenario.name === 'customer(id)' ? { hello, stock } : null, main.key));
  }
  if (wanted('export drain')) {
    log(`export drain of ${CUSTOMERS.toLocaleString('en-US')}`);
    drains.push(await runDrain(drainName(CUSTOMERS), gateway, floor, main.key, ROUNDS));
  }
  // Writes last: they add rows, which the reads above should not see.
  const create = SCENARIOS.find((s) => s.name === 'createCustomer');
  if (create && wanted(create.name)) {
    log(create.name);
    results.push(await runScenario(create, gateway, floor, null, main.key));
  }
  await Promise.all(servers.splice(0).map(stopServer));

  if (LARGE_ROWS > 0 && wanted('export drain')) {
    const large = await seed(path.join(root, 'large'), LARGE_ROWS, false);
    const g = await startServer('gateway', large.dir, 'gateway');
    const f = await startServer('floor', large.dir, 'floor');
    servers.push(g, f);
    log(`export drain of ${LARGE_ROWS.toLocaleString('en-US')}`);
    drains.push(await runDrain(drainName(LARGE_ROWS), g, f, large.key, 1));
    await Promise.all(servers.splice(0).map(stopServer));
  }
  return { scenarios: results, exportDrains: drains };
}

/**
 * PostgreSQL: the same rows (copied from the seeded SQLite file), the gateway on DATABASE_URL,
 * the pg floor and stock Apollo + pg; the read scenarios, the rate-limited key against an
 * exempt key on the same gateway, and the export drain.
 */
async function runPostgres(seeded: Seeded, databaseUrl: string, servers: Server[]): Promise<EngineResults> {
  ids = seeded.ids;
  const gateway = await startServer('gateway', seeded.dir, 'gateway', databaseUrl);
  const floor = await startServer('pg-floor', seeded.dir, 'floor', databaseUrl);
  const stock = await startServer('pg-stock', seeded.dir, 'stock', databaseUrl);
  servers.push(gateway, floor, stock);
  log(`PostgreSQL servers: gateway ${gateway.url}, floor ${floor.url}, stock Apollo ${stock.url}`);

  const results: ScenarioResult[] = [];
  const drains: DrainResult[] = [];
  for (const scenario of SCENARIOS.filter((s) => wanted(s.name) && POSTGRES_SCENARIOS.includes(s.name))) {
    log(`PostgreSQL: ${scenario.name}`);
    results.push(await runScenario(scenario, gateway, floor, scenario.name === 'customer(id)' ? { stock } : null, seeded.key));
  }
  if (wanted(RATE_LIMITED.name)) {
    log(`PostgreSQL: ${RATE_LIMITED.name}`);
    // The same gateway process; the other side is only asked with the exempt key.
    const exempt: Server = { ...gateway, label: 'gateway (exempt key)', key: seeded.exemptKey };
    results.push(await runScenario(RATE_LIMITED, gateway, exempt, null, seeded.key));
  }
  if (wanted('export drain')) {
    log(`PostgreSQL: export drain of ${seeded.ids.length.toLocaleString('en-US')}`);
    drains.push(await runDrain(drainName(seeded.ids.length), gateway, floor, seeded.key, ROUNDS));
  }
  await Promise.all(servers.splice(0).map(stopServer));
  return { scenarios: results, exportDrains: drains };
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-perf-'));
  const servers: Server[] = [];
  const dropDatabases: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    await Promise.all(servers.map(stopServer));
    if (process.env.BENCH_KEEP) log(`kept ${root} and the PostgreSQL database`);
    else {
      fs.rmSync(root, { recursive: true, force: true });
      for (const drop of dropDatabases) await drop();
    }
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const started = performance.now();
    log(`engines: ${ENGINES.join(', ')}${DATABASE_URL ? '' : ' (BENCH_DATABASE_URL unset: no PostgreSQL)'}`);
    const main = await seed(path.join(root, 'main'), CUSTOMERS, true);
    // PostgreSQL gets the same rows, copied before any SQLite scenario writes.
    let pg: { seeded: Seeded; url: string } | null = null;
    if (ENGINES.includes('postgres') && DATABASE_URL) {
      const seeded = PG_CUSTOMERS === CUSTOMERS ? main : await seed(path.join(root, 'pg'), PG_CUSTOMERS, true);
      const database = await createDatabase(DATABASE_URL, 'cg_bench');
      dropDatabases.push(database.drop);
      const copyStarted = performance.now();
      const rows = await copySqliteToPostgres(path.join(seeded.dir, 'customer-gateway.sqlite'), database.url);
      log(`copied ${rows.toLocaleString('en-US')} rows to PostgreSQL database ${database.name} in ${round((performance.now() - copyStarted) / 1000, 1)} s`);
      pg = { seeded, url: database.url };
    }

    const sqlite = ENGINES.includes('sqlite') ? await runSqlite(root, main, servers) : { scenarios: [], exportDrains: [] };
    const postgres = pg ? await runPostgres(pg.seeded, pg.url, servers) : null;
    const results = sqlite.scenarios;
    const drains = sqlite.exportDrains;
    // The mixed-load target (issue 18): customer(id) p99 with writes against without, same request rate.
    let mixedLoad: RateComparison[] = [];
    if (wanted('mixed load')) {
      log('mixed load: customer(id) p99, mixed against read-only at a fixed rate');
      const { compareAtFixedRate, RATE_RUN_SECONDS } = require('./load') as typeof import('./load');
      mixedLoad = await compareAtFixedRate({
        engines: ENGINES,
        durationSeconds: Number(process.env.BENCH_LOAD_DURATION ?? RATE_RUN_SECONDS),
        rounds: ROUNDS,
        connections: Number(process.env.BENCH_LOAD_CONNECTIONS ?? 50),
        rate: process.env.BENCH_LOAD_RATE ? Number(process.env.BENCH_LOAD_RATE) : undefined,
      });
    }

    process.stdout.write(`\nSQLite\n${table(results, drains)}\n\n`);
    if (mixedLoad.length > 0) {
      const { describeComparison } = require('./load') as typeof import('./load');
      process.stdout.write(`Mixed load (25% creates, 15% updates) against read-only, same fixed rate\n${mixedLoad.map(describeComparison).join('\n')}\n\n`);
    }
    if (postgres) process.stdout.write(`PostgreSQL (${(pg?.seeded.ids.length ?? 0).toLocaleString('en-US')} customers)\n${table(postgres.scenarios, postgres.exportDrains)}\n\n`);
    const output = {
      when: new Date().toISOString(),
      note: process.env.BENCH_NOTE ?? null,
      machine: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAverage: os.loadavg() },
      settings: { customers: CUSTOMERS, largeRows: LARGE_ROWS, durationSeconds: DURATION, warmupSeconds: WARMUP, rounds: ROUNDS, connections: CONNECTIONS, engines: ENGINES },
      howToRead:
        'ratio = gateway / floor, the median of per-round ratios (rounds interleave gateway, floor, ... so both meet the same machine); otherCores per round = cores used by processes other than the load generator and the server measured. `scenarios` and `exportDrains` are SQLite; `postgres` holds the same on PostgreSQL (where `against` names the other side when it is not the floor).',
      scenarios: results,
      exportDrains: drains,
      ...(postgres ? { postgres: { customers: pg?.seeded.ids.length ?? 0, ...postgres } } : {}),
      mixedLoad,
      seconds: round((performance.now() - started) / 1000),
    };
    if (process.env.BENCH_BASELINE) Object.assign(output, { before: baselineSummary(process.env.BENCH_BASELINE) });
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    fs.writeFileSync(path.join(RESULTS_DIR, 'perf.json'), JSON.stringify(output, null, 2) + '\n');
    fs.writeFileSync(path.join(RESULTS_DIR, 'perf.svg'), chart(results, drains));
    log(`wrote bench/results/perf.json and perf.svg (${output.seconds} s in all)`);
  } finally {
    await cleanup();
  }
}

if (process.argv[2] === '--chart') {
  // Re-renders bench/results/perf.svg from bench/results/perf.json (after a change to the chart only).
  const stored = JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, 'perf.json'), 'utf8')) as { scenarios: ScenarioResult[]; exportDrains: DrainResult[] };
  fs.writeFileSync(path.join(RESULTS_DIR, 'perf.svg'), chart(stored.scenarios, stored.exportDrains));
} else if (process.argv[2] === '--role') {
  serve(process.argv[3] as Role, process.argv[4]).catch((error: unknown) => {
    process.stderr.write(`${String(error instanceof Error ? error.stack : error)}\n`);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error instanceof Error ? error.stack : error)}\n`);
    process.exit(1);
  });
}
