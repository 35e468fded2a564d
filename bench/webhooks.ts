/**
 * Benchmark (not a test): what webhooks cost the mutation that causes them, and how fast the
 * sender delivers. One in-process gateway (src/app.ts, SQLite, rate limiting off) and a loopback
 * receiver in a child process (so its work is not charged to the gateway):
 *   - `createCustomer` in a workspace with 3 enabled endpoints subscribed to customer.created,
 *     against the same in a workspace with none, in interleaved rounds (each round runs both,
 *     in turn) so drift on this shared machine hits both alike. The ratio is the median of
 *     per-round ratios (issue 15's target: >= 0.9). Delivery runs while the hooked half runs:
 *     the sender shares the process, as it does in production.
 *   - delivery throughput (attempts/s the receiver got during the hooked half and its drain) and
 *     the lag from commit (the body's timestamp) to arrival, p50 and p99.
 *
 *   npm run bench:webhooks
 *
 * Knobs: BENCH_ROUNDS=5, BENCH_DURATION=5 (seconds per side and round), BENCH_CONNECTIONS=8.
 * Results: printed, and bench/results/webhooks.json.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { issueKey } from '../src/services/keys';
import { createLogger } from '../src/shared/logger';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const RESULTS = path.resolve(__dirname, '../../bench/results/webhooks.json');
const log = (message: string) => process.stderr.write(`[bench:webhooks] ${message}\n`);

/** A receiver process: answers 204 and prints each arrival as `<arrival ms> <body timestamp ms>`. */
const RECEIVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    const body = JSON.parse(Buffer.concat(chunks).toString());
    process.stdout.write(at + ' ' + Date.parse(body.timestamp) + '\\n');
    res.writeHead(204).end();
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

interface Arrival {
  at: number;
  lag: number;
}

async function startReceiver(): Promise<{ port: number; arrivals: Arrival[]; stop(): void }> {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const arrivals: Arrival[] = [];
  const port = await new Promise<number>((resolve) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('port ')) return resolve(Number(line.slice(5)));
      const [at, committed] = line.split(' ').map(Number);
      arrivals.push({ at, lag: at - committed });
    });
  });
  return { port, arrivals, stop: () => child.kill() };
}

let serial = 0;

/** createCustomer calls per second over `seconds`, from CONNECTIONS concurrent callers. */
async function load(url: string, key: string, seconds: number): Promise<number> {
  const until = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < until) {
        serial += 1;
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: 'mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { code } } }', variables: { input: { email: `b${serial}@example.com`, firstName: 'Bench' } } }),
        });
        if (!response.ok) throw new Error(`createCustomer answered ${response.status}`);
        await response.arrayBuffer();
        done += 1;
      }
    }),
  );
  return done / seconds;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const median = (values: number[]) => percentile([...values].sort((x, y) => x - y), 50);

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-webhooks-'));
  const receiver = await startReceiver();
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', RATE_LIMIT: 'off', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
  const app = await createApp({ config, logger: createLogger('warn') });
  const base = await app.listen(0, '127.0.0.1');
  const url = `${base}/graphql`;
  try {
    const none = await issueKey(app.store.db, { workspace: 'no-endpoints', name: 'bench' });
    const hooked = await issueKey(app.store.db, { workspace: 'three-endpoints', name: 'bench' });
    for (let i = 0; i < 3; i++) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${hooked.key}` },
        body: JSON.stringify({ query: 'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { userErrors { code } } }', variables: { input: { url: `http://127.0.0.1:${receiver.port}/hook${i}`, events: ['CUSTOMER_CREATED'] } } }),
      });
      await response.arrayBuffer();
    }
    log(`warm-up, then ${ROUNDS} rounds of ${DURATION} s per side, ${CONNECTIONS} connections`);
    await load(url, none.key, 1);
    await load(url, hooked.key, 1);
    const rounds: { none: number; hooked: number; ratio: number }[] = [];
    let deliveryStart = 0;
    let deliveryEnd = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const plain = await load(url, none.key, DURATION);
      if (round === 0) deliveryStart = Date.now();
      const withHooks = await load(url, hooked.key, DURATION);
      rounds.push({ none: plain, hooked: withHooks, ratio: withHooks / plain });
      log(`round ${round + 1}: none ${plain.toFixed(0)}/s, 3 endpoints ${withHooks.toFixed(0)}/s, ratio ${(withHooks / plain).toFixed(3)}`);
    }
    // Let the sender catch up before reading the delivery figures.
    const expected = await app.store.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    for (let waited = 0; receiver.arrivals.length < Number(expected.n) && waited < 120_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    deliveryEnd = receiver.arrivals.at(-1)?.at ?? Date.now();
    const measured = receiver.arrivals.filter((a) => a.at >= deliveryStart);
    const lags = measured.map((a) => a.lag).sort((x, y) => x - y);
    const result = {
      date: new Date().toISOString(),
      rounds,
      ratio: median(rounds.map((r) => r.ratio)),
      delivery: {
        attempts: measured.length,
        perSecond: measured.length / ((deliveryEnd - deliveryStart) / 1000),
        lagMs: { p50: percentile(lags, 50), p99: percentile(lags, 99) },
      },
      settings: { rounds: ROUNDS, durationSeconds: DURATION, connections: CONNECTIONS },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    fs.writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await app.stop(1000);
    receiver.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
