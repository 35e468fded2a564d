/** Opening the database (SQLite file or PostgreSQL) and migrating it. */
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type { DatabaseConnection, Driver, LogEvent, SqliteDatabase as SqliteDialectDatabase, SqliteDialectConfig, SqliteStatement as SqliteDialectStatement } from 'kysely';
import { Pool, types as pgTypes, type CustomTypesConfig } from 'pg';
import { messageOf } from '../shared/errors';
import { LruCache } from '../shared/lru';
import { engineOf, registerSqliteHandle, type Db, type Engine } from './engine';
import { migrationProvider } from './migrations';
import { namingPool } from './postgres-statements';
import { configureSqliteConnection } from './sqlite-connection';
import { Checkpointer, groupCommitFor, type CheckpointResult, type FileSync, type GroupCommit } from './sqlite-durability';
import type { Database } from './tables';

export interface StoreOptions {
  /** `postgres://...` to use PostgreSQL; otherwise SQLite. */
  databaseUrl?: string;
  /** Folder of the SQLite file (created when missing). */
  dataDir?: string;
  /** SQLite file path; overrides dataDir. `:memory:` for a private in-memory database. */
  sqliteFile?: string;
  /** Called for every statement executed (tests count them; logs can trace them). */
  onQuery?: (event: LogEvent) => void;
  /** PostgreSQL pool size. */
  poolSize?: number;
  /** PostgreSQL: named (prepared) statements kept per pooled connection (default POSTGRES_STATEMENT_CACHE_SIZE). */
  postgresStatementCacheSize?: number;
  /** PostgreSQL: how long to wait for a connection, in milliseconds. */
  connectTimeoutMs?: number;
  /** PostgreSQL: statements running longer are cancelled (0 = no limit), in milliseconds. */
  statementTimeoutMs?: number;
  /** Told about errors of idle pooled connections (a restarted database), which would otherwise crash the process. */
  onPoolError?: (error: Error) => void;
  /** SQLite: how long a write waits in all for another connection's write lock (SQLITE_BUSY_TIMEOUT_MS). */
  busyTimeoutMs?: number;
  /** SQLite: how a commit is flushed to disk before it is acknowledged (fsync; tests observe it). */
  syncFile?: FileSync;
  /** SQLite: told when the checkpointer thread fails (the connection then checkpoints by itself). */
  onCheckpointError?: (error: Error) => void;
  /** SQLite: told about every checkpoint the checkpointer thread ran (tests). */
  onCheckpoint?: (result: CheckpointResult) => void;
}

/** Connections busy and requests queued for one, read when metrics are scraped. */
export interface ConnectionUse {
  inUse: number;
  waiting: number;
}

export interface Store {
  db: Db;
  engine: Engine;
  /** PostgreSQL: the pool's counts; SQLite: its one connection (held or not) and the queue for it. */
  connections(): ConnectionUse;
  close(): Promise<void>;
}

export const SQLITE_FILE_NAME = 'customer-gateway.sqlite';

export function sqlitePath(options: StoreOptions): string {
  if (options.sqliteFile) return options.sqliteFile;
  return path.join(options.dataDir ?? './data', SQLITE_FILE_NAME);
}

function openSqlite(file: string): SqliteDatabase.Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  return configureSqliteConnection(new SqliteDatabase(file));
}

/** Most statements repeat with new parameters; past this many distinct texts the oldest go. */
export const STATEMENT_CACHE_SIZE = 1000;

/**
 * PostgreSQL keeps each named statement (and its plan) in the server session: this many per
 * pooled connection, fewer than SQLite's in-process cache because each costs server memory in
 * every connection (docs/postgresql.md).
 */
export const POSTGRES_STATEMENT_CACHE_SIZE = 250;

/** Compiles `raw => ({ "name": raw[0], ... })` for a statement's current columns. */
function rowBuilder(statement: SqliteDatabase.Statement): { width: number; build: (raw: unknown[]) => Record<string, unknown> } {
  const names = statement.columns().map((column) => column.name);
  const fields = names.map((name, i) => `${JSON.stringify(name)}: raw[${i}]`).join(', ');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the point: one compiled object literal per statement shape
  return { width: names.length, build: new Function('raw', `return { ${fields} };`) as (raw: unknown[]) => Record<string, unknown> };
}

