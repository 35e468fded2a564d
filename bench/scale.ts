/**
 * Benchmark (not a test): read throughput of 1 and 2 gateway processes on SQLite and PostgreSQL.
 *
 *   scripts/with-postgres.sh npm run bench:scale      (PostgreSQL + SQLite)
 *   npm run bench:scale                               (SQLite only: BENCH_DATABASE_URL unset)
 *
 * Requirement (issue "PostgreSQL backend and scale-out"): the same scenarios as SQLite, run
 * against PostgreSQL on this machine, with 1 and 2 gateway processes; report requests/s and p99
 * for `customer(id)` and a page of 100 customers with members, and the ratio to SQLite in the
 * same run.
 *
 * What it does:
 * - seeds 20,000 generated customers (deterministic PRNG; about a third TEAM with 2-3 members)
 *   through importCustomers (ndjson format) into a fresh SQLite DATA_DIR, and copies the rows it
 *   wrote (same ids, same audit log) into a fresh PostgreSQL database created from
 *   BENCH_DATABASE_URL (an admin URL), then VACUUM ANALYZE; one API key each (issueKey);
 * - for each engine and 1, then 2 processes, spawns compiled gateways (`dist/src/index.js`) on
 *   that database (on SQLite two processes share one file) and drives every scenario with
 *   autocannon: 2 s warm-up, 10 s measured, 16 connections split evenly over the processes (one
 *   autocannon instance per process, run concurrently; requests/s summed, worst p50/p99 taken);
 * - counts non-2xx responses, connection errors/timeouts, bodies containing `"errors"` and (for
 *   customer(id)) `"customer":null`; a run with any of them is reported as invalid;
 * - measures CPU time of the load generator, the gateways and the PostgreSQL cluster per request
 *   (/proc), and the database statements per request (an in-process app with a query hook);
 * - prints a table and the PostgreSQL/SQLite ratios, writes bench/results/scale.json, and stops
 *   every process (SIGTERM), deletes temp dirs and drops the database, also on failure.
 *
 * Gateways run with LOG_LEVEL=warn, which also silences their (info level) "listening" line, so
 * the bench picks a free port itself, passes it as PORT and waits until GET /health answers 200.
 *
 * The load generator (this process, one thread), the gateways and PostgreSQL all share this
 * machine's cores: the figures compare engines and process counts under the same constraint,
 * they are not capacity numbers for a dedicated server.
 *
 * Environment knobs (the defaults are the requirement):
 *   BENCH_DATABASE_URL      PostgreSQL admin URL (scripts/with-postgres.sh sets it); unset: SQLite only
 *   BENCH_CUSTOMERS=20000   customers to seed
 *   BENCH_DURATION=10       measured seconds per scenario
 *   BENCH_WARMUP=2          warm-up seconds per scenario
 *   BENCH_CONNECTIONS=16    connections in total, split over the processes
 *   BENCH_PROCESSES=1,2     gateway process counts to run
 *   BENCH_ENGINES=sqlite,postgres
 *   BENCH_ATTEMPTS=2        runs per row at most: a row disturbed by other work on the machine
 *                           (> 0.2 cores used by anything else) is run again, the quieter attempt kept
 *   BENCH_QUIET_WAIT=45     seconds in all the bench may wait for the machine to go quiet before rows
 *   BENCH_PG_SEED=copy      copy: PostgreSQL gets the rows the SQLite import wrote (seconds);
 *                           import: importCustomers into PostgreSQL too (about 2.5 min for 20,000)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import SqliteDatabase from 'better-sqlite3';
import { Client } from 'pg';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/shared/logger';
import { importCustomers, type SourceItem } from '../src/import/engine';
import { issueKey } from '../src/services/keys';
import { migrateToLatest, openStore, SQLITE_FILE_NAME } from '../src/store/db';
import type { Db } from '../src/store/engine';
import { autocannon, type AutocannonInstance, type AutocannonRequest } from './lib/autocannon';
import { customerGenerator } from './lib/dataset';
import { busyCoresNow, CLK_TCK, machineTicks, processCpuMs } from './lib/machine';
import { adminQuery as adminQueryAt, freePort } from './lib/services';

// ---------------------------------------------------------------------------------------------
// Configuration

const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 20_000);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const PROCESS_COUNTS = (process.env.BENCH_PROCESSES ?? '1,2').split(',').map(Number);
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,postgres').split(',') as Engine[];
const ADMIN_URL = process.env.BENCH_DATABASE_URL || undefined;
const adminQuery = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => adminQueryAt<T>(ADMIN_URL, sql, params);
const PG_SEED = process.env.BENCH_PG_SEED === 'import' ? 'import' : 'copy';
const ATTEMPTS = Number(process.env.BENCH_ATTEMPTS ?? 2);
const QUIET_WAIT = Number(process.env.BENCH_QUIET_WAIT ?? 45);
const DISTURBED_CORES = 0.2;
const ROTATING_IDS = 1000;
const POOL_SIZE = 10;
const SEED = 0x5ca1_e0ff;
const SERVER = path.resolve(__dirname, '../src/index.js');
const RESULTS = path.resolve(__dirname, '../../bench/results/scale.json');
/**
 * The page scenario (100 customers with 10 members each, 1302 points) is over the default
 * MAX_QUERY_COST, and load from one key would drain its bucket at once. Rate limiting stays on,
 * so its per-request check is part of the figures, but with a bucket that never runs dry.
 */
