// A least-recently-used cache with an optional time-to-live, on an injectable monotonic clock. A Map keeps
// insertion order, so "touch" is delete + set and the oldest entry is the first key.

export interface LruCacheOptions {
  /** Most entries held; the least recently used is dropped beyond it. At least 1. */
  capacity: number;
  /** An entry older than this (since it was set) is expired; null: never. */
  ttlMs: number | null;
  /** Monotonic milliseconds. */
  clock: () => number;
}

export type CacheLookup<V> = { status: 'hit'; value: V } | { status: 'expired' } | { status: 'miss' };

export class LruCache<V> {
  readonly capacity: number;
  readonly ttlMs: number | null;
  readonly #clock: () => number;
  readonly #entries = new Map<string, { value: V; setAt: number }>();
  /** Entries dropped for capacity (silently: the catalog still has them). */
  dropped = 0;

  constructor(options: LruCacheOptions) {
    this.capacity = Math.max(1, Math.floor(options.capacity));
    this.ttlMs = options.ttlMs === null ? null : Math.max(0, options.ttlMs);
    this.#clock = options.clock;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Looks up and touches `key`. An expired entry is removed and reported as such. */
  lookup(key: string): CacheLookup<V> {
    const entry = this.#entries.get(key);
    if (!entry) return { status: 'miss' };
    this.#entries.delete(key);
    if (this.#expired(entry.setAt)) return { status: 'expired' };
    this.#entries.set(key, entry);
    return { status: 'hit', value: entry.value };
  }

  /** The value without touching it or checking its age. */
  peek(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  set(key: string, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, setAt: this.#clock() });
    while (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
      this.dropped += 1;
    }
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  /** Removes every entry whose value matches; returns how many. */
  deleteWhere(match: (value: V, key: string) => boolean): number {
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (match(entry.value, key)) {
        this.#entries.delete(key);
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
        removed += 1;
      }
    }
    return removed;
  }

  clear(): void {
    this.#entries.clear();
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  #expired(setAt: number): boolean {
    return this.ttlMs !== null && this.#clock() - setAt > this.ttlMs;
  }
}
