/**
 * The physical floors of the perf bench: plain node:http answering the bench's scenarios with
 * byte-identical JSON to the gateway's (bench/perf.ts checks that once per scenario before
 * measuring), over better-sqlite3 prepared statements or pg named prepared statements. They do the
 * work the answer needs and nothing else: parse the body, check the API key (behind the same
 * cache the gateway keeps), read only the columns the answer shows with one statement per table,
 * build the JSON.
 *
 * Only the data access differs between the engines (FloorAccess); the key cache, the HTTP front,
 * the JSON shaping and the cost report are one piece of code for both.
 *
 * Raw SQL lives here on purpose: this is the benchmark's reference, not gateway code.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import SqliteDatabase from 'better-sqlite3';
import { Pool } from 'pg';
import { loadConfig } from '../../src/config';
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

/** The member columns the page's `members { id email name role }` needs, and the key to group them by. */
const MEMBER_COLUMNS = 'customer_id, id, email, name, role';

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

/** A value now (better-sqlite3) or later (pg): the shaping below runs synchronously when it can. */
export type Awaitable<T> = T | Promise<T>;

/** `then` that stays synchronous for a synchronous value, so the SQLite floor pays no microtask. */
export function after<T, U>(value: Awaitable<T>, next: (resolved: T) => Awaitable<U>): Awaitable<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/**
 * What a floor reads (and, on SQLite, writes): one implementation per engine. Everything else (the
 * key cache, the HTTP front, the JSON shaping and the cost report) is shared below, so the two
 * floors differ only in how they reach their data.
 */
export interface FloorAccess {
  /** The workspace of a live API key, by the key's SHA-256 hash. */
  workspaceOfHash(hash: string): Awaitable<string | undefined>;
  customer(workspaceId: string, id: string): Awaitable<Row | undefined>;
  /** The first `limit` active customers by (created_at, id). */
  firstPage(workspaceId: string, limit: number): Awaitable<Row[]>;
  /** Members of these customers, ordered by (customer_id, created_at, id). */
  members(workspaceId: string, customerIds: string[]): Awaitable<MemberRow[]>;
  /** The customers among `ids`, in any order. */
  byIds(workspaceId: string, ids: string[]): Awaitable<Row[]>;
  /** The workspace's committed change sequence. */
  committed(workspaceId: string): Awaitable<number>;
  /** Customers with after < change_seq <= end, by change_seq, at most `limit` (change_seq set). */
  changes(workspaceId: string, after: number, end: number, limit: number): Awaitable<Row[]>;
  /** Active customers whose search text is LIKE `pattern` (escape `\`), first `limit` by (created_at, id). */
  search?: (workspaceId: string, pattern: string, limit: number) => Awaitable<Row[]>;
  /** Creates a customer with its audit row in one transaction. */
  create?: (workspaceId: string, input: Loose, actor: string) => Awaitable<Row>;
}

/**
 * The API-key check every gateway request makes, with the gateway's own cache in front of it
 * (src/services/keys.ts VerifiedKeys, API_KEY_CACHE_TTL_MS): a key found live is remembered by
 * its presented value for the TTL, so a hit costs a map lookup; a miss is hashed and looked up.
 * Returns the workspace of a request's `Authorization: Bearer` key, or undefined.
 */
