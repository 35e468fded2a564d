/**
 * Benchmark (not a test): bulk import and export on the embedded SQLite store.
 *
 *   npm run bench:sync
 *
 * Requirement: import 100,000 generated customers in the ndjson format and export them again;
 * report records/s and peak RSS, and the ratio against a raw better-sqlite3 insert / scan of the
 * same rows in the same run. Aims: import >= 30% of the raw insert rate, export >= 50% of the
 * raw scan rate, peak RSS < 250 MB while exporting 1,000,000 rows.
 *
 * The parent generates the NDJSON file (deterministic PRNG), then runs every phase in a fresh
 * child process (fork of this file with the phase name), so each phase's peak RSS
 * (`process.resourceUsage().maxRSS` at the child's end) is its own. Each child prints one JSON
 * line on stdout; progress goes to stderr. Results: bench/results/sync.json.
 *
 * Environment knobs (for quick runs and diagnosis; the defaults are the requirement):
 *   BENCH_RECORDS=100000        customers in the generated NDJSON file
 *   BENCH_EXPORT_ROWS=1000000   customers seeded for the export-1m / raw-scan-1m phases (0 skips them)
 *   BENCH_PHASES=a,b            run only these phases (plus what they depend on is NOT added)
 *   BENCH_CPU_PROF=phase[,..]   run these phases under `node --cpu-prof` (profiles to BENCH_PROF_DIR or the temp dir)
 *   BENCH_KEEP=1                keep the temp dir
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import SqliteDatabase from 'better-sqlite3';
import { configureSqliteConnection } from '../src/store/sqlite-connection';
import { newId } from '../src/shared/ids';
import { ACTION_COLUMNS, creationChanges, CUSTOMER_COLUMNS, customerGenerator, customerRow, insertSql, MEMBER_COLUMNS, type Loose } from './lib/dataset';

export { customerGenerator };

// Gateway modules (and libphonenumber) are loaded on demand, so a raw phase's peak RSS is not
// inflated by code it never runs: the raw children load only better-sqlite3, uuid and the store's row builder.
/* eslint-disable @typescript-eslint/no-require-imports -- loaded on demand, as said above */
const gateway = {
  db: () => require('../src/store/db') as typeof import('../src/store/db'),
  keys: () => require('../src/services/keys') as typeof import('../src/services/keys'),
  import: () => require('../src/import/engine') as typeof import('../src/import/engine'),
  sources: () => require('../src/import/sources') as typeof import('../src/import/sources'),
  exportStream: () => require('../src/services/export-stream') as typeof import('../src/services/export-stream'),
};

// ---------------------------------------------------------------------------------------------
// Configuration

const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);
const EXPORT_ROWS = Number(process.env.BENCH_EXPORT_ROWS ?? 1_000_000);
const BATCH = 500;
const SEED = 0x5eed_2024;
const AIMS = { importVsRawInsert: 0.3, exportVsRawScan: 0.5, export1mPeakRssMb: 250 };
const ACTOR = { actor: 'bench', via: 'import' };

interface PhaseResult {
  phase: string;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  peakRssMb: number;
  [extra: string]: unknown;
}

interface PhaseArgs {
  root: string;
  file: string;
  rawDir: string;
  importDir: string;
  seedDir: string;
  /** Workspaces of the stores the parent migrated before the phases. */
  rawWorkspaceId?: string;
  workspaceId?: string;
  seedWorkspaceId?: string;
}

const log = (message: string) => process.stderr.write(`[bench:sync] ${message}\n`);

export function dbFile(dir: string): string {
  return path.join(dir, 'customer-gateway.sqlite');
}

// ---------------------------------------------------------------------------------------------
// Deterministic data (bench/lib/dataset.ts)

