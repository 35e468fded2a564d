/**
 * Verified API keys remembered for API_KEY_CACHE_TTL_MS (src/services/keys.ts VerifiedKeys):
 * a revoked key stops working at once with a TTL of 0, and within the TTL otherwise (a clock
 * moved by the test, no sleeping); unknown keys are never remembered, so a new key works at
 * once; only the exact key presented is let in; expired entries are dropped; the bound on
 * entries holds.
 */
import { GraphQLError } from 'graphql';
import { loadConfig } from '../src/config';
import { contextFromHeaders, type ContextDeps } from '../src/graphql/context';
import { VerifiedKeys, issueKey, type IssuedKey } from '../src/services/keys';
import { revokeApiKey } from '../src/store/workspaces.repository';
import { createTestDatabase, type TestDatabase } from './databases';
import { migrateToLatest } from '../src/store/db';
import type { Store } from '../src/store/db';
import { silentLogger } from './helpers';

let database: TestDatabase;
let store: Store;

beforeAll(async () => {
  database = await createTestDatabase();
  store = database.open();
  await migrateToLatest(store.db);
});

afterAll(async () => {
  await store.close();
  await database.drop();
});

function depsWith(keys: VerifiedKeys | undefined): ContextDeps {
  return { db: store.db, publicUrl: 'http://gw.test', logger: silentLogger, keys };
}

/** The code the request is refused with, or 'ok'. */
async function authenticate(deps: ContextDeps, key: string): Promise<string> {
  try {
    const context = await contextFromHeaders(deps, { get: (name) => (name === 'authorization' ? `Bearer ${key}` : undefined) }, 'req-1');
    return context.workspace.name === 'keys' ? 'ok' : `wrong workspace ${context.workspace.name}`;
  } catch (error) {
    if (error instanceof GraphQLError) return String(error.extensions.code);
    throw error;
  }
}

const revoke = (issued: IssuedKey) => revokeApiKey(store.db, issued.workspace.id, issued.record.prefix, new Date().toISOString());

