/**
 * Named (prepared) statements on PostgreSQL. Kysely's driver sends every statement unnamed, so
 * PostgreSQL parses and plans it on every execution. This pool hands Kysely clients that send
 * each statement with parameters under a name instead: pg sends the Parse once per connection
 * and name, and later executions only bind and execute the prepared statement.
 *
 * - What is named: statements with parameters. Everything the gateway repeats has them (lookups,
 *   pages, the key lookup, the rate-limit charge); the one-off texts (DDL, migrations, BEGIN,
 *   COMMIT, DEALLOCATE, VACUUM) have none and stay unnamed, so they never take a place.
 * - Bounded: each connection keeps at most `size` names (least recently used dropped first).
 *   Names are never reused on a connection (a counter), so a dropped name can never be confused
 *   with a newer statement; it is deallocated on the server (a Close message right after the
 *   statement that evicted it) and forgotten by pg's map of parsed names.
 * - After a schema change by another process, a prepared statement whose result columns changed
 *   fails with SQLSTATE 0A000 ("cached plan must not change result type"). Every connection then
 *   closes all its names at its next named statement, since every one of them predates the
 *   change. Outside a transaction the failed statement ran alone and changed nothing, so it is
 *   prepared again and retried once; inside one the transaction is already aborted and the
 *   error goes to the caller.
 * Named statements live in the server session: behind a pooler they need session pooling, or
 * one that tracks them (PgBouncer 1.21+ with max_prepared_statements; docs/postgresql.md).
 */
import type { PostgresCursor, PostgresPool, PostgresQueryResult } from 'kysely';
import type { Connection, Pool, PoolClient, QueryResult, Submittable } from 'pg';
import { LruCache } from '../shared/lru';
import { driverErrorCode } from './engine';

/** The part of pg's client connection that records which names it has prepared. */
interface ParsedStatements {
  parsedStatements: Record<string, string>;
}

function preparedNamesOf(client: PoolClient): ParsedStatements {
  const connection = (client as { connection?: Partial<ParsedStatements> }).connection;
  if (typeof connection?.parsedStatements !== 'object') {
    throw new Error(`named statements need pg's JavaScript client (connection.parsedStatements), got a client without it (${client.constructor.name})`);
  }
  return connection as ParsedStatements;
}

/**
 * "cached plan must not change result type": SQLSTATE 0A000 (feature not supported), raised where
 * PostgreSQL revalidates a prepared statement's plan (the routine field is not translated).
 */
function isStalePlan(error: unknown): boolean {
  return driverErrorCode(error) === '0A000' && (error as { routine?: unknown }).routine === 'RevalidateCachedQuery';
}

type Row = Record<string, unknown>;

/** Shared by every connection of the pool: bumped when a schema change invalidated prepared statements. */
interface Generation {
  current: number;
}

/** One pooled connection with its names. Kysely keeps one per pg client, so does this pool. */
class NamingClient {
  private names: LruCache<string>;
  private count = 0;
  /** Every name given out and not yet closed (in the cache, or evicted and not yet closed). */
  private readonly live = new Set<string>();
  /** Names dropped from the cache since the last Close. */
  private evicted: string[] = [];
  private generation: number;
  private readonly pg: ParsedStatements;

  constructor(
    private readonly client: PoolClient,
    private readonly size: number,
    private readonly shared: Generation,
  ) {
    this.pg = preparedNamesOf(client);
    this.generation = shared.current;
    this.names = this.newCache();
  }

  query<R>(text: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(text: string | PostgresCursor<R>, parameters?: readonly unknown[]): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof text !== 'string') throw new Error('named statements: expected SQL text, got a cursor (streaming is not configured on PostgreSQL)');
    const values = parameters ? [...parameters] : [];
    const result = values.length === 0 ? this.client.query<Row>(text, values) : this.named(text, values);
    // Kysely types `command` as the five tags it counts affected rows for; pg passes on any tag
    // (BEGIN, SELECT, ...), which Kysely reads as "no affected rows", as with pg's own client.
    return result as Promise<unknown> as Promise<PostgresQueryResult<R>>;
  }

  release(): void {
    this.client.release();
  }

  private async named(text: string, values: unknown[]): Promise<QueryResult<Row>> {
    const alone = this.client.getTransactionStatus() === 'I';
    if (this.generation !== this.shared.current) this.forgetAll();
    const name = this.names.get(text, () => this.newName());
    const prepared = this.pg.parsedStatements[name] !== undefined;
    try {
      return await this.run(name, text, values);
    } catch (error) {
      if (!prepared || !isStalePlan(error)) throw error;
      this.shared.current += 1;
      if (!alone) throw error;
      this.forgetAll();
      return await this.run(this.names.get(text, () => this.newName()), text, values);
    }
  }

  /** The statement, then a Close of the names that went out of use (pg runs one at a time). */
  private async run(name: string, text: string, values: unknown[]): Promise<QueryResult<Row>> {
    try {
      return await this.client.query<Row>({ name, text, values });
    } finally {
      if (this.evicted.length > 0) await this.close(this.evicted.splice(0));
    }
  }

  private newName(): string {
    const name = `cg_${(this.count += 1)}`;
    this.live.add(name);
    return name;
  }

  private newCache(): LruCache<string> {
    return new LruCache<string>(this.size, (_text, name) => this.evicted.push(name));
  }

  /** After a schema change every name predates it: all of them are closed, the cache starts empty. */
  private forgetAll(): void {
    this.generation = this.shared.current;
    this.names = this.newCache();
    this.evicted = [...this.live];
  }

  private async close(names: string[]): Promise<void> {
    await this.client.query(new CloseStatements(names)).done;
    for (const name of names) {
      this.live.delete(name);
      delete this.pg.parsedStatements[name];
    }
  }
}

/**
 * Deallocates prepared statements with the protocol's Close message, as pg itself does after a
 * failed Bind, queued behind the connection's other statements. Unlike SQL `DEALLOCATE`, closing
 * a name the server does not know is no error, it works in a failed transaction, and poolers
 * that track prepared statements (PgBouncer 1.21+) understand it.
 */
class CloseStatements implements Submittable {
  readonly done: Promise<void>;
  private settle: { resolve: () => void; reject: (error: unknown) => void } | null = null;

  constructor(private readonly names: readonly string[]) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  submit(connection: Connection): void {
    for (const name of this.names) connection.close({ type: 'S', name }, true);
    connection.sync();
  }

  /** pg: the server answered the Sync. */
  handleReadyForQuery(): void {
    this.settle?.resolve();
  }

  /** pg: the server refused, or the connection ended before the answer. */
  handleError(error: unknown): void {
    this.settle?.reject(error);
  }
}

/** `pool` for Kysely's PostgresDialect, naming every statement with parameters (at most `size` names per connection). */
export function namingPool(pool: Pool, size: number): PostgresPool {
  if (!Number.isInteger(size) || size < 1) throw new Error(`namingPool: size must be a positive integer, got ${size}`);
  const clients = new WeakMap<PoolClient, NamingClient>();
  const shared: Generation = { current: 0 };
  return {
    async connect() {
      const client = await pool.connect();
      let naming = clients.get(client);
      if (!naming) {
        try {
          naming = new NamingClient(client, size, shared);
        } catch (error) {
          client.release();
          throw error;
        }
        clients.set(client, naming);
      }
      return naming;
    },
    end: () => pool.end(),
  };
}
