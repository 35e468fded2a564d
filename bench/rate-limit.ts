/**
 * Benchmark (not a test): what the per-key rate-limit check adds to a request.
 *
 *   npm run bench:rate-limit                                   (SQLite: buckets in memory)
 *   scripts/with-postgres.sh npm run bench:rate-limit          (and PostgreSQL: shared buckets)
 *
 * For each engine: a fresh migrated database with 20 customers, one Apollo server with rate
 * limiting on (a bucket too big to run dry), and two keys of one workspace: a rate-limited one
 * and an exempt one (--no-rate-limit), which is priced but never touches a bucket. The same
 * operation runs sequentially through executeOperation, alternating the two keys request by
 * request so drift on this shared machine hits both alike; the difference of the median
 * per-request times is what the check costs, and per round (BENCH_REQUESTS / BENCH_ROUNDS
 * requests a key) the ratio of the medians is printed as "rate-limited key / exempt key", one
 * request at a time (where a round trip shows in full). Two operations:
 *   - `customer(id)`: cost 1 and actual 1, so one charge and no refund;
 *   - `customers(first: 50)` over 20 rows: requested 52, actual 22, so a charge and a refund.
 * (On PostgreSQL both are answered from the instance's local copy of the bucket, reconciled in
 * the background every 100 ms; before issue 18, a statement each.)
 * Also the bucket store alone (charge, and charge + refund) in a tight loop, next to a bare
 * `select 1` for the price of one round trip; and pricing alone (requested and actual cost of a
 * page of 100 customers with 10 members each), which every request pays, exempt or not.
 * Over HTTP, as clients meet it: the compiled gateway (dist/src/index.js) as its own process on
 * the same fresh database, autocannon here sending `customer(id)` (BENCH_CONNECTIONS connections)
 * with the rate-limited key and with the exempt key in interleaved rounds (limited, exempt,
 * exempt, limited, ...); printed as "customer(id) rate-limited key / exempt key", the median of the
 * per-round ratios of requests per second, and the same by CPU per request (gateway process plus
 * its PostgreSQL backends), the steadier of the two on a shared machine.
 * Results: printed, and bench/results/rate-limit.json.
 *
 * Knobs: BENCH_REQUESTS=3000 (per key and operation), BENCH_STORE_OPS=5000, BENCH_ROUNDS=5,
 * BENCH_DURATION=5 (seconds a round and key), BENCH_CONNECTIONS=10.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { getOperationAST, parse } from 'graphql';
import { loadConfig } from '../src/config';
import { createContext } from '../src/graphql/context';
import { limitsFromConfig } from '../src/app';
import type { BucketStore } from '../src/graphql/limits/rate-limit';
import { createLogger } from '../src/shared/logger';
import { buildSchema, createApolloServer } from '../src/graphql/server';
import { actualQueryCost, requestedQueryCost } from '../src/graphql/limits/cost';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { migrateToLatest, openStore, type Store } from '../src/store/db';
import { autocannon } from './lib/autocannon';
import { processCpuMs } from './lib/machine';
import { adminQuery as adminQueryAt } from './lib/services';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const STORE_OPS = Number(process.env.BENCH_STORE_OPS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SERVER = path.resolve(__dirname, '../src/index.js');
const ADMIN_URL = process.env.BENCH_DATABASE_URL || undefined;
const adminQuery = async (sql: string): Promise<void> => void (await adminQueryAt(ADMIN_URL, sql));
const RESULTS = path.resolve(__dirname, '../../bench/results/rate-limit.json');
const logger = createLogger('silent');
const log = (message: string) => process.stderr.write(`[bench:rate-limit] ${message}\n`);

const OPERATIONS = {
  'customer(id), charge only': 'query($id: ID!) { customer(id: $id) { id email name } }',
  'customers(first: 50), charge + refund': '{ customers(first: 50) { nodes { id email } } }',
} as const;

const PAGE = '{ customers(first: 100) { nodes { id email members(first: 10) { nodes { id role } } } } }';
const CREATE = 'mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { code } } }';

type Engine = 'sqlite' | 'postgres';

interface Fresh {
  store: Store;
  /** DATABASE_URL or DATA_DIR for a gateway process on the same database. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

async function freshStore(engine: Engine): Promise<Fresh> {
  if (engine === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-rl-'));
    const store = openStore({ dataDir: dir });
    return { store, env: { DATA_DIR: dir }, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `cg_bench_rl_${crypto.randomBytes(5).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(ADMIN_URL!);
  url.pathname = `/${name}`;
  const store = openStore({ databaseUrl: url.toString(), poolSize: 4 });
  return { store, env: { DATABASE_URL: url.toString() }, drop: () => adminQuery(`drop database if exists ${name} with (force)`) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const micros = (ns: bigint, count: number) => Number(ns) / 1e3 / count;

async function timeLoop(count: number, run: () => unknown): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i += 1) await run();
  return micros(process.hrtime.bigint() - started, count);
}

async function benchEngine(engine: Engine) {
  const fresh = await freshStore(engine);
  const { store } = fresh;
  try {
    await migrateToLatest(store.db);
    const limited = await issueKey(store.db, { workspace: 'bench', name: 'limited' });
    const exempt = await issueKey(store.db, { workspace: 'bench', name: 'exempt', rateLimited: false });
    const deps = { db: store.db, publicUrl: 'http://bench.test', logger };
    const config = loadConfig({ RATE_LIMIT: 'on', RATE_LIMIT_BUCKET: '1000000000', RATE_LIMIT_RESTORE: '1000000000' });
    const limits = limitsFromConfig(config, store);
    const apollo = createApolloServer({ logger, cost: limits });
    await apollo.start();
    let someId = '';
    const ids: string[] = [];
    const run = async (key: IssuedKey, query: string, variables: Record<string, unknown> = { id: someId }) => {
      const contextValue = createContext(deps, { workspace: key.workspace, apiKey: key.record });
      const response = await apollo.executeOperation<Record<string, any>>({ query, variables }, { contextValue });
      if (response.body.kind !== 'single' || response.body.singleResult.errors) throw new Error(`bench query failed: ${JSON.stringify(response.body)}`);
      return response.body.singleResult.data;
    };
    for (let i = 0; i < 20; i += 1) {
      const data = await run(exempt, CREATE, { input: { email: `c${i}@bench.example`, firstName: `C${i}` } });
      someId = data?.createCustomer.customer.id;
      ids.push(someId);
    }

    const operations: Record<string, { limitedUs: number; exemptUs: number; addedUs: number; ratio: number; ratios: number[] }> = {};
    for (const [label, query] of Object.entries(OPERATIONS)) {
      for (let i = 0; i < 200; i += 1) await Promise.all([run(limited, query), run(exempt, query)]); // warm-up
      // Alternate request by request and compare medians: drift on a shared machine hits both alike.
      // Per round (REQUESTS / ROUNDS requests a key), the ratio of the medians: requests a second
      // one at a time, rate-limited key / exempt key.
      const limitedTimes: number[] = [];
      const exemptTimes: number[] = [];
      const ratios: number[] = [];
      const perRound = Math.max(1, Math.floor(REQUESTS / ROUNDS));
      for (let i = 0; i < REQUESTS; i += 1) {
        const order: [IssuedKey, number[]][] = i % 2 === 0 ? [[limited, limitedTimes], [exempt, exemptTimes]] : [[exempt, exemptTimes], [limited, limitedTimes]];
        for (const [key, into] of order) into.push(await timeLoop(1, () => run(key, query)));
        if ((i + 1) % perRound === 0) ratios.push(round2(median(exemptTimes.slice(-perRound)) / median(limitedTimes.slice(-perRound))));
      }
      const limitedUs = median(limitedTimes);
      const exemptUs = median(exemptTimes);
      const ratio = round2(median(ratios));
      operations[label] = { limitedUs: round1(limitedUs), exemptUs: round1(exemptUs), addedUs: round1(limitedUs - exemptUs), ratio, ratios };
      log(`${engine} ${label}: ${round1(exemptUs)} us exempt, ${round1(limitedUs)} us rate-limited, +${round1(limitedUs - exemptUs)} us`);
      log(`${engine} ${label} one at a time, rate-limited key / exempt key: ${ratio} (per round: ${ratios.join(', ')})`);
    }
    await apollo.stop();

    const buckets = limits.buckets as BucketStore;
    const keyId = `bench-${crypto.randomUUID()}`;
    const charge = await timeLoop(STORE_OPS, () => buckets.charge(keyId, 1));
    const chargeRefund = await timeLoop(STORE_OPS, async () => {
      await buckets.charge(keyId, 52);
      await buckets.refund(keyId, 30);
    });
    await buckets.close?.();
    // For scale: one round trip that does nothing (PostgreSQL) or the cheapest statement (SQLite).
    const roundTrip = await timeLoop(STORE_OPS, () => sql`select 1`.execute(store.db));
    const store_ = { chargeUs: round1(charge), chargeAndRefundUs: round1(chargeRefund), select1Us: round1(roundTrip) };
    log(`${engine} bucket store alone: charge ${store_.chargeUs} us, charge + refund ${store_.chargeAndRefundUs} us; select 1: ${store_.select1Us} us`);
    const http = await benchHttp(engine, store, fresh.env, limited, exempt, ids);
    const bucketStore = engine === 'postgres' ? 'unlogged table, local copies reconciled every 100 ms' : 'process memory';
    return { engine, bucketStore, operations, store: store_, http };
  } finally {
    await store.close();
    await fresh.drop();
  }
}

const round1 = (value: number) => Math.round(value * 10) / 10;
const round2 = (value: number) => Math.round(value * 100) / 100;

/** The compiled gateway as its own process on `env`'s database; resolves its /graphql URL and a stop. */
function startGateway(env: Record<string, string>): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [SERVER], {
    // Rate limiting on with a bucket no round empties: the limited key pays for its bucket, nothing is throttled.
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', EXPLORER: 'false', NODE_ENV: 'production', RATE_LIMIT: 'on', RATE_LIMIT_BUCKET: '1000000000', RATE_LIMIT_RESTORE: '1000000000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM'))));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
    let seen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((each) => each.includes('customer-gateway listening'));
      if (line) resolve({ url: (JSON.parse(line) as { url: string }).url.replace('localhost', '127.0.0.1'), pid: child.pid!, stop });
    });
  });
}

