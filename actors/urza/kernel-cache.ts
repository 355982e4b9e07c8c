// The kernel cache: verified artifact bytes by (blueprint, slot key), never a module. Bytes enter only after their
// SHA-256 matched their catalog row, so a hit is served without re-hashing. Each entry also carries the spare
// modules prepared for it (kernel-modules.ts), which are disposed when the entry leaves, whatever the reason. The
// cache also remembers each blueprint's most recently stored slot, so an unslotted lookup can hit it too.
import type { BlueprintModule } from '../../blueprints/index.ts';
import type { CatalogRow } from './catalog-db.ts';
import { LruCache, type CacheLookup } from './lru-cache.ts';

export interface CachedKernel {
  /** Refreshed (same bytes) when the row is re-read from disk. */
  row: CatalogRow;
  /** Bytes whose SHA-256 was checked against the row when they were read. */
  bytes: Uint8Array;
  /** Modules deserialised from `bytes` and never handed out; disposed when the entry leaves the cache. */
  spares: BlueprintModule[];
}

export interface KernelCacheOptions {
  capacity: number;
  /** A kernel older than this is re-read and re-verified from disk; null: never. */
  ttlMs: number | null;
  /** Monotonic ms. */
  clock: () => number;
}

export const kernelKey = (blueprintId: string, slotKey: string): string => `${blueprintId}@${slotKey}`;

export class KernelCache {
  readonly #entries: LruCache<CachedKernel>;
  /** blueprint id → slot key of its most recent variant, so an unslotted lookup can hit the cache. */
  readonly #latestSlot = new Map<string, string>();

  constructor(options: KernelCacheOptions) {
    this.#entries = new LruCache<CachedKernel>({
      capacity: options.capacity,
      ttlMs: options.ttlMs,
      clock: options.clock,
      onRemove: (kernel) => {
        for (const spare of kernel.spares.splice(0)) spare.dispose();
      },
    });
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The slot key of the blueprint's most recently stored variant, when the cache knows it. */
  latestSlot(blueprintId: string): string | undefined {
    return this.#latestSlot.get(blueprintId);
  }

  /** Looks up and touches a kernel; an expired one is removed and reported as such. */
  lookup(blueprintId: string, slotKey: string): CacheLookup<CachedKernel> {
    return this.#entries.lookup(kernelKey(blueprintId, slotKey));
  }

  /** The kernel without touching it or checking its age. */
  peek(blueprintId: string, slotKey: string): CachedKernel | undefined {
    return this.#entries.peek(kernelKey(blueprintId, slotKey));
  }

  /**
   * Caches bytes just verified against their row. Bytes identical to the cached ones keep the cached entry and its
   * spare modules (only the row is refreshed).
   */
  keepVerified(row: CatalogRow, bytes: Uint8Array, isLatest: boolean): CachedKernel {
    const key = kernelKey(row.blueprintId, row.slotKey);
    const cached = this.#entries.peek(key);
    const kernel: CachedKernel =
      cached?.row.checksum === row.checksum ? Object.assign(cached, { row }) : { row, bytes, spares: [] };
    this.#entries.set(key, kernel);
    if (isLatest) this.#latestSlot.set(row.blueprintId, row.slotKey);
    return kernel;
  }

  /** Caches a kernel just saved (a copy of its bytes: the caller's buffer stays the caller's); it is now the latest. */
  keepSaved(row: CatalogRow, bytes: Uint8Array): void {
    this.#entries.set(kernelKey(row.blueprintId, row.slotKey), { row, bytes: bytes.slice(), spares: [] });
    this.#latestSlot.set(row.blueprintId, row.slotKey);
  }

  forget(row: CatalogRow): void {
    this.#entries.delete(kernelKey(row.blueprintId, row.slotKey));
    if (this.#latestSlot.get(row.blueprintId) === row.slotKey) this.#latestSlot.delete(row.blueprintId);
  }

  /** Removes every kernel past the TTL; returns how many. */
  purgeExpired(): number {
    return this.#entries.purgeExpired();
  }

  clear(): void {
    this.#entries.clear();
    this.#latestSlot.clear();
  }
}
