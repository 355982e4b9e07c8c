// UrzaLibrary: the kernel library, and the one place where its parts meet. It saves verified artifacts crash-safely
// (checked by save-input.ts; artifact durable first, artifact-store.ts, then the catalog row, catalog-db.ts),
// answers lookups with a result that says *why* when there is no kernel (library-api.ts), serves hot kernels from
// verified bytes (kernel-cache.ts) as new modules (kernel-modules.ts), and runs every catalog access under the
// breaker (catalog-guard.ts). Synchronous throughout (better-sqlite3): each call runs to completion, so one library
// is shared in-process by the Urza actor, Tezzeret (as a KernelWriter) and Kasmina (as a KernelReader) without
// locks. Across processes, one writer per root (owner-lock.ts): the owner saves, evicts and recovers; other
// processes open the same root as readers and resolve kernels from it.
import { join, resolve } from 'node:path';
import type { v1 } from '../../contracts/index.ts';
import type { CircuitBreaker, CircuitBreakerOptions } from '../../runtime/circuit-breaker.ts';
import { ArtifactStore, sha256Hex, type SaveStepHook, type StoredArtifact } from './artifact-store.ts';
import { CatalogDb, rowDescriptor, toCatalogEntry, type CatalogFilter, type CatalogRow } from './catalog-db.ts';
import { CatalogGuard, type Guarded } from './catalog-guard.ts';
import { errorText, NoKernelCodecError, UrzaInputError, UrzaSaveError } from './errors.ts';
import { KernelCache, type CachedKernel } from './kernel-cache.ts';
import type { KernelCodec } from './kernel-codec.ts';
import { KernelModules } from './kernel-modules.ts';
import type {
  Corrupt,
  CorruptionReason,
  KernelFetchResult,
  KernelQuery,
  LookupOptions,
  LookupResult,
  MaintenanceResult,
  Miss,
  PresenceResult,
  QueryResult,
  SaveKernelInput,
  SaveResult,
  Unavailable,
  UrzaStore,
} from './library-api.ts';
import { auditRows } from './maintenance.ts';
import { LibraryMetrics } from './metrics.ts';
import { CatalogLockedError, OwnerLock } from './owner-lock.ts';
import { recoverCatalog, type RecoveryOptions, type RecoveryReport } from './recovery.ts';
import { catalogRowFor, checkSaveInput } from './save-input.ts';
import { slotKey, type SlotInput } from './slot-key.ts';

/** The library root under a run's var directory (esper.config.ts `run.varDir`, default "var"). */
export function defaultUrzaRoot(varDir = 'var'): string {
  return join(varDir, 'urza');
}

export const CATALOG_FILE = 'catalog.db';

/**
 * When the library takes ownership of its root (the right to write: save, evict, recover, delete artifacts):
 * - `required`: at open, or the open fails with CatalogLockedError naming the owner (`esper forge`, the default);
 * - `preferred`: at open if no live process owns it (start-up recovery then runs), else it reads;
 * - `on-write`: it reads until its first write needs ownership.
 * A reader tries again at each write and each maintenance, so when the owner dies (even by kill -9) the next
 * reader that needs to write takes over.
 */
export type Ownership = 'required' | 'preferred' | 'on-write';

const NO_RECOVERY: RecoveryReport = {
  rowsChecked: 0,
  tempFilesRemoved: 0,
  missingEvicted: 0,
  corruptEvicted: 0,
  unreferencedRemoved: 0,
  elapsedMs: 0,
};

