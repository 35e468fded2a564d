/**
 * The change feed (`exportCustomers` and `GET /export/customers.ndjson`): change order,
 * paging, cursor validation, resume semantics (no change ever skipped, each changed customer
 * delivered once at its latest state), `updatedSince`, tenant isolation, concurrent writers,
 * and the NDJSON export record.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/shared/logger';
import { Writable } from 'node:stream';
import { writeExportNdjson } from '../src/services/export-stream';
import { issueKey, type IssuedKey } from '../src/services/keys';
import { createCustomer, createTestEnv, NO_COST_LIMIT, USER_ERRORS, type CallerOptions, type TestEnv } from './helpers';

const EXPORT = `query($first: Int, $after: String, $updatedSince: DateTime) {
  exportCustomers(first: $first, after: $after, updatedSince: $updatedSince) {
    edges { cursor node { id email version status archivedAt type customFields { key value } members { nodes { email } } } }
    nodes { id email version status }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface ExportNode {
  id: string;
  email: string;
  version: number;
  status: 'ACTIVE' | 'ARCHIVED';
  archivedAt: string | null;
  type: string;
  customFields: { key: string; value: unknown }[];
  members: { nodes: { email: string }[] };
}

interface ExportPage {
  edges: { cursor: string; node: ExportNode }[];
  nodes: { id: string; email: string; version: number; status: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

interface ExportArgs {
  first?: number;
  after?: string | null;
  updatedSince?: string;
}

async function page(env: TestEnv, args: ExportArgs = {}, as?: Partial<CallerOptions>): Promise<ExportPage> {
  return (await env.data<{ exportCustomers: ExportPage }>(EXPORT, args as Record<string, unknown>, as)).exportCustomers;
}

async function exportError(env: TestEnv, args: Record<string, unknown>, as?: Partial<CallerOptions>) {
  const result = await env.exec(EXPORT, args, as);
  return { data: result.data ?? null, codes: (result.errors ?? []).map((e) => e.extensions?.code) };
}

/** Reads the feed from `after` to its end with pages of `first`; every page and the final cursor. */
async function drain(env: TestEnv, after: string | null = null, first = 7, as?: Partial<CallerOptions>) {
  const pages: ExportPage[] = [];
  let cursor = after;
  for (let guard = 0; guard < 10_000; guard++) {
    const p = await page(env, { first, ...(cursor ? { after: cursor } : {}) }, as);
    pages.push(p);
    expect(typeof p.pageInfo.endCursor).toBe('string');
    cursor = p.pageInfo.endCursor;
    if (!p.pageInfo.hasNextPage) break;
  }
  return { pages, nodes: pages.flatMap((p) => p.edges.map((e) => e.node)), endCursor: cursor as string };
}

const UPDATE = `mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { id version status } ${USER_ERRORS} } }`;
const ARCHIVE = `mutation($input: ArchiveCustomerInput!) { archiveCustomer(input: $input) { customer { id version status } ${USER_ERRORS} } }`;
const RESTORE = `mutation($input: RestoreCustomerInput!) { restoreCustomer(input: $input) { customer { id version status } ${USER_ERRORS} } }`;
const ADD_MEMBER = `mutation($input: AddMemberInput!) { addMember(input: $input) { member { id email } customer { id version status } ${USER_ERRORS} } }`;
const UPDATE_MEMBER = `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id email } customer { id version status } ${USER_ERRORS} } }`;
const REMOVE_MEMBER = `mutation($input: RemoveMemberInput!) { removeMember(input: $input) { removedMemberId customer { id version status } ${USER_ERRORS} } }`;
const DEFINE = `mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) { customFieldDefinition { key } ${USER_ERRORS} } }`;

interface Written {
  id: string;
  version: number;
  status: string;
}

async function mutate(env: TestEnv, mutation: string, name: string, input: Record<string, unknown>, as?: Partial<CallerOptions>): Promise<Written> {
  const data = await env.data<Record<string, { customer: Written | null; userErrors: unknown[] }>>(mutation, { input }, as);
  const payload = data[name];
  if (payload.userErrors.length) throw new Error(`${name} failed: ${JSON.stringify(payload.userErrors)}`);
  return payload.customer as Written;
}

const update = (env: TestEnv, input: Record<string, unknown>, as?: Partial<CallerOptions>) => mutate(env, UPDATE, 'updateCustomer', input, as);
const archive = (env: TestEnv, id: string, as?: Partial<CallerOptions>) => mutate(env, ARCHIVE, 'archiveCustomer', { id }, as);
const restore = (env: TestEnv, id: string, as?: Partial<CallerOptions>) => mutate(env, RESTORE, 'restoreCustomer', { id }, as);
const addMember = (env: TestEnv, customerId: string, email: string, as?: Partial<CallerOptions>) =>
  mutate(env, ADD_MEMBER, 'addMember', { customerId, email }, as);

