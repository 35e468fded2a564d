/**
 * `customer-gateway export` and `customer-gateway import`: bulk sync out of and into a
 * workspace, with progress a person can watch and a summary a script can read.
 */
import fs from 'node:fs';
import os from 'node:os';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { writeExportNdjson } from '../services/export-stream';
import { IMPORT_FORMATS, type ImportFormat } from '../import/formats';
import { MAX_RECORD_BYTES } from '../import/record-bound';
import { readRecords } from '../import/sources';
import { createProgress } from './progress';
import { decodeExportCursor } from '../services/export';
import { customerDataExport } from '../services/data-export';
import { importCustomers, type Rejection, type SourceItem } from '../import/engine';
import { countChangedCustomers } from '../store/customers.repository';
import type { Db } from '../store/engine';
import { parseInstant } from '../shared/instant';

export interface SyncCtx {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Where progress goes (process.stderr in the real CLI). */
  progressStream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where bulk data goes (process.stdout in the real CLI); else lines through `stdout`. */
  stdoutStream?: Writable;
  withWorkspace(name: string, fn: (db: Db, workspaceId: string) => Promise<void>): Promise<void>;
}

interface ExportOptions {
  workspace: string;
  since?: string;
  after?: string;
  out?: string;
}

function parseSince(value: string | undefined): string | null {
  if (!value) return null;
  const instant = parseInstant(value);
  if (instant === null) throw new Error(`--since must be an ISO 8601 date-time such as 2026-01-31T00:00:00Z, got ${JSON.stringify(value)}`);
  return instant;
}

/** A writable that hands each complete line to `write` (in-process callers of the CLI). */
function lineWriter(write: (line: string) => void): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) write(line);
      done();
    },
    final(done) {
      if (pending) write(pending);
      done();
    },
  });
}

async function runExport(ctx: SyncCtx, options: ExportOptions): Promise<void> {
  const updatedSince = parseSince(options.since);
  await ctx.withWorkspace(options.workspace, async (db, workspaceId) => {
    const afterSeq = options.after ? decodeExportCursor(workspaceId, options.after, '--after') : 0;
    const total = await countChangedCustomers(db, workspaceId, afterSeq, updatedSince);
    const out = options.out ? fs.createWriteStream(options.out) : (ctx.stdoutStream ?? lineWriter(ctx.stdout));
    const progress = createProgress({ label: 'export', total, stream: ctx.progressStream });
    const result = await writeExportNdjson(db, workspaceId, out, { afterSeq, updatedSince, onProgress: (n) => progress.update(n) });
    progress.stop();
    if (out !== ctx.stdoutStream) await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    ctx.stderr(`exported ${result.exported} customer(s)${options.out ? ` to ${options.out}` : ''}; resume with --after ${result.endCursor}`);
    if (options.out) ctx.stdout(result.endCursor);
  });
}

interface ImportCliOptions {
  workspace: string;
  format: ImportFormat;
  batchSize: string;
  searchable?: string;
  actor?: string;
  maxRecordBytes: string;
  allowErased?: boolean;
}

const TRAILER_START = Buffer.from('{"trailer":');

/**
 * Counts lines of line-based files so the progress bar can show an ETA. Byte by byte, keeping
 * only the start of the current line: a line of any length costs no memory.
 */
async function countRecords(file: string, format: ImportFormat): Promise<number | null> {
  const lineBased = format === 'csv' || /\.(nd)?jsonl?$|\.ndjson$/.test(file);
  if (!lineBased || !/\.(csv|ndjson|jsonl)$/.test(file)) return null;
  let lines = 0;
  let blank = true;
  // How much of the line's start matches an export's trailer line, which is not a record.
  let trailerMatch = 0;
  let column = 0;
  const endLine = () => {
    if (!blank && trailerMatch < TRAILER_START.length) lines += 1;
    blank = true;
    trailerMatch = 0;
    column = 0;
  };
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    for (const byte of chunk) {
      if (byte === 0x0a || byte === 0x0d) {
        endLine();
        continue;
      }
      if (byte !== 0x20 && byte !== 0x09) blank = false;
      if (column === trailerMatch && column < TRAILER_START.length && TRAILER_START[column] === byte) trailerMatch += 1;
      column += 1;
    }
  }
  endLine();
  // An estimate for CSV: a quoted cell may span lines.
  return format === 'csv' ? Math.max(lines - 1, 0) : lines;
}

/** Rejected records go to FILE.rejects.ndjson, created only when there is one. */
function rejectWriter(file: string) {
  const target = `${file}.rejects.ndjson`;
  fs.rmSync(target, { force: true });
  let fd: number | null = null;
  return {
    target,
    write(rejection: Rejection) {
      fd ??= fs.openSync(target, 'w');
      fs.writeSync(fd, `${JSON.stringify(rejection)}\n`);
    },
    close() {
      if (fd !== null) fs.closeSync(fd);
    },
  };
}

