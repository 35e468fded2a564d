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
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { requireCompiledServer, runGraphql, seedWorkspace, startCompiledGateway, summarizeRuns, type HttpRun } from './lib/compiled-gateway';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 2000);
const RESULTS = path.resolve(__dirname, '../../bench/results/auth.json');
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

interface Round extends HttpRun {
  credential: string;
}

function load(url: string, pid: number, credential: string, bearer: string, ids: string[], seconds: number): Promise<Round> {
  let n = 0;
  const body = () => JSON.stringify({ query: QUERY, variables: { id: ids[(n++ * 7919) % ids.length] } });
  return runGraphql(url, pid, { bearer, body, seconds, connections: CONNECTIONS }).then((run) => ({ credential, ...run }));
}

async function main(): Promise<void> {
  requireCompiledServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-auth-'));
  const signers = [await signer('rsa-1', 'RS256'), await signer('ec-1', 'ES256')];
  const jwks = await jwksServer(signers);
  log(`seeding ${CUSTOMERS} customers`);
  const { ids, keys } = await seedWorkspace(dir, CUSTOMERS, { 'all scopes': undefined, 'read only': ['customers:read'] });
  const credentials: [string, string][] = [
    ['key', keys['all scopes']],
    ['scoped key', keys['read only']],
    ['JWT RS256', await token(signers[0], 'user-rs')],
    ['JWT ES256', await token(signers[1], 'user-es')],
  ];
  const gateway = await startCompiledGateway(dir, { JWT_JWKS_URL: jwks.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  const { pid } = gateway;
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
      const { ratio, ...figures } = summarizeRuns(
        rounds.map((round) => round.find((x) => x.credential === name) as Round),
        rounds.map((round) => round[0]),
      );
      return { credential: name, ...figures, ratioToKey: ratio };
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