async function defineField(env: TestEnv, key: string, as?: Partial<CallerOptions>) {
  const data = await env.data<{ defineCustomField: { userErrors: unknown[] } }>(DEFINE, { input: { key, label: key, valueType: 'STRING' } }, as);
  expect(data.defineCustomField.userErrors).toEqual([]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A base64url cursor with the same shape as export cursors, for forged-cursor checks. */
const forged = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

let env: TestEnv;

beforeEach(async () => {
  // EXPORT nests `members` (20 by default) in pages of up to 1000 customers: 1000 + 1000 x 20 =
  // 21,000 requested nodes, over the default 10,000, and costs more than the default
  // MAX_QUERY_COST. A bulk consumer raises both (or asks for fewer members), as this suite does.
  env = await createTestEnv({ ...NO_COST_LIMIT, limits: { maxRequestedNodes: 25_000 } });
});

afterEach(async () => {
  await env.close();
});

describe('exportCustomers: page shape and order', () => {
  test('returns customers in the order they last changed, with edges, cursors, nodes and pageInfo', async () => {
    const c1 = await createCustomer(env, { email: 'one@example.com' });
    const c2 = await createCustomer(env, { email: 'two@example.com' });
    const c3 = await createCustomer(env, { email: 'three@example.com' });
    await update(env, { id: c1.id, firstName: 'Uno' });

    const p = await page(env);
    expect(p.edges.map((e) => e.node.id)).toEqual([c2.id, c3.id, c1.id]);
    expect(p.edges.map((e) => e.node.version)).toEqual([1, 1, 2]);
    expect(p.nodes).toEqual(p.edges.map((e) => ({ id: e.node.id, email: e.node.email, version: e.node.version, status: e.node.status })));
    for (const edge of p.edges) expect(typeof edge.cursor).toBe('string');
    expect(new Set(p.edges.map((e) => e.cursor)).size).toBe(3);
    expect(p.pageInfo.hasNextPage).toBe(false);
    expect(p.pageInfo.endCursor).toBe(p.edges[2].cursor);
  });

  test('pages with first/after continue exactly where the previous page ended, and an edge cursor resumes after that edge', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createCustomer(env, { email: `p${i}@example.com` })).id);

    const first = await page(env, { first: 2 });
    expect(first.edges.map((e) => e.node.id)).toEqual(ids.slice(0, 2));
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.edges[1].cursor });
    const second = await page(env, { first: 2, after: first.pageInfo.endCursor });
    expect(second.edges.map((e) => e.node.id)).toEqual(ids.slice(2, 4));
    expect(second.pageInfo.hasNextPage).toBe(true);
    const third = await page(env, { first: 2, after: second.pageInfo.endCursor });
    expect(third.edges.map((e) => e.node.id)).toEqual(ids.slice(4));
    expect(third.pageInfo.hasNextPage).toBe(false);

    const fromEdge = await page(env, { after: first.edges[0].cursor });
    expect(fromEdge.edges.map((e) => e.node.id)).toEqual(ids.slice(1));
  });

  test('includes archived customers, with status ARCHIVED', async () => {
    const kept = await createCustomer(env, { email: 'kept@example.com' });
    const gone = await createCustomer(env, { email: 'gone@example.com' });
    await archive(env, gone.id);

    const p = await page(env);
    expect(p.edges.map((e) => [e.node.id, e.node.status, e.node.version])).toEqual([
      [kept.id, 'ACTIVE', 1],
      [gone.id, 'ARCHIVED', 2],
    ]);
    expect(p.edges[1].node.archivedAt).toEqual(expect.any(String));
  });

  test('an empty workspace gives an empty page whose endCursor is a string, and that cursor works', async () => {
    const p = await page(env);
    expect(p.edges).toEqual([]);
    expect(p.nodes).toEqual([]);
    expect(p.pageInfo.hasNextPage).toBe(false);
    expect(typeof p.pageInfo.endCursor).toBe('string');

    const created = await createCustomer(env, { email: 'later@example.com' });
    const next = await page(env, { after: p.pageInfo.endCursor });
    expect(next.edges.map((e) => e.node.id)).toEqual([created.id]);
  });
});

