/**
 * The bench floors' API-key cache (bench/lib/floor.ts keyCheck): it must cost the floor what
 * the gateway's VerifiedKeys costs it, no less (a floor that skipped the check would flatter
 * every ratio) and no more (one that looked up every key would be slower than the gateway).
 */
import { after, keyCheck } from '../bench/lib/floor';

describe('bench floor key check', () => {
  function counting(found: string | undefined) {
    const hashes: string[] = [];
    return { hashes, lookup: (hash: string) => (hashes.push(hash), found) };
  }

  test('a live key is looked up once, then answered from the cache until its TTL', () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const { hashes, lookup } = counting('ws-1');
      const check = keyCheck(lookup, 5000);
      expect(check('Bearer cgk_live')).toBe('ws-1');
      expect(check('Bearer cgk_live')).toBe('ws-1');
      expect(hashes).toHaveLength(1);
      expect(hashes[0]).toMatch(/^[0-9a-f]{64}$/);
      jest.setSystemTime(5001);
      expect(check('Bearer cgk_live')).toBe('ws-1');
      expect(hashes).toHaveLength(2);
    } finally {
      jest.useRealTimers();
    }
  });

  test('an unknown key is looked up every time, and a missing bearer not at all', () => {
    const { hashes, lookup } = counting(undefined);
    const check = keyCheck(lookup, 5000);
    expect(check('Bearer cgk_wrong')).toBeUndefined();
    expect(check('Bearer cgk_wrong')).toBeUndefined();
    expect(check(undefined)).toBeUndefined();
    expect(check('Basic abc')).toBeUndefined();
    expect(hashes).toHaveLength(2);
  });

  test('a lookup that answers later (PostgreSQL) is cached all the same', async () => {
    let calls = 0;
    const check = keyCheck(async () => ((calls += 1), 'ws-2'), 5000);
    await expect(check('Bearer cgk_pg')).resolves.toBe('ws-2');
    expect(check('Bearer cgk_pg')).toBe('ws-2');
    expect(calls).toBe(1);
  });

  test('after stays synchronous for a synchronous value', async () => {
    expect(after(2, (x) => x * 3)).toBe(6);
    await expect(after(Promise.resolve(2), (x) => x * 3)).resolves.toBe(6);
  });
});