const LIMITS_ENV = { MAX_QUERY_COST: '0', RATE_LIMIT: 'on', RATE_LIMIT_BUCKET: '1000000000', RATE_LIMIT_RESTORE: '1000000000' };

type Engine = 'sqlite' | 'postgres';

const log = (message: string) => process.stderr.write(`[bench:scale] ${message}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Deterministic data: ExportedCustomer-shaped records (services/export-record.ts) for the ndjson mapper

async function* generatedCustomers(count: number): AsyncGenerator<SourceItem> {
  // About a third TEAM customers with 2-3 members; phones the importer accepts.
  const next = customerGenerator(SEED, {
    teamShare: 1 / 3,
    membersPerTeam: [2, 3],
    isValidPhone: (e164) => parsePhoneNumberFromString(e164)?.isValid() ?? false,
  });
  for (let i = 0; i < count; i++) yield { line: i + 1, raw: next(i) };
}

// ---------------------------------------------------------------------------------------------
// Resources to release on exit (also on failure and Ctrl-C)

const gatewaysRunning = new Set<Gateway>();
const tempDirs: string[] = [];
const databasesToDrop: string[] = [];
const cannonsRunning = new Set<AutocannonInstance>();


let cleaningUp: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    for (const cannon of cannonsRunning) cannon.stop();
    await Promise.all([...gatewaysRunning].map((g) => stopGateway(g).catch((e) => log(`stopping gateway ${g.pid}: ${String(e)}`))));
    for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    for (const name of databasesToDrop.splice(0)) {
      await adminQuery(`drop database if exists ${name} with (force)`).then(
        () => log(`dropped database ${name}`),
        (e) => log(`could not drop database ${name}: ${String(e)}`),
      );
    }
  })();
  return cleaningUp;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
// Last resort (an uncaught exit path): never leave gateways behind.
process.on('exit', () => {
  for (const g of gatewaysRunning) g.child.kill('SIGKILL');
});

// ---------------------------------------------------------------------------------------------
// Seeding

interface Seeded {
  engine: Engine;
  env: Record<string, string>;
  key: string;
  ids: string[];
  /** PostgreSQL database name (dropped at the end). */
  database?: string;
  method: string;
  seconds: number;
  summary: Record<string, number>;
}

/** A fresh database for the engine: a temp DATA_DIR, or a new database on the admin URL's server. */
async function freshDatabase(engine: Engine): Promise<{ env: Record<string, string>; database?: string }> {
  if (engine === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-scale-'));
    tempDirs.push(dir);
    return { env: { DATA_DIR: dir } };
  }
  const database = `cg_bench_${crypto.randomBytes(5).toString('hex')}`;
  await adminQuery(`create database ${database}`);
  databasesToDrop.push(database);
  const url = new URL(ADMIN_URL!);
  url.pathname = `/${database}`;
  return { env: { DATABASE_URL: url.toString() }, database };
}

/** Seeds through importCustomers (ndjson): the real validation and write path, one record at a time. */
async function seedByImport(engine: Engine): Promise<Seeded> {
  const { env, database } = await freshDatabase(engine);
  const store = openStore({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR });
  try {
    await migrateToLatest(store.db);
    // A normal (rate-limited) key, as a frontend would use.
    const issued = await issueKey(store.db, { workspace: 'bench', name: 'bench:scale' });
    const started = performance.now();
    let firstReject: unknown = null;
    const summary = await importCustomers(
      store.db,
      { workspaceId: issued.workspace.id, actor: 'bench-seed', via: 'import' },
      generatedCustomers(CUSTOMERS),
      {
        format: 'ndjson',
        batchSize: 500,
        onReject: (r) => {
          firstReject ??= r;
        },
        onBatch: (s) => {
          if (s.read % 5000 === 0) log(`${engine}: imported ${s.read} / ${CUSTOMERS}`);
        },
      },
    );
    const seconds = (performance.now() - started) / 1000;
    if (summary.created !== CUSTOMERS) {
      throw new Error(`${engine}: seeding created ${summary.created} of ${CUSTOMERS} (first reject: ${JSON.stringify(firstReject)})`);
    }
    const seeded = await describeSeed(store.db, issued.workspace.id);
    log(`${engine}: imported ${summary.created} customers with ${seeded.members} members in ${seconds.toFixed(1)} s (${Math.round(CUSTOMERS / seconds)}/s)`);
    return { engine, env, key: issued.key, ids: seeded.ids, database, method: 'importCustomers (ndjson)', seconds, summary: { ...summary, members: seeded.members } };
  } finally {
    await store.close();
  }
}

/** The ids to rotate over (every n-th customer by external id: the same customers on every engine) and the member count. */
async function describeSeed(db: Db, workspaceId: string) {
  const rows = await db.selectFrom('customers').select(['id', 'external_id']).where('workspace_id', '=', workspaceId).orderBy('external_id').execute();
  const step = Math.max(1, Math.floor(rows.length / ROTATING_IDS));
  const ids = rows.filter((_, i) => i % step === 0).slice(0, ROTATING_IDS).map((r) => r.id);
  const members = await db
    .selectFrom('members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirstOrThrow();
  return { ids, members: Number(members.n) };
}

/** Tables in foreign-key order; the kysely_migration* tables are the migrator's own. */
const TABLES = ['workspaces', 'api_keys', 'customers', 'members', 'actions', 'custom_field_definitions', 'custom_field_values'];

/**
 * Seeds PostgreSQL with exactly the rows the import wrote to SQLite (same ids, same audit log):
 * a migrated fresh database, multi-row inserts in one transaction, then VACUUM ANALYZE (what
 * autovacuum would soon do after a bulk load). Importing record by record over the network is
 * about 3x slower than into SQLite (BENCH_PG_SEED=import does it) and would not fit the time budget.
 */
async function seedByCopy(from: Seeded): Promise<Seeded> {
  const { env, database } = await freshDatabase('postgres');
  const started = performance.now();
  const store = openStore({ databaseUrl: env.DATABASE_URL });
  const source = new SqliteDatabase(path.join(from.env.DATA_DIR, SQLITE_FILE_NAME), { readonly: true });
  const client = new Client({ connectionString: env.DATABASE_URL });
  try {
    await migrateToLatest(store.db);
    await client.connect();
    await client.query('begin');
    const copied: Record<string, number> = {};
    for (const table of TABLES) {
      const columns = (source.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
      const rows = source.prepare(`select ${columns.join(', ')} from ${table}`).raw().all() as unknown[][];
      const perInsert = Math.max(1, Math.floor(30_000 / columns.length));
      for (let i = 0; i < rows.length; i += perInsert) {
        const chunk = rows.slice(i, i + perInsert);
        const values = chunk.map((_, r) => `(${columns.map((__, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ');
        await client.query(`insert into ${table} (${columns.join(', ')}) values ${values}`, chunk.flat());
      }
      copied[table] = rows.length;
    }
    await client.query('commit');
    await client.query('vacuum analyze');
    // One key of its own, issued on this database (the copied one would work too).
    const [workspace] = source.prepare(`select id from workspaces where name = 'bench'`).all() as { id: string }[];
    const issued = await issueKey(store.db, { workspace: 'bench', name: 'bench:scale' });
    if (issued.workspace.id !== workspace.id) throw new Error('the copied workspace was not found on PostgreSQL');
    const seeded = await describeSeed(store.db, issued.workspace.id);
    if (seeded.ids.join() !== from.ids.join()) throw new Error('PostgreSQL and SQLite disagree on the seeded customers');
    const seconds = (performance.now() - started) / 1000;
    log(`postgres: copied ${copied.customers} customers, ${copied.members} members, ${copied.actions} actions from SQLite in ${seconds.toFixed(1)} s`);
    return { engine: 'postgres', env, key: issued.key, ids: seeded.ids, database, method: 'row copy of the SQLite import + VACUUM ANALYZE', seconds, summary: copied };
  } finally {
    source.close();
    await client.end().catch(() => undefined);
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Gateway processes

interface Gateway {
  url: string;
  pid: number;
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}


async function startGateway(env: Record<string, string>, label: string): Promise<Gateway> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...env,
    ...LIMITS_ENV,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    EXPLORER: 'false',
    DATABASE_POOL_SIZE: String(POOL_SIZE),
  };
  if (!env.DATABASE_URL) delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, [SERVER], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const gateway: Gateway = { url: `http://127.0.0.1:${port}`, pid: child.pid!, child, output, exited };
  gatewaysRunning.add(gateway);
  void exited.then(() => gatewaysRunning.delete(gateway));
  let url = gateway.url;
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (output.length > 50) output.shift();
      if (line.includes('customer-gateway listening')) {
        url = (JSON.parse(line) as { url: string }).url.replace(/\/graphql$/, '').replace('localhost', '127.0.0.1');
      } else {
        log(`${label} (pid ${child.pid}): ${line}`);
      }
    });
  }
  // LOG_LEVEL=warn hides the info-level "listening" line: wait for /health instead.
  const deadline = Date.now() + 30_000;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${label} exited with ${exitCode} before listening:\n${output.join('\n')}`);
    if (Date.now() > deadline) throw new Error(`${label} did not answer /health within 30 s:\n${output.join('\n')}`);
    const healthy = await fetch(`${url}/health`).then((r) => r.status === 200, () => false);
    if (healthy) break;
    await sleep(100);
  }
  gateway.url = url;
  return gateway;
}

async function stopGateway(gateway: Gateway): Promise<void> {
  if (gateway.child.exitCode !== null || gateway.child.signalCode !== null) return;
  gateway.child.kill('SIGTERM');
  const code = await Promise.race([gateway.exited, sleep(15_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    log(`gateway ${gateway.pid} did not stop within 15 s of SIGTERM: killing it`);
    gateway.child.kill('SIGKILL');
    await gateway.exited;
  } else if (code !== 0) {
    log(`gateway ${gateway.pid} exited with ${code}`);
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (cheap "where does the time go")


/** CPU of the PostgreSQL cluster serving the bench: its postmaster and all its children. */
function postgresCpuMs(postmaster: number | null): number {
  if (postmaster === null) return 0;
  let total = processCpuMs(postmaster);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = fs.readFileSync(`/proc/${entry}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) === postmaster) total += processCpuMs(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return total;
}


