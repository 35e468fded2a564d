import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../src/cli/main';
import { authenticateKey } from '../src/services/keys';
import { openStore, SQLITE_FILE_NAME, type Store } from '../src/store/db';
import { migrationProvider } from '../src/store/migrations';
import { findWorkspaceByName, listApiKeys } from '../src/store/workspaces.repository';

interface Run {
  code: number;
  out: string[];
  err: string[];
}

const dirs: string[] = [];

function freshDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-cli-'));
  dirs.push(dir);
  return dir;
}

async function cli(dataDir: string, ...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: { DATA_DIR: dataDir } });
  return { code, out, err };
}

/** Creates a key and returns it (the last stdout line, as scripts read it) with its prefix. */
async function createKey(dataDir: string, ...extra: string[]): Promise<{ key: string; prefix: string }> {
  const run = await cli(dataDir, 'key', 'create', '--workspace', 'acme', ...extra);
  expect(run.code).toBe(0);
  const prefixLine = run.err.find((l) => l.startsWith('prefix:'));
  return { key: run.out[run.out.length - 1], prefix: (prefixLine ?? '').replace(/^prefix:\s*/, '') };
}

async function withStore<T>(dataDir: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore({ dataDir });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('customer-gateway CLI', () => {
  test('key create prints the key alone as the last stdout line and creates the workspace', async () => {
    const dataDir = freshDataDir();
    const run = await cli(dataDir, 'key', 'create', '--workspace', 'acme', '--name', 'ci');
    expect(run.code).toBe(0);
    expect(run.out).toHaveLength(1);
    expect(run.out[0]).toMatch(/^cgk_\S+$/);
    expect(run.err).toContain('created workspace acme');
    expect(run.err).toContain('store it now: it is shown once');
    expect(run.err.some((l) => l.startsWith('key id:'))).toBe(true);
    await withStore(dataDir, async ({ db }) => expect(await findWorkspaceByName(db, 'acme')).not.toBeNull());
  });

  test('a created key authenticates and the database holds only its hash', async () => {
    const dataDir = freshDataDir();
    const { key } = await createKey(dataDir);
    await withStore(dataDir, async ({ db }) => {
      const auth = await authenticateKey(db, key);
      expect(auth?.workspace.name).toBe('acme');
      const rows = await db.selectFrom('api_keys').selectAll().execute();
      expect(JSON.stringify(rows)).not.toContain(key);
      expect(JSON.stringify(rows)).not.toContain(key.slice(-20));
    });
    // Nothing in the database files either (main file and write-ahead log).
    const files = fs.readdirSync(dataDir).filter((f) => f.startsWith(SQLITE_FILE_NAME));
    const bytes = Buffer.concat(files.map((f) => fs.readFileSync(path.join(dataDir, f))));
    expect(bytes.includes(Buffer.from(key.slice(-20)))).toBe(false);
  });

  test('a second key create on the same workspace reuses it and workspace list counts both keys', async () => {
    const dataDir = freshDataDir();
    await createKey(dataDir);
    const second = await cli(dataDir, 'key', 'create', '--workspace', 'acme');
    expect(second.code).toBe(0);
    expect(second.err.some((l) => l.startsWith('created workspace'))).toBe(false);

    const list = await cli(dataDir, 'workspace', 'list');
    expect(list.code).toBe(0);
    expect(list.out[0]).toMatch(/^NAME\s+ID\s+CREATED\s+ACTIVE KEYS$/);
    expect(list.out).toHaveLength(2);
    expect(list.out[1]).toMatch(/^acme\s+\S+\s+\S+\s+2$/);
  });

  test('key revoke by prefix stops the key from authenticating', async () => {
    const dataDir = freshDataDir();
    const { key, prefix } = await createKey(dataDir);
    // `--` because a base64url prefix may start with "-".
    const run = await cli(dataDir, 'key', 'revoke', '--workspace', 'acme', '--', prefix);
    expect(run).toMatchObject({ code: 0, out: ['revoked 1 key'] });
    await withStore(dataDir, async ({ db }) => expect(await authenticateKey(db, key)).toBeNull());

    const list = await cli(dataDir, 'key', 'list', '--workspace', 'acme');
    expect(list.out[1]).toContain(prefix);
    expect(list.out[1]).not.toMatch(/\s-$/);
  });

  test('key revoke of an unknown prefix exits 1 with one line on stderr', async () => {
    const dataDir = freshDataDir();
    await createKey(dataDir);
    const run = await cli(dataDir, 'key', 'revoke', '--workspace', 'acme', 'nosuchpx');
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err).toEqual(['error: no live key with id or prefix "nosuchpx" in workspace "acme"']);
  });

  test('key list and revoke on an unknown workspace exit 1 naming it', async () => {
    const dataDir = freshDataDir();
    const list = await cli(dataDir, 'key', 'list', '--workspace', 'ghost');
    const revoke = await cli(dataDir, 'key', 'revoke', '--workspace', 'ghost', 'abc');
    for (const run of [list, revoke]) {
      expect(run.code).toBe(1);
      // The first run also migrates the fresh database and says so; the error is the last line.
      expect(run.err[run.err.length - 1]).toBe('error: no workspace named "ghost"');
    }
  });

  test('an invalid workspace name exits 1 with the naming rule and creates nothing', async () => {
    const dataDir = freshDataDir();
    const run = await cli(dataDir, 'key', 'create', '--workspace', 'Bad Name!');
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toContain('workspace name must be 1-63 lower-case letters');
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  test('key create --no-rate-limit stores the key as exempt from rate limiting', async () => {
    const dataDir = freshDataDir();
    const { key: limited } = await createKey(dataDir);
    const { key: exempt } = await createKey(dataDir, '--no-rate-limit');
    await withStore(dataDir, async ({ db }) => {
      const ids = [(await authenticateKey(db, limited))?.key.id, (await authenticateKey(db, exempt))?.key.id];
      const workspace = await findWorkspaceByName(db, 'acme');
      const keys = await listApiKeys(db, workspace?.id ?? '');
      expect(keys.map((k) => [k.id, k.rateLimited])).toEqual([[ids[0], true], [ids[1], false]]);
    });
    const list = await cli(dataDir, 'key', 'list', '--workspace', 'acme');
    expect(list.out.slice(1).map((l) => l.split(/\s{2,}/)[3])).toEqual(['yes', 'no']);
  });

  test('migrate on a fresh database prints the applied migration and then reports up to date', async () => {
    const dataDir = freshDataDir();
    const first = await cli(dataDir, 'migrate');
    const names = Object.keys(await migrationProvider.getMigrations()).sort();
    expect(first).toMatchObject({ code: 0, out: names.map((name) => `applied ${name}`) });
    expect(names[0]).toBe('001_initial');
    const second = await cli(dataDir, 'migrate');
    expect(second).toMatchObject({ code: 0, out: ['database is up to date'] });
  });

  test('--help prints usage to stdout and exits 0; an unknown command exits 1', async () => {
    const dataDir = freshDataDir();
    const help = await cli(dataDir, 'key', 'create', '--help');
    expect(help.code).toBe(0);
    expect(help.out.join('\n')).toContain('--no-rate-limit');
    const unknown = await cli(dataDir, 'frobnicate');
    expect(unknown.code).toBe(1);
    expect(unknown.err[0]).toMatch(/unknown command 'frobnicate'/);
  });

  test('an unexpected failure is one line without a stack unless DEBUG is set', async () => {
    const dataDir = freshDataDir();
    const err: string[] = [];
    const io = { stdout: () => undefined, stderr: (l: string) => err.push(l) };
    const code = await runCli(['migrate'], { ...io, env: { DATA_DIR: dataDir, DATABASE_URL: 'mysql://x' } });
    expect(code).toBe(1);
    expect(err).toEqual([expect.stringMatching(/^error: DATABASE_URL must start with postgres/)]);

    err.length = 0;
    await runCli(['migrate'], { ...io, env: { DATA_DIR: dataDir, DATABASE_URL: 'mysql://x', DEBUG: '1' } });
    expect(err.length).toBeGreaterThan(1);
    expect(err.slice(1).join('\n')).toMatch(/at /);
  });
});
