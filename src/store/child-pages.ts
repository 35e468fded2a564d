/**
 * Pages of a customer's children (members oldest first, actions newest first) for many
 * customers in one statement, at most `limit` rows per customer. Also their counts, grouped,
 * in one statement.
 */
import { sql, type RawBuilder, type Selectable } from 'kysely';
import { LruCache } from '../shared/lru';
import { compiledOnce } from './compiled';
import type { KeysetPosition } from './customers.repository';
import { engineOf, type Db, type Engine } from './engine';
import type { Database } from './tables';

export type ChildTable = 'members' | 'actions';

type ChildRow<T extends ChildTable> = Selectable<Database[T]>;

/** The columns a page reads (null: every one); `key` names the set in the statement cache. */
export interface ChildColumns<T extends ChildTable> {
  readonly columns: readonly (keyof ChildRow<T> & string)[];
  readonly key: string;
}

export async function listChildPages<T extends ChildTable>(
  db: Db,
  table: T,
  workspaceId: string,
  customerIds: readonly string[],
  limit: number,
  after: KeysetPosition | null,
  descending: boolean,
  read: ChildColumns<T> | null = null,
): Promise<ChildRow<T>[]> {
  const engine = engineOf(db);
  const run = pageStatement(engine, table, limit, after !== null, descending, read);
  // Each parent once: the statement joins every listed parent, so a repeat would repeat its rows.
  const unique = [...new Set(customerIds)];
  const parents = engine === 'sqlite' ? JSON.stringify(unique) : unique;
  const rows = after === null ? await run(db, parents, workspaceId) : await run(db, parents, workspaceId, after.value, after.id);
  return rows as ChildRow<T>[];
}

type PageRunner = (db: Db, parents: unknown, workspaceId: string, afterValue?: string, afterId?: string) => Promise<unknown[]>;

/**
 * One runner per statement shape: page size (1-100 plus one row), table, order, with or without
 * a cursor, engine (1,616 with every column), and the column set the query selects (distinct
 * sets come from distinct documents). The bound keeps the least recently used.
 */
const pageStatements = new LruCache<PageRunner>(2048);

/**
 * For each parent, a subquery walks the (customer_id, created_at, id) index in page order and
 * stops after `limit` rows, so a team with thousands of members costs what a small one does.
 * (A window function numbering each parent's rows reads and sorts every child of every listed
 * parent.) The parents travel as one parameter, so the text is the same for any number of
 * them and is built by Kysely once per shape (compiledOnce):
 * - SQLite has no LATERAL: the parents are a JSON array read by json_each, the subquery picks
 *   rowids and the outer query reads those rows. A page of 100 customers on the 100k dataset:
 *   about 240 us against 345 us for the window function. The limit is written into the text
 *   because a bound LIMIT in the correlated subquery cost about 60 us more per execution.
 * - PostgreSQL: unnest of a text array, cross join lateral. Same time as the window function
 *   for small teams; with a 3000-member team on the page about 0.4 ms against 8-12 ms.
 * Only the outer select names the columns read: the ordering reads created_at inside the
 * statement, and a column the caller did not ask for never reaches JavaScript (on PostgreSQL
 * a timestamp not sent is a Date never parsed).
 */