describe('exportCustomers: first', () => {
  test('defaults to 100 per page', async () => {
    for (let i = 0; i < 101; i++) await createCustomer(env, { email: `d${i}@example.com` });
    const p = await page(env);
    expect(p.edges).toHaveLength(100);
    expect(p.pageInfo.hasNextPage).toBe(true);
    const rest = await page(env, { after: p.pageInfo.endCursor });
    expect(rest.edges).toHaveLength(1);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  test('accepts 1 and 1000', async () => {
    for (let i = 0; i < 3; i++) await createCustomer(env, { email: `f${i}@example.com` });
    const one = await page(env, { first: 1 });
    expect(one.edges).toHaveLength(1);
    expect(one.pageInfo.hasNextPage).toBe(true);
    const many = await page(env, { first: 1000 });
    expect(many.edges).toHaveLength(3);
    expect(many.pageInfo.hasNextPage).toBe(false);
  });

  test.each([0, -1, 1001, 100000])('rejects first: %p with BAD_USER_INPUT', async (first) => {
    await createCustomer(env, { email: 'x@example.com' });
    const { data, codes } = await exportError(env, { first });
    expect(codes).toEqual(['BAD_USER_INPUT']);
    expect(data).toBeNull();
  });
});

describe('exportCustomers: cursor validation', () => {
  test.each([
    ['garbage', 'garbage'],
    ['a cursor with bad base64', '!!!%%%'],
    ['a forged negative sequence', forged(['export', 'whatever', -1])],
    ['a JSON array of the wrong kind', forged(['customers', 'x', 1])],
  ])('rejects %s as `after` with BAD_USER_INPUT (never INTERNAL_SERVER_ERROR)', async (_label, after) => {
    await createCustomer(env, { email: 'x@example.com' });
    const { data, codes } = await exportError(env, { after });
    expect(codes).toEqual(['BAD_USER_INPUT']);
    expect(data).toBeNull();
  });

  test('rejects a cursor of the customers connection with BAD_USER_INPUT', async () => {
    await createCustomer(env, { email: 'x@example.com' });
    await createCustomer(env, { email: 'y@example.com' });
    const list = await env.data<{ customers: { pageInfo: { endCursor: string } } }>('{ customers(first: 1) { pageInfo { endCursor } } }');
    const { codes } = await exportError(env, { after: list.customers.pageInfo.endCursor });
    expect(codes).toEqual(['BAD_USER_INPUT']);
  });

  test('rejects a cursor obtained in workspace beta when used in alpha with BAD_USER_INPUT', async () => {
    await createCustomer(env, { email: 'b1@example.com' }, { key: env.b });
    await createCustomer(env, { email: 'b2@example.com' }, { key: env.b });
    const beta = await page(env, { first: 1 }, { key: env.b });
    expect(beta.edges).toHaveLength(1);
    const { data, codes } = await exportError(env, { after: beta.pageInfo.endCursor });
    expect(codes).toEqual(['BAD_USER_INPUT']);
    expect(data).toBeNull();
    const edgeCursor = await exportError(env, { after: beta.edges[0].cursor });
    expect(edgeCursor.codes).toEqual(['BAD_USER_INPUT']);
  });
});

describe('exportCustomers: resuming from a stored endCursor', () => {
  test('returns exactly the customers changed since, each once at its latest state, then empty pages with a stable cursor', async () => {
    await defineField(env, 'tier');
    const untouched: string[] = [];
    for (let i = 0; i < 10; i++) untouched.push((await createCustomer(env, { email: `filler${i}@example.com` })).id);
    const toUpdate = await createCustomer(env, { email: 'update-me@example.com', firstName: 'Old' });
    const toArchive = await createCustomer(env, { email: 'archive-me@example.com' });
    const toRestore = await createCustomer(env, { email: 'restore-me@example.com' });
    await archive(env, toRestore.id);
    const team = await createCustomer(env, { email: 'team@example.com', type: 'TEAM' });
    const withField = await createCustomer(env, { email: 'field@example.com', customFields: [{ key: 'tier', value: 'bronze' }] });

    const initial = await drain(env, null, 7);
    expect(initial.pages.length).toBeGreaterThan(1);
    const initialIds = initial.nodes.map((n) => n.id);
    expect(initialIds).toHaveLength(15);
    expect(new Set(initialIds).size).toBe(15);
    const stored = initial.endCursor;

    const n1 = await createCustomer(env, { email: 'new1@example.com' });
    const n2 = await createCustomer(env, { email: 'new2@example.com' });
    const updated = await update(env, { id: toUpdate.id, firstName: 'New' });
    const archived = await archive(env, toArchive.id);
    const restored = await restore(env, toRestore.id);
    const memberAdded = await addMember(env, team.id, 'mate@example.com');
    const fieldChanged = await update(env, { id: withField.id, customFields: [{ key: 'tier', value: 'gold' }] });

    const resumed = await drain(env, stored, 7);
    const got = resumed.nodes.map((n) => ({ id: n.id, version: n.version, status: n.status }));
    expect(got).toEqual([
      { id: n1.id, version: 1, status: 'ACTIVE' },
      { id: n2.id, version: 1, status: 'ACTIVE' },
      { id: updated.id, version: 2, status: 'ACTIVE' },
      { id: archived.id, version: 2, status: 'ARCHIVED' },
      { id: restored.id, version: 3, status: 'ACTIVE' },
      { id: memberAdded.id, version: 2, status: 'ACTIVE' },
      { id: fieldChanged.id, version: 2, status: 'ACTIVE' },
    ]);
    // The versions the mutations acknowledged are the ones delivered.
    expect([updated.version, archived.version, restored.version, memberAdded.version, fieldChanged.version]).toEqual([2, 2, 3, 2, 2]);
    const byId = new Map(resumed.nodes.map((n) => [n.id, n]));
    expect(byId.get(team.id)?.members.nodes.map((m) => m.email)).toEqual(['mate@example.com']);
    expect(byId.get(withField.id)?.customFields).toEqual([{ key: 'tier', value: 'gold' }]);
    for (const id of untouched) expect(byId.has(id)).toBe(false);

    const after = resumed.endCursor;
    const empty = await page(env, { after });
    expect(empty.edges).toEqual([]);
    expect(empty.nodes).toEqual([]);
    expect(empty.pageInfo.hasNextPage).toBe(false);
    expect(typeof empty.pageInfo.endCursor).toBe('string');
    expect(empty.pageInfo.endCursor).toBe(after);
    const again = await page(env, { after: empty.pageInfo.endCursor });
    expect(again.edges).toEqual([]);
    expect(again.pageInfo.endCursor).toBe(after);
  });

  test('a customer changed three times between two reads appears once, at its latest version', async () => {
    const other = await createCustomer(env, { email: 'other@example.com' });
    const busy = await createCustomer(env, { email: 'busy@example.com' });
    const { endCursor } = await drain(env);
    await update(env, { id: busy.id, firstName: 'A' });
    await update(env, { id: busy.id, firstName: 'B' });
    const last = await update(env, { id: busy.id, lastName: 'C' });
    expect(last.version).toBe(4);

    const resumed = await page(env, { after: endCursor });
    expect(resumed.edges.map((e) => [e.node.id, e.node.version])).toEqual([[busy.id, 4]]);
    expect(resumed.edges.some((e) => e.node.id === other.id)).toBe(false);
    expect(resumed.pageInfo.hasNextPage).toBe(false);
    expect(resumed.pageInfo.endCursor).toBe(resumed.edges[0].cursor);
  });

  test('a customer that changes after being delivered on an earlier page is delivered again later in the same drain', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await createCustomer(env, { email: `m${i}@example.com` })).id);
    const first = await page(env, { first: 2 });
    expect(first.edges.map((e) => e.node.id)).toEqual(ids.slice(0, 2));
    const moved = await update(env, { id: ids[0], firstName: 'Moved' });
    const rest = await drain(env, first.pageInfo.endCursor, 2);
    expect(rest.nodes.map((n) => [n.id, n.version])).toEqual([
      [ids[2], 1],
      [ids[3], 1],
      [ids[0], moved.version],
    ]);
  });
});