export function keyCheck(
  lookup: (hash: string) => Awaitable<string | undefined>,
  ttlMs = loadConfig(process.env).apiKeyCacheTtlMs,
): (authorization: string | undefined) => Awaitable<string | undefined> {
  const verified = new Map<string, { workspaceId: string; until: number }>();
  return (authorization) => {
    const bearer = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!bearer) return undefined;
    const known = verified.get(bearer);
    if (known && known.until > Date.now()) return known.workspaceId;
    return after(lookup(crypto.createHash('sha256').update(bearer).digest('hex')), (workspaceId) => {
      if (workspaceId && ttlMs > 0) verified.set(bearer, { workspaceId, until: Date.now() + ttlMs });
      return workspaceId;
    });
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

/** The page answer: customers, each with its first 10 members, and the page info. */
function pageAnswer(rows: Row[], members: MemberRow[], first: number): Answer {
  const page = rows.slice(0, first);
  const grouped = new Map<string, MemberRow[]>();
  for (const m of members) {
    const list = grouped.get(m.customer_id);
    if (list) list.push(m);
    else grouped.set(m.customer_id, [m]);
  }
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
}

type Handler = (workspaceId: string, body: Loose) => Awaitable<Answer>;

/** The scenarios' handlers (bench/perf.ts QUERIES, a path each) over one engine's access. */
function handlersOf(access: FloorAccess): Partial<Record<string, Handler>> {
  const { search, create } = access;
  return {
    customer: (ws, body) => after(access.customer(ws, body.variables.id), (row) => answer({ customer: row ? customerJson(row) : null }, 2, row ? 2 : 1)),
    page: (ws, body) => {
      const first = body.variables.first as number;
      return after(access.firstPage(ws, first + 1), (rows) => {
        const ids = rows.slice(0, first).map((r) => r.id);
        return after(ids.length > 0 ? access.members(ws, ids) : [], (members) => pageAnswer(rows, members, first));
      });
    },
    entities: (ws, body) => {
      const ids = (body.variables.representations as { id: string }[]).map((r) => r.id);
      return after(access.byIds(ws, ids), (rows) => {
        const found = new Map(rows.map((r) => [r.id, r]));
        return answer({ _entities: ids.map((id) => { const r = found.get(id); return r ? customerJson(r) : null; }) }, ids.length * 2, ids.length + found.size);
      });
    },
    search: search && ((ws, body) => {
      const term = String(body.variables.search).trim().toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
      return after(search(ws, `%${term}%`, body.variables.first + 1), (rows) => {
        const page = rows.slice(0, body.variables.first);
        return answer({ customers: { nodes: page.map(customerJson) } }, 2 + body.variables.first * 2, 2 + page.length * 2);
      });
    }),
    export: (ws, body) => {
      const first = body.variables.first as number;
      const from = body.variables.after ? (JSON.parse(Buffer.from(body.variables.after, 'base64url').toString('utf8')) as [string, string, number])[2] : 0;
      return after(access.committed(ws), (end) => after(access.changes(ws, from, end, first + 1), (rows) => {
        const more = rows.length > first;
        const page = more ? rows.slice(0, first) : rows;
        const endSeq = more ? (page[page.length - 1].change_seq as number) : Math.max(end, from);
        return answer({
          exportCustomers: {
            edges: page.map((r) => ({ cursor: exportCursor(ws, r.change_seq as number), node: customerJson(r) })),
            pageInfo: { hasNextPage: more, endCursor: exportCursor(ws, endSeq) },
          },
        }, 2 + first * 2, 2 + page.length * 2);
      }));
    },
    create: create && ((ws, body) => after(create(ws, body.variables.input, 'bench'), (row) => answer({
      createCustomer: {
        customer: { email: row.email, name: `${row.first_name} ${row.last_name}`, version: row.version, status: row.status, type: row.type },
        userErrors: [],
      },
    }, 10, 10))),
  };
}

/**
 * A raw node:http server: `Authorization` checked (workspaceOf), the body read and parsed, and
 * `respond` called with both; a request without a live key gets 401.
 */
export function rawServer(
  workspaceOf: (authorization: string | undefined) => Awaitable<string | undefined>,
  respond: (req: http.IncomingMessage, res: http.ServerResponse, workspaceId: string, body: Loose) => void,
): Promise<{ port: number; close: () => void }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const handle = (workspaceId: string | undefined) => {
        if (!workspaceId) return void res.writeHead(401).end();
        respond(req, res, workspaceId, JSON.parse(Buffer.concat(chunks).toString('utf8')));
      };
      const found = after(workspaceOf(req.headers.authorization), handle);
      if (found instanceof Promise) found.catch(() => res.writeHead(500).end());
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() }));
  });
}

/** A floor over one engine's access: the same front, key cache, shaping and cost report on both. */
export function serveFloor(access: FloorAccess): Promise<{ port: number; close: () => void }> {
  const handlers = handlersOf(access);
  const send = (res: http.ServerResponse, answered: Answer) => {
    const cost = { requestedQueryCost: answered.requested, actualQueryCost: answered.actual, throttleStatus: THROTTLE };
    const body = JSON.stringify({ data: answered.data, extensions: { cost } }) + '\n';
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
  };
  return rawServer(keyCheck((hash) => access.workspaceOfHash(hash)), (req, res, workspaceId, body) => {
    const handler = handlers[(req.url ?? '').slice(1)];
    if (!handler) return void res.writeHead(404).end();
    const sent = after(handler(workspaceId, body), (answered) => send(res, answered));
    if (sent instanceof Promise) sent.catch(() => res.writeHead(500).end());
  });
}

// ---------------------------------------------------------------------------------------------
// SQLite: better-sqlite3 prepared statements

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

