/**
 * Group commit on SQLite (src/store/sqlite-durability.ts): no write is acknowledged before an
 * fsync of the WAL that started after it; reads go on while the fsync runs; concurrent commits
 * share one fsync. The fsync is injected so the test decides when it finishes.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openStore, SQLITE_FILE_NAME, type Store } from '../src/store/db';
import { whenDurable, withTransaction } from '../src/store/engine';
import { CHECKPOINT_PAGES, GroupCommit, fsyncFile, type CheckpointResult } from '../src/store/sqlite-durability';

/** A sync the test completes by hand: every call waits until `release()`. */
class ManualSync {
  readonly calls: string[] = [];
  private pending: (() => void)[] = [];

  readonly sync = (file: string): Promise<void> => {
    this.calls.push(file);
    return new Promise<void>((resolve) => this.pending.push(resolve));
  };

  /** Finishes every sync started so far. */
  release(): void {
    const pending = this.pending;
    this.pending = [];
    for (const resolve of pending) resolve();
  }

  get waiting(): number {
    return this.pending.length;
  }
}

/** Lets every queued promise callback and timer of this turn run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Resolves to true when `promise` settles within a few event-loop turns. */
async function settles(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await settle();
  return done;
}

describe('GroupCommit', () => {
  it('shares one fsync among the commits that arrive while another runs', async () => {
    const manual = new ManualSync();
    const group = new GroupCommit('/data/x-wal', manual.sync);
    const first = group.durable();
    expect(manual.calls).toEqual(['/data/x-wal']);
    // Three commits during the first fsync: none is covered by it; all share the next.
    const later = [group.durable(), group.durable(), group.durable()];
    await settle();
    expect(manual.calls).toHaveLength(1);
    manual.release(); // the WAL fsync
    await settle();
    manual.release(); // the folder, on the first fsync only
    await first;
    expect(await settles(Promise.all(later))).toBe(false);
    expect(manual.calls).toEqual(['/data/x-wal', '/data', '/data/x-wal']);
    manual.release();
    await Promise.all(later);
    expect(group.syncs).toBe(2);
  });

  it('has a barrier that waits for the fsync under way or queued, and starts none of its own', async () => {
    const manual = new ManualSync();
    const group = new GroupCommit('/data/x-wal', manual.sync);
    expect(await settles(group.barrier())).toBe(true);
    expect(manual.calls).toEqual([]);
    void group.durable();
    const duringFirst = group.barrier();
    void group.durable(); // queued behind the first
    const duringQueued = group.barrier();
    manual.release();
    await settle();
    manual.release(); // the folder
    // Taken before the second commit, the first barrier needs the first fsync only; the second
    // saw a commit the queued fsync covers.
    expect(await settles(duringFirst)).toBe(true);
    expect(await settles(duringQueued)).toBe(false);
    manual.release();
    expect(await settles(duringQueued)).toBe(true);
  });

  it('passes an fsync failure to every commit that waited for it, and the next commit tries again', async () => {
    let fail = true;
    const group = new GroupCommit('/data/x-wal', () => (fail ? Promise.reject(new Error('EIO')) : Promise.resolve()));
    await expect(group.durable()).rejects.toThrow('EIO');
    fail = false;
    await expect(group.durable()).resolves.toBeUndefined();
  });

  it('fsyncs a real file and its folder', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'group-commit-'));
    fs.writeFileSync(path.join(dir, 'a-wal'), 'x');
    const group = new GroupCommit(path.join(dir, 'a-wal'), fsyncFile);
    await expect(group.durable()).resolves.toBeUndefined();
    fs.rmSync(dir, { recursive: true });
  });
});