describe('exportCustomers: updatedSince', () => {
  test('excludes customers last changed before the instant and includes those changed after it', async () => {
    const early = await createCustomer(env, { email: 'early@example.com' });
    const earlyChanged = await createCustomer(env, { email: 'early-changed@example.com' });
    await sleep(5);
    const since = new Date().toISOString();
    await sleep(5);
    const late = await createCustomer(env, { email: 'late@example.com' });
    const changed = await update(env, { id: earlyChanged.id, firstName: 'Later' });

    const p = await page(env, { updatedSince: since });
    expect(p.edges.map((e) => [e.node.id, e.node.version])).toEqual([
      [late.id, 1],
      [changed.id, 2],
    ]);
    expect(p.edges.some((e) => e.node.id === early.id)).toBe(false);
    expect(p.pageInfo.hasNextPage).toBe(false);
    expect(typeof p.pageInfo.endCursor).toBe('string');

    // A cursor from an updatedSince read resumes the feed after it.
    const next = await createCustomer(env, { email: 'next@example.com' });
    const resumed = await page(env, { after: p.pageInfo.endCursor });
    expect(resumed.edges.map((e) => e.node.id)).toEqual([next.id]);
  });

  test('an instant after every change gives an empty page with a string endCursor', async () => {
    await createCustomer(env, { email: 'a@example.com' });
    await sleep(5);
    const p = await page(env, { updatedSince: new Date(Date.now() + 60_000).toISOString() });
    expect(p.edges).toEqual([]);
    expect(p.pageInfo.hasNextPage).toBe(false);
    expect(typeof p.pageInfo.endCursor).toBe('string');
  });
});

describe('exportCustomers: tenant isolation', () => {
  test("alpha's feed never contains beta's customers and vice versa", async () => {
    const a1 = await createCustomer(env, { email: 'shared@example.com' });
    const b1 = await createCustomer(env, { email: 'shared@example.com' }, { key: env.b });
    const a2 = await createCustomer(env, { email: 'a2@example.com' });
    const b2 = await createCustomer(env, { email: 'b2@example.com' }, { key: env.b });
    await update(env, { id: b1.id, firstName: 'Beta' }, { key: env.b });

    const alpha = await drain(env, null, 1);
    expect(alpha.nodes.map((n) => n.id)).toEqual([a1.id, a2.id]);
    const beta = await drain(env, null, 1, { key: env.b });
    expect(beta.nodes.map((n) => n.id)).toEqual([b2.id, b1.id]);

    // Beta's writes never show up in alpha's resumed feed.
    await createCustomer(env, { email: 'b3@example.com' }, { key: env.b });
    const alphaAgain = await page(env, { after: alpha.endCursor });
    expect(alphaAgain.edges).toEqual([]);
  });

  test("alpha's empty-feed cursor is refused in beta with BAD_USER_INPUT", async () => {
    await createCustomer(env, { email: 'a@example.com' });
    const { endCursor } = await drain(env);
    const empty = await page(env, { after: endCursor });
    expect(empty.edges).toEqual([]);
    const { data, codes } = await exportError(env, { after: empty.pageInfo.endCursor }, { key: env.b });
    expect(codes).toEqual(['BAD_USER_INPUT']);
    expect(data).toBeNull();

    // The same for a workspace that never had a customer.
    const fresh = await page(env, {}, { key: env.b });
    expect(fresh.edges).toEqual([]);
    const reverse = await exportError(env, { after: fresh.pageInfo.endCursor });
    expect(reverse.codes).toEqual(['BAD_USER_INPUT']);
  });
});