describe('API_KEY_CACHE_TTL_MS', () => {
  it('defaults to 5 seconds; 0 turns the cache off; more than a minute is refused', () => {
    expect(loadConfig({}).apiKeyCacheTtlMs).toBe(5000);
    expect(loadConfig({ API_KEY_CACHE_TTL_MS: '0' }).apiKeyCacheTtlMs).toBe(0);
    expect(() => loadConfig({ API_KEY_CACHE_TTL_MS: '60001' })).toThrow(/API_KEY_CACHE_TTL_MS/);
  });

  it('with a TTL of 0 a revoked key is refused on the next request', async () => {
    const keys = new VerifiedKeys({ ttlMs: 0 });
    const issued = await issueKey(store.db, { workspace: 'keys', name: 'ttl-0' });
    expect(await authenticate(depsWith(keys), issued.key)).toBe('ok');
    expect(await revoke(issued)).toBe(1);
    expect(await authenticate(depsWith(keys), issued.key)).toBe('UNAUTHENTICATED');
    expect(keys.size).toBe(0);
  });

  it('a key revoked elsewhere keeps working until its entry is older than the TTL, not a moment longer', async () => {
    let now = 1_000_000;
    const keys = new VerifiedKeys({ ttlMs: 5000, now: () => now });
    const issued = await issueKey(store.db, { workspace: 'keys', name: 'ttl-5s' });
    expect(await authenticate(depsWith(keys), issued.key)).toBe('ok');
    expect(await revoke(issued)).toBe(1);
    now += 4999;
    expect(await authenticate(depsWith(keys), issued.key)).toBe('ok');
    now += 1;
    expect(await authenticate(depsWith(keys), issued.key)).toBe('UNAUTHENTICATED');
    // And it stays refused: nothing was remembered for it.
    now -= 5000;
    expect(await authenticate(depsWith(keys), issued.key)).toBe('UNAUTHENTICATED');
  });

  it('clear() forgets every key at once (a revocation in this process)', async () => {
    const keys = new VerifiedKeys({ ttlMs: 60_000 });
    const issued = await issueKey(store.db, { workspace: 'keys', name: 'cleared' });
    expect(await authenticate(depsWith(keys), issued.key)).toBe('ok');
    await revoke(issued);
    keys.clear();
    expect(await authenticate(depsWith(keys), issued.key)).toBe('UNAUTHENTICATED');
  });

  it('never remembers an unknown key: a key issued after a refused attempt works at once', async () => {
    const keys = new VerifiedKeys({ ttlMs: 60_000 });
    expect(await authenticate(depsWith(keys), 'cgk_0000000000_notakey')).toBe('UNAUTHENTICATED');
    expect(keys.size).toBe(0);
    const issued = await issueKey(store.db, { workspace: 'keys', name: 'late' });
    expect(await authenticate(depsWith(keys), issued.key)).toBe('ok');
    expect(await authenticate(depsWith(keys), '')).toBe('UNAUTHENTICATED');
    expect(await authenticate(depsWith(keys), 'x'.repeat(201))).toBe('UNAUTHENTICATED');
  });

  it('a remembered key lets in that exact key only: a longer, shorter or altered one is checked and refused', async () => {
    const keys = new VerifiedKeys({ ttlMs: 60_000 });
    const issued = await issueKey(store.db, { workspace: 'keys', name: 'exact' });
    expect(await authenticate(depsWith(keys), issued.key)).toBe('ok');
    const last = issued.key.slice(-1);
    for (const other of [`${issued.key}x`, issued.key.slice(0, -1), issued.key.slice(0, -1) + (last === 'A' ? 'B' : 'A'), issued.key.toUpperCase()]) {
      expect(await authenticate(depsWith(keys), other)).toBe('UNAUTHENTICATED');
    }
    expect(keys.size).toBe(1);
  });

  it('drops expired entries within two TTLs of their verification, even while only other keys are used', async () => {
    let now = 2_000_000;
    const keys = new VerifiedKeys({ ttlMs: 5000, now: () => now });
    const [early, late, busy] = await Promise.all(['sweep-1', 'sweep-2', 'sweep-3'].map((name) => issueKey(store.db, { workspace: 'keys', name })));
    expect(await authenticate(depsWith(keys), early.key)).toBe('ok');
    now += 3000;
    expect(await authenticate(depsWith(keys), late.key)).toBe('ok');
    expect(await authenticate(depsWith(keys), busy.key)).toBe('ok');
    expect(keys.size).toBe(3);
    // Only `busy` is used from now on, each time from the cache until its own entry expires.
    const seen = [];
    for (let step = 0; step < 10; step++) {
      now += 1000;
      expect(await authenticate(depsWith(keys), busy.key)).toBe('ok');
      seen.push(keys.size);
    }
    // `early` (verified at 0) and `late` (at 3 s) are gone by 10 s and 13 s; `busy` stays.
    expect(seen[6]).toBeLessThanOrEqual(2);
    expect(seen[9]).toBe(1);
    await revoke(late);
    await revoke(busy);
    expect(await authenticate(depsWith(keys), late.key)).toBe('UNAUTHENTICATED');
  });

  it('keeps at most maxEntries keys, dropping the oldest', async () => {
    const keys = new VerifiedKeys({ ttlMs: 60_000, maxEntries: 2 });
    const issued = await Promise.all(['b1', 'b2', 'b3'].map((name) => issueKey(store.db, { workspace: 'keys', name })));
    for (const one of issued) expect(await authenticate(depsWith(keys), one.key)).toBe('ok');
    expect(keys.size).toBe(2);
    // The oldest was dropped, so its revocation shows at once; the newest is still remembered.
    await revoke(issued[0]);
    await revoke(issued[2]);
    expect(await authenticate(depsWith(keys), issued[0].key)).toBe('UNAUTHENTICATED');
    expect(await authenticate(depsWith(keys), issued[2].key)).toBe('ok');
  });
});