export interface UrzaLibraryOptions {
  /** Directory of the catalog (`catalog.db`) and artifacts (`artifacts/`). Default `var/urza`. */
  root?: string;
  /** Kernels whose verified bytes stay in memory. Default 128 (the prototype's). */
  cacheSize?: number;
  /** A cached kernel older than this is re-read and re-verified from disk. Default null: never. */
  cacheTtlMs?: number | null;
  /** A catalog row older than this (since stored) is evicted on lookup or maintenance. Default null: never. */
  entryTtlMs?: number | null;
  /** Pre-warm timings kept per row. Default 20. */
  maxPrewarmSamples?: number;
  /** A catalog access slower than this counts as a breaker failure (`slow_queries`). Default 250 ms. */
  slowQueryMs?: number;
  /** A breaker to share, or options for Urza's own ("urza.library": 3 failures, 2 successes, 30 s open). */
  breaker?: CircuitBreaker | CircuitBreakerOptions;
  /** Turns artifact bytes into modules; needed by fetchKernel only. */
  codec?: KernelCodec;
  /**
   * Ready-made modules kept per cached kernel, deserialised off the hot path (on the next turn of the event loop)
   * after a fetch, so the following fetch hands one over instead of deserialising. Each is handed out once. Default
   * 1; 0: deserialise inside every fetch.
   */
  spareModules?: number;
  /** Monotonic ms (latencies, cache TTL, Urza's own breaker). Default performance.now. */
  clock?: () => number;
  /** Epoch ms (stored_at, entry TTL). Default Date.now. */
  wallClock?: () => number;
  recovery?: RecoveryOptions;
  /** Observes each durable step of a save (crash tests). */
  onSaveStep?: SaveStepHook;
  /** When to take ownership of the root. Default `required`. */
  ownership?: Ownership;
}

type Loaded = { status: 'found'; kernel: CachedKernel; fromCache: boolean } | Miss;

export class UrzaLibrary implements UrzaStore {
  readonly root: string;
  readonly catalogPath: string;
  /** The breaker every catalog access goes through (shared when one was passed in). */
  readonly breaker: CircuitBreaker;
  readonly metrics = new LibraryMetrics();
  /** What recovery found and did when this library took ownership (zeros while it has not). */
  recovery: RecoveryReport = NO_RECOVERY;
  readonly #db: CatalogDb;
  #lock: OwnerLock | null = null;
  readonly #recoveryOptions: RecoveryOptions | undefined;
  readonly #store: ArtifactStore;
  readonly #guard: CatalogGuard;
  readonly #cache: KernelCache;
  /** Null when the library was opened without a codec: it stores and looks up, but builds no module. */
  readonly #modules: KernelModules | null;
  readonly #clock: () => number;
  readonly #wallClock: () => number;
  readonly #entryTtlMs: number | null;
  readonly #maxSamples: number;
  readonly #onSaveStep: SaveStepHook | undefined;