/** The SQLite floor's data access: one prepared statement per table and shape, the columns the answers need. */
export function sqliteAccess(db: SqliteDatabase.Database): FloorAccess {
  const keyLookup = db.prepare('select workspace_id from api_keys where key_hash = ? and revoked_at is null').pluck();
  const byId = db.prepare(`select ${COLUMNS} from customers where workspace_id = ? and id = ?`);
  // `+workspace_id`: without it SQLite walks the workspace's index instead of probing ids.
  const byIds = perCount(db, (marks) => `select ${COLUMNS} from customers where +workspace_id = ? and id in (${marks})`);
  const firstPage = db.prepare(`select ${COLUMNS} from customers where workspace_id = ? and status = 'ACTIVE' order by created_at, id limit ?`);
  const searchPage = db.prepare(
    `select ${COLUMNS} from customers where workspace_id = ? and status = 'ACTIVE' and search_text like ? escape '\\' order by created_at, id limit ?`,
  );
  const membersOf = perCount(db, (marks) => `select ${MEMBER_COLUMNS} from members where workspace_id = ? and customer_id in (${marks}) order by customer_id, created_at, id`);
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
    return row as unknown as Row;
  });
  return {
    workspaceOfHash: (hash) => keyLookup.get(hash) as string | undefined,
    customer: (ws, id) => byId.get(ws, id) as Row | undefined,
    firstPage: (ws, limit) => firstPage.all(ws, limit) as Row[],
    members: (ws, ids) => membersOf(ids.length).all(ws, ...ids) as MemberRow[],
    byIds: (ws, ids) => byIds(ids.length).all(ws, ...ids) as Row[],
    committed: (ws) => committed.get(ws) as number,
    changes: (ws, from, end, limit) => changes.all(ws, from, end, limit) as Row[],
    search: (ws, pattern, limit) => searchPage.all(ws, pattern, limit) as Row[],
    create,
  };
}

export function startFloor(file: string): Promise<{ port: number; close: () => void }> {
  return serveFloor(sqliteAccess(configureSqliteConnection(new SqliteDatabase(file))));
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: pg with named prepared statements

/** A timestamptz as the gateway prints it (toISOString), formatted by PostgreSQL so no Date is built. */
const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ${column}`;
const PG_COLUMNS = COLUMNS.split(', ').map((c) => (c === 'created_at' || c === 'updated_at' ? iso(c) : c)).join(', ');

/**
 * The PostgreSQL floor's data access: a pool the size of the gateway's (DATABASE_POOL_SIZE), every
 * statement named, so each connection parses and plans it once; ids are passed as one array, so
 * a page's members and 100 entities are one statement whatever their count.
 */
export function postgresAccess(pool: Pool): FloorAccess {
  const named = <T>(name: string, text: string) => async (...values: unknown[]): Promise<T[]> => (await pool.query({ name, text, values })).rows as T[];
  const keyLookup = named<{ workspace_id: string }>('floor_key', 'select workspace_id from api_keys where key_hash = $1 and revoked_at is null');
  const byId = named<Row>('floor_customer', `select ${PG_COLUMNS} from customers where workspace_id = $1 and id = $2`);
  const byIds = named<Row>('floor_entities', `select ${PG_COLUMNS} from customers where workspace_id = $1 and id = any($2::text[])`);
  // ORDER BY names the table's columns: bare `created_at` and `change_seq` would be the output
  // columns of the same name (the formatted text, the float8), which no index serves.
  const firstPage = named<Row>(
    'floor_page',
    `select ${PG_COLUMNS} from customers where workspace_id = $1 and status = 'ACTIVE' order by customers.created_at, customers.id limit $2`,
  );
  const membersOf = named<MemberRow>('floor_members', `select ${MEMBER_COLUMNS} from members where workspace_id = $1 and customer_id = any($2::text[]) order by customer_id, created_at, id`);
  // float8: pg returns bigint as a string; the sequences here stay far below 2^53.
  const committed = named<{ seq: number }>('floor_committed', 'select change_seq::float8 as seq from workspaces where id = $1');
  const changes = named<Row>(
    'floor_changes',
    `select ${PG_COLUMNS}, change_seq::float8 as change_seq from customers where workspace_id = $1 and change_seq > $2 and change_seq <= $3 order by customers.change_seq limit $4`,
  );
  return {
    workspaceOfHash: async (hash) => (await keyLookup(hash))[0]?.workspace_id,
    customer: async (ws, id) => (await byId(ws, id))[0],
    firstPage: (ws, limit) => firstPage(ws, limit),
    members: (ws, ids) => membersOf(ws, ids),
    byIds: (ws, ids) => byIds(ws, ids),
    committed: async (ws) => (await committed(ws))[0].seq,
    changes: (ws, from, end, limit) => changes(ws, from, end, limit),
  };
}

/** A pool as the gateway's (src/store/db.ts): DATABASE_POOL_SIZE connections. */
export function floorPool(databaseUrl: string): Pool {
  return new Pool({ connectionString: databaseUrl, max: loadConfig(process.env).poolSize });
}

export function startPostgresFloor(databaseUrl: string): Promise<{ port: number; close: () => void }> {
  return serveFloor(postgresAccess(floorPool(databaseUrl)));
}
