/**
 * Diagnosis for bench/sync.ts (not a test, not part of `bench:sync`): where the gateway's
 * import and export spend their time, statement by statement.
 *
 *   npx tsc -p tsconfig.bench.json && node dist/bench/sync-breakdown.js [records=20000]
 *
 * better-sqlite3's Database#prepare and the Statement methods are wrapped (in this process
 * only) to time, per SQL text: how often it is prepared, the time spent preparing, and the time
 * spent executing (run/all/get/iterate). Everything else in the wall time is JavaScript
 * (mapping, validation, Kysely query building and compiling, row -> record translation).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { customerGenerator, dbFile, freshStore, generateFile } from './sync';

const RECORDS = Number(process.argv[2] ?? 20_000);

interface Timing {
  prepares: number;
  prepareMs: number;
  executions: number;
  executeMs: number;
}

const timings = new Map<string, Timing>();
let enabled = false;

function timingOf(sql: string): Timing {
  const key = sql.replace(/\(\?(, \?)*\)/g, '(?…)').replace(/\s+/g, ' ').slice(0, 110);
  let t = timings.get(key);
  if (!t) timings.set(key, (t = { prepares: 0, prepareMs: 0, executions: 0, executeMs: 0 }));
  return t;
}

function instrument(): void {
  const proto = SqliteDatabase.prototype as any;
  const prepare = proto.prepare as (sql: string) => any;
  let statementProto: any = null;
  proto.prepare = function (this: unknown, sql: string) {
    const started = performance.now();
    const statement = prepare.call(this, sql);
    if (enabled) {
      const t = timingOf(sql);
      t.prepares += 1;
      t.prepareMs += performance.now() - started;
    }
    if (!statementProto) {
      statementProto = Object.getPrototypeOf(statement);
      for (const method of ['run', 'all', 'get']) {
        const original = statementProto[method] as (...args: unknown[]) => unknown;
        statementProto[method] = function (this: { source: string }, ...args: unknown[]) {
          const begun = performance.now();
          try {
            return original.apply(this, args);
          } finally {
            if (enabled) {
              const t = timingOf(this.source);
              t.executions += 1;
              t.executeMs += performance.now() - begun;
            }
          }
        };
      }
    }
    return statement;
  };
}

function printTimings(title: string, wallMs: number, records: number): void {
  const rows = [...timings.entries()].sort((a, b) => b[1].prepareMs + b[1].executeMs - (a[1].prepareMs + a[1].executeMs));
  const prepareMs = rows.reduce((s, [, t]) => s + t.prepareMs, 0);
  const executeMs = rows.reduce((s, [, t]) => s + t.executeMs, 0);
  const statements = rows.reduce((s, [, t]) => s + t.executions, 0);
  const prepares = rows.reduce((s, [, t]) => s + t.prepares, 0);
  const pct = (ms: number) => `${((100 * ms) / wallMs).toFixed(1)}%`;
  console.log(`\n== ${title}: ${records.toLocaleString('en-US')} records in ${(wallMs / 1000).toFixed(2)} s (${Math.round(records / (wallMs / 1000)).toLocaleString('en-US')}/s)`);
  console.log(`   statements executed: ${statements.toLocaleString('en-US')} (${(statements / records).toFixed(2)} per record), prepared: ${prepares.toLocaleString('en-US')}`);
  console.log(`   prepare ${(prepareMs / 1000).toFixed(2)} s (${pct(prepareMs)}, ${((1000 * prepareMs) / Math.max(prepares, 1)).toFixed(1)} µs each)`);
  console.log(`   execute ${(executeMs / 1000).toFixed(2)} s (${pct(executeMs)})`);
  console.log(`   other (JS: mapping, validation, Kysely build/compile, records) ${((wallMs - prepareMs - executeMs) / 1000).toFixed(2)} s (${pct(wallMs - prepareMs - executeMs)})`);
  console.log('   per statement: count/record  prepare ms  execute ms  sql');
  for (const [sql, t] of rows.slice(0, 18)) {
    console.log(`   ${(t.executions / records).toFixed(2).padStart(6)}  ${t.prepareMs.toFixed(0).padStart(8)}  ${t.executeMs.toFixed(0).padStart(8)}  ${sql}`);
  }
  timings.clear();
}

async function main(): Promise<void> {
  instrument();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sync-breakdown-'));
  try {
    const file = path.join(root, 'customers.ndjson');
    await generateFile(file, RECORDS);
    const dir = path.join(root, 'db');
    const workspaceId = await freshStore(dir, 'breakdown');
    /* eslint-disable @typescript-eslint/no-require-imports -- the gateway loads after instrument() has patched better-sqlite3 */
    const { openStore } = require('../src/store/db') as typeof import('../src/store/db');
    const { importCustomers } = require('../src/import/engine') as typeof import('../src/import/engine');
    const { readRecords } = require('../src/import/sources') as typeof import('../src/import/sources');
    const { mapRecord } = require('../src/import/formats') as typeof import('../src/import/formats');
    const { writeExportNdjson } = require('../src/services/export-stream') as typeof import('../src/services/export-stream');

    // Import: the gateway as bench:sync runs it.
    let store = openStore({ dataDir: dir });
    enabled = true;
    let started = performance.now();
    const summary = await importCustomers(store.db, { workspaceId, actor: 'bench', via: 'import' }, readRecords(file), { format: 'ndjson', batchSize: 500 });
    printTimings('import', performance.now() - started, summary.read);
    enabled = false;
    await store.close();

    // Pieces of the import's JavaScript, alone: reading + JSON.parse, and the ndjson mapper.
    started = performance.now();
    let n = 0;
    for await (const item of readRecords(file)) {
      mapRecord('ndjson', item.raw);
      n += 1;
    }
    const readMap = performance.now() - started;
    started = performance.now();
    for await (const item of readRecords(file)) void item;
    const readOnly = performance.now() - started;
    console.log(`   alone: readRecords ${(readOnly / 1000).toFixed(2)} s, + mapRecord('ndjson') ${((readMap - readOnly) / 1000).toFixed(2)} s for ${n.toLocaleString('en-US')} records`);

    // Prepare cost of the customers insert, alone.
    const raw = new SqliteDatabase(dbFile(dir));
    const insertSql = `insert into "customers" (${Object.keys(raw.prepare('select * from customers limit 1').get() as object).map((c) => `"${c}"`).join(', ')}) values (${Object.keys(raw.prepare('select * from customers limit 1').get() as object).map(() => '?').join(', ')})`;
    started = performance.now();
    for (let i = 0; i < 2000; i++) raw.prepare(insertSql);
    console.log(`   prepare of the 48-column customers insert alone: ${((1000 * (performance.now() - started)) / 2000).toFixed(1)} µs`);
    started = performance.now();
    for (let i = 0; i < 2000; i++) raw.prepare('select * from "customers" where "workspace_id" = ? and "email" in (?)');
    console.log(`   prepare of select * from customers where workspace_id = ? and email in (?) alone: ${((1000 * (performance.now() - started)) / 2000).toFixed(1)} µs`);
    raw.close();

    // Export of the imported records.
    store = openStore({ dataDir: dir });
    const out = fs.createWriteStream('/dev/null');
    enabled = true;
    started = performance.now();
    const result = await writeExportNdjson(store.db, workspaceId, out, {});
    printTimings('export', performance.now() - started, result.exported);
    enabled = false;
    await new Promise<void>((resolve) => out.end(() => resolve()));

    // Pieces of the export's JavaScript: records -> export shape -> JSON, per 1000 rows.
    const { listChangedCustomers } = require('../src/store/customers.repository') as typeof import('../src/store/customers.repository');
    const { toExportedCustomer } = require('../src/services/export-record') as typeof import('../src/services/export-record');
    const page = await listChangedCustomers(store.db, workspaceId, { after: 0, upTo: Number.MAX_SAFE_INTEGER, updatedSince: null, limit: 1000 });
    const reps = 20;
    started = performance.now();
    for (let r = 0; r < reps; r++) for (const c of page) toExportedCustomer(c, [], []);
    const shapeUs = (1000 * (performance.now() - started)) / (reps * page.length);
    const shaped = page.map((c) => toExportedCustomer(c, [], []));
    started = performance.now();
    for (let r = 0; r < reps; r++) shaped.map((x) => JSON.stringify(x)).join('\n');
    const jsonUs = (1000 * (performance.now() - started)) / (reps * page.length);
    const { gravatarUrl } = require('../src/services/validation') as typeof import('../src/services/validation');
    started = performance.now();
    for (let r = 0; r < reps; r++) for (const c of page) gravatarUrl(c.email);
    const gravatarUs = (1000 * (performance.now() - started)) / (reps * page.length);
    console.log(`   per record alone: toExportedCustomer ${shapeUs.toFixed(1)} µs (of which gravatarUrl sha256 ${gravatarUs.toFixed(1)} µs), JSON.stringify+join ${jsonUs.toFixed(1)} µs`);
    await store.close();
    void customerGenerator;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
