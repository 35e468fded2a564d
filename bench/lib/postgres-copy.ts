/**
 * The benchmarks' dataset on PostgreSQL: a new database migrated with the real migrations, then
 * filled with the very rows of a seeded SQLite file (bench/lib/dataset.ts), so both engines
 * answer the same ids, keys and pages. Rows go over in multi-row inserts of up to 60,000
 * parameters (PostgreSQL allows 65,535), one transaction per table, then VACUUM (FREEZE, ANALYZE).
 */
import crypto from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import { Client } from 'pg';
import { migrateToLatest, openStore } from '../../src/store/db';
import { adminQuery } from './services';

/** The tables the seeding writes, parents first (foreign keys). */
const TABLES = ['workspaces', 'api_keys', 'custom_field_definitions', 'customers', 'members', 'actions', 'custom_field_values'];
const MAX_PARAMETERS = 60_000;

/** A database name of its own on the server of `adminUrl`, and its URL. */
export async function createDatabase(adminUrl: string, prefix: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${crypto.randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: async () => void (await adminQuery(adminUrl, `drop database if exists ${name} with (force)`)) };
}

/** Migrates the database at `url` and copies every row of the seeded tables of the SQLite `file` into it. */
export async function copySqliteToPostgres(file: string, url: string): Promise<number> {
  const store = openStore({ databaseUrl: url });
  await migrateToLatest(store.db);
  await store.close();
  const source = new SqliteDatabase(file, { readonly: true });
  const client = new Client({ connectionString: url });
  await client.connect();
  let copied = 0;
  try {
    for (const table of TABLES) {
      const columns = (source.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
      const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
      await client.query('begin');
      // Migrations may have written a row already (none do today); the SQLite file is the truth.
      await client.query(`delete from ${table}`);
      let batch: unknown[][] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const marks = batch.map((_, r) => `(${columns.map((__, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ');
        await client.query(`insert into ${table} (${columns.join(', ')}) values ${marks}`, batch.flat());
        copied += batch.length;
        batch = [];
      };
      for (const row of source.prepare(`select ${columns.join(', ')} from ${table}`).raw().iterate() as Iterable<unknown[]>) {
        batch.push(row);
        if (batch.length === perStatement) await flush();
      }
      await flush();
      await client.query('commit');
    }
    // A bulk load leaves no visibility map or hint bits, and invites autovacuum: without this the
    // first scenarios pay for that work (their rounds rose 2-3x one after the other).
    await client.query('vacuum (freeze, analyze)');
  } finally {
    await client.end();
    source.close();
  }
  return copied;
}