/** Requests per second (and how many) of `customer(id)` over HTTP with one key for `seconds`, the ids taken in turn; throws on any error. */
async function httpRound(url: string, key: IssuedKey, ids: string[], seconds: number): Promise<{ rps: number; requests: number }> {
  let n = 0;
  let bad = 0;
  let firstBad: string | undefined;
  const query = OPERATIONS['customer(id), charge only'];
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
    requests: [
      {
        setupRequest: (request) => {
          request.body = JSON.stringify({ query, variables: { id: ids[n++ % ids.length] } });
          return request;
        },
        onResponse: (status, body) => {
          if (status === 200 && !body.includes('"errors"')) return;
          bad += 1;
          firstBad ??= `HTTP ${status} ${body.slice(0, 300)}`;
        },
      },
    ],
  });
  const errors = bad + result.errors + result.timeouts;
  if (errors > 0) {
    const which = key.record.rateLimited ? 'rate-limited' : 'exempt';
    throw new Error(`${errors} failed requests with the ${which} key (${result.timeouts} timeouts, ${result.errors} errors; first answer: ${firstBad ?? 'none'})`);
  }
  return { rps: result.requests.total / result.duration, requests: result.requests.total };
}

/**
 * customer(id) over HTTP, rate-limited key against exempt key on one gateway process, in
 * interleaved rounds. Two ratios a round: requests per second, and CPU per request of the
 * gateway and its PostgreSQL backends together (exempt / rate-limited), which other work on a
 * shared machine disturbs far less than requests per second.
 */