export async function generateFile(file: string, count: number): Promise<void> {
  // Every phone is checked with the gateway's own phone metadata, so no record is rejected.
  const { parsePhoneNumberFromString } = require('libphonenumber-js/max') as typeof import('libphonenumber-js/max');
  const next = customerGenerator(SEED, { isValidPhone: (e164) => parsePhoneNumberFromString(e164)?.isValid() ?? false });
  const out = fs.createWriteStream(file);
  let chunk: string[] = [];
  for (let i = 0; i < count; i++) {
    chunk.push(JSON.stringify(next(i)));
    if (chunk.length === 1000 || i === count - 1) {
      if (!out.write(chunk.join('\n') + '\n')) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      chunk = [];
    }
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

// ---------------------------------------------------------------------------------------------
// Child-side helpers

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/**
 * Samples process.memoryUsage() every 200 ms while a phase runs: where the RSS peak comes from
 * (V8 heap vs buffers outside it vs the rest: SQLite's page cache, native code).
 */
function memorySampler() {
  let peak = process.memoryUsage();
  let maxHeapUsed = peak.heapUsed;
  const sample = () => {
    const now = process.memoryUsage();
    if (now.rss > peak.rss) peak = now;
    maxHeapUsed = Math.max(maxHeapUsed, now.heapUsed);
  };
  const timer = setInterval(sample, 200);
  return () => {
    clearInterval(timer);
    sample();
    return { atRssPeak: { rssMb: mb(peak.rss), heapTotalMb: mb(peak.heapTotal), heapUsedMb: mb(peak.heapUsed), externalMb: mb(peak.external), arrayBuffersMb: mb(peak.arrayBuffers) }, maxHeapUsedMb: mb(maxHeapUsed) };
  };
}

function peakRssMb(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

function report(phase: string, records: number, seconds: number, extra: Record<string, unknown> = {}): void {
  const result: PhaseResult = {
    phase,
    records,
    seconds: Math.round(seconds * 1000) / 1000,
    recordsPerSecond: Math.round(records / seconds),
    peakRssMb: peakRssMb(),
    ...extra,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** A migrated store in `dir` with one workspace; returns the workspace id. */
export async function freshStore(dir: string, workspace: string): Promise<string> {
  const { openStore, migrateToLatest } = gateway.db();
  const { issueKey } = gateway.keys();
  const store = openStore({ dataDir: dir });
  try {
    await migrateToLatest(store.db);
    const issued = await issueKey(store.db, { workspace });
    return issued.workspace.id;
  } finally {
    await store.close();
  }
}

/** The same connection settings as the gateway's (store/sqlite-connection.ts). */
function openRaw(file: string): SqliteDatabase.Database {
  return configureSqliteConnection(new SqliteDatabase(file));
}

function devNull(): Writable {
  return fs.createWriteStream('/dev/null');
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
}

async function finish(out: Writable): Promise<void> {
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

function progressEvery(label: string, total: number, step: number) {
  let next = step;
  return (done: number) => {
    if (done >= next) {
      log(`  ${label}: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`);
      while (next <= done) next += step;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Phases (each runs in its own child process)

/** better-sqlite3 directly: the same rows (customers, members, one action per write) in transactions of 500. */
async function rawInsert(args: PhaseArgs): Promise<void> {
  const workspaceId = required(args.rawWorkspaceId);
  const db = openRaw(dbFile(args.rawDir));
  const insertCustomer = db.prepare(insertSql('customers', CUSTOMER_COLUMNS));
  const insertMember = db.prepare(insertSql('members', MEMBER_COLUMNS));
  const insertAction = db.prepare(insertSql('actions', ACTION_COLUMNS));
  const bumpSeq = db.prepare('update workspaces set change_seq = ? where id = ?');
  let seq = 0;
  const writeBatch = db.transaction((records: Loose[]) => {
    const now = new Date().toISOString();
    for (const record of records) {
      const id = newId();
      const members = (record.members ?? []) as Loose[];
      seq += 1 + members.length;
      const row = customerRow(record, id, workspaceId, seq, 1 + members.length, now, ACTOR);
      insertCustomer.run(row);
      insertAction.run({ id: newId(), workspace_id: workspaceId, customer_id: id, member_id: null, type: 'CUSTOMER_CREATED', actor: ACTOR.actor, via: ACTOR.via, changes: creationChanges(row, record), created_at: now });
      for (const m of members) {
        const member = { id: newId(), workspace_id: workspaceId, customer_id: id, email: String(m.email).toLowerCase(), name: m.name ?? null, external_id: m.externalId ?? null, role: m.role ?? 'MEMBER', created_at: now, updated_at: now };
        insertMember.run(member);
        const changes = JSON.stringify({ email: { from: null, to: member.email }, name: { from: null, to: member.name }, role: { from: null, to: member.role } });
        insertAction.run({ id: newId(), workspace_id: workspaceId, customer_id: id, member_id: member.id, type: 'MEMBER_ADDED', actor: ACTOR.actor, via: ACTOR.via, changes, created_at: now });
      }
    }
    bumpSeq.run(seq, workspaceId);
  });
  const progress = progressEvery('raw-insert', RECORDS, 25_000);
  const started = performance.now();
  // The same source work as the import: stream the file line by line and JSON.parse each line.
  const lines = createInterface({ input: fs.createReadStream(args.file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let batch: Loose[] = [];
  let count = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    batch.push(JSON.parse(line));
    if (batch.length >= BATCH) {
      writeBatch.immediate(batch);
      count += batch.length;
      batch = [];
      progress(count);
    }
  }
  if (batch.length > 0) {
    writeBatch.immediate(batch);
    count += batch.length;
  }
  const seconds = (performance.now() - started) / 1000;
  const customers = (db.prepare('select count(*) as n from customers').get() as { n: number }).n;
  db.close();
  report('raw-insert', count, seconds, { customersInDb: customers });
}

/** The gateway: importCustomers(ndjson, batch 500) from readRecords(file) into a fresh migrated store. */
async function importPhase(args: PhaseArgs): Promise<void> {
  const workspaceId = required(args.workspaceId);
  const { openStore } = gateway.db();
  const { importCustomers } = gateway.import();
  const { readRecords } = gateway.sources();
  const store = openStore({ dataDir: args.importDir });
  const progress = progressEvery('import', RECORDS, 10_000);
  const memory = memorySampler();
  const started = performance.now();
  const summary = await importCustomers(store.db, { workspaceId, ...ACTOR }, readRecords(args.file), {
    format: 'ndjson',
    batchSize: BATCH,
    onBatch: (s) => progress(s.read),
  });
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  if (summary.rejected > 0 || summary.created !== summary.read) log(`  WARNING: import summary ${JSON.stringify(summary)}`);
  report('import', summary.read, seconds, { summary, memory: memory() });
}

/** better-sqlite3 iterate() over the customers in (workspace_id, change_seq) order, JSON.stringify per row, to /dev/null. */
async function rawScan(phase: string, dir: string, workspaceId: string): Promise<void> {
  const db = openRaw(dbFile(dir));
  const out = devNull();
  const memory = memorySampler();
  const started = performance.now();
  const rows = db.prepare('select * from customers where workspace_id = ? order by workspace_id, change_seq').iterate(workspaceId);
  let lines: string[] = [];
  let count = 0;
  for (const row of rows) {
    lines.push(JSON.stringify(row));
    count += 1;
    if (lines.length === 1000) {
      await write(out, lines.join('\n') + '\n');
      lines = [];
    }
  }
  if (lines.length > 0) await write(out, lines.join('\n') + '\n');
  await finish(out);
  const seconds = (performance.now() - started) / 1000;
  db.close();
  report(phase, count, seconds, { memory: memory() });
}

/** The gateway: writeExportNdjson (default page size) to /dev/null. */
async function exportPhase(phase: string, dir: string, workspaceId: string, total: number): Promise<void> {
  const { openStore } = gateway.db();
  const { writeExportNdjson } = gateway.exportStream();
  const store = openStore({ dataDir: dir });
  const out = devNull();
  const progress = progressEvery(phase, total, Math.max(100_000, Math.floor(total / 4)));
  const memory = memorySampler();
  const started = performance.now();
  const result = await writeExportNdjson(store.db, workspaceId, out, { onProgress: progress });
  // writeExportNdjson races once('drain') against once('close'): the loser's listeners stay.
  const listenersLeft = { close: out.listenerCount('close'), error: out.listenerCount('error'), drain: out.listenerCount('drain') };
  await finish(out);
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  report(phase, result.exported, seconds, { listenersLeft, memory: memory() });
}

/**
 * 1,000,000 customers, fast: raw prepared inserts into a migrated store (synchronous off, large
 * transactions), change_seq 1..N and the workspace counter at N; ~10% TEAM with 2 members.
 */
async function seed1m(args: PhaseArgs): Promise<void> {
  const workspaceId = required(args.seedWorkspaceId);
  const db = new SqliteDatabase(dbFile(args.seedDir));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -131072');
  const insertCustomer = db.prepare(insertSql('customers', CUSTOMER_COLUMNS));
  const insertMember = db.prepare(insertSql('members', MEMBER_COLUMNS));
  // Phones need no validation here: the export reads them as stored.
  const next = customerGenerator(SEED + 1);
  const now = new Date().toISOString();
  const writeRange = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const record = next(i) as Loose;
      const id = newId();
      insertCustomer.run(customerRow(record, id, workspaceId, i + 1, 1 + record.members.length, now));
      for (const m of record.members as Loose[]) {
        insertMember.run({ id: newId(), workspace_id: workspaceId, customer_id: id, email: m.email, name: m.name, external_id: m.externalId, role: m.role, created_at: m.createdAt, updated_at: m.updatedAt });
      }
    }
  });
  const started = performance.now();
  const step = 50_000;
  for (let from = 0; from < EXPORT_ROWS; from += step) {
    writeRange(from, Math.min(from + step, EXPORT_ROWS));
    if ((from + step) % 250_000 === 0) log(`  seed-1m: ${(from + step).toLocaleString('en-US')} / ${EXPORT_ROWS.toLocaleString('en-US')}`);
  }
  db.prepare('update workspaces set change_seq = ? where id = ?').run(EXPORT_ROWS, workspaceId);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const seconds = (performance.now() - started) / 1000;
  db.close();
  const sizeMb = Math.round(fs.statSync(dbFile(args.seedDir)).size / 1048576);
  report('seed-1m', EXPORT_ROWS, seconds, { dbSizeMb: sizeMb });
}

async function runPhase(phase: string, args: PhaseArgs): Promise<void> {
  switch (phase) {
    case 'raw-insert':
      return rawInsert(args);
    case 'import':
      return importPhase(args);
    case 'raw-scan':
      return rawScan('raw-scan', args.importDir, required(args.workspaceId));
    case 'export':
      return exportPhase('export', args.importDir, required(args.workspaceId), RECORDS);
    case 'seed-1m':
      return seed1m(args);
    case 'raw-scan-1m':
      return rawScan('raw-scan-1m', args.seedDir, required(args.seedWorkspaceId));
    case 'export-1m':
      return exportPhase('export-1m', args.seedDir, required(args.seedWorkspaceId), EXPORT_ROWS);
    default:
      throw new Error(`unknown phase ${phase}`);
  }
}

function required(value: string | undefined): string {
  if (!value) throw new Error('workspace id missing: run the phase that creates it first');
  return value;
}

// ---------------------------------------------------------------------------------------------
// Parent

function runChild(phase: string, args: PhaseArgs): Promise<PhaseResult> {
  const profiled = (process.env.BENCH_CPU_PROF ?? '').split(',').includes(phase);
  const profDir = process.env.BENCH_PROF_DIR ?? path.join(args.root, 'profiles');
  const execArgv = profiled ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `${phase}.cpuprofile`] : [];
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--phase', phase, JSON.stringify(args)], { execArgv, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`phase ${phase} failed (exit ${code ?? signal}): ${stdout}`));
      try {
        resolve(JSON.parse(line) as PhaseResult);
      } catch {
        reject(new Error(`phase ${phase} printed no result line: ${stdout}`));
      }
    });
  });
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

async function parent(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sync-'));
  const args: PhaseArgs = {
    root,
    file: path.join(root, 'customers.ndjson'),
    rawDir: path.join(root, 'raw'),
    importDir: path.join(root, 'import'),
    seedDir: path.join(root, 'seed-1m'),
  };
  const only = process.env.BENCH_PHASES?.split(',').map((p) => p.trim());
  const wanted = (phase: string) => !only || only.includes(phase);
  const results: Record<string, PhaseResult> = {};
  const overall = performance.now();
  try {
    log(`generating ${RECORDS.toLocaleString('en-US')} customers (NDJSON, export shape) in ${root}`);
    let started = performance.now();
    await generateFile(args.file, RECORDS);
    const fileMb = fs.statSync(args.file).size / 1048576;
    log(`  generated ${fileMb.toFixed(1)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    // Fresh migrated stores (store/db.ts migrateToLatest, a workspace from issueKey), made here so
    // the children measure only their phase.
    args.rawWorkspaceId = await freshStore(args.rawDir, 'bench-raw');
    args.workspaceId = await freshStore(args.importDir, 'bench-import');
    if (EXPORT_ROWS > 0) args.seedWorkspaceId = await freshStore(args.seedDir, 'bench-export');

    const phases = ['raw-insert', 'import', 'raw-scan', 'export', ...(EXPORT_ROWS > 0 ? ['seed-1m', 'raw-scan-1m', 'export-1m'] : [])];
    for (const phase of phases) {
      if (!wanted(phase)) continue;
      log(`phase ${phase} ...`);
      started = performance.now();
      const result = await runChild(phase, args);
      results[phase] = result;
      log(`  ${phase}: ${result.records.toLocaleString('en-US')} records in ${result.seconds} s (${result.recordsPerSecond.toLocaleString('en-US')}/s), peak RSS ${result.peakRssMb} MB [child wall ${((performance.now() - started) / 1000).toFixed(1)} s]`);
    }

    const ratio = (a: string, b: string) => (results[a] && results[b] ? results[a].recordsPerSecond / results[b].recordsPerSecond : null);
    const importRatio = ratio('import', 'raw-insert');
    const exportRatio = ratio('export', 'raw-scan');
    const export1mRatio = ratio('export-1m', 'raw-scan-1m');
    const export1mRss = results['export-1m']?.peakRssMb ?? null;
    const verdict = (ok: boolean | null) => (ok === null ? 'n/a' : ok ? 'PASS' : 'MISS');
    const aims = {
      import: { ratio: importRatio, aim: AIMS.importVsRawInsert, result: verdict(importRatio === null ? null : importRatio >= AIMS.importVsRawInsert) },
      export: { ratio: exportRatio, aim: AIMS.exportVsRawScan, result: verdict(exportRatio === null ? null : exportRatio >= AIMS.exportVsRawScan) },
      export1m: { ratio: export1mRatio, aim: AIMS.exportVsRawScan, result: verdict(export1mRatio === null ? null : export1mRatio >= AIMS.exportVsRawScan) },
      export1mPeakRss: { peakRssMb: export1mRss, aimMb: AIMS.export1mPeakRssMb, result: verdict(export1mRss === null ? null : export1mRss < AIMS.export1mPeakRssMb) },
    };

    const table = [
      ['phase', 'records', 'records/s', 'seconds', 'peak RSS MB'],
      ...Object.values(results).map((r) => [r.phase, r.records.toLocaleString('en-US'), r.recordsPerSecond.toLocaleString('en-US'), r.seconds.toFixed(2), r.peakRssMb.toFixed(1)]),
    ];
    const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
    const lines = table.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
    lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
    const summary = [
      '',
      `bench:sync  node ${process.version}, ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}, ${RECORDS.toLocaleString('en-US')} records, export-1m ${EXPORT_ROWS.toLocaleString('en-US')} rows`,
      '',
      ...lines,
      '',
      importRatio === null ? 'import: n/a' : `import: ${pct(importRatio)} of raw insert (aim >= ${pct(AIMS.importVsRawInsert)}): ${aims.import.result}`,
      exportRatio === null ? 'export: n/a' : `export: ${pct(exportRatio)} of raw scan (aim >= ${pct(AIMS.exportVsRawScan)}): ${aims.export.result}`,
      export1mRatio === null ? 'export-1m: n/a' : `export-1m: ${pct(export1mRatio)} of raw scan-1m (aim >= ${pct(AIMS.exportVsRawScan)}): ${aims.export1m.result}`,
      export1mRss === null ? 'export-1m peak RSS: n/a' : `export-1m peak RSS: ${export1mRss} MB (aim < ${AIMS.export1mPeakRssMb} MB): ${aims.export1mPeakRss.result}`,
      '',
    ];
    process.stdout.write(summary.join('\n') + '\n');

    const resultsDir = path.join(__dirname, '..', '..', 'bench', 'results');
    fs.mkdirSync(resultsDir, { recursive: true });
    const json = {
      benchmark: 'sync',
      date: new Date().toISOString(),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      totalMemoryMb: Math.round(os.totalmem() / 1048576),
      records: RECORDS,
      exportRows: EXPORT_ROWS,
      batchSize: BATCH,
      ndjsonFileMb: Math.round(fileMb * 10) / 10,
      phases: results,
      ratios: { importVsRawInsert: importRatio, exportVsRawScan: exportRatio, export1mVsRawScan1m: export1mRatio },
      aims,
      totalSeconds: Math.round((performance.now() - overall) / 100) / 10,
    };
    fs.writeFileSync(path.join(resultsDir, 'sync.json'), JSON.stringify(json, null, 2) + '\n');
    log(`results written to ${path.relative(process.cwd(), path.join(resultsDir, 'sync.json'))} (total ${json.totalSeconds} s)`);
  } finally {
    if (process.env.BENCH_KEEP) log(`kept ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

const phaseIndex = process.argv.indexOf('--phase');
if (require.main !== module) {
  // Imported (bench/sync-breakdown.ts uses the generator): run nothing.
} else if (phaseIndex >= 0) {
  const phase = process.argv[phaseIndex + 1];
  const args = JSON.parse(process.argv[phaseIndex + 2]) as PhaseArgs;
  runPhase(phase, args).catch((error: unknown) => {
    process.stderr.write(`[bench:sync] phase ${phase} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
} else {
  parent().catch((error: unknown) => {
    process.stderr.write(`[bench:sync] failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
