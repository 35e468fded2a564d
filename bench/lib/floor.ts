/**
 * The physical floor of the perf bench: plain node:http + better-sqlite3 prepared statements,
 * answering the bench's scenarios with byte-identical JSON to the gateway's (bench/perf.ts checks
 * that once per scenario before measuring). It does the work the answer needs and nothing else:
 * parse the body, check the API key (hash + one indexed lookup, as every gateway request does),
 * run prepared statements over the columns the answer shows, build the JSON.
 *
 * Raw SQL lives here on purpose: this is the benchmark's reference, not gateway code.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import SqliteDatabase from 'better-sqlite3';
import { configureSqliteConnection } from '../../src/store/sqlite-connection';
import { newId } from '../../src/shared/ids';
import { creationChanges, CUSTOMER_COLUMNS, customerRow, insertSql, type Loose } from './dataset';

/** The columns behind the 15 customer fields every read scenario selects. */
export const COLUMNS =
  'id, email, name, first_name, last_name, phone, type, status, version, email_verified, sign_in_count, net_revenue, created_at, updated_at, billing_city, billing_state, billing_country';

export interface Row {
  id: string;
  email: string;
  name: string | null;
  first_name: string | null;
  last_name: string | null;
  phone: string | null;
  type: string;
  status: string;
  version: number;
  email_verified: number;
  sign_in_count: number;
  net_revenue: string | null;
  created_at: string;
  updated_at: string;
  billing_city: string | null;
  billing_state: string | null;
  billing_country: string | null;
  change_seq?: number;
}

interface MemberRow {
  customer_id: string;
  id: string;
  email: string;
  name: string | null;
  role: string;
}

/** The GraphQL selection the floor answers (bench/perf.ts CUSTOMER_FIELDS), in field order. */
export function customerJson(r: Row) {
  const joined = [r.first_name, r.last_name].filter((part) => part).join(' ');
  return {
    id: r.id,
    email: r.email,
    name: r.name || (joined === '' ? null : joined),
    firstName: r.first_name,
    lastName: r.last_name,
    phone: r.phone,
    type: r.type,
    status: r.status,
    version: r.version,
    emailVerified: r.email_verified === 1,
    signInCount: r.sign_in_count,
    netRevenue: r.net_revenue,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    billingAddress: r.billing_country === null ? null : { city: r.billing_city, state: r.billing_state, country: r.billing_country },
  };
}

/** Statements whose text depends on how many ids they take, prepared once per count. */
function perCount(db: SqliteDatabase.Database, text: (marks: string) => string) {
  const cache = new Map<number, SqliteDatabase.Statement>();
  return (count: number) => {
    let statement = cache.get(count);
    if (!statement) {
      statement = db.prepare(text(Array.from({ length: count }, () => '?').join(', ')));
      cache.set(count, statement);
    }
    return statement;
  };
}

function exportCursor(workspaceId: string, seq: number): string {
  return Buffer.from(JSON.stringify(['export', workspaceId, seq]), 'utf8').toString('base64url');
}

function pageCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify(['customers.created_at.asc', createdAt, id]), 'utf8').toString('base64url');
}

/** What a handler answers: the data and its query cost, as the gateway's extensions.cost reports it. */
interface Answer {
  data: unknown;
  requested: number;
  actual: number;
}

const answer = (data: unknown, requested: number, actual: number): Answer => ({ data, requested, actual });

/**
 * The gateway's throttle status under the bench's settings (RATE_LIMIT_BUCKET and _RESTORE);
 * `currentlyAvailable` moves with every request, so bench/perf.ts compares bodies without it.
 */
export const THROTTLE = {
  maximumAvailable: Number(process.env.RATE_LIMIT_BUCKET ?? 1000),
  currentlyAvailable: Number(process.env.RATE_LIMIT_BUCKET ?? 1000),
  restoreRate: Number(process.env.RATE_LIMIT_RESTORE ?? 100),
};

/**
 * The API-key check every gateway request makes (hash + one indexed lookup), for the raw servers:
 * the workspace of a request's `Authorization: Bearer` key, or undefined.
 */
export function keyCheck(db: SqliteDatabase.Database): (authorization: string | undefined) => string | undefined {
  const keyLookup = db.prepare('select workspace_id from api_keys where key_hash = ? and revoked_at is null').pluck();
  return (authorization) => {
    const bearer = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    return bearer ? (keyLookup.get(crypto.createHash('sha256').update(bearer).digest('hex')) as string | undefined) : undefined;
  };
}