async function benchHttp(engine: Engine, store: Store, env: Record<string, string>, limited: IssuedKey, exempt: IssuedKey, ids: string[]) {
  const gateway = await startGateway(env);
  /** The gateway's connections' backends (PostgreSQL); their CPU is part of what a request costs. */
  const backends = async () =>
    engine === 'postgres' ? (await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`.execute(store.db)).rows.map((r) => r.pid) : [];
  const measure = async (key: IssuedKey) => {
    const pids = [gateway.pid, ...(await backends())];
    const cpu = () => pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
    const before = cpu();
    const { rps, requests } = await httpRound(gateway.url, key, ids, DURATION);
    return { rps, cpuMs: (cpu() - before) / Math.max(1, requests) };
  };
  try {
    await httpRound(gateway.url, limited, ids, 1); // warm-up
    await httpRound(gateway.url, exempt, ids, 1);
    const rounds: { limitedRps: number; exemptRps: number; ratio: number; limitedCpuMs: number; exemptCpuMs: number; cpuRatio: number }[] = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      const order = i % 2 === 0 ? [limited, exempt] : [exempt, limited];
      const got = new Map<IssuedKey, { rps: number; cpuMs: number }>();
      for (const key of order) got.set(key, await measure(key));
      const [a, b] = [got.get(limited)!, got.get(exempt)!];
      rounds.push({
        limitedRps: round1(a.rps),
        exemptRps: round1(b.rps),
        ratio: round2(a.rps / b.rps),
        limitedCpuMs: round2(a.cpuMs),
        exemptCpuMs: round2(b.cpuMs),
        cpuRatio: round2(b.cpuMs / a.cpuMs),
      });
    }
    const ratio = round2(median(rounds.map((r) => r.ratio)));
    const cpuRatio = round2(median(rounds.map((r) => r.cpuRatio)));
    log(`${engine} customer(id) rate-limited key / exempt key: ${ratio} (per round: ${rounds.map((r) => r.ratio).join(', ')}; req/s ${rounds.map((r) => `${r.limitedRps}/${r.exemptRps}`).join(', ')})`);
    log(`${engine} customer(id) rate-limited key / exempt key, by CPU per request: ${cpuRatio} (per round: ${rounds.map((r) => r.cpuRatio).join(', ')}; ms ${rounds.map((r) => `${r.limitedCpuMs}/${r.exemptCpuMs}`).join(', ')})`);
    return { scenario: 'customer(id) rate-limited key / exempt key', connections: CONNECTIONS, secondsPerRound: DURATION, ratio, cpuRatio, rounds };
  } finally {
    await gateway.stop();
  }
}

/**
 * Pricing alone, no database: the requested cost of a page of 100 customers with 10 members each
 * (before execution) and its actual cost from a result of that size (after).
 */
async function benchPricing() {
  const schema = buildSchema();
  const document = parse(PAGE);
  const operation = getOperationAST(document)!;
  const data = { customers: { nodes: Array.from({ length: 100 }, (_, i) => ({ id: `c${i}`, email: 'e', members: { nodes: Array.from({ length: 10 }, (__, j) => ({ id: `m${j}`, role: 'MEMBER' })) } })) } };
  const requestedUs = await timeLoop(STORE_OPS, async () => requestedQueryCost({ schema, document }));
  const actualUs = await timeLoop(Math.ceil(STORE_OPS / 10), async () => actualQueryCost({ schema, document, operation }, data));
  const pricing = { query: PAGE, requestedQueryCost: requestedQueryCost({ schema, document }), requestedUs: round1(requestedUs), actualUs: round1(actualUs) };
  log(`pricing ${PAGE}: requested cost (${pricing.requestedQueryCost}) ${pricing.requestedUs} us, actual cost of 100 + 1000 rows ${pricing.actualUs} us`);
  return pricing;
}

async function main() {
  const engines: Engine[] = ADMIN_URL ? ['sqlite', 'postgres'] : ['sqlite'];
  if (!ADMIN_URL) log('PostgreSQL skipped: BENCH_DATABASE_URL is unset (run `scripts/with-postgres.sh npm run bench:rate-limit`).');
  const pricing = await benchPricing();
  const results = [];
  for (const engine of engines) results.push(await benchEngine(engine));
  const report = {
    benchmark: 'rate-limit',
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    config: { requestsPerKey: REQUESTS, storeOps: STORE_OPS, rounds: ROUNDS, secondsPerRound: DURATION, connections: CONNECTIONS },
    note: 'Sequential executeOperation calls, the two keys alternating; added = median(rate-limited key) - median(exempt key), per request, in microseconds. http: customer(id) over HTTP against one gateway process, requests per second of the rate-limited key / the exempt key, median of interleaved per-round ratios. The PostgreSQL cluster of scripts/with-postgres.sh runs with fsync=off.',
    pricing,
    results,
  };
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, JSON.stringify(report, null, 2) + '\n');
  console.log(JSON.stringify(report, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