function pageStatement<T extends ChildTable>(
  engine: Engine,
  table: T,
  limit: number,
  hasAfter: boolean,
  descending: boolean,
  read: ChildColumns<T> | null,
): PageRunner {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`listChildPages: limit must be a positive integer, got ${limit}`);
  const shape = `${engine}|${table}|${limit}|${hasAfter}|${descending}|${read?.key ?? '*'}`;
  return pageStatements.get(shape, () => {
    const direction = sql.raw(descending ? 'desc' : 'asc');
    const child = sql.table(table);
    const selected = read === null ? sql`child.*` : sql.join(read.columns.map((column) => sql.ref(`child.${column}`)));
    const build = (db: Db, parents: unknown, workspaceId: string, afterValue?: string, afterId?: string) => {
      const afterClause = hasAfter
        ? sql`and (x.created_at, x.id) ${sql.raw(descending ? '<' : '>')} (${afterValue}, ${afterId})`
        : sql``;
      const firstRows = sql`select ${engine === 'sqlite' ? sql`x.rowid` : sql`x.*`} from ${child} as x
        where x.customer_id = parent.value and x.workspace_id = ${workspaceId} ${afterClause}
        order by x.created_at ${direction}, x.id ${direction} limit ${sql.lit(limit)}`;
      const statement =
        engine === 'sqlite'
          ? sql<unknown>`select ${selected} from json_each(${parents}) as parent join ${child} as child
              where child.rowid in (${firstRows})
              order by child.customer_id, child.created_at ${direction}, child.id ${direction}`
          : sql<unknown>`select ${selected} from unnest(${parents}::text[]) as parent(value)
              cross join lateral (${firstRows}) as child
              order by child.customer_id, child.created_at ${direction}, child.id ${direction}`;
      return { compile: () => statement.compile(db) };
    };
    return hasAfter ? compiledOnce(4, build) : compiledOnce(2, build);
  });
}

/**
 * An instant as the text Date#toISOString writes (UTC, milliseconds, `Z`), computed by
 * PostgreSQL: to_char truncates to the millisecond as the Date pg would have built does.
 */
function isoText(column: RawBuilder<unknown>): RawBuilder<string> {
  return sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * PostgreSQL: the first `limit` children of the parent `parentId` refers to, as one json value
 * (an array of rows in page order, each an array of `read.columns`), for a statement of parents
 * to carry their first pages in its own round trip. A correlated subquery in the parents' select
 * list, run after their LIMIT, walking the same (customer_id, created_at, id) index as
 * listChildPages. Columns in `timestamps` travel as ISO text (isoText), never as a Date.
 */
export function childPageJson<T extends ChildTable>(
  table: T,
  parentId: RawBuilder<string>,
  workspaceId: string,
  limit: number,
  descending: boolean,
  read: ChildColumns<T>,
  timestamps: ReadonlySet<string>,
): RawBuilder<unknown> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`childPageJson: limit must be a positive integer, got ${limit}`);
  const direction = sql.raw(descending ? 'desc' : 'asc');
  const values = read.columns.map((column) => (timestamps.has(column) ? isoText(sql.ref(`x.${column}`)) : sql.ref(`x.${column}`)));
  return sql`(select coalesce(json_agg(json_build_array(${sql.join(values)}) order by x.created_at ${direction}, x.id ${direction}), '[]'::json)
    from (select * from ${sql.table(table)} as x where x.customer_id = ${parentId} and x.workspace_id = ${workspaceId}
      order by x.created_at ${direction}, x.id ${direction} limit ${sql.lit(limit)}) as x)`;
}

/** The rows of a childPageJson value, as listChildPages returns them for the same columns. */
export function childRowsOfJson<T extends ChildTable>(value: unknown, read: ChildColumns<T>): ChildRow<T>[] {
  if (!Array.isArray(value)) throw new Error(`childRowsOfJson: expected a json array of rows, got ${typeof value}`);
  return (value as unknown[]).map((values) => {
    if (!Array.isArray(values) || values.length !== read.columns.length) {
      throw new Error(`childRowsOfJson: expected rows of ${read.columns.length} values (${read.key}), got ${JSON.stringify(values)}`);
    }
    const row: Record<string, unknown> = {};
    read.columns.forEach((column, i) => (row[column] = (values as unknown[])[i]));
    return row as ChildRow<T>;
  });
}

export async function countChildren(
  db: Db,
  table: ChildTable,
  workspaceId: string,
  customerIds: readonly string[],
): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom(table)
    .select(['customer_id', (eb) => eb.fn.countAll<number | string>().as('count')])
    .where('workspace_id', '=', workspaceId)
    .where('customer_id', 'in', customerIds)
    .groupBy('customer_id')
    .execute();
  return new Map(rows.map((row) => [row.customer_id, Number(row.count)]));
}
