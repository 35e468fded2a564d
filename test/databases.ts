/**
 * Test databases: a fresh SQLite file in a temp dir, or, when TEST_DATABASE_URL points at a
 * PostgreSQL server, a fresh database created on it (and dropped afterwards), so every suite
 * runs the same way on both engines.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { openStore, type Store, type StoreOptions } from '../src/store/db';

export interface TestDatabase {
  /** Options for openStore (and DATABASE_URL / DATA_DIR for processes). */
  options: StoreOptions;
  env: { DATABASE_URL?: string; DATA_DIR: string };
  open(extra?: Partial<StoreOptions>): Store;
  drop(): Promise<void>;
}

export const testEngine = process.env.TEST_DATABASE_URL ? 'postgres' : 'sqlite';

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-test-'));
  const admin = process.env.TEST_DATABASE_URL;
  let databaseUrl: string | undefined;
  let name: string | null = null;
  if (admin) {
    name = `cg_test_${crypto.randomBytes(6).toString('hex')}`;
    await adminQuery(`create database ${name}`);
    const url = new URL(admin);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
  }
  const options: StoreOptions = { databaseUrl, dataDir: dir };
  return {
    options,
    env: { ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), DATA_DIR: dir },
    open: (extra = {}) => openStore({ ...options, ...extra }),
    async drop() {
      fs.rmSync(dir, { recursive: true, force: true });
      if (name) await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}
