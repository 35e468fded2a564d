#!/usr/bin/env node
/**
 * `customer-gateway`: the operator CLI for API keys, workspaces, migrations, export and import. It opens the
 * same database as the server (DATA_DIR / DATABASE_URL) and is safe to run while the server is
 * up: SQLite runs in WAL mode with a busy timeout, and key writes take the write lock up front.
 *
 * Output contract: data goes to stdout, everything informational to stderr, so scripts can
 * capture results (`KEY=$(customer-gateway key create --workspace acme | tail -1)`). Any
 * failure is one line on stderr and exit code 1; stacks only with DEBUG set.
 */
import type { Writable } from 'node:stream';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { addSyncCommands } from './sync';
import { loadConfig } from '../config';
import { checkWorkspaceName, issueKey } from '../services/keys';
import { messageOf } from '../shared/errors';
import { KEY_SCOPES, parseKeyScopes, type KeyScope } from '../services/scopes';
import { migrateToLatest, openStore } from '../store/db';
import type { WorkspaceRecord } from '../store/records';
import type { Db } from '../store/engine';
import { findWorkspaceByName, listApiKeys, listWorkspaces, revokeApiKey } from '../store/workspaces.repository';

export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Where progress bars or lines go; process.stderr by default. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where bulk output (export without --out) goes with back-pressure; else lines through stdout. */
  stdoutStream?: Writable;
}

interface Ctx {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  env: NodeJS.ProcessEnv;
  progressStream: NodeJS.WritableStream & { isTTY?: boolean };
  stdoutStream?: Writable;
}

interface KeyCreateOptions {
  workspace: string;
  name?: string;
  rateLimit: boolean;
  scope: KeyScope[];
}

/** Commander hands over blocks of text ending in a newline; io takes one line per call. */
function writeLines(write: (line: string) => void, text: string): void {
  for (const line of text.replace(/\n$/, '').split('\n')) write(line);
}

function processIo(): CliIo {
  return {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    stdoutStream: process.stdout,
  };
}

/** Rejects a bad name while parsing, before any database is opened or created. */
function workspaceName(value: string): string {
  try {
    checkWorkspaceName(value);
  } catch (error) {
    throw new InvalidArgumentError(messageOf(error));
  }
  return value;
}

/** Opens the store, migrates it, runs `fn`, and always closes it (so the process can exit). */
async function withStore(ctx: Ctx, fn: (db: Db, applied: string[]) => Promise<void>): Promise<void> {
  // Read lazily so `--help` works even when the environment is misconfigured.
  const config = loadConfig(ctx.env);
  // One connection is all a CLI run needs; it keeps a shared PostgreSQL's connection count low.
  const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    const applied = await migrateToLatest(store.db);
    await fn(store.db, applied);
  } finally {
    await store.close();
  }
}

/** Like withStore, but mentions any migration it applied on stderr, away from the data. */
async function withMigratedDb(ctx: Ctx, fn: (db: Db) => Promise<void>): Promise<void> {
  await withStore(ctx, async (db, applied) => {
    for (const name of applied) ctx.stderr(`applied migration ${name}`);
    await fn(db);
  });
}

async function requireWorkspace(db: Db, name: string): Promise<WorkspaceRecord> {
  const workspace = await findWorkspaceByName(db, name);
  if (!workspace) throw new Error(`no workspace named ${JSON.stringify(name)}`);
  return workspace;
}

/** Left-aligned columns separated by two spaces; plain text so `awk`/`grep` work on it. */
function printTable(write: (line: string) => void, header: string[], rows: string[][]): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  for (const row of [header, ...rows]) {
    write(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  }
}

/** A key's scopes as one cell: comma-separated, `all` for a key made without `--scope`. */
function scopeList(scopes: readonly string[] | null): string {
  return scopes === null ? 'all' : scopes.join(',');
}