describe('exportCustomers: concurrent writers', () => {
  /** Deterministic PRNG (mulberry32) so a failure reproduces. */
  function rng(seed: number) {
    let t = seed >>> 0;
    return () => {
      t = (t + 0x6d2b79f5) >>> 0;
      let r = Math.imul(t ^ (t >>> 15), 1 | t);
      r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
      return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
    };
  }

  test('a consumer interleaved with ~200 writes never skips a change and never sees a customer twice on one page', async () => {
    const random = rng(20260131);
    const lastAck = new Map<string, number>();
    const status = new Map<string, string>();
    let created = 0;
    let ops = 0;
    const TOTAL_OPS = 200;
    const TARGET_CUSTOMERS = 30;
    let writersDone = false;

    const ack = (c: Written) => {
      const prev = lastAck.get(c.id) ?? 0;
      if (c.version > prev) lastAck.set(c.id, c.version);
      status.set(c.id, c.status);
    };

    async function writer(n: number) {
      while (ops < TOTAL_OPS) {
        ops++;
        const ids = [...lastAck.keys()];
        const roll = random();
        if (created < TARGET_CUSTOMERS && (ids.length < 3 || roll < 0.25)) {
          const i = created++;
          const c = await createCustomer(env, { email: `cw${i}@example.com`, firstName: `W${n}` });
          ack({ id: c.id, version: c.version, status: c.status });
        } else {
          const id = ids[Math.floor(random() * ids.length)];
          const r = random();
          if (r < 0.15 && status.get(id) === 'ACTIVE') {
            const data = await env.data<{ archiveCustomer: { customer: Written | null; userErrors: unknown[] } }>(ARCHIVE, { input: { id } });
            if (data.archiveCustomer.userErrors.length === 0) ack(data.archiveCustomer.customer as Written);
          } else if (r < 0.22 && status.get(id) === 'ARCHIVED') {
            const data = await env.data<{ restoreCustomer: { customer: Written | null; userErrors: unknown[] } }>(RESTORE, { input: { id } });
            if (data.restoreCustomer.userErrors.length === 0) ack(data.restoreCustomer.customer as Written);
          } else {
            const data = await env.data<{ updateCustomer: { customer: Written | null; userErrors: unknown[] } }>(UPDATE, {
              input: { id, firstName: `W${n}-${ops}-${Math.floor(random() * 1e9)}` },
            });
            if (data.updateCustomer.userErrors.length === 0) ack(data.updateCustomer.customer as Written);
          }
        }
        if (random() < 0.5) await new Promise((resolve) => setImmediate(resolve));
      }
    }

    const seen = new Map<string, number>();
    let pagesRead = 0;
    const duplicatesOnPage: string[][] = [];
    const regressions: string[] = [];
    let cursor: string | null = null;

    async function readOnce(): Promise<ExportPage> {
      const p: ExportPage = await page(env, { first: 5, ...(cursor ? { after: cursor } : {}) });
      pagesRead++;
      const ids = p.edges.map((e) => e.node.id);
      if (new Set(ids).size !== ids.length) duplicatesOnPage.push(ids);
      for (const edge of p.edges) {
        const prev = seen.get(edge.node.id) ?? 0;
        if (edge.node.version < prev) regressions.push(`${edge.node.id}: ${prev} -> ${edge.node.version}`);
        seen.set(edge.node.id, Math.max(prev, edge.node.version));
      }
      expect(typeof p.pageInfo.endCursor).toBe('string');
      cursor = p.pageInfo.endCursor;
      return p;
    }

    async function consumer() {
      while (!writersDone) {
        await readOnce();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }

    const writers = Promise.all([writer(1), writer(2), writer(3)]).finally(() => {
      writersDone = true;
    });
    await Promise.all([writers, consumer()]);
    const pagesDuringWrites = pagesRead;

    // Drain to the end after the writers stopped.
    for (let guard = 0; guard < 1000; guard++) {
      const p = await readOnce();
      if (!p.pageInfo.hasNextPage) break;
    }

    expect(lastAck.size).toBe(TARGET_CUSTOMERS);
    expect(pagesDuringWrites).toBeGreaterThan(5);
    expect(duplicatesOnPage).toEqual([]);
    expect(regressions).toEqual([]);
    const expected = Object.fromEntries([...lastAck].sort(([a], [b]) => a.localeCompare(b)));
    const observed = Object.fromEntries([...seen].sort(([a], [b]) => a.localeCompare(b)));
    expect(observed).toEqual(expected);

    // Fully caught up: the next read is empty and keeps the cursor.
    const tail = await page(env, { after: cursor });
    expect(tail.edges).toEqual([]);
    expect(tail.pageInfo.endCursor).toBe(cursor);
  });
});

describe('exportCustomers: which writes move a customer in the feed', () => {
  test('updating and removing a member deliver the TEAM customer again, at its new version', async () => {
    const team = await createCustomer(env, { email: 'team@example.com', type: 'TEAM' });
    const bystander = await createCustomer(env, { email: 'by@example.com' });
    const added = await env.data<{ addMember: { member: { id: string }; userErrors: unknown[] } }>(ADD_MEMBER, { input: { customerId: team.id, email: 'a@example.com' } });
    const memberId = added.addMember.member.id;
    const { endCursor: c1 } = await drain(env);

    const renamed = await env.data<{ updateMember: { customer: Written; userErrors: unknown[] } }>(UPDATE_MEMBER, { input: { id: memberId, email: 'b@example.com' } });
    expect(renamed.updateMember.userErrors).toEqual([]);
    const afterUpdate = await drain(env, c1);
    expect(afterUpdate.nodes.map((n) => [n.id, n.version, n.members.nodes.map((m) => m.email)])).toEqual([[team.id, 3, ['b@example.com']]]);

    const removed = await env.data<{ removeMember: { customer: Written; userErrors: unknown[] } }>(REMOVE_MEMBER, { input: { id: memberId } });
    expect(removed.removeMember.userErrors).toEqual([]);
    const afterRemove = await drain(env, afterUpdate.endCursor);
    expect(afterRemove.nodes.map((n) => [n.id, n.version, n.members.nodes.length])).toEqual([[team.id, 4, 0]]);
    expect(afterRemove.nodes.some((n) => n.id === bystander.id)).toBe(false);
  });

  test('clearing a custom field value delivers the customer again without the value', async () => {
    await defineField(env, 'tier');
    const c = await createCustomer(env, { email: 'cf@example.com', customFields: [{ key: 'tier', value: 'gold' }] });
    const { endCursor } = await drain(env);
    const cleared = await update(env, { id: c.id, customFields: [{ key: 'tier', value: null }] });
    expect(cleared.version).toBe(2);
    const resumed = await drain(env, endCursor);
    expect(resumed.nodes.map((n) => [n.id, n.version, n.customFields])).toEqual([[c.id, 2, []]]);
  });

  test('rejected writes and no-op updates deliver nothing, and the feed keeps working after them', async () => {
    const a = await createCustomer(env, { email: 'a@example.com', firstName: 'Same' });
    await createCustomer(env, { email: 'b@example.com' });
    const { endCursor } = await drain(env);

    const taken = await env.data<{ createCustomer: { userErrors: { code: string }[] } }>(
      `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { ${USER_ERRORS} } }`,
      { input: { email: 'a@example.com' } },
    );
    expect(taken.createCustomer.userErrors.map((e) => e.code)).toEqual(['TAKEN']);
    const conflict = await env.data<{ updateCustomer: { userErrors: { code: string }[] } }>(UPDATE, { input: { id: a.id, expectedVersion: 7, firstName: 'X' } });
    expect(conflict.updateCustomer.userErrors.map((e) => e.code)).toEqual(['VERSION_CONFLICT']);
    const noop = await update(env, { id: a.id, firstName: 'Same' });
    expect(noop.version).toBe(1);

    const empty = await page(env, { after: endCursor });
    expect(empty.edges).toEqual([]);
    expect(empty.pageInfo.endCursor).toBe(endCursor);

    const real = await update(env, { id: a.id, firstName: 'Changed' });
    const resumed = await page(env, { after: endCursor });
    expect(resumed.edges.map((e) => [e.node.id, e.node.version])).toEqual([[a.id, real.version]]);
  });
});

describe('exportCustomers: updatedSince with paging and offsets', () => {
  test('pages through an updatedSince feed with first: 1 without losing or repeating a customer', async () => {
    await createCustomer(env, { email: 'old@example.com' });
    await sleep(5);
    const since = new Date().toISOString();
    await sleep(5);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await createCustomer(env, { email: `n${i}@example.com` })).id);
    const seen: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 20; guard++) {
      const p: ExportPage = await page(env, { first: 1, updatedSince: since, ...(after ? { after } : {}) });
      seen.push(...p.edges.map((e) => e.node.id));
      after = p.pageInfo.endCursor;
      if (!p.pageInfo.hasNextPage) break;
    }
    expect(seen).toEqual(ids);
  });

  test('an updatedSince with a UTC offset means the same instant as its UTC form', async () => {
    await createCustomer(env, { email: 'old@example.com' });
    await sleep(5);
    const instant = new Date();
    await sleep(5);
    const late = await createCustomer(env, { email: 'late@example.com' });
    // The same instant written two hours ahead of UTC.
    const shifted = new Date(instant.getTime() + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    const p = await page(env, { updatedSince: shifted });
    expect(p.edges.map((e) => e.node.id)).toEqual([late.id]);
  });
});

