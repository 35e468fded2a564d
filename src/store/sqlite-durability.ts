/**
 * Group commit for the gateway's SQLite store: commits are made durable off the event loop.
 *
 * With synchronous=FULL, SQLite fsyncs the WAL inside every COMMIT, and better-sqlite3 runs that
 * on the event loop: about 6 ms a write on these disks, during which no read is served. Under a
 * mixed load every read waits behind every write's fsync.
 *
 * Here the store's connection runs with synchronous=NORMAL, under which SQLite still fsyncs
 * around every checkpoint (so the files stay consistent after a power loss) but not at COMMIT;
 * instead, when a connection holder that wrote gives the connection back outside a transaction
 * (a COMMIT or an autocommit write), its caller waits for an fsync of the WAL file, run on libuv's
 * thread pool, before it gets its result. Nothing is acknowledged before it is on disk, as with
 * FULL; while the fsync runs the event loop serves reads and other transactions commit. Commits
 * that arrive during an fsync share the next one (group commit): one fsync covers every frame
 * appended to the WAL before it started.
 *
 * What differs from FULL: a commit is visible to other requests a few milliseconds before it is
 * durable (between its COMMIT and the end of the fsync). A reader may see a write that a power
 * loss in those milliseconds would undo; the writer itself is never told it succeeded. A later
 * write that builds on it is acknowledged only after its own fsync, which covers the earlier
 * frames too (the WAL is appended in commit order), so no acknowledged write can depend on a lost
 * one. kill -9 loses nothing either way: a committed frame is in the operating system's cache.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/** Flushes one file to stable storage (tests inject their own to observe or delay it). */
export type FileSync = (file: string) => Promise<void>;

async function syncPath(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync(2) of the file at `file`: its data and everything written to it by any descriptor. */
export const fsyncFile: FileSync = syncPath;

/**
 * One fsync at a time; callers that arrive while one runs share the next. `durable()` resolves
 * once every write made before the call is on disk.
 */
export class GroupCommit {
  private running: Promise<void> | null = null;
  private waiting: Promise<void> | null = null;
  /** fsyncs started, for the tests and the bench. */
  syncs = 0;

  constructor(
    private readonly file: string,
    private readonly sync: FileSync = fsyncFile,
  ) {}

  durable(): Promise<void> {
    if (this.waiting) return this.waiting;
    if (!this.running) return this.start();
    // The fsync under way may have started before the caller's write: wait for the next one.
    this.waiting = this.running.then(
      () => this.next(),
      () => this.next(),
    );
    return this.waiting;
  }

  /**
   * Resolves once every commit visible now is durable. A committing holder calls durable()
   * before it gives the connection back, so every commit another holder can see is covered by
   * the fsync under way or the one queued: waiting for the last of them is enough, and with
   * neither there is nothing to wait for (no fsync is started).
   */
  barrier(): Promise<void> {
    return (this.waiting ?? this.running ?? Promise.resolve()).catch(() => undefined);
  }

  /** Resolves when no fsync is under way or queued (a clean close waits for it). */
  async idle(): Promise<void> {
    while (this.running || this.waiting) await (this.waiting ?? this.running)?.catch(() => undefined);
  }

  /**
   * The first fsync also syncs the folder, so the WAL file's own entry survives a power loss
   * (SQLite does the same for a WAL file it created). The WAL then stays while the store's
   * connection is open: SQLite deletes it only when its last connection closes.
   */
  private directorySynced = false;

  private async syncOnce(): Promise<void> {
    await this.sync(this.file);
    if (!this.directorySynced) {
      await this.sync(path.dirname(this.file));
      this.directorySynced = true;
    }
  }

  private next(): Promise<void> {
    this.waiting = null;
    return this.start();
  }

  private start(): Promise<void> {
    this.syncs += 1;
    const run: Promise<void> = this.syncOnce().finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }
}

/**
 * Puts a connection opened on a file under group commit: synchronous=NORMAL, and the GroupCommit
 * that must run before any of its writes is acknowledged (see openStore's driver). Null for an
 * in-memory database, which has nothing to make durable.
 */
export function groupCommitFor(database: SqliteDatabase.Database, sync: FileSync = fsyncFile): GroupCommit | null {
  if (database.memory) return null;
  database.pragma('synchronous = NORMAL');
  return new GroupCommit(`${database.name}-wal`, sync);
}

/**
 * WAL pages past which the checkpointer copies them into the database file: SQLite's own
 * wal_autocheckpoint default.
 */
export const CHECKPOINT_PAGES = 1000;
/** How often the checkpointer looks at the WAL's size, in milliseconds. */
export const CHECKPOINT_POLL_MS = 250;

/**
 * The checkpointer's thread: its own connection, a PASSIVE checkpoint (which never waits for the
 * gateway's readers or writer) whenever the WAL has outgrown CHECKPOINT_PAGES. Source text run
 * with `eval`, so it needs no separate file in src/ and dist/ alike.
 */
const CHECKPOINTER_SOURCE = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
const wal = workerData.file + '-wal';
const limit = workerData.pages * db.pragma('page_size', { simple: true });
const check = () => {
  let size = 0;
  try { size = fs.statSync(wal).size; } catch { return; }
  if (size > limit) parentPort.postMessage(db.pragma('wal_checkpoint(PASSIVE)')[0]);
};
const timer = setInterval(check, workerData.pollMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/**
 * Moves SQLite's automatic checkpoint off the event loop. Under synchronous=NORMAL a checkpoint
 * is where SQLite fsyncs (the WAL before, the database file after), and the automatic one runs
 * inside the COMMIT that crossed the threshold, stalling every request for its copy and two
 * fsyncs. Here the store's connection turns it off and a worker thread does it instead.
 * If the thread fails, the connection's automatic checkpoint comes back.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private stopped = false;

  constructor(database: SqliteDatabase.Database, onCheckpoint: (result: CheckpointResult) => void = () => undefined, onError: (error: Error) => void = () => undefined) {
    database.pragma('wal_autocheckpoint = 0');
    this.worker = new Worker(CHECKPOINTER_SOURCE, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), file: database.name, pages: CHECKPOINT_PAGES, pollMs: CHECKPOINT_POLL_MS },
    });
    this.worker.unref();
    this.worker.on('message', onCheckpoint);
    this.worker.on('error', (error) => {
      if (database.open) database.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
      onError(error);
    });
  }

  /** Stops the thread (its connection closes first); the store's own close checkpoints the rest. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    // Unreferenced while it runs (it must not keep a finished process alive); waiting for its exit
    // must keep the process alive, or a script that closes the store ends right there.
    this.worker.ref();
    this.worker.postMessage('stop');
    await exited;
  }
}