let quietBudgetMs = QUIET_WAIT * 1000;


/** Waits (within the run's budget) until the machine is quiet; returns the cores busy at the end. */
async function waitForQuiet(): Promise<number> {
  let busy = await busyCoresNow();
  let announced = false;
  while (busy > 0.15 && quietBudgetMs > 0) {
    if (!announced) log(`waiting for the machine to go quiet (${busy.toFixed(2)} cores busy with other work; ${Math.round(quietBudgetMs / 1000)} s of waiting left)`);
    announced = true;
    quietBudgetMs -= 1000;
    busy = await busyCoresNow();
  }
  return busy;
}

interface CpuSnapshot {
  loadgenMs: number;
  gatewaysMs: number;
  postgresMs: number;
  machine: { busy: number; total: number };
}

function cpuSnapshot(gateways: Gateway[], postmaster: number | null): CpuSnapshot {
  const usage = process.cpuUsage();
  return {
    loadgenMs: (usage.user + usage.system) / 1000,
    gatewaysMs: gateways.reduce((sum, g) => sum + processCpuMs(g.pid), 0),
    postgresMs: postgresCpuMs(postmaster),
    machine: machineTicks(),
  };
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const CUSTOMER_QUERY =
  'query($id: ID!) { customer(id: $id) { id email name phone type status version createdAt updatedAt billingAddress { country state city } } }';
const PAGE_QUERY = '{ customers(first: 100) { nodes { id email name type status members(first: 10) { nodes { id email role } } } } }';

interface Scenario {
  name: string;
  /** autocannon request list for one instance (offset spreads instances over the ids). */
  requests(ids: string[], offset: number, counters: Counters): AutocannonRequest[];
  /** One response checked before the load, so a broken query fails loudly. */
  check(data: Record<string, any>): string | null;  
  body(ids: string[]): string;
}

interface Counters {
  errorBodies: number;
  nullCustomers: number;
  samples: string[];
}

function sample(counters: Counters, what: string) {
  if (counters.samples.length < 3) counters.samples.push(what.slice(0, 500));
}

const SCENARIOS: Scenario[] = [
  {
    name: 'customer(id)',
    body: (ids) => JSON.stringify({ query: CUSTOMER_QUERY, variables: { id: ids[0] } }),
    requests: (ids, offset, counters) => {
      let next = offset;
      return [
        {
          setupRequest: (request) => {
            request.body = JSON.stringify({ query: CUSTOMER_QUERY, variables: { id: ids[next++ % ids.length] } });
            return request;
          },
          onResponse: (status, body) => {
            if (body.includes('"customer":null')) {
              counters.nullCustomers += 1;
              sample(counters, `${status} ${body}`);
            }
          },
        },
      ];
    },
    check: (data) => (data.customer?.id ? null : 'customer(id) returned no customer'),
  },
  {
    name: 'page of 100 + members',
    body: () => JSON.stringify({ query: PAGE_QUERY }),
    requests: () => [{ body: JSON.stringify({ query: PAGE_QUERY }) }],
    check: (data) => {
      const nodes = data.customers?.nodes ?? [];
      if (nodes.length !== 100) return `expected 100 customers, got ${nodes.length}`;
      const withMembers = nodes.filter((n: { members: { nodes: unknown[] } }) => n.members.nodes.length > 0).length;
      return withMembers === 0 ? 'no customer on the page has members' : null;
    },
  },
];

interface RunResult {
  engine: Engine;
  processes: number;
  scenario: string;
  requestsPerSecond: number;
  /** Worst (highest) p50 / p99 over the autocannon instances, ms. */
  p50: number;
  p99: number;
  meanLatency: number;
  requests: number;
  errors: number;
  errorDetail: { non2xx: number; connectionErrors: number; timeouts: number; bodiesWithErrors: number; nullCustomers: number; warmupErrors: number };
  errorSamples: string[];
  valid: boolean;
  responseBytes: number;
  cpuMsPerRequest: { loadgen: number; gateways: number; postgres: number };
  machineBusy: number;
  /** Runs of this row (a disturbed run is repeated, the quieter kept). */
  attempts: number;
  /** Cores' worth of CPU used by processes other than the bench, its gateways and its PostgreSQL (another workload: noisy figures). */
  otherCores: number;
  /** Database statements per request (counted in-process, see statementsPerRequest). */
  statementsPerRequest: number | null;
}

async function runCannons(gateways: Gateway[], seeded: Seeded, scenario: Scenario, seconds: number, counters: Counters) {
  const perProcess = Math.max(1, Math.floor(CONNECTIONS / gateways.length));
  const instances = gateways.map((g, i) => {
    const instance = autocannon({
      url: `${g.url}/graphql`,
      connections: perProcess,
      duration: seconds,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${seeded.key}` },
      requests: scenario.requests(seeded.ids, Math.floor((i * seeded.ids.length) / gateways.length), counters),
      verifyBody: (body) => {
        if (!body.includes('"errors"')) return true;
        counters.errorBodies += 1;
        sample(counters, body);
        return false;
      },
    });
    cannonsRunning.add(instance);
    return Promise.resolve(instance).finally(() => cannonsRunning.delete(instance));
  });
  return Promise.all(instances);
}

async function measure(
  engine: Engine,
  gateways: Gateway[],
  seeded: Seeded,
  scenario: Scenario,
  postmaster: number | null,
  statements: Record<string, number>,
): Promise<RunResult> {
  // Sanity: one request through every gateway, checked for shape.
  let responseBytes = 0;
  for (const g of gateways) {
    const response = await fetch(`${g.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${seeded.key}` },
      body: scenario.body(seeded.ids),
    });
    const text = await response.text();
    responseBytes = text.length;
    const parsed = JSON.parse(text) as { data?: Record<string, unknown>; errors?: unknown };
    const problem = response.status !== 200 || parsed.errors ? `HTTP ${response.status}: ${text.slice(0, 500)}` : scenario.check(parsed.data ?? {});
    if (problem) throw new Error(`${engine} ${scenario.name} sanity check failed on ${g.url}: ${problem}`);
  }

  const warm: Counters = { errorBodies: 0, nullCustomers: 0, samples: [] };
  const warmResults = await runCannons(gateways, seeded, scenario, WARMUP, warm);
  const warmupErrors = warm.errorBodies + warm.nullCustomers + warmResults.reduce((s, r) => s + r.non2xx + r.errors, 0);

  const startedAt = performance.now();
  const before = cpuSnapshot(gateways, postmaster);
  const counters: Counters = { errorBodies: 0, nullCustomers: 0, samples: [...warm.samples] };
  const results = await runCannons(gateways, seeded, scenario, DURATION, counters);
  const after = cpuSnapshot(gateways, postmaster);
  const elapsedMs = performance.now() - startedAt;

  const requests = results.reduce((s, r) => s + r['2xx'] + r.non2xx, 0);
  const requestsPerSecond = results.reduce((s, r) => s + (r['2xx'] + r.non2xx) / r.duration, 0);
  const detail = {
    non2xx: results.reduce((s, r) => s + r.non2xx, 0),
    connectionErrors: results.reduce((s, r) => s + r.errors - r.timeouts, 0),
    timeouts: results.reduce((s, r) => s + r.timeouts, 0),
    bodiesWithErrors: counters.errorBodies,
    nullCustomers: counters.nullCustomers,
    warmupErrors,
  };
  const errors = detail.non2xx + detail.connectionErrors + detail.timeouts + detail.bodiesWithErrors + detail.nullCustomers;
  const per = (ms: number) => (requests > 0 ? Number((ms / requests).toFixed(3)) : 0);
  const machine = { busy: after.machine.busy - before.machine.busy, total: after.machine.total - before.machine.total };
  return {
    engine,
    processes: gateways.length,
    scenario: scenario.name,
    requestsPerSecond: Math.round(requestsPerSecond),
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    meanLatency: Number((results.reduce((s, r) => s + r.latency.mean * (r['2xx'] + r.non2xx), 0) / Math.max(1, requests)).toFixed(2)),
    requests,
    errors,
    errorDetail: detail,
    errorSamples: counters.samples,
    valid: errors === 0 && warmupErrors === 0,
    responseBytes,
    cpuMsPerRequest: {
      loadgen: per(after.loadgenMs - before.loadgenMs),
      gateways: per(after.gatewaysMs - before.gatewaysMs),
      postgres: per(after.postgresMs - before.postgresMs),
    },
    machineBusy: machine.total > 0 ? Number((machine.busy / machine.total).toFixed(3)) : 0,
    attempts: 1,
    otherCores: Number(
      Math.max(
        0,
        ((machine.busy * 1000) / CLK_TCK - (after.loadgenMs - before.loadgenMs) - (after.gatewaysMs - before.gatewaysMs) - (after.postgresMs - before.postgresMs)) /
          elapsedMs,
      ).toFixed(2),
    ),
    statementsPerRequest: statements[scenario.name] ?? null,
  };
}

/**
 * Database statements one request of each scenario costs (the round trips to PostgreSQL), counted
 * exactly: an in-process app on the same database with a query hook, one warm-up request first.
 */
async function statementsPerRequest(seeded: Seeded): Promise<Record<string, number>> {
  let statements = 0;
  const config = loadConfig({ ...seeded.env, ...LIMITS_ENV, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', EXPLORER: 'false', DATABASE_POOL_SIZE: '2' });
  const app = await createApp({ config, logger: createLogger('silent'), store: { onQuery: () => (statements += 1) } });
  try {
    const url = await app.listen(0, '127.0.0.1');
    const counts: Record<string, number> = {};
    for (const scenario of SCENARIOS) {
      const post = () =>
        fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${seeded.key}` },
          body: scenario.body(seeded.ids),
        }).then((r) => r.text());
      await post();
      const before = statements;
      await post();
      counts[scenario.name] = statements - before;
    }
    return counts;
  } finally {
    await app.stop(1000);
  }
}

// ---------------------------------------------------------------------------------------------
// Output

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

async function postmasterPid(): Promise<number | null> {
  if (!ADMIN_URL) return null;
  // The backend serving this connection is a child of the postmaster (read while it lives).
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    const status = fs.readFileSync(`/proc/${rows[0].pid}/status`, 'utf8');
    return Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) || null;
  } catch {
    return null; // PostgreSQL on another machine (or container): no CPU figures for it
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` (bench:scale compiles src with tsc first)`);
  const notes: string[] = [
    `The load generator (autocannon in this one Node process), the gateways and PostgreSQL share this machine's ${os.cpus().length} cores: compare the rows with each other, they are not capacity figures.`,
  ];
  let engines = ENGINES.filter((e) => e === 'sqlite' || e === 'postgres');
  if (engines.includes('postgres') && !ADMIN_URL) {
    const note = 'PostgreSQL skipped: BENCH_DATABASE_URL is unset (run `scripts/with-postgres.sh npm run bench:scale`).';
    process.stdout.write(`NOTE: ${note}\n`);
    notes.push(note);
    engines = engines.filter((e) => e !== 'postgres');
  }
  // Is anything else keeping the machine busy? (Figures taken meanwhile are disturbed.)
  const busyCores = await busyCoresNow();
  if (busyCores > DISTURBED_CORES) {
    const note = `Before the run, something else already kept ${busyCores.toFixed(2)} cores busy on this machine.`;
    log(note);
    notes.push(note);
  }
  const postmaster = engines.includes('postgres') ? await postmasterPid() : null;
  const pgVersion = engines.includes('postgres') ? (await adminQuery<{ v: string }>('select current_setting($$server_version$$) as v'))[0]?.v : null;
  // SQLite through importCustomers; PostgreSQL gets the same rows copied (or imported: BENCH_PG_SEED=import).
  const seededList: Seeded[] = [];
  let sqliteSeed: Seeded | undefined;
  if (engines.includes('sqlite') || PG_SEED === 'copy') {
    log(`importing ${CUSTOMERS} customers into SQLite`);
    sqliteSeed = await seedByImport('sqlite');
    if (engines.includes('sqlite')) seededList.push(sqliteSeed);
  }
  if (engines.includes('postgres')) {
    log(PG_SEED === 'copy' ? 'copying the seeded rows into a fresh PostgreSQL database' : `importing ${CUSTOMERS} customers into PostgreSQL`);
    seededList.push(PG_SEED === 'copy' ? await seedByCopy(sqliteSeed!) : await seedByImport('postgres'));
  }

  const results: RunResult[] = [];
  for (const seeded of seededList) {
    const statements = await statementsPerRequest(seeded);
    log(`${seeded.engine}: database statements per request: ${JSON.stringify(statements)}`);
    for (const count of PROCESS_COUNTS) {
      const label = `${seeded.engine} x${count}`;
      log(`${label}: starting ${count} gateway process(es)`);
      const gateways = await Promise.all(Array.from({ length: count }, (_, i) => startGateway(seeded.env, `${label} #${i + 1}`)));
      try {
        for (const scenario of SCENARIOS) {
          log(`${label}: ${scenario.name}: ${WARMUP} s warm-up + ${DURATION} s, ${CONNECTIONS} connections`);
          let result: RunResult | null = null;
          for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
            await waitForQuiet();
            const run = await measure(seeded.engine, gateways, seeded, scenario, seeded.engine === 'postgres' ? postmaster : null, statements);
            run.attempts = attempt;
            if (!result || run.otherCores < result.otherCores) result = { ...run };
            result.attempts = attempt;
            if (run.otherCores <= DISTURBED_CORES) break;
            if (attempt < ATTEMPTS) log(`${label}: ${scenario.name}: disturbed (${run.otherCores} cores used by other work meanwhile): running it again`);
          }
          if (!result) throw new Error('no attempt ran');
          results.push(result);
          log(
            `${label}: ${scenario.name}: ${result.requestsPerSecond} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, errors ${result.errors}` +
              (result.errorSamples.length ? `\n  e.g. ${result.errorSamples.join('\n  e.g. ')}` : ''),
          );
        }
      } finally {
        // autocannon abandons the requests in flight when its time is up; let the gateways finish
        // them before SIGTERM (else they fail on a closed database and log it).
        await sleep(1000);
        await Promise.all(gateways.map(stopGateway));
      }
    }
  }

  // Table
  const rows = [['engine', 'processes', 'scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'valid', 'cpu ms/req gw+pg+lg', 'stmts/req', 'busy', 'other']];
  for (const r of results) {
    rows.push([
      r.engine,
      String(r.processes),
      r.scenario,
      String(r.requestsPerSecond),
      String(r.p50),
      String(r.p99),
      String(r.errors),
      r.valid ? 'yes' : 'INVALID',
      `${r.cpuMsPerRequest.gateways.toFixed(2)}+${r.cpuMsPerRequest.postgres.toFixed(2)}+${r.cpuMsPerRequest.loadgen.toFixed(2)}`,
      r.statementsPerRequest === null ? '-' : String(r.statementsPerRequest),
      `${Math.round(r.machineBusy * 100)}%`,
      r.otherCores.toFixed(2),
    ]);
  }
  const out: string[] = [];
  out.push('');
  out.push(`bench:scale: ${CUSTOMERS} customers, ${WARMUP} s warm-up + ${DURATION} s per row, ${CONNECTIONS} connections split over the processes, pool ${POOL_SIZE}/process`);
  out.push(`node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}${pgVersion ? `, PostgreSQL ${pgVersion}` : ''}`);
  out.push('');
  out.push(table(rows));
  out.push('');
  out.push('p50/p99: the worst of the per-process autocannon instances. cpu ms/req: CPU time per request of the gateway processes + the');
  out.push('PostgreSQL cluster + the load generator. stmts/req: database statements (round trips on PostgreSQL) per request.');
  out.push('busy: whole-machine CPU use while measuring; other: cores used meanwhile by anything else on the machine (kernel, other jobs).');
  const noisy = results.filter((r) => r.otherCores > DISTURBED_CORES);
  if (noisy.length > 0) {
    const which = noisy.map((r) => `${r.engine} x${r.processes} ${r.scenario}`).join('; ');
    notes.push(`DISTURBED: ${which} ran while other work used > ${DISTURBED_CORES} cores of this machine (column other), also after retries: re-run on a quiet machine.`);
  }
  const retried = results.filter((r) => r.attempts > 1);
  if (retried.length > 0) notes.push(`Re-run because other work disturbed the first run: ${retried.map((r) => `${r.engine} x${r.processes} ${r.scenario}`).join('; ')}.`);

  const ratios: { processes: number; scenario: string; requestsPerSecond: number; p99: number; valid: boolean }[] = [];
  if (engines.includes('postgres') && engines.includes('sqlite')) {
    const ratioRows = [['processes', 'scenario', '', 'req/s pg/sqlite', 'p99 pg/sqlite', 'valid']];
    for (const count of PROCESS_COUNTS) {
      for (const scenario of SCENARIOS) {
        const pg = results.find((r) => r.engine === 'postgres' && r.processes === count && r.scenario === scenario.name);
        const lite = results.find((r) => r.engine === 'sqlite' && r.processes === count && r.scenario === scenario.name);
        if (!pg || !lite) continue;
        const ratio = {
          processes: count,
          scenario: scenario.name,
          requestsPerSecond: Number((pg.requestsPerSecond / lite.requestsPerSecond).toFixed(2)),
          p99: Number((pg.p99 / Math.max(lite.p99, 0.001)).toFixed(2)),
          valid: pg.valid && lite.valid,
        };
        ratios.push(ratio);
        ratioRows.push([String(count), scenario.name, '', ratio.requestsPerSecond.toFixed(2), ratio.p99.toFixed(2), ratio.valid ? 'yes' : 'INVALID']);
      }
    }
    out.push('');
    out.push('PostgreSQL / SQLite, same run:');
    out.push(table(ratioRows));
  }
  const scaling: { engine: Engine; scenario: string; requestsPerSecond2vs1: number }[] = [];
  if (PROCESS_COUNTS.includes(1) && PROCESS_COUNTS.includes(2)) {
    for (const engine of engines) {
      for (const scenario of SCENARIOS) {
        const one = results.find((r) => r.engine === engine && r.processes === 1 && r.scenario === scenario.name);
        const two = results.find((r) => r.engine === engine && r.processes === 2 && r.scenario === scenario.name);
        if (one && two) scaling.push({ engine, scenario: scenario.name, requestsPerSecond2vs1: Number((two.requestsPerSecond / one.requestsPerSecond).toFixed(2)) });
      }
    }
    out.push('');
    out.push('2 processes / 1 process (req/s): ' + scaling.map((s) => `${s.engine} ${s.scenario} ${s.requestsPerSecond2vs1.toFixed(2)}`).join('; '));
  }
  const invalid = results.filter((r) => !r.valid);
  if (invalid.length > 0) {
    out.push('');
    out.push(`INVALID runs (errors during warm-up or measurement): ${invalid.map((r) => `${r.engine} x${r.processes} ${r.scenario} ${JSON.stringify(r.errorDetail)}`).join('; ')}`);
  }
  out.push('');
  for (const note of notes) out.push(`Note: ${note}`);
  process.stdout.write(out.join('\n') + '\n');

  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  const json = {
    benchmark: 'scale',
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    totalMemoryMb: Math.round(os.totalmem() / 1024 / 1024),
    postgresVersion: pgVersion,
    config: { customers: CUSTOMERS, warmupSeconds: WARMUP, durationSeconds: DURATION, connections: CONNECTIONS, processCounts: PROCESS_COUNTS, poolSizePerProcess: POOL_SIZE, rotatingIds: ROTATING_IDS },
    queries: { customer: CUSTOMER_QUERY, page: PAGE_QUERY },
    seeding: Object.fromEntries(seededList.map((s) => [s.engine, { method: s.method, seconds: Number(s.seconds.toFixed(1)), ...s.summary }])),
    results,
    ratiosPostgresToSqlite: ratios,
    scaling2vs1: scaling,
    notes,
  };
  fs.writeFileSync(RESULTS, JSON.stringify(json, null, 2) + '\n');
  log(`results written to ${path.relative(process.cwd(), RESULTS)}`);
  if (invalid.length > 0) process.exitCode = 1;
}

main()
  .catch((error: unknown) => {
    process.exitCode = 1;
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  })
  .finally(() => cleanup());