export function startFloor(file: string): Promise<{ port: number; close: () => void }> {
  const db = configureSqliteConnection(new SqliteDatabase(file));

  const workspaceOf = keyCheck(db);
  const byId = db.prepare(`select ${COLUMNS} from customers where workspace_id = ? and id = ?`);
  // `+workspace_id`: without it SQLite walks the workspace's index instead of probing ids.
  const byIds = perCount(db, (marks) => `select ${COLUMNS} from customers where +workspace_id = ? and id in (${marks})`);
  const firstPage = db.prepare(`select ${COLUMNS} from customers where workspace_id = ? and status = 'ACTIVE' order by created_at, id limit ?`);
  const searchPage = db.prepare(
    `select ${COLUMNS} from customers where workspace_id = ? and status = 'ACTIVE' and search_text like ? escape '\\' order by created_at, id limit ?`,
  );
  const membersOf = perCount(
    db,
    (marks) => `select customer_id, id, email, name, role from members where workspace_id = ? and customer_id in (${marks}) order by customer_id, created_at, id`,
  );
  const committed = db.prepare('select change_seq from workspaces where id = ?').pluck();
  const changes = db.prepare(`select ${COLUMNS}, change_seq from customers where workspace_id = ? and change_seq > ? and change_seq <= ? order by change_seq limit ?`);
  const insertCustomer = db.prepare(insertSql('customers', CUSTOMER_COLUMNS));
  const insertAction = db.prepare(
    'insert into actions (id, workspace_id, customer_id, member_id, type, actor, via, changes, created_at) values (?, ?, ?, null, ?, ?, ?, ?, ?)',
  );
  const bumpSeq = db.prepare('update workspaces set change_seq = change_seq + 1 where id = ? returning change_seq').pluck();

  const create = db.transaction((workspaceId: string, input: Loose, actor: string) => {
    const now = new Date().toISOString();
    const seq = bumpSeq.get(workspaceId) as number;
    const id = newId();
    const record = { ...input, email: String(input.email).trim().toLowerCase(), type: 'INDIVIDUAL', metadata: {}, createdAt: now, createdBy: actor, createdVia: 'api' };
    const row = customerRow(record, id, workspaceId, seq, 1, now, { actor, via: 'api' });
    insertCustomer.run(row);
    insertAction.run(newId(), workspaceId, id, 'CUSTOMER_CREATED', actor, 'api', creationChanges(row, record), now);
    return row;
  });

  const handlers: Partial<Record<string, (workspaceId: string, body: Loose) => Answer>> = {
    customer: (ws, body) => {
      const row = byId.get(ws, body.variables.id) as Row | undefined;
      return answer({ customer: row ? customerJson(row) : null }, 2, row ? 2 : 1);
    },
    page: (ws, body) => {
      const rows = firstPage.all(ws, body.variables.first + 1) as Row[];
      const page = rows.slice(0, body.variables.first);
      const members = page.length > 0 ? (membersOf(page.length).all(ws, ...page.map((r) => r.id)) as MemberRow[]) : [];
      const grouped = new Map<string, MemberRow[]>();
      for (const m of members) {
        const list = grouped.get(m.customer_id);
        if (list) list.push(m);
        else grouped.set(m.customer_id, [m]);
      }
      const first = body.variables.first as number;
      const shown = page.reduce((sum, r) => sum + Math.min(10, grouped.get(r.id)?.length ?? 0), 0);
      return answer({
        customers: {
          nodes: page.map((r) => ({
            ...customerJson(r),
            members: { nodes: (grouped.get(r.id) ?? []).slice(0, 10).map((m) => ({ id: m.id, email: m.email, name: m.name, role: m.role })) },
          })),
          pageInfo: { hasNextPage: rows.length > page.length, endCursor: page.length ? pageCursor(page[page.length - 1].created_at, page[page.length - 1].id) : null },
        },
      }, 2 + first * (1 + 1 + 2 + 10), 2 + page.length * (1 + 1 + 2) + shown);
    },
    entities: (ws, body) => {
      const ids = (body.variables.representations as { id: string }[]).map((r) => r.id);
      const found = new Map((byIds(ids.length).all(ws, ...ids) as Row[]).map((r) => [r.id, r]));
      return answer({ _entities: ids.map((id) => { const r = found.get(id); return r ? customerJson(r) : null; }) }, ids.length * 2, ids.length + found.size);
    },
    search: (ws, body) => {
      const term = String(body.variables.search).trim().toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
      const rows = searchPage.all(ws, `%${term}%`, body.variables.first + 1) as Row[];
      const page = rows.slice(0, body.variables.first);
      return answer({ customers: { nodes: page.map(customerJson) } }, 2 + body.variables.first * 2, 2 + page.length * 2);
    },
    export: (ws, body) => {
      const first = body.variables.first as number;
      const after = body.variables.after ? (JSON.parse(Buffer.from(body.variables.after, 'base64url').toString('utf8')) as [string, string, number])[2] : 0;
      const end = committed.get(ws) as number;
      const rows = changes.all(ws, after, end, first + 1) as Row[];
      const more = rows.length > first;
      const page = more ? rows.slice(0, first) : rows;
      const endSeq = more ? (page[page.length - 1].change_seq as number) : Math.max(end, after);
      return answer({
        exportCustomers: {
          edges: page.map((r) => ({ cursor: exportCursor(ws, r.change_seq as number), node: customerJson(r) })),
          pageInfo: { hasNextPage: more, endCursor: exportCursor(ws, endSeq) },
        },
      }, 2 + first * 2, 2 + page.length * 2);
    },
    create: (ws, body) => {
      const row = create(ws, body.variables.input, 'bench');
      return answer({
        createCustomer: {
          customer: { email: row.email, name: `${row.first_name} ${row.last_name}`, version: row.version, status: row.status, type: row.type },
          userErrors: [],
        },
      }, 10, 10);
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const handler = handlers[(req.url ?? '').slice(1)];
      const workspaceId = workspaceOf(req.headers.authorization);
      if (!handler) return void res.writeHead(404).end();
      if (!workspaceId) return void res.writeHead(401).end();
      const answered = handler(workspaceId, JSON.parse(Buffer.concat(chunks).toString('utf8')));
      const cost = { requestedQueryCost: answered.requested, actualQueryCost: answered.actual, throttleStatus: THROTTLE };
      const body = JSON.stringify({ data: answered.data, extensions: { cost } }) + '\n';
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() }));
  });
}
