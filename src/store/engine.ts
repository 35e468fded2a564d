/**
 * Everything that differs between SQLite and PostgreSQL lives here, as small helpers:
 * value decoding, transactions, constraint errors.
 * Repositories and services stay engine-agnostic.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresAdapter, sql } from 'kysely';
import { storeBusy } from '../shared/errors';
import { SQLITE_BUSY_TIMEOUT_MS } from './sqlite-connection';
import type { GroupCommit } from './sqlite-durability';
import type { Database, JsonColumn, Timestamp } from './tables';

export type Engine = 'sqlite' | 'postgres';

// Kysely<any> here: engine detection runs before (and independently of) the
// typed Database shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above: no table types exist at that point
export type AnyKysely = Kysely<any>;

export function engineOf(db: AnyKysely): Engine {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** A timestamp column as an ISO 8601 string, whichever engine produced it. */
export function isoOf(value: Timestamp): string;
export function isoOf(value: Timestamp | null): string | null;
export function isoOf(value: Timestamp | null): string | null {
  if (value === null) return null;
  return value instanceof Date ? value.toISOString() : value;
}

/** A JSON column as a parsed value, whichever engine produced it. */
export function jsonOf<T>(value: JsonColumn): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

export function jsonText(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * A column reference the SQLite planner will not use an index for (`+column`). Given
 * `workspace_id = ? AND id IN (...)` it otherwise walks the whole workspace through a
 * (workspace_id, ...) index instead of probing the primary key once per id. PostgreSQL plans
 * this right from its statistics and gets the plain column.
 */
export function unindexed(db: AnyKysely, column: string) {
  return engineOf(db) === 'sqlite' ? sql<string>`+${sql.ref(column)}` : sql.ref<string>(column);
}

/** The database handle repositories take: the typed Kysely instance, or a transaction on it. */
export type Db = Kysely<Database>;
export type Tx = Db;

/**
 * Runs as the last statement(s) of a write transaction, before COMMIT, with the transaction's
 * result; throwing rolls the whole transaction back. The idempotency wrapper of mutation fields
 * (src/graphql/pipeline.ts, idempotency.ts) sets one so that the key's record commits
 * atomically with the mutation's writes.
 */
export type BeforeCommitHook = (trx: Tx, result: unknown) => Promise<void>;

/**
 * Why an AsyncLocalStorage and not a parameter: the hook is set around a whole resolver, and
 * the transaction it must join is opened two layers down, inside whichever service the
 * mutation calls. Passing it explicitly means every mutation resolver and every write
 * service taking and forwarding it; one that forgot would commit its write without the key's
 * mark, silently breaking "at most one execution of a key commits", and nothing would fail.
 * Scoped storage reaches every transaction the field opens, with no mutation able to opt out.
 * The one place that sets it is visible: the idempotency step of the resolver pipeline.
 */
const beforeCommitHooks = new AsyncLocalStorage<BeforeCommitHook>();

/** Runs `fn` so that every write transaction it opens calls `hook` before committing. */
export function withBeforeCommitHook<T>(hook: BeforeCommitHook, fn: () => T): T {
  return beforeCommitHooks.run(hook, fn);
}

async function runInTransaction<T>(trx: Tx, fn: (trx: Tx) => Promise<T>): Promise<T> {
  const result = await fn(trx);
  await beforeCommitHooks.getStore()?.(trx, result);
  return result;
}

interface SqliteHandle {
  database: SqliteDatabase.Database;
  busyTimeoutMs: number;
  /** The store's group commit (sqlite-durability.ts); none for an in-memory database. */
  commits: GroupCommit | null;
}

const sqliteHandles = new WeakMap<AnyKysely, SqliteHandle>();

/** Lets withTransaction wait for the write lock without blocking (openStore registers its SQLite store). */
export function registerSqliteHandle(db: AnyKysely, database: SqliteDatabase.Database, busyTimeoutMs = SQLITE_BUSY_TIMEOUT_MS, commits: GroupCommit | null = null): void {
  sqliteHandles.set(db, { database, busyTimeoutMs, commits });
}

/**
 * Resolves once everything a read just saw is durable. Under SQLite's group commit a commit is
 * visible a few milliseconds before its fsync ends; data that leaves the gateway as a record of
 * what happened (the change feed, an idempotent replay) waits for it, so no consumer copies a
 * change that a power loss could still undo. Called after the read. PostgreSQL makes a commit
 * visible only once it is durable: nothing to wait for.
 */
export function whenDurable(db: AnyKysely): Promise<void> {
  return sqliteHandles.get(db)?.commits?.barrier() ?? Promise.resolve();
}

/** A driver error's code (PostgreSQL's SQLSTATE, better-sqlite3's SQLITE_* name), if it has one. */
export function driverErrorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function isSqliteBusy(error: unknown): boolean {
  return driverErrorCode(error)?.startsWith('SQLITE_BUSY') ?? false;
}

/**
 * BEGIN IMMEDIATE without waiting: false when another connection holds the write lock.
 * busy_timeout would make better-sqlite3 wait for it synchronously, stalling every request of
 * the process, so it is off for this one statement.
 */
async function tryBeginImmediate(conn: Tx, handle: SqliteHandle): Promise<boolean> {
  handle.database.pragma('busy_timeout = 0');
  try {
    await sql`begin immediate`.execute(conn);
    return true;
  } catch (error) {
    if (isSqliteBusy(error)) return false;
    throw error;
  } finally {
    handle.database.pragma(`busy_timeout = ${handle.busyTimeoutMs}`);
  }
}

const LOCK_WAIT = { firstDelayMs: 2, maxDelayMs: 50 };

/**
 * Runs `fn` in one write transaction. On SQLite it takes the write lock up front
 * (BEGIN IMMEDIATE), so a transaction that reads before it writes cannot fail with
 * SQLITE_BUSY half-way when another process (the CLI, a second gateway) writes. While that
 * lock is held elsewhere the attempt gives the connection back and retries after a timer, so
 * reads keep being served (WAL lets them run beside the other writer); nothing was written
 * before BEGIN succeeded, so retrying it is safe. Past the busy budget the caller gets
 * SERVICE_UNAVAILABLE (503, Retry-After). BUSY after BEGIN (at COMMIT) is not retried: the
 * transaction rolls back and the error surfaces.
 */
export async function withTransaction<T>(db: Db, fn: (trx: Tx) => Promise<T>): Promise<T> {
  if (engineOf(db) === 'postgres') return withPostgresRetry(db, fn);
  const handle = sqliteHandles.get(db);
  let waitedMs = 0;
  for (let delayMs = LOCK_WAIT.firstDelayMs; ; delayMs = Math.min(delayMs * 2, LOCK_WAIT.maxDelayMs)) {
    const outcome = await db.connection().execute(async (conn) => {
      if (handle) {
        if (!(await tryBeginImmediate(conn, handle))) return null;
      } else await sql`begin immediate`.execute(conn);
      try {
        const result = await runInTransaction(conn, fn);
        await sql`commit`.execute(conn);
        return { result };
      } catch (error) {
        await sql`rollback`.execute(conn);
        throw error;
      }
    });
    if (outcome) return outcome.result;
    if (!handle || waitedMs >= handle.busyTimeoutMs) throw storeBusy(waitedMs);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    waitedMs += delayMs;
  }
}

/** PostgreSQL errors after which the whole transaction was rolled back and may run again. */
const RETRYABLE_IN_TRANSACTION = new Set(['40001', '40P01']);
/** Connection failures: retried only when they happen before the transaction's work began. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03', '08006', '08001']);

const POSTGRES_RETRY = { attempts: 5, baseDelayMs: 20 };

/**
 * PostgreSQL transactions are retried on serialization failures and deadlocks (the database
 * rolled everything back, so running again cannot write twice) and on connection failures
 * before the work started. A failure after the work began, when the commit may or may not
 * have happened, is never retried: it surfaces as an error instead of a silent double write.
 */
async function withPostgresRetry<T>(db: Db, fn: (trx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    let started = false;
    try {
      return await db.transaction().execute((trx) => {
        started = true;
        return runInTransaction(trx, fn);
      });
    } catch (error) {
      const code = driverErrorCode(error);
      const retryable = code !== undefined && (RETRYABLE_IN_TRANSACTION.has(code) || (!started && CONNECTION_ERRORS.has(code)));
      if (!retryable || attempt >= POSTGRES_RETRY.attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, POSTGRES_RETRY.baseDelayMs * 2 ** attempt * Math.random()));
    }
  }
}