describe('SQLite store under group commit', () => {
  let dir: string;
  let store: Store;
  let manual: ManualSync;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-durability-'));
    manual = new ManualSync();
    store = openStore({ dataDir: dir, syncFile: manual.sync });
    // The table is created before the syncs are held by hand.
    const creating = sql`create table notes (id integer primary key, body text not null)`.execute(store.db);
    while (manual.waiting === 0) await settle();
    manual.release();
    await settle();
    manual.release();
    await creating;
    manual.calls.length = 0;
  });

  afterEach(async () => {
    manual.release();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const wal = () => path.join(dir, `${SQLITE_FILE_NAME}-wal`);
  const count = async () => Number((await sql<{ n: number }>`select count(*) as n from notes`.execute(store.db)).rows[0].n);

  it('runs with synchronous=NORMAL: the fsync at commit is the store\'s own', async () => {
    const rows = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
    expect(rows.rows[0].synchronous).toBe(1);
  });

  it('acknowledges a transaction only after an fsync of the WAL, and serves reads meanwhile', async () => {
    const write = withTransaction(store.db, async (trx) => {
      await sql`insert into notes (body) values ('a')`.execute(trx);
      return 'done';
    });
    expect(await settles(write)).toBe(false);
    expect(manual.calls).toEqual([wal()]);
    // Committed (visible) but not acknowledged: the connection is free and reads are answered.
    expect(await count()).toBe(1);
    manual.release();
    await expect(write).resolves.toBe('done');
  });

  it('holds an autocommit write too, and lets a read-only transaction through without an fsync', async () => {
    const write = sql`insert into notes (body) values ('b')`.execute(store.db);
    expect(await settles(write)).toBe(false);
    manual.release();
    await write;
    manual.calls.length = 0;
    const read = withTransaction(store.db, async (trx) => (await sql<{ n: number }>`select count(*) as n from notes`.execute(trx)).rows[0].n);
    expect(await settles(read)).toBe(true);
    expect(manual.calls).toEqual([]);
  });

  it('lets a reader wait until what it saw is durable (whenDurable), at once when nothing is pending', async () => {
    expect(await settles(whenDurable(store.db))).toBe(true);
    const write = withTransaction(store.db, (trx) => sql`insert into notes (body) values ('seen')`.execute(trx));
    for (let i = 0; i < 5; i++) await settle();
    expect(await count()).toBe(1); // visible before its fsync ends
    const barrier = whenDurable(store.db);
    expect(await settles(barrier)).toBe(false);
    manual.release();
    await Promise.all([write, barrier]);
  });

  it('commits concurrent transactions in one group: one fsync for all that committed while another ran', async () => {
    const first = withTransaction(store.db, (trx) => sql`insert into notes (body) values ('1')`.execute(trx));
    while (manual.waiting === 0) await settle();
    const others = [2, 3, 4].map((n) => withTransaction(store.db, (trx) => sql`insert into notes (body) values (${String(n)})`.execute(trx)));
    for (let i = 0; i < 5; i++) await settle();
    expect(await count()).toBe(4); // all four committed, while the first fsync still runs
    expect(manual.calls).toHaveLength(1);
    manual.release();
    await first;
    expect(await settles(Promise.all(others))).toBe(false);
    expect(manual.calls).toHaveLength(2); // one fsync for the three later commits
    manual.release();
    await Promise.all(others);
  });

  it('does not hold a transaction that rolled back for longer than its own fsync, and reports its error', async () => {
    const failing = withTransaction(store.db, async (trx) => {
      await sql`insert into notes (body) values ('x')`.execute(trx);
      throw new Error('refused');
    });
    for (let i = 0; i < 5; i++) await settle();
    manual.release();
    await expect(failing).rejects.toThrow('refused');
    expect(await count()).toBe(0);
  });
});

describe('checkpoints off the event loop', () => {
  it('turns the automatic checkpoint off and checkpoints a grown WAL from its own thread', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-checkpoint-'));
    const checkpoints: CheckpointResult[] = [];
    const store = openStore({ dataDir: dir, onCheckpoint: (result) => checkpoints.push(result) });
    try {
      const auto = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(store.db);
      expect(auto.rows[0].wal_autocheckpoint).toBe(0);
      await sql`create table blobs (id integer primary key, body blob not null)`.execute(store.db);
      // Past CHECKPOINT_PAGES pages of 4 KiB: 1,200 rows of 4 KiB each.
      await withTransaction(store.db, async (trx) => {
        for (let i = 0; i < 1200; i++) await sql`insert into blobs (body) values (randomblob(4096))`.execute(trx);
      });
      const deadline = Date.now() + 10_000;
      while (checkpoints.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(checkpoints[0]).toEqual(expect.objectContaining({ busy: 0 }));
      expect(checkpoints[0].checkpointed).toBeGreaterThan(CHECKPOINT_PAGES);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('closing the store', () => {
  it('lets a script go on after close: the checkpointer thread keeps the process alive until it has stopped', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-close-'));
    const db = path.resolve(__dirname, '../dist/src/store/db.js');
    const script = `
      const { migrateToLatest, openStore } = require(${JSON.stringify(db)});
      (async () => {
        const store = openStore({ dataDir: ${JSON.stringify(dir)} });
        await migrateToLatest(store.db);
        await store.close();
        process.stdout.write('after close');
      })();`;
    try {
      expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })).toBe('after close');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
