/**
 * For the benchmarks that compare variants of the compiled gateway (`dist/src/index.js`) over
 * HTTP in interleaved rounds (bench:auth, bench:ops): a small SQLite dataset, the gateway as
 * its own process, one autocannon run with the gateway's CPU per request, and the per-variant
 * summary as medians of per-round ratios to a baseline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createCustomer } from '../../src/services/customers';
import { issueKey } from '../../src/services/keys';
import type { KeyScope } from '../../src/services/scopes';
import { migrateToLatest, openStore } from '../../src/store/db';
import { autocannon } from './autocannon';
import { processCpuMs } from './machine';
import { freePort } from './services';

export const COMPILED_SERVER = path.resolve(__dirname, '../../src/index.js');

export function requireCompiledServer(): void {
  if (!fs.existsSync(COMPILED_SERVER)) throw new Error(`${COMPILED_SERVER} is missing: run npm run build first`);
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
export const round3 = (value: number) => Math.round(value * 1000) / 1000;

/**
 * A migrated SQLite database in `dir` with `customers` customers in workspace `bench`, and one
 * key per entry of `keys` (name -> its scopes; undefined: every scope). Returns the ids and the keys.
 */
export async function seedWorkspace(dir: string, customers: number, keys: Record<string, readonly KeyScope[] | undefined>): Promise<{ ids: string[]; keys: Record<string, string> }> {
  const store = openStore({ dataDir: dir });
  await migrateToLatest(store.db);
  const issued: Record<string, string> = {};
  for (const [name, scopes] of Object.entries(keys)) issued[name] = (await issueKey(store.db, { workspace: 'bench', name, scopes: scopes ? [...scopes] : undefined })).key;
  const who = { workspaceId: (await issueKey(store.db, { workspace: 'bench', name: 'seed' })).workspace.id, actor: 'bench', via: 'bench' };
  const ids: string[] = [];
  for (let i = 0; i < customers; i++) {
    const created = await createCustomer(store.db, who, { email: `c${i}@bench.test`, firstName: `C${i}`, lastName: 'Bench' });
    if (created.customer) ids.push(created.customer.id);
  }
  await store.close();
  return { ids, keys: issued };
}

/** The compiled gateway on `dir`'s database, rate limiting on with a bucket no run empties, plus `env`. */
export async function startCompiledGateway(dir: string, env: Record<string, string>): Promise<{ url: string; child: ChildProcess; pid: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, [COMPILED_SERVER], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      RATE_LIMIT_BUCKET: '1000000000',
      RATE_LIMIT_RESTORE: '1000000000',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode}`);
    if (await fetch(`${url}/livez`).then((r) => r.ok, () => false)) return { url, child, pid: child.pid as number };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the gateway did not answer /livez within 20 s');
}

export interface HttpRun {
  requestsPerSecond: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  /** Transport errors, timeouts, non-2xx and answers with GraphQL errors. */
  errors: number;
}

/** One autocannon run of POST /graphql with `bearer`, each body from `body()`; CPU is process `pid`'s. */
export async function runGraphql(url: string, pid: number, options: { bearer: string; body: () => string; seconds: number; connections: number }): Promise<HttpRun> {
  let bad = 0;
  const cpuBefore = processCpuMs(pid);
  const result = await autocannon({
    url: `${url}/graphql`,
    connections: options.connections,
    duration: options.seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.bearer}` },
    requests: [
      {
        setupRequest: (request) => ({ ...request, body: options.body() }),
        onResponse: (status, body) => {
          if (status !== 200 || body.includes('"errors"')) bad += 1;
        },
      },
    ],
  });
  return {
    requestsPerSecond: Math.round((result.requests.total / result.duration) * 10) / 10,
    p99Ms: result.latency.p99,
    cpuMsPerRequest: round3((processCpuMs(pid) - cpuBefore) / Math.max(1, result.requests.total)),
    errors: result.errors + result.timeouts + result.non2xx + bad,
  };
}

/** One variant's runs (one per round) against the baseline's runs of the same rounds. */
export function summarizeRuns(mine: HttpRun[], baseline: HttpRun[]) {
  const ratios = mine.map((run, i) => run.requestsPerSecond / (baseline[i].requestsPerSecond || 1));
  return {
    requestsPerSecond: median(mine.map((x) => x.requestsPerSecond)),
    p99Ms: median(mine.map((x) => x.p99Ms)),
    cpuMsPerRequest: median(mine.map((x) => x.cpuMsPerRequest)),
    errors: mine.reduce((sum, x) => sum + x.errors, 0),
    ratio: round3(median(ratios)),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)].map(round3),
  };
}