describe('NDJSON stream (writeExportNdjson)', () => {
  /** A slow writable (one byte high-water mark) that runs `onFirstWrite` before accepting its first chunk. */
  function collector(onFirstWrite: () => Promise<void>) {
    const chunks: string[] = [];
    let first = true;
    const out = new Writable({
      highWaterMark: 1,
      write(chunk, _encoding, done) {
        chunks.push(chunk.toString('utf8'));
        if (!first) return done();
        first = false;
        onFirstWrite().then(() => done(), done);
      },
    });
    const lines = () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, any>);
    return { out, lines };
  }

  test('streams page by page and a change committed mid-stream is delivered on resume, never skipped', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createCustomer(env, { email: `s${i}@example.com` })).id);
    let movedAhead: Written | null = null;
    let movedBack: Written | null = null;
    const { out, lines } = collector(async () => {
      movedAhead = await update(env, { id: ids[3], firstName: 'not yet exported' });
      movedBack = await update(env, { id: ids[0], firstName: 'already exported' });
    });

    const result = await writeExportNdjson(env.store.db, env.a.workspace.id, out, { pageSize: 2 });
    const all = lines();
    const trailer = all.pop();
    expect(trailer).toEqual({ trailer: { endCursor: result.endCursor, exported: result.exported } });
    expect(all).toHaveLength(result.exported);
    const streamed = all.map((r) => r.id as string);
    expect(new Set(streamed).size).toBe(streamed.length);
    expect(movedAhead).not.toBeNull();
    expect(movedBack).not.toBeNull();

    const resumed = await drain(env, result.endCursor);
    const delivered = new Map<string, number>();
    for (const r of all) delivered.set(r.id, Math.max(delivered.get(r.id) ?? 0, r.version));
    for (const n of resumed.nodes) delivered.set(n.id, Math.max(delivered.get(n.id) ?? 0, n.version));
    const expected = new Map(ids.map((id) => [id, 1]));
    expected.set(ids[3], 2);
    expected.set(ids[0], 2);
    expect(Object.fromEntries([...delivered].sort())).toEqual(Object.fromEntries([...expected].sort()));
    expect(resumed.nodes.map((n) => n.id)).toEqual([ids[3], ids[0]]);
  });
});