/**
 * Runs `fn` inside a savepoint of the current transaction: when it throws, only its own
 * writes are undone and the transaction can go on (PostgreSQL would otherwise refuse every
 * further statement of an aborted transaction). Used to isolate one record of a batch.
 */
export async function withSavepoint<T>(trx: Tx, fn: () => Promise<T>): Promise<T> {
  await sql`savepoint batch_item`.execute(trx);
  try {
    const result = await fn();
    await sql`release savepoint batch_item`.execute(trx);
    return result;
  } catch (error) {
    await sql`rollback to savepoint batch_item`.execute(trx);
    await sql`release savepoint batch_item`.execute(trx);
    throw error;
  }
}

/**
 * Unique indexes by name, with their table and columns. PostgreSQL reports the index name of a
 * violated constraint; SQLite reports `table.column` pairs, matched against these.
 */
const UNIQUE_INDEXES = {
  customers_email_uq: { table: 'customers', columns: ['workspace_id', 'email'] },
  customers_external_id_uq: { table: 'customers', columns: ['workspace_id', 'external_id'] },
  members_email_uq: { table: 'members', columns: ['customer_id', 'email'] },
  members_external_id_uq: { table: 'members', columns: ['customer_id', 'external_id'] },
  workspaces_name_uq: { table: 'workspaces', columns: ['name'] },
} as const;

export type UniqueIndexName = keyof typeof UNIQUE_INDEXES;

/** The unique index a database error violated, or null when the error is something else. */
export function uniqueViolation(error: unknown): UniqueIndexName | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, constraint, message } = error as { code?: unknown; constraint?: unknown; message?: unknown };
  if (code === '23505' && typeof constraint === 'string') {
    return constraint in UNIQUE_INDEXES ? (constraint as UniqueIndexName) : null;
  }
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' && typeof message === 'string') {
    const columns = message.replace(/^UNIQUE constraint failed: /, '').split(', ');
    for (const [name, index] of Object.entries(UNIQUE_INDEXES)) {
      const expected = index.columns.map((column) => `${index.table}.${column}`);
      if (expected.length === columns.length && expected.every((c, i) => c === columns[i])) {
        return name as UniqueIndexName;
      }
    }
  }
  return null;
}

/** Escapes `%`, `_` and the escape character itself for a LIKE pattern using `ESCAPE '\'`. */
export function likeContains(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
