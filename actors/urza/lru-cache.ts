// A least-recently-used cache with an optional time-to-live, on an injectable monotonic clock. A Map keeps
// insertion order, so "touch" is delete + set and the oldest entry is the first key.

export interface LruCacheOptions<V> {
  /** Most entries held; the least recently used is dropped beyond it. At least 1. */
  capacity: number;
  /** An entry older than this (since it was set) is expired; null: never. */
  ttlMs: number | null;
  /** Monotonic milliseconds. */
  clock: () => number;
  /** Called with every value that leaves the cache, whatever the reason (to release what it holds). */
  onRemove?: (value: V, key: string) => void;
}

export type CacheLookup<V> = { status: 'hit'; value: V } | { status: 'expired' } | { status: 'miss' };

export class LruCache<V> {
  readonly capacity: number;
  readonly ttlMs: number | null;
  readonly #clock: () => number;
  readonly #entries = new Map<string, { value: V; setAt: number }>();
  readonly #onRemove: (value: V, key: string) => void;
  /** Entries dropped for capacity (silently: the catalog still has them). */
  dropped = 0;

  constructor(options: LruCacheOptions<V>) {
    this.capacity = Math.max(1, Math.floor(options.capacity));
    this.ttlMs = options.ttlMs === null ? null : Math.max(0, options.ttlMs);
    this.#clock = options.clock;
    this.#onRemove = options.onRemove ?? (() => {});
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Looks up and touches `key`. An expired entry is removed and reported as such. */
  lookup(key: string): CacheLookup<V> {
    const entry = this.#entries.get(key);
    if (!entry) return { status: 'miss' };
    this.#entries.delete(key);
    if (this.#expired(entry.setAt)) {
      this.#onRemove(entry.value, key);
      return { status: 'expired' };
    }
    this.#entries.set(key, entry);
    return { status: 'hit', value: entry.value };
  }

  /** The value without touching it or checking its age. */
  peek(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  set(key: string, value: V): void {
    const previous = this.#entries.get(key);
    this.#entries.delete(key);
    if (previous && previous.value !== value) this.#onRemove(previous.value, key);
    this.#entries.set(key, { value, setAt: this.#clock() });
    while (this.#entries.size > this.capacity) {
      const [oldest, entry] = this.#entries.entries().next().value as [string, { value: V }];
      this.#entries.delete(oldest);
      this.dropped += 1;
      this.#onRemove(entry.value, oldest);
    }
  }

  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#entries.delete(key);
    this.#onRemove(entry.value, key);
    return true;
  }

  /** Removes every entry whose value matches; returns how many. */
  deleteWhere(match: (value: V, key: string) => boolean): number {
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (match(entry.value, key)) {
        this.#entries.delete(key);
        this.#onRemove(entry.value, key);
        removed += 1;
      }
    }
    return removed;
  }

  /** Removes every expired entry; returns how many. */
  purgeExpired(): number {
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (this.#expired(entry.setAt)) {
        this.#entries.delete(key);
        this.#onRemove(entry.value, key);
        removed += 1;
      }
    }
    return removed;
  }

  clear(): void {
    const entries = [...this.#entries];
    this.#entries.clear();
    for (const [key, entry] of entries) this.#onRemove(entry.value, key);
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  #expired(setAt: number): boolean {
    return this.ttlMs !== null && this.#clock() - setAt > this.ttlMs;
  }
}