/**
 * Rows of a reading statement, built in JavaScript from better-sqlite3's raw (array) rows.
 * better-sqlite3 builds each row object natively, one property set at a time, which costs about
 * as much as SQLite's own work on a 48-column customers row; an object literal compiled once per
 * statement (names from the statement's own columns, quoted) builds the same object, same keys in
 * the same order, a duplicate name's last value winning as before, in about half the time.
 * SQLite re-prepares a statement whose tables changed shape (a migration run by another process):
 * rows of another width rebuild the literal. A column named `__proto__` (which a literal would
 * treat as the prototype) keeps better-sqlite3's own rows.
 */
function rowsBuiltInJs(statement: SqliteDatabase.Statement): SqliteDialectStatement {
  if (!statement.reader || statement.columns().some((column) => column.name === '__proto__')) return statement;
  let rows = rowBuilder(statement);
  const build = (raw: unknown[]) => {
    if (raw.length !== rows.width) rows = rowBuilder(statement);
    return rows.build(raw);
  };
  statement.raw(true);
  return {
    reader: true,
    all(parameters) {
      const raws = statement.all(parameters) as unknown[][];
      const built = new Array<Record<string, unknown>>(raws.length);
      for (let i = 0; i < raws.length; i++) built[i] = build(raws[i]);
      return built;
    },
    *iterate(parameters) {
      for (const raw of statement.iterate(parameters) as IterableIterator<unknown[]>) yield build(raw);
    },
    run: (parameters) => statement.run(parameters),
  };
}

/**
 * Kysely's SQLite driver prepares every statement anew, which costs more than running it.
 * better-sqlite3 statements are reusable, so they are kept by SQL text (least recently used
 * dropped first). Safe because Kysely runs one statement at a time on this connection and
 * never leaves an iterator open (no `.stream()` on SQLite here).
 */
function cachingDatabase(database: SqliteDatabase.Database, writes: WriteMark): SqliteDialectDatabase {
  const cache = new LruCache<SqliteDialectStatement>(STATEMENT_CACHE_SIZE);
  return {
    close: () => database.close(),
    prepare: (sqlText: string) =>
      cache.get(sqlText, () => {
        const statement = database.prepare(sqlText);
        // BEGIN IMMEDIATE counts as writing for SQLite (it takes the write lock) but writes nothing.
        const writesNothing = statement.readonly || /^\s*begin\b/i.test(sqlText);
        return markingWrites(rowsBuiltInJs(statement), writesNothing, writes);
      }),
  };
}

/** Set when a statement that may write ran; the connection's release makes it durable (group commit). */
interface WriteMark {
  wrote: boolean;
}

/** A statement that may write sets the mark whenever it runs (reads run as they are). */
function markingWrites(statement: SqliteDialectStatement, writesNothing: boolean, writes: WriteMark): SqliteDialectStatement {
  if (writesNothing) return statement;
  return {
    reader: statement.reader,
    all(parameters) {
      writes.wrote = true;
      return statement.all(parameters);
    },
    iterate(parameters) {
      writes.wrote = true;
      return statement.iterate(parameters);
    },
    run(parameters) {
      writes.wrote = true;
      return statement.run(parameters);
    },
  };
}

/**
 * Kysely's SQLite driver queues every statement and transaction for its one connection behind a
 * mutex it does not expose; counting around acquire and release gives the same numbers.
 */
class CountingSqliteDialect extends SqliteDialect {
  readonly use: ConnectionUse = { inUse: 0, waiting: 0 };

  constructor(
    config: SqliteDialectConfig,
    private readonly database: SqliteDatabase.Database,
    private readonly writes: WriteMark,
    private readonly commits: GroupCommit | null,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const driver = super.createDriver();
    const use = this.use;
    const acquire = driver.acquireConnection.bind(driver);
    const release = driver.releaseConnection.bind(driver);
    driver.acquireConnection = () => {
      use.waiting += 1;
      return acquire().then(
        (connection) => {
          use.waiting -= 1;
          use.inUse += 1;
          return connection;
        },
        (error: unknown) => {
          use.waiting -= 1;
          throw error;
        },
      );
    };
    const { database, writes, commits } = this;
    driver.releaseConnection = async (connection: DatabaseConnection) => {
      use.inUse -= 1;
      // Group commit (sqlite-durability.ts): a holder that wrote and ended its transaction gets
      // its result once the WAL is on disk; the connection is free for the next one meanwhile.
      const committed = commits !== null && writes.wrote && !database.inTransaction;
      if (committed) writes.wrote = false;
      const durable = committed ? commits.durable() : null;
      await release(connection);
      await durable;
    };
    return driver;
  }
}

