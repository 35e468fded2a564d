/**
 * Benchmark (not a test): what a credential costs on the request path, measured over HTTP on one
 * compiled gateway (`dist/src/index.js`, SQLite, rate limiting on with a bucket too big to run dry).
 *
 *   npm run bench:auth
 *
 * The same `customer(id)` request is sent with four credentials, in interleaved rounds (each
 * round runs every credential once, in turn) so drift on this shared machine hits all alike:
 *   - `key`: an API key made without --scope (every scope): the baseline;
 *   - `scoped key`: a key with --scope customers:read only (the scope check's own cost);
 *   - `JWT RS256` / `JWT ES256`: bearer tokens with scope customers:read, signed by keys this
 *     bench publishes from a loopback JWKS endpoint; verified once, then served from the
 *     per-token cache, as a browser's repeated requests are.
 * Ratios are medians of per-round ratios against `key` (issue 14's target: a JWT at >= 0.9).
 * Results: printed, and bench/results/auth.json.
 *
 * Knobs: BENCH_ROUNDS=5, BENCH_DURATION=5 (seconds per credential and round), BENCH_WARMUP=2,
 * BENCH_CONNECTIONS=10, BENCH_CUSTOMERS=2000.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { createCustomer } from '../src/services/customers';
import { issueKey } from '../src/services/keys';
import { migrateToLatest, openStore } from '../src/store/db';
import { autocannon } from './lib/autocannon';
import { processCpuMs } from './lib/machine';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 2000);
const RESULTS = path.resolve(__dirname, '../../bench/results/auth.json');
const SERVER = path.resolve(__dirname, '../src/index.js');
const ISSUER = 'https://id.bench.test';
const AUDIENCE = 'customer-gateway-bench';
const QUERY = 'query($id: ID!) { customer(id: $id) { id email name } }';
const log = (message: string) => process.stderr.write(`[bench:auth] ${message}\n`);

interface Signer {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signer(kid: string, alg: Signer['alg']): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** The identity provider's key set on loopback: what JWT_JWKS_URL points at. */
async function jwksServer(signers: Signer[]): Promise<{ url: string; close(): void }> {
  const body = JSON.stringify({ keys: signers.map((s) => s.jwk) });
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, close: () => server.close() };
}

function token(s: Signer, subject: string): Promise<string> {
  return new SignJWT({ workspace: 'bench', scope: 'customers:read' })
    .setProtectedHeader({ alg: s.alg, kid: s.kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(s.privateKey);
}

async function seed(dir: string): Promise<{ ids: string[]; key: string; scopedKey: string }> {
  const store = openStore({ dataDir: dir });
  await migrateToLatest(store.db);
  const key = (await issueKey(store.db, { workspace: 'bench', name: 'all scopes' })).key;
  const scopedKey = (await issueKey(store.db, { workspace: 'bench', name: 'read only', scopes: ['customers:read'] })).key;
  const ids: string[] = [];
  const who = { workspaceId: (await issueKey(store.db, { workspace: 'bench', name: 'seed' })).workspace.id, actor: 'bench', via: 'bench' };
  for (let i = 0; i < CUSTOMERS; i++) {
    const created = await createCustomer(store.db, who, { email: `c${i}@bench.test`, firstName: `C${i}`, lastName: 'Bench' });
    if (created.customer) ids.push(created.customer.id);
  }
  await store.close();
  return { ids, key, scopedKey };
}

/** A port free now, for the gateway to listen on (it logs its address only at info level). */
async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function startGateway(dir: string, jwksUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_BUCKET: '1000000000',
      RATE_LIMIT_RESTORE: '1000000000',
      JWT_JWKS_URL: jwksUrl,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode}`);
    const up = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (up) return { url, child };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the gateway did not answer /health within 20 s');
}

interface Round {
  credential: string;
  requestsPerSecond: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  errors: number;
}

async function load(url: string, pid: number, credential: string, bearer: string, ids: string[], seconds: number): Promise<Round> {
  let n = 0;
  let bad = 0;
  const cpuBefore = processCpuMs(pid);
  const result = await autocannon({
    url: `${url}/graphql`,
    connections: CONNECTIONS,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    requests: [
      {
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ query: QUERY, variables: { id: ids[(n++ * 7919) % ids.length] } }) }),
        onResponse: (status, body) => {
          if (status !== 200 || body.includes('"errors"')) bad += 1;
        },
      },
    ],
  });
  return {
    credential,
    requestsPerSecond: Math.round((result.requests.total / result.duration) * 10) / 10,
    p99Ms: result.latency.p99,
    cpuMsPerRequest: Math.round(((processCpuMs(pid) - cpuBefore) / Math.max(1, result.requests.total)) * 1000) / 1000,
    errors: result.errors + result.timeouts + result.non2xx + bad,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  if (!fs.existsSync(SERVER)) throw new Error(`${SERVER} is missing: run npm run build first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-auth-'));
  const signers = [await signer('rsa-1', 'RS256'), await signer('ec-1', 'ES256')];
  const jwks = await jwksServer(signers);
  log(`seeding ${CUSTOMERS} customers`);
  const { ids, key, scopedKey } = await seed(dir);
  const credentials: [string, string][] = [
    ['key', key],
    ['scoped key', scopedKey],
    ['JWT RS256', await token(signers[0], 'user-rs')],
    ['JWT ES256', await token(signers[1], 'user-es')],
  ];
  const gateway = await startGateway(dir, jwks.url);
  const pid = gateway.child.pid as number;
  try {
    for (const [name, bearer] of credentials) await load(gateway.url, pid, name, bearer, ids, WARMUP);
    const rounds: Round[][] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const round: Round[] = [];
      for (const [name, bearer] of credentials) round.push(await load(gateway.url, pid, name, bearer, ids, DURATION));
      rounds.push(round);
      log(`round ${r + 1}: ${round.map((x) => `${x.credential} ${x.requestsPerSecond}/s`).join(', ')}`);
    }
    const summary = credentials.map(([name]) => {
      const mine = rounds.map((round) => round.find((x) => x.credential === name) as Round);
      const ratios = rounds.map((round, i) => mine[i].requestsPerSecond / (round[0].requestsPerSecond || 1));
      return {
        credential: name,
        requestsPerSecond: median(mine.map((x) => x.requestsPerSecond)),
        p99Ms: median(mine.map((x) => x.p99Ms)),
        cpuMsPerRequest: median(mine.map((x) => x.cpuMsPerRequest)),
        errors: mine.reduce((sum, x) => sum + x.errors, 0),
        ratioToKey: Math.round(median(ratios) * 1000) / 1000,
        ratioRange: [Math.min(...ratios), Math.max(...ratios)].map((v) => Math.round(v * 1000) / 1000),
      };
    });
    for (const row of summary) {
      log(`${row.credential.padEnd(11)} ${String(row.requestsPerSecond).padStart(8)} req/s  p99 ${row.p99Ms} ms  CPU ${row.cpuMsPerRequest} ms/req  ratio to key ${row.ratioToKey} (rounds ${row.ratioRange.join('-')})  errors ${row.errors}`);
    }
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(RESULTS, JSON.stringify({ when: new Date().toISOString(), rounds: ROUNDS, durationSeconds: DURATION, connections: CONNECTIONS, customers: CUSTOMERS, summary, perRound: rounds }, null, 2) + '\n');
    log(`written to ${RESULTS}`);
  } finally {
    gateway.child.kill('SIGTERM');
    jwks.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
