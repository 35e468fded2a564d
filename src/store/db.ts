/** Opening the database (SQLite file or PostgreSQL) and migrating it. */
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type { LogEvent, SqliteDatabase as SqliteDialectDatabase } from 'kysely';
import { Pool } from 'pg';
import { engineOf, type Engine } from './engine';
import { migrationProvider } from './migrations';
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
  /** PostgreSQL: how long to wait for a connection, in milliseconds. */
  connectTimeoutMs?: number;
  /** PostgreSQL: statements running longer are cancelled (0 = no limit), in milliseconds. */
  statementTimeoutMs?: number;
  /** Told about errors of idle pooled connections (a restarted database), which would otherwise crash the process. */
  onPoolError?: (error: Error) => void;
}

export interface Store {
  db: Kysely<Database>;
  engine: Engine;
  close(): Promise<void>;
}

export const SQLITE_FILE_NAME = 'customer-gateway.sqlite';

export function sqlitePath(options: StoreOptions): string {
  if (options.sqliteFile) return options.sqliteFile;
  return path.join(options.dataDir ?? './data', SQLITE_FILE_NAME);
}

function openSqlite(file: string): SqliteDatabase.Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const database = new SqliteDatabase(file);
  database.pragma('journal_mode = WAL');
  // better-sqlite3 reopens WAL databases with synchronous=NORMAL; FULL survives power loss.
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return database;
}

/** Most statements repeat with new parameters; past this many distinct texts the oldest go. */
export const STATEMENT_CACHE_SIZE = 1000;

/**
 * Kysely's SQLite driver prepares every statement anew, which costs more than running it.
 * better-sqlite3 statements are reusable, so they are kept by SQL text (least recently used
 * dropped first). Safe because Kysely runs one statement at a time on this connection and
 * never leaves an iterator open (no `.stream()` on SQLite here).
 */
function cachingDatabase(database: SqliteDatabase.Database): SqliteDialectDatabase {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => database.close(),
    prepare(sqlText: string) {
      let statement = cache.get(sqlText);
      if (statement) {
        cache.delete(sqlText);
      } else {
        statement = database.prepare(sqlText);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sqlText, statement);
      return statement;
    },
  };
}

export function openStore(options: StoreOptions): Store {
  const log = options.onQuery ? (event: LogEvent) => options.onQuery?.(event) : undefined;
  if (options.databaseUrl && /^postgres(ql)?:\/\//.test(options.databaseUrl)) {
    const pool = new Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
    });
    // A pooled connection dropped while idle (database restart, failover) is discarded by the
    // pool; without a listener the 'error' event would end the process.
    pool.on('error', (error) => options.onPoolError?.(error));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log });
    return { db, engine: 'postgres', close: () => db.destroy() };
  }
  if (options.databaseUrl) {
    throw new Error(`DATABASE_URL must start with postgres:// or postgresql://, got "${options.databaseUrl.split(':')[0]}:..."`);
  }
  const database = openSqlite(sqlitePath(options));
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingDatabase(database) }), log });
  return { db, engine: engineOf(db), close: () => db.destroy() };
}

/** Applies every pending migration; throws with the failing migration's name on error. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const where = failed ? ` in migration ${failed.migrationName}` : '';
    throw new Error(`database migration failed${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of migrations not yet applied (for `MIGRATE=false` start-up checks). */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const all = await migrator.getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
