/**
 * The breaking-change guard (scripts/schema-guard.js, run by `npm test` and CI): run as a
 * process, exactly as CI runs it, on copies of schema/ with one change each.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const GUARD = path.join(ROOT, 'scripts', 'schema-guard.js');
const SCHEMA = path.join(ROOT, 'schema');

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  output: string;
}

function guard(...args: string[]): Run {
  const result = spawnSync(process.execPath, [GUARD, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A copy of schema/ plus a snapshot released from it; `edit` then changes the copy's files. */
function releasedCopy(): { dir: string; snapshot: string; edit(file: string, from: string | RegExp, to: string): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-guard-'));
  tempDirs.push(dir);
  const schema = path.join(dir, 'schema');
  fs.cpSync(SCHEMA, schema, { recursive: true });
  const snapshot = path.join(dir, 'released.graphql');
  expect(guard('--release', '--schema', schema, '--snapshot', snapshot).status).toBe(0);
  return {
    dir: schema,
    snapshot,
    edit(file, from, to) {
      const target = path.join(schema, file);
      const before = fs.readFileSync(target, 'utf8');
      const after = before.replace(from, to);
      if (after === before) throw new Error(`edit of ${file} matched nothing: ${String(from)}`);
      fs.writeFileSync(target, after);
    },
  };
}

describe('schema guard', () => {
  it('passes schema/ against the committed release snapshot', () => {
    const run = guard();
    expect(run).toMatchObject({ status: 0 });
    expect(run.output).toMatch(/compatible with|matches the released schema/);
  });

  it('fails on a removed field and names it', () => {
    const copy = releasedCopy();
    copy.edit('customer.graphql', /\n  "A note for agents, never shown to the customer\."\n  internalNote: String @requiresScopes[^\n]*\n/, '\n');
    const run = guard('--schema', copy.dir, '--snapshot', copy.snapshot);
    expect(run.status).toBe(1);
    expect(run.output).toContain("BREAKING     Field 'internalNote' was removed from object type 'Customer'");
    expect(run.output).toContain('npm run schema:release');
  });

  it('fails when an optional argument becomes required', () => {
    const copy = releasedCopy();
    copy.edit('customer.graphql', 'customers(first: Int,', 'customers(first: Int!,');
    const run = guard('--schema', copy.dir, '--snapshot', copy.snapshot);
    expect(run.status).toBe(1);
    expect(run.output).toMatch(/BREAKING .*'first'.*Query\.customers/);
  });

  it('fails when a field becomes nullable or changes type', () => {
    const copy = releasedCopy();
    copy.edit('customer.graphql', '  email: String!\n  "Whether the email address has been verified."', '  email: String\n  "Whether the email address has been verified."');
    const run = guard('--schema', copy.dir, '--snapshot', copy.snapshot);
    expect(run.status).toBe(1);
    expect(run.output).toMatch(/BREAKING .*Customer\.email/);
  });

  it('passes an additive change and lists it', () => {
    const copy = releasedCopy();
    copy.edit('customer.graphql', /(\n  internalNote: String @requiresScopes[^\n]*\n)/, '$1  "A nickname."\n  nickname: String\n');
    copy.edit('base.graphql', '  workspace: Workspace! @authenticated\n', '  workspace: Workspace! @authenticated\n  "The server\'s version."\n  serverVersion: String!\n');
    const run = guard('--schema', copy.dir, '--snapshot', copy.snapshot);
    expect(run.output).toContain("NON_BREAKING Field 'nickname' was added to object type 'Customer'");
    expect(run.output).toContain("NON_BREAKING Field 'serverVersion' was added to object type 'Query'");
    expect(run.status).toBe(0);
  });

  it('is not confused by federation directives: a second @key is not breaking', () => {
    const copy = releasedCopy();
    copy.edit('customer.graphql', 'type Customer implements Node @key(fields: "id")', 'type Customer implements Node @key(fields: "id") @key(fields: "externalId")');
    const run = guard('--schema', copy.dir, '--snapshot', copy.snapshot);
    expect(run.output).not.toMatch(/^BREAKING/m);
    expect(run.status).toBe(0);
  });

  it('accepts a breaking change once the snapshot is deliberately released again', () => {
    const copy = releasedCopy();
    const occurrences = () => fs.readFileSync(copy.snapshot, 'utf8').split('internalNote: String').length - 1;
    const before = occurrences();
    copy.edit('customer.graphql', /\n  "A note for agents, never shown to the customer\."\n  internalNote: String @requiresScopes[^\n]*\n/, '\n');
    expect(guard('--schema', copy.dir, '--snapshot', copy.snapshot).status).toBe(1);
    expect(guard('--release', '--schema', copy.dir, '--snapshot', copy.snapshot).status).toBe(0);
    expect(occurrences()).toBe(before - 1);
    expect(guard('--schema', copy.dir, '--snapshot', copy.snapshot)).toMatchObject({ status: 0 });
  });

  it('fails clearly when there is no snapshot', () => {
    const run = guard('--snapshot', path.join(os.tmpdir(), 'cg-guard-missing', 'none.graphql'));
    expect(run.status).toBe(1);
    expect(run.output).toContain('npm run schema:release');
  });
});