const TIMESTAMPTZ_OID = 1184;

/**
 * `timestamptz` as PostgreSQL sends it in UTC (DateStyle ISO): `2024-05-01 10:00:00.123456+00`,
 * the fraction's trailing zeros left out (`10:00:00.5+00`, `10:00:00+00`).
 */
const UTC_TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?\+00$/;

/** What completes the milliseconds after a fraction's first `digits` digits (0-3) are kept. */
const MILLI_PADDING = ['.000', '00', '0', ''];

/**
 * A `timestamptz` read as the ISO text a Date would give (`toISOString`: milliseconds, the rest
 * of the fraction cut off), without making the Date: every timestamp a row carries was parsed
 * into a Date by pg and formatted back by the store (isoOf), two per customer, 200 per page.
 * Runs on every timestamp read, so the form is tested (no match array) and cut by position.
 * Text in any other form (a session TimeZone other than UTC, a year past 9999 or BC) takes
 * pg's own parser and stays a Date, which isoOf formats as before (tables.ts `Timestamp`).
 */
export function parseTimestamptz(text: string): string | Date {
  if (!UTC_TIMESTAMPTZ.test(text)) return defaultTimestamptz(text);
  // 22 characters without a fraction; otherwise 23 plus its digits ('.' and '+00' around them).
  const digits = text.length === 22 ? 0 : Math.min(3, text.length - 23);
  return `${text.slice(0, 10)}T${text.slice(11, digits === 0 ? 19 : 20 + digits)}${MILLI_PADDING[digits]}Z`;
}

/** pg's parsers, typed: pg-types declares every parser as returning `any`. */
type TextParser<T> = (text: string) => T;
const pgParserOf = pgTypes.getTypeParser as (oid: number, format?: 'text' | 'binary') => TextParser<unknown>;
const defaultTimestamptz = pgParserOf(TIMESTAMPTZ_OID, 'text') as TextParser<Date>;

const POSTGRES_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ_OID && format !== 'binary' ? parseTimestamptz : pgParserOf(oid, format)) as CustomTypesConfig['getTypeParser'],
};

export function openStore(options: StoreOptions): Store {
  const log = options.onQuery ? (event: LogEvent) => options.onQuery?.(event) : undefined;
  if (options.databaseUrl && /^postgres(ql)?:\/\//.test(options.databaseUrl)) {
    const pool = new Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      types: POSTGRES_TYPES,
    });
    // A pooled connection dropped while idle (database restart, failover) is discarded by the
    // pool; without a listener the 'error' event would end the process.
    pool.on('error', (error) => options.onPoolError?.(error));
    // The pool listens to a client only while it is idle: one whose connection drops while it is
    // checked out between two statements would raise an unhandled 'error' and end the process.
    // Its statement fails on its own; the pool discards the broken client when it is released.
    pool.on('connect', (client) => client.on('error', (error) => options.onPoolError?.(error)));
    const named = namingPool(pool, options.postgresStatementCacheSize ?? POSTGRES_STATEMENT_CACHE_SIZE);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: named }), log });
    return {
      db,
      engine: 'postgres',
      connections: () => ({ inUse: pool.totalCount - pool.idleCount, waiting: pool.waitingCount }),
      close: () => db.destroy(),
    };
  }
  if (options.databaseUrl) {
    throw new Error(`DATABASE_URL must start with postgres:// or postgresql://, got "${options.databaseUrl.split(':')[0]}:..."`);
  }
  const database = openSqlite(sqlitePath(options));
  if (options.busyTimeoutMs !== undefined) database.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
  const commits = groupCommitFor(database, options.syncFile);
  const checkpointer = commits && new Checkpointer(database, options.onCheckpoint, options.onCheckpointError);
  const writes: WriteMark = { wrote: false };
  const dialect = new CountingSqliteDialect({ database: cachingDatabase(database, writes) }, database, writes, commits);
  const db = new Kysely<Database>({ dialect, log });
  registerSqliteHandle(db, database, options.busyTimeoutMs, commits);
  return {
    db,
    engine: engineOf(db),
    connections: () => ({ ...dialect.use }),
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
      await commits?.idle();
    },
  };
}

/** Applies every pending migration; throws with the failing migration's name on error. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const where = failed ? ` in migration ${failed.migrationName}` : '';
    throw new Error(`database migration failed${where}: ${messageOf(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of migrations not yet applied (for `MIGRATE=false` start-up checks). */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const all = await migrator.getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