async function runImport(ctx: SyncCtx, file: string, options: ImportCliOptions): Promise<void> {
  if (!fs.existsSync(file)) throw new Error(`no such file: ${file}`);
  const batchSize = Number(options.batchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10000) throw new Error('--batch-size must be a whole number from 1 to 10000');
  const maxRecordBytes = Number(options.maxRecordBytes);
  if (!Number.isSafeInteger(maxRecordBytes) || maxRecordBytes < 1) throw new Error('--max-record-bytes must be a whole number of at least 1');
  await ctx.withWorkspace(options.workspace, async (db, workspaceId) => {
    const rejects = rejectWriter(file);
    const progress = createProgress({ label: 'import', total: await countRecords(file, options.format), stream: ctx.progressStream });
    let tooLong = 0;
    async function* counted(): AsyncGenerator<SourceItem> {
      for await (const item of readRecords(file, { format: options.format === 'csv' ? 'csv' : undefined, maxRecordBytes })) {
        if (item.code === 'TOO_LONG') tooLong += 1;
        yield item;
      }
    }
    const actor = options.actor ?? `cli:${os.userInfo().username}`;
    try {
      const summary = await importCustomers(db, { workspaceId, actor, via: 'import' }, counted(), {
        format: options.format,
        batchSize,
        searchableFields: options.searchable?.split(',').map((k) => k.trim()).filter(Boolean),
        allowErased: options.allowErased === true,
        onReject: (rejection) => rejects.write(rejection),
        onBatch: (s) => progress.update(s.read, `created ${s.created} updated ${s.updated} unchanged ${s.unchanged} rejected ${s.rejected}`),
      });
      progress.stop();
      if (tooLong > 0) ctx.stderr(`${tooLong} record(s) over the ${maxRecordBytes}-byte limit were rejected unread (see ${rejects.target}; --max-record-bytes raises the limit)`);
      const rejected = summary.rejected > 0 ? ` (see ${rejects.target})` : '';
      ctx.stdout(`created ${summary.created}, updated ${summary.updated}, unchanged ${summary.unchanged}, rejected ${summary.rejected}${rejected}`);
    } finally {
      rejects.close();
    }
  });
}

export function addSyncCommands(program: Command, ctx: SyncCtx, workspaceName: (value: string) => string): void {
  program
    .command('export')
    .description('write the workspace change feed as NDJSON (a trailer line carries the resume cursor)')
    .requiredOption('--workspace <name>', 'workspace to export', workspaceName)
    .option('--since <iso>', 'only customers changed at or after this instant')
    .option('--after <cursor>', 'resume after this cursor (from a previous export)')
    .option('--out <file>', 'write to this file instead of stdout (then the cursor is printed on stdout)')
    .action((options: ExportOptions) => runExport(ctx, options));
  program
    .command('import')
    .description(
      `load customers from FILE; formats: ${IMPORT_FORMATS.join(', ')}. Records matching a customer (by externalId, else email) update it; ` +
        'a file imports each customer once: a later record for a customer an earlier line imported is rejected as DUPLICATE, so re-running a file changes nothing. ' +
        'Rejected records go to FILE.rejects.ndjson',
    )
    .argument('<file>', 'JSON array, list envelope, NDJSON, or CSV file')
    .requiredOption('--workspace <name>', 'workspace to load into', workspaceName)
    .requiredOption('--format <format>', `one of ${IMPORT_FORMATS.join(', ')}`, (value: string) => {
      if (!(IMPORT_FORMATS as readonly string[]).includes(value)) throw new Error(`--format must be one of ${IMPORT_FORMATS.join(', ')}`);
      return value;
    })
    .option('--batch-size <n>', 'records per transaction', '500')
    .option('--searchable <keys>', 'comma-separated custom field keys to define as searchable when the import defines them')
    .option('--actor <name>', 'who the audit log names as acting (default cli:<user>)')
    .option('--max-record-bytes <n>', 'the most bytes one record may take; a longer one is rejected unread as TOO_LONG', String(MAX_RECORD_BYTES))
    .option('--allow-erased', 'import records whose email or externalId belonged to an erased customer (refused as ERASED otherwise)')
    .action((file: string, options: ImportCliOptions) => runImport(ctx, file, options));
  program
    .command('export-customer')
    .description('print everything held about one customer (GDPR Art. 15) as one JSON object: record, members, custom fields, full history')
    .argument('<id>', 'the customer id (a merged customer\'s id answers its survivor)')
    .requiredOption('--workspace <name>', 'workspace the customer belongs to', workspaceName)
    .action((id: string, options: { workspace: string }) =>
      ctx.withWorkspace(options.workspace, async (db, workspaceId) => {
        const exported = await customerDataExport(db, workspaceId, id);
        if (!exported) throw new Error(`no customer with id ${JSON.stringify(id)} in workspace "${options.workspace}"`);
        ctx.stdout(JSON.stringify(exported, null, 2));
      }),
    );
}