describe('GET /export/customers.ndjson', () => {
  let app: App;
  let url: string;
  let acme: IssuedKey;
  let other: IssuedKey;
  const dirs: string[] = [];

  const bearer = (key: IssuedKey) => ({ authorization: `Bearer ${key.key}` });

  async function gql<T = any>(query: string, variables: Record<string, unknown>, key: IssuedKey = acme): Promise<T> {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(key) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: unknown[] };
    if (body.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(body.errors)}`);
    return body.data as T;
  }

  async function gqlMutate(mutation: string, name: string, input: Record<string, unknown>, key: IssuedKey = acme): Promise<Record<string, any>> {
    const data = await gql<Record<string, { customer: Record<string, any>; userErrors: unknown[] }>>(mutation, { input }, key);
    if (data[name].userErrors.length) throw new Error(`${name} failed: ${JSON.stringify(data[name].userErrors)}`);
    return data[name].customer;
  }

  const CREATE = `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id version status } ${USER_ERRORS} } }`;

  interface NdjsonResponse {
    status: number;
    contentType: string | null;
    text: string;
    records: Record<string, any>[];
    trailer: { endCursor: string; exported: number } | null;
  }

  async function getExport(query = '', headers: Record<string, string> = bearer(acme)): Promise<NdjsonResponse> {
    const response = await fetch(`${url}/export/customers.ndjson${query}`, { headers });
    const text = await response.text();
    const records: Record<string, any>[] = [];
    let trailer: NdjsonResponse['trailer'] = null;
    if (response.status === 200) {
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.split('\n').slice(0, -1);
      const parsed = lines.map((line) => JSON.parse(line) as Record<string, any>);
      const last = parsed.pop();
      expect(Object.keys(last ?? {})).toEqual(['trailer']);
      trailer = last?.trailer ?? null;
      for (const p of parsed) expect(p.trailer).toBeUndefined();
      records.push(...parsed);
    }
    return { status: response.status, contentType: response.headers.get('content-type'), text, records, trailer };
  }

  let individual: Record<string, any>;
  let addressed: Record<string, any>;
  let team: Record<string, any>;
  let archived: Record<string, any>;
  let fielded: Record<string, any>;

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-export-'));
    dirs.push(dir);
    // Set up like a bulk sync job: full pages of 100 cost more than MAX_QUERY_COST and the bucket allow.
    const config = loadConfig({ DATA_DIR: dir, PORT: '0', PUBLIC_URL: 'http://gw.test', LOG_LEVEL: 'silent', MAX_QUERY_COST: '0', RATE_LIMIT: 'off' });
    app = await createApp({ config, logger: createLogger('silent') });
    url = await app.listen(0, '127.0.0.1');
    acme = await issueKey(app.store.db, { workspace: 'acme', name: 'acme-export' });
    other = await issueKey(app.store.db, { workspace: 'globex', name: 'globex-export' });

    const defined = await gql<{ defineCustomField: { userErrors: unknown[] } }>(DEFINE, { input: { key: 'tier', label: 'Tier', valueType: 'STRING' } });
    expect(defined.defineCustomField.userErrors).toEqual([]);
    individual = await gqlMutate(CREATE, 'createCustomer', { email: 'ann@example.com', firstName: 'Ann', lastName: 'Lee' });
    addressed = await gqlMutate(CREATE, 'createCustomer', {
      email: 'bob@example.com',
      name: 'Bobby',
      billingAddress: { line1: '1 Main St', city: 'Madison', state: 'US-WI', postalCode: '53703', country: 'US' },
    });
    team = await gqlMutate(CREATE, 'createCustomer', { email: 'team@example.com', type: 'TEAM', name: 'The Team' });
    for (const email of ['m1@example.com', 'm2@example.com']) {
      const added = await gql<{ addMember: { userErrors: unknown[] } }>(ADD_MEMBER, { input: { customerId: team.id, email } });
      expect(added.addMember.userErrors).toEqual([]);
    }
    archived = await gqlMutate(CREATE, 'createCustomer', { email: 'old@example.com' });
    archived = await gqlMutate(ARCHIVE, 'archiveCustomer', { id: archived.id });
    fielded = await gqlMutate(CREATE, 'createCustomer', { email: 'gold@example.com', customFields: [{ key: 'tier', value: 'gold' }] });
    await gqlMutate(CREATE, 'createCustomer', { email: 'globex-only@example.com' }, other);
  });

  afterAll(async () => {
    await app.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('answers 401 JSON with UNAUTHENTICATED without a key', async () => {
    const res = await getExport('', {});
    expect(res.status).toBe(401);
    expect(res.contentType).toMatch(/^application\/json/);
    const body = JSON.parse(res.text);
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  test('answers 401 for a wrong key', async () => {
    const res = await getExport('', { authorization: `Bearer ${acme.key.slice(0, -4)}AAAA` });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  test('streams every customer of the workspace as NDJSON, archived included, then a trailer', async () => {
    const res = await getExport();
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^application\/x-ndjson/);
    expect(res.records.map((r) => r.id)).toEqual([individual.id, addressed.id, team.id, archived.id, fielded.id]);
    expect(res.trailer).toEqual({ endCursor: expect.any(String), exported: 5 });
    expect(res.records.some((r) => r.email === 'globex-only@example.com')).toBe(false);

    const byId = new Map(res.records.map((r) => [r.id, r]));
    expect(byId.get(archived.id)).toMatchObject({ status: 'ARCHIVED', archivedAt: expect.any(String), members: [], customFields: [] });
    expect(byId.get(team.id)?.members.map((m: { email: string }) => m.email)).toEqual(['m1@example.com', 'm2@example.com']);
    expect(byId.get(team.id)?.version).toBe(3);
    expect(byId.get(fielded.id)?.customFields).toEqual([{ key: 'tier', value: 'gold' }]);
    for (const record of res.records) {
      expect(Array.isArray(record.members)).toBe(true);
      expect(Array.isArray(record.customFields)).toBe(true);
      expect(record.workspaceId).toBeUndefined();
      expect(record.changeSeq).toBeUndefined();
    }
  });

  test('accepts X-Api-Key and shows another workspace only its own customers', async () => {
    const res = await getExport('', { 'x-api-key': other.key });
    expect(res.status).toBe(200);
    expect(res.records.map((r) => r.email)).toEqual(['globex-only@example.com']);
    expect(res.trailer?.exported).toBe(1);
  });

  test('resuming with ?after=<endCursor> after one update returns just that customer plus the trailer', async () => {
    const full = await getExport();
    const cursor = full.trailer?.endCursor as string;

    const unchanged = await getExport(`?after=${encodeURIComponent(cursor)}`);
    expect(unchanged.status).toBe(200);
    expect(unchanged.records).toEqual([]);
    expect(unchanged.trailer).toEqual({ endCursor: cursor, exported: 0 });

    const updated = await gqlMutate(UPDATE, 'updateCustomer', { id: individual.id, lastName: 'Lee-Smith' });
    const resumed = await getExport(`?after=${encodeURIComponent(cursor)}`);
    expect(resumed.status).toBe(200);
    expect(resumed.records.map((r) => [r.id, r.version, r.lastName])).toEqual([[individual.id, updated.version, 'Lee-Smith']]);
    expect(resumed.trailer?.exported).toBe(1);
    expect(resumed.trailer?.endCursor).not.toBe(cursor);

    // The trailer cursor is an ordinary export cursor: the GraphQL feed resumes from it too.
    const data = await gql<{ exportCustomers: ExportPage }>(EXPORT, { after: resumed.trailer?.endCursor });
    expect(data.exportCustomers.edges).toEqual([]);
    expect(data.exportCustomers.pageInfo.endCursor).toBe(resumed.trailer?.endCursor);
  });

  test('?updatedSince limits the stream to customers changed at or after the instant', async () => {
    await sleep(5);
    const since = new Date().toISOString();
    await sleep(5);
    const touched = await gqlMutate(UPDATE, 'updateCustomer', { id: addressed.id, internalNote: 'touched' });
    const res = await getExport(`?updatedSince=${encodeURIComponent(since)}`);
    expect(res.status).toBe(200);
    expect(res.records.map((r) => [r.id, r.version])).toEqual([[addressed.id, touched.version]]);
    expect(res.trailer?.exported).toBe(1);
  });

  test('?after=garbage answers 400 BAD_USER_INPUT', async () => {
    const res = await getExport('?after=garbage');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test("another workspace's cursor answers 400 BAD_USER_INPUT", async () => {
    const theirs = await getExport('', bearer(other));
    const res = await getExport(`?after=${encodeURIComponent(theirs.trailer?.endCursor as string)}`);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('?updatedSince=notadate answers 400 BAD_USER_INPUT', async () => {
    const res = await getExport('?updatedSince=notadate');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('each export record matches the GraphQL view of the customer for the main fields', async () => {
    const res = await getExport();
    expect(res.records.length).toBe(5);
    const VIEW = `query($id: ID!) { customer(id: $id) {
      id email name firstName lastName version status type archivedAt updatedAt avatarUrl
      billingAddress { line1 line2 city state postalCode country }
      members(first: 100) { nodes { email role } }
      customFields { key value }
    } }`;
    for (const record of res.records) {
      const { customer } = await gql<{ customer: Record<string, any> }>(VIEW, { id: record.id });
      expect({
        id: record.id,
        email: record.email,
        name: record.name,
        firstName: record.firstName,
        lastName: record.lastName,
        version: record.version,
        status: record.status,
        type: record.type,
        archivedAt: record.archivedAt,
        updatedAt: record.updatedAt,
        avatarUrl: record.avatarUrl,
        billingAddress: record.billingAddress,
        members: record.members.map((m: { email: string; role: string }) => ({ email: m.email, role: m.role })),
        customFields: record.customFields,
      }).toEqual({ ...customer, members: customer.members.nodes });
    }
    const addressedRecord = res.records.find((r) => r.id === addressed.id);
    expect(addressedRecord?.billingAddress).toEqual({ line1: '1 Main St', line2: null, city: 'Madison', state: 'WI', postalCode: '53703', country: 'US' });
    expect(addressedRecord?.name).toBe('Bobby');
    expect(res.records.find((r) => r.id === individual.id)?.name).toBe('Ann Lee-Smith');
  });
});
