/**
 * The probes over real HTTP: `/livez` answers without the database, `/readyz` (and its alias
 * `/health`) follows the database's migrations and the drain, with a JSON reason when not
 * ready. The database becoming unreachable is in readiness.test.ts (PostgreSQL, through a proxy).
 */
import { sql } from 'kysely';
import { startTestApp, type RunningApp } from './app-harness';

async function probe(url: string, path: string): Promise<{ status: number; body: { status: string; reason?: string } }> {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
}

describe('probes', () => {
  let gw: RunningApp;

  beforeAll(async () => {
    gw = await startTestApp();
  });

  afterAll(() => gw.close());

  it('/livez, /readyz and /health answer 200 {status: ok} on a migrated database', async () => {
    for (const path of ['/livez', '/readyz', '/health']) expect(await probe(gw.url, path)).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('/readyz answers 503 naming the migration not applied, /livez stays 200, and both recover without a restart', async () => {
    const db = gw.app.store.db;
    const last = await sql<{ name: string; timestamp: string }>`select name, timestamp from kysely_migration order by name desc limit 1`.execute(db);
    const { name, timestamp } = last.rows[0];
    // Another deployment rolled the schema back underneath this gateway.
    await sql`delete from kysely_migration where name = ${name}`.execute(db);
    try {
      for (const path of ['/readyz', '/health']) {
        expect(await probe(gw.url, path)).toEqual({ status: 503, body: { status: 'unavailable', reason: `migrations not applied: ${name}` } });
      }
      expect((await probe(gw.url, '/livez')).status).toBe(200);
    } finally {
      await sql`insert into kysely_migration (name, timestamp) values (${name}, ${timestamp})`.execute(db);
    }
    expect((await probe(gw.url, '/readyz')).status).toBe(200);
  });

  it('while draining, /readyz answers 503 (draining) and /livez 200, as GraphQL requests are turned away', async () => {
    const own = await startTestApp();
    try {
      own.app.http.drain();
      expect(await probe(own.url, '/readyz')).toEqual({ status: 503, body: { status: 'unavailable', reason: 'draining: the gateway is shutting down' } });
      expect((await probe(own.url, '/livez')).status).toBe(200);
      const graphql = await fetch(`${own.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ workspace { name } }"}' });
      await graphql.text();
      expect(graphql.status).toBe(503);
    } finally {
      await own.close();
    }
  });

  it('/livez answers 200 with the database closed under it', async () => {
    const own = await startTestApp();
    try {
      await own.app.store.close();
      expect(await probe(own.url, '/livez')).toEqual({ status: 200, body: { status: 'ok' } });
      expect(await probe(own.url, '/readyz')).toEqual({ status: 503, body: { status: 'unavailable', reason: 'database unreachable' } });
    } finally {
      await own.close();
    }
  });
});