  constructor(options: UrzaLibraryOptions = {}) {
    this.root = resolve(options.root ?? defaultUrzaRoot());
    this.catalogPath = join(this.root, CATALOG_FILE);
    this.#clock = options.clock ?? (() => performance.now());
    this.#wallClock = options.wallClock ?? (() => Date.now());
    this.#entryTtlMs = options.entryTtlMs ?? null;
    this.#maxSamples = Math.max(1, Math.floor(options.maxPrewarmSamples ?? 20));
    const slowQueryMs = options.slowQueryMs ?? 250;
    this.#onSaveStep = options.onSaveStep;
    this.#recoveryOptions = options.recovery;
    this.#store = new ArtifactStore(this.root, options.onSaveStep ? { onStep: options.onSaveStep } : {});
    this.#db = new CatalogDb(this.catalogPath, { busyTimeoutMs: slowQueryMs });
    this.#cache = new KernelCache({
      capacity: options.cacheSize ?? 128,
      ttlMs: options.cacheTtlMs ?? null,
      clock: this.#clock,
    });
    this.#modules = options.codec
      ? new KernelModules(options.codec, this.#cache, {
          spareModules: options.spareModules ?? 1,
          isOpen: () => this.#db.isOpen,
        })
      : null;
    this.#guard = new CatalogGuard(this.metrics, { breaker: options.breaker, slowQueryMs, clock: this.#clock });
    this.breaker = this.#guard.breaker;
    const ownership = options.ownership ?? 'required';
    try {
      if (ownership !== 'on-write' && !this.#takeOwnership() && ownership === 'required') {
        throw new CatalogLockedError(this.catalogPath, OwnerLock.ownerPid(this.root));
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** `owner` while this library holds its root's owner lock; `reader` otherwise. */
  get role(): 'owner' | 'reader' {
    return this.#lock?.held ? 'owner' : 'reader';
  }

  /** The catalog's schema version and the migrations this open applied. */
  get schema(): { version: number; applied: readonly number[] } {
    return { version: this.#db.schemaVersion, applied: this.#db.appliedMigrations };
  }

  // ---- ownership -------------------------------------------------------------------------------------------------

  /**
   * Owner already, or becomes it now if no live process holds the root: then recovery runs (the previous owner may
   * have died mid-save) and the cache, filled as a reader, is dropped (recovery may have evicted what it holds).
   */
  #takeOwnership(): boolean {
    if (this.#lock?.held) return true;
    const lock = OwnerLock.tryAcquire(this.root);
    if (!lock) return false;
    try {
      this.recovery = recoverCatalog(this.#db, this.#store, this.#recoveryOptions);
    } catch (error) {
      lock.release();
      throw error;
    }
    this.#lock = lock;
    this.#cache.clear();
    this.metrics.catalogOwner = 1;
    this.metrics.evictions += this.recovery.missingEvicted + this.recovery.corruptEvicted;
    this.metrics.missingArtifacts += this.recovery.missingEvicted;
    this.metrics.integrityFailures += this.recovery.corruptEvicted;
    return true;
  }

  /** Whether this process may write, taking ownership if it is free; a failure to try is a catalog failure. */
  #writable(): boolean {
    try {
      return this.#takeOwnership();
    } catch {
      this.#guard.failed();
      return false;
    }
  }

  #notOwner(blueprintId: string): Unavailable {
    const pid = OwnerLock.ownerPid(this.root);
    return {
      status: 'unavailable',
      blueprintId,
      cause: 'not_owner',
      message: `${this.catalogPath} is owned by ${pid === null ? 'another process' : `process ${pid}`}: this process only reads it`,
    };
  }

  // ---- save ------------------------------------------------------------------------------------------------------

  /**
   * Stores a compiled kernel for (blueprint, slot shape). The bytes must hash to `update.checksum`; otherwise, or on
   * bad input, nothing is stored. Order: artifact durable under its hash name, then the row in one transaction,
   * then the replaced artifact (if no longer referenced) is deleted.
   */
  save(input: SaveKernelInput): SaveResult {
    const blueprintId = input.descriptor?.blueprintId ?? '';
    const refuse = (error: UrzaSaveError): SaveResult => {
      this.metrics.savesRejected += 1;
      return { ok: false, error };
    };
    let key: string;
    let hash: string;
    try {
      ({ key, hash } = checkSaveInput(input));
    } catch (error) {
      if (error instanceof UrzaSaveError) return refuse(error);
      throw error;
    }
    if (!this.#guard.admit())
      return refuse(new UrzaSaveError('unavailable', blueprintId, 'the catalog breaker is open'));
    if (!this.#writable())
      return refuse(new UrzaSaveError('unavailable', blueprintId, this.#notOwner(blueprintId).message));
    let stored: StoredArtifact;
    try {
      stored = this.#store.put(input.artifact, hash);
    } catch (error) {
      this.breaker.recordFailure();
      return refuse(
        new UrzaSaveError('io_error', blueprintId, `writing the artifact failed: ${errorText(error)}`, {
          cause: error,
        }),
      );
    }
    const started = this.#clock();
    let row: CatalogRow;
    let previous: CatalogRow | null;
    try {
      ({ row, previous } = this.#db.transaction(() => {
        const before = this.#db.get(blueprintId, key);
        const next = catalogRowFor(input, {
          key,
          hash,
          relativePath: stored.relativePath,
          mtimeS: stored.mtimeS,
          previous: before,
          maxSamples: this.#maxSamples,
          storedAtMs: this.#wallClock(),
        });
        this.#db.upsert(next);
        return { row: next, previous: before };
      }));
    } catch (error) {
      this.breaker.recordFailure();
      this.#releaseArtifactQuietly(hash, stored.relativePath);
      return refuse(
        new UrzaSaveError('io_error', blueprintId, `the catalog write failed: ${errorText(error)}`, { cause: error }),
      );
    }
    this.#guard.settle(started);
    this.#onSaveStep?.('committed', hash);
    if (previous && previous.contentHash !== hash)
      this.#releaseArtifactQuietly(previous.contentHash, previous.artifactPath);
    this.#cache.keepSaved(row, input.artifact);
    this.metrics.saves += 1;
    return { ok: true, entry: toCatalogEntry(row, this.root), replaced: previous !== null };
  }

  // ---- lookups ---------------------------------------------------------------------------------------------------

  /**
   * The catalog record of (blueprint, slot); without a slot, the blueprint's most recently stored variant. Found,
   * not found, unavailable (breaker open or catalog failure) or corrupt (evicted and counted) — never a bare null.
   * Cache hits do not consult the breaker: an open breaker means "serve from cache only".
   */
  get(blueprintId: string, slot?: SlotInput, options: LookupOptions = {}): LookupResult {
    const loaded = this.#load(blueprintId, slot, options);
    if (loaded.status !== 'found') return loaded;
    const { row } = loaded.kernel;
    if (options.warm) this.#modules?.scheduleSpare(row.blueprintId, row.slotKey);
    return { status: 'found', entry: toCatalogEntry(row, this.root), fromCache: loaded.fromCache };
  }

  /** A NEW module for (blueprint, slot) per call (never one shared between seeds), with the whole fetch's latency. */
  fetchKernel(blueprintId: string, slot: SlotInput): KernelFetchResult {
    const modules = this.#modules;
    if (!modules) throw new NoKernelCodecError();
    const started = this.#clock();
    this.metrics.kernelFetches += 1;
    const finish = <T extends object>(result: T): T & { latencyMs: number } => {
      const latencyMs = this.#clock() - started;
      this.metrics.fetchLatencyMs = latencyMs;
      return { ...result, latencyMs };
    };
    const loaded = this.#load(blueprintId, slot, {});
    if (loaded.status !== 'found') return finish(loaded);
    const { row } = loaded.kernel;
    const taken = modules.take(loaded.kernel);
    if (taken.status === 'undecodable') return finish(this.#undecodable(row, taken.message));
    if (taken.fromSpare) this.metrics.spareHits += 1;
    modules.scheduleSpare(row.blueprintId, row.slotKey);
    return finish({
      status: 'found' as const,
      module: taken.module,
      entry: toCatalogEntry(row, this.root),
      fromCache: loaded.fromCache,
    });
  }

  /** Whether the catalog holds the blueprint (for that slot), without reading the artifact. */
  has(blueprintId: string, slot?: SlotInput): PresenceResult {
    checkId(blueprintId);
    const key = slot === undefined ? undefined : slotKey(slot);
    if (key !== undefined && this.#cache.peek(blueprintId, key)) return { status: 'found', slotKeys: [key] };
    const result = this.#guard.run(blueprintId, () =>
      this.#db.query({ blueprintId, ...(key === undefined ? {} : { slotKey: key }) }),
    );
    if (result.status !== 'ok') return result;
    if (result.value.length === 0) return { status: 'not_found', blueprintId, slotKey: key ?? null };
    return { status: 'found', slotKeys: result.value.map((row) => row.slotKey) };
  }

  /** Catalog records matching every criterion given (all of them with none), ordered by id then slot. */
  query(query: KernelQuery = {}): QueryResult {
    const filter: CatalogFilter = {};
    if (query.blueprintId !== undefined) filter.blueprintId = query.blueprintId;
    if (query.tier !== undefined) filter.tier = query.tier;
    if (query.stage !== undefined) filter.stage = query.stage;
    if (query.slot !== undefined) filter.slotKey = slotKey(query.slot);
    if (query.tag !== undefined) filter.tag = typeof query.tag === 'string' ? { key: query.tag } : query.tag;
    const result = this.#guard.run('(query)', () => this.#db.query(filter));
    if (result.status !== 'ok') return result;
    const entries: v1.KernelCatalogEntry[] = [];
    for (const row of result.value) {
      try {
        entries.push(toCatalogEntry(row, this.root));
      } catch {
        // Unreadable descriptor: recovery evicts such rows at start-up; skip it here rather than fail the query.
        this.metrics.decodeFailures += 1;
      }
    }
    return { status: 'ok', entries };
  }

  byTier(tier: v1.BlueprintTier): QueryResult {
    return this.query({ tier });
  }

  byStage(stage: number): QueryResult {
    return this.query({ stage });
  }

  byTag(key: string, value?: string): QueryResult {
    return this.query({ tag: value === undefined ? { key } : { key, value } });
  }

  bySlot(slot: SlotInput): QueryResult {
    return this.query({ slot });
  }

  listAll(): QueryResult {
    return this.query({});
  }

  // ---- eviction and maintenance ----------------------------------------------------------------------------------

  /** Removes (blueprint, slot), or every variant of the blueprint; deletes artifacts no longer referenced. */
  evict(blueprintId: string, slot?: SlotInput): { status: 'ok'; evicted: number } | Unavailable {
    checkId(blueprintId);
    const key = slot === undefined ? undefined : slotKey(slot);
    if (!this.#writable()) return this.#notOwner(blueprintId);
    const rows = this.#guard.run(blueprintId, () =>
      this.#db.query({ blueprintId, ...(key === undefined ? {} : { slotKey: key }) }),
    );
    if (rows.status !== 'ok') return rows;
    return { status: 'ok', evicted: this.#evictRows(rows.value) };
  }

  /**
   * Housekeeping (Urza's actor runs it every 60 s): evicts rows past the entry TTL and rows whose artifact is gone,
   * and with `verifyChecksums` rows whose artifact no longer matches; drops expired cache entries.
   */
  maintenance(options: { verifyChecksums?: boolean } = {}): MaintenanceResult {
    if (!this.#writable()) {
      // A reader leaves the catalog to its owner; it only drops what its own cache holds past the TTL.
      const cachePurged = this.#cache.purgeExpired();
      this.metrics.cacheExpired += cachePurged;
      return { status: 'ok', expired: 0, missing: 0, corrupt: 0, cachePurged };
    }
    const rows = this.#guard.run('(maintenance)', () => this.#db.query());
    if (rows.status !== 'ok') return rows;
    const { expired, missing, corrupt } = auditRows(
      rows.value,
      (row) => this.#entryExpired(row),
      (row) => {
        if (!options.verifyChecksums) return this.#store.exists(row.artifactPath) ? 'ok' : 'missing';
        const bytes = this.#store.read(row.artifactPath);
        return bytes === null ? 'missing' : sha256Hex(bytes) === row.checksum ? 'ok' : 'corrupt';
      },
    );
    this.metrics.cacheExpired += expired.length;
    this.metrics.missingArtifacts += missing.length;
    this.metrics.integrityFailures += corrupt.length;
    this.#evictRows([...expired, ...missing, ...corrupt]);
    const cachePurged = this.#cache.purgeExpired();
    this.metrics.cacheExpired += cachePurged;
    return { status: 'ok', expired: expired.length, missing: missing.length, corrupt: corrupt.length, cachePurged };
  }

  /** Counters and gauges as `urza.library.<name>` → value. */
  metricsSnapshot(): Record<string, number> {
    this.metrics.cacheSize = this.#cache.size;
    this.metrics.breakerState = this.breaker.state;
    return this.metrics.snapshot();
  }

  close(): void {
    this.#modules?.cancel();
    this.#cache.clear();
    this.#db.close();
    this.#lock?.release();
    this.metrics.catalogOwner = 0;
  }

  // ---- internals -------------------------------------------------------------------------------------------------

  #load(blueprintId: string, slot: SlotInput | undefined, options: LookupOptions): Loaded {
    checkId(blueprintId);
    const started = this.#clock();
    try {
      const key = slot === undefined ? this.#cache.latestSlot(blueprintId) : slotKey(slot);
      if (key !== undefined && !options.fromDisk) {
        const cached = this.#cache.lookup(blueprintId, key);
        if (cached.status === 'hit') {
          if (!this.#entryExpired(cached.value.row)) {
            this.metrics.cacheHits += 1;
            return { status: 'found', kernel: cached.value, fromCache: true };
          }
          this.metrics.cacheExpired += 1;
          this.#evictRows([cached.value.row]);
          return { status: 'not_found', blueprintId, slotKey: key };
        }
        if (cached.status === 'expired') this.metrics.cacheExpired += 1;
      }
      const read: Guarded<{ row: CatalogRow | null; bytes: Uint8Array | null }> = this.#guard.run(blueprintId, () => {
        const row = slot === undefined ? this.#db.latest(blueprintId) : this.#db.get(blueprintId, key as string);
        if (!row || this.#entryExpired(row)) return { row, bytes: null };
        return { row, bytes: this.#store.read(row.artifactPath) };
      });
      if (read.status !== 'ok') return read;
      const { row, bytes } = read.value;
      if (!row) {
        this.metrics.cacheMisses += 1;
        return { status: 'not_found', blueprintId, slotKey: slot === undefined ? null : (key as string) };
      }
      if (this.#entryExpired(row)) {
        this.metrics.cacheExpired += 1;
        this.#evictRows([row]);
        return { status: 'not_found', blueprintId, slotKey: row.slotKey };
      }
      this.metrics.cacheMisses += 1;
      return this.#verified(row, bytes, slot === undefined);
    } finally {
      this.metrics.lookupLatencyMs = this.#clock() - started;
      this.metrics.cacheSize = this.#cache.size;
    }
  }

  /** Checks bytes read from disk against their row; caches them when they pass, evicts the row when not. */
  #verified(row: CatalogRow, bytes: Uint8Array | null, isLatest: boolean): Loaded {
    const corrupt = (reason: CorruptionReason, message: string): Corrupt => ({
      status: 'corrupt',
      blueprintId: row.blueprintId,
      slotKey: row.slotKey,
      reason,
      message,
    });
    if (bytes === null) {
      this.metrics.missingArtifacts += 1;
      this.#evictRows([row]);
      return corrupt(
        'artifact_not_found',
        `${row.artifactPath} is missing; ${row.blueprintId}@${row.slotKey} was evicted`,
      );
    }
    const hash = sha256Hex(bytes);
    if (hash !== row.checksum) {
      this.metrics.integrityFailures += 1;
      // Every row sharing the file shares the damage.
      this.#evictRows(this.#rowsSharing(row));
      return corrupt('checksum_mismatch', `${row.artifactPath} hashes to ${hash}, expected ${row.checksum}; evicted`);
    }
    try {
      rowDescriptor(row);
    } catch (error) {
      return this.#undecodable(row, errorText(error));
    }
    return { status: 'found', kernel: this.#cache.keepVerified(row, bytes, isLatest), fromCache: false };
  }

  #undecodable(row: CatalogRow, message: string): Corrupt {
    this.metrics.decodeFailures += 1;
    this.#evictRows([row]);
    return { status: 'corrupt', blueprintId: row.blueprintId, slotKey: row.slotKey, reason: 'undecodable', message };
  }

  #rowsSharing(row: CatalogRow): CatalogRow[] {
    try {
      const rows = this.#db.query({ contentHash: row.contentHash });
      return rows.length > 0 ? rows : [row];
    } catch {
      return [row];
    }
  }

  /**
   * Deletes rows (one transaction), forgets them, and deletes their artifacts once nothing references them. A
   * reader that cannot take ownership only forgets them (the owner finds the damage itself, on lookup or in
   * maintenance): deleting files under a live owner could remove one it has written but not yet committed.
   */
  #evictRows(rows: readonly CatalogRow[]): number {
    if (rows.length === 0) return 0;
    if (!this.#writable()) {
      for (const row of rows) this.#forget(row);
      return 0;
    }
    try {
      this.#db.transaction(() => {
        for (const row of rows) this.#db.delete(row.blueprintId, row.slotKey);
      });
    } catch {
      this.#guard.failed();
      return 0;
    }
    for (const row of rows) this.#forget(row);
    this.metrics.evictions += rows.length;
    const released = new Set<string>();
    for (const row of rows) {
      if (released.has(row.contentHash)) continue;
      released.add(row.contentHash);
      this.#releaseArtifactQuietly(row.contentHash, row.artifactPath);
    }
    this.metrics.cacheSize = this.#cache.size;
    return rows.length;
  }

  #forget(row: CatalogRow): void {
    this.#cache.forget(row);
    this.metrics.cacheSize = this.#cache.size;
  }

  /** Deletes an artifact no row references. A failure only leaves an orphan, which start-up recovery removes. */
  #releaseArtifactQuietly(contentHash: string, relativePath: string): void {
    try {
      if (this.#db.references(contentHash) === 0) this.#store.remove(relativePath);
    } catch {
      // left for recovery
    }
  }

  #entryExpired(row: CatalogRow): boolean {
    return this.#entryTtlMs !== null && this.#wallClock() - row.storedAtMs > this.#entryTtlMs;
  }
}

function checkId(blueprintId: string): void {
  if (typeof blueprintId !== 'string' || blueprintId === '')
    throw new UrzaInputError('blueprintId', 'must be a non-empty string');
}
