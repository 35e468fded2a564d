/**
 * A bounded map of things that are costly to build and cheap to keep (compiled operations,
 * prepared statements, compiled queries): past `limit` entries the least recently used goes.
 */
export class LruCache<V> {
  private readonly entries = new Map<string, V>();
  /** The most recently used entry: asked for again (the common case), it needs no reordering. */
  private newest: { key: string; value: V } | null = null;

  /** `onEvict` hears of each entry pushed out by a newer one (not of `delete`). */
  constructor(
    private readonly limit: number,
    private readonly onEvict?: (key: string, value: V) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value kept under `key`, or `build()`'s, kept from now on. */
  get(key: string, build: () => V): V {
    if (this.newest?.key === key) return this.newest.value;
    let value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
    } else {
      value = build();
      if (this.entries.size >= this.limit) this.evictOldest();
    }
    this.entries.set(key, value);
    this.newest = { key, value };
    return value;
  }

  private evictOldest(): void {
    const [key, value] = this.entries.entries().next().value as [string, V];
    this.entries.delete(key);
    this.onEvict?.(key, value);
  }

  /** Forgets `key`, so the next `get` builds it again. */
  delete(key: string): void {
    this.entries.delete(key);
    if (this.newest?.key === key) this.newest = null;
  }
}