/** Commander's collector for the repeatable `--scope`: checked one value at a time. */
function collectScope(value: string, previous: KeyScope[]): KeyScope[] {
  try {
    return [...previous, ...parseKeyScopes([value])];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

async function keyCreate(ctx: Ctx, options: KeyCreateOptions): Promise<void> {
  await withMigratedDb(ctx, async (db) => {
    const scopes = options.scope.length > 0 ? options.scope : null;
    const issued = await issueKey(db, { workspace: options.workspace, name: options.name ?? null, rateLimited: options.rateLimit, scopes });
    if (issued.workspaceCreated) ctx.stderr(`created workspace ${issued.workspace.name}`);
    ctx.stderr(`key id:       ${issued.record.id}`);
    ctx.stderr(`prefix:       ${issued.record.prefix}`);
    ctx.stderr(`rate limited: ${issued.record.rateLimited ? 'yes' : 'no'}`);
    ctx.stderr(`scopes:       ${scopeList(issued.record.scopes)}`);
    ctx.stderr('store it now: it is shown once');
    // The key alone, last on stdout: scripts capture it with `| tail -1`.
    ctx.stdout(issued.key);
  });
}

async function keyList(ctx: Ctx, options: { workspace: string }): Promise<void> {
  await withMigratedDb(ctx, async (db) => {
    const workspace = await requireWorkspace(db, options.workspace);
    const keys = await listApiKeys(db, workspace.id);
    const rows = keys.map((key) => [
      key.id,
      key.prefix,
      key.name ?? '-',
      key.rateLimited ? 'yes' : 'no',
      scopeList(key.scopes),
      key.createdAt,
      key.revokedAt ?? '-',
    ]);
    printTable(ctx.stdout, ['ID', 'PREFIX', 'NAME', 'RATE LIMITED', 'SCOPES', 'CREATED', 'REVOKED'], rows);
  });
}

async function keyRevoke(ctx: Ctx, idOrPrefix: string, options: { workspace: string }): Promise<void> {
  await withMigratedDb(ctx, async (db) => {
    const workspace = await requireWorkspace(db, options.workspace);
    const count = await revokeApiKey(db, workspace.id, idOrPrefix, new Date().toISOString());
    if (count === 0) {
      throw new Error(`no live key with id or prefix ${JSON.stringify(idOrPrefix)} in workspace "${workspace.name}"`);
    }
    ctx.stdout(`revoked ${count} key${count === 1 ? '' : 's'}`);
  });
}

async function workspaceList(ctx: Ctx): Promise<void> {
  await withMigratedDb(ctx, async (db) => {
    const workspaces = await listWorkspaces(db);
    const rows = workspaces.map((w) => [w.name, w.id, w.createdAt, String(w.activeKeys)]);
    printTable(ctx.stdout, ['NAME', 'ID', 'CREATED', 'ACTIVE KEYS'], rows);
  });
}

async function migrate(ctx: Ctx): Promise<void> {
  await withStore(ctx, async (_db, applied) => {
    if (applied.length === 0) ctx.stdout('database is up to date');
    for (const name of applied) ctx.stdout(`applied ${name}`);
  });
}

function addKeyCommands(program: Command, ctx: Ctx): void {
  const key = program.command('key').description('create, list and revoke API keys');
  key
    .command('create')
    .description('create an API key (and the workspace, if new); prints the key as the last stdout line')
    .requiredOption('--workspace <name>', 'workspace the key belongs to', workspaceName)
    .option('--name <label>', 'label to recognise the key by')
    .option('--no-rate-limit', 'exempt the key from rate limiting (trusted back-office jobs)')
    .option('--scope <scope>', `grant one scope (repeatable; without it the key has every scope): ${KEY_SCOPES.join(', ')}`, collectScope, [])
    .action((options: KeyCreateOptions) => keyCreate(ctx, options));
  key
    .command('list')
    .description("list a workspace's keys, revoked ones included")
    .requiredOption('--workspace <name>', 'workspace to list', workspaceName)
    .action((options: { workspace: string }) => keyList(ctx, options));
  key
    .command('revoke')
    .description('revoke live keys by id or prefix (put -- before a prefix that starts with "-")')
    .argument('<id-or-prefix>', 'key id, or the prefix shown by key create / key list')
    .requiredOption('--workspace <name>', 'workspace the key belongs to', workspaceName)
    .action((idOrPrefix: string, options: { workspace: string }) => keyRevoke(ctx, idOrPrefix, options));
}

function buildProgram(ctx: Ctx): Command {
  const program = new Command('customer-gateway')
    .description('Operate a customer-gateway database (DATA_DIR or DATABASE_URL from the environment)')
    // Set before adding subcommands, which inherit both: runCli never exits the process.
    .exitOverride()
    .configureOutput({ writeOut: (text) => writeLines(ctx.stdout, text), writeErr: (text) => writeLines(ctx.stderr, text) });
  addKeyCommands(program, ctx);
  const workspace = program.command('workspace').description('list workspaces');
  workspace
    .command('list')
    .description('list workspaces with their active key counts')
    .action(() => workspaceList(ctx));
  program
    .command('migrate')
    .description('apply pending database migrations and print their names')
    .action(() => migrate(ctx));
  addSyncCommands(
    program,
    {
      ...ctx,
      withWorkspace: (name, fn) => withMigratedDb(ctx, async (db) => fn(db, (await requireWorkspace(db, name)).id)),
    },
    workspaceName,
  );
  return program;
}

function reportError(ctx: Ctx, error: unknown): number {
  // Commander has already printed its own message (or the help) through configureOutput.
  if (error instanceof CommanderError) return error.exitCode;
  const message = messageOf(error);
  ctx.stderr(`error: ${message.replace(/\s*\n\s*/g, ' ')}`);
  if (ctx.env.DEBUG && error instanceof Error && error.stack) writeLines(ctx.stderr, error.stack);
  return 1;
}

/** Runs the CLI with `argv` (arguments only, no node/script path); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  const ctx: Ctx = { stdout: io.stdout, stderr: io.stderr, env: io.env ?? process.env, progressStream: io.progressStream ?? process.stderr, stdoutStream: io.stdoutStream };
  try {
    await buildProgram(ctx).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    return reportError(ctx, error);
  }
}

if (require.main === module) {
  // A reader that stops early (`| head`) is not a failure of the command; anything else is.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
