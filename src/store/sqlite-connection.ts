/**
 * The settings every SQLite connection gets, the gateway's and the benchmarks' raw ones alike
 * (this module loads nothing else, so a raw benchmark stays free of the gateway's memory).
 */
import type SqliteDatabase from 'better-sqlite3';

/**
 * How long a statement waits in all for another connection's write lock. The gateway's write
 * transactions wait for it without blocking (see withTransaction); other statements wait here.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

export function configureSqliteConnection(database: SqliteDatabase.Database): SqliteDatabase.Database {
  database.pragma('journal_mode = WAL');
  // FULL survives power loss. The gateway's own store then trades it for NORMAL plus its group
  // commit, which keeps that guarantee with the fsync off the event loop (sqlite-durability.ts).
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  // Freed cells and pages are zeroed, so an erased or overwritten value leaves no copy in the file.
  database.pragma('secure_delete = ON');
  database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  return database;
}
