// UrzaLibrary: the kernel library. Saves verified artifacts crash-safely (artifact durable first, then the catalog
// row), answers lookups with a result that says *why* when there is no kernel, keeps an LRU of verified artifact
// bytes so a hot fetch is one deserialisation, and guards every catalog access with the shared circuit breaker.
// Synchronous throughout (better-sqlite3): each call runs to completion, so one library may be shared in-process by
// the Urza actor, Tezzeret and Kasmina without locks. Across processes, one writer per root (owner-lock.ts): the
// owner saves, evicts and recovers; other processes open the same root as readers and resolve kernels from it.
import { join, resolve } from 'node:path';
import { encodeLeyline } from '../../contracts/codec.ts';
import { leyline, type v1 } from '../../contracts/index.ts';
import { CircuitBreaker, type CircuitBreakerOptions } from '../../runtime/circuit-breaker.ts';
import type { BlueprintModule } from '../../blueprints/types.ts';
import { ArtifactStore, isSha256Hex, sha256Hex, type SaveStepHook } from './artifact-store.ts';
import { CatalogDb, rowDescriptor, toCatalogEntry, type CatalogFilter, type CatalogRow } from './catalog-db.ts';
import { NoKernelCodecError, UrzaInputError, UrzaSaveError } from './errors.ts';
import type { KernelCodec } from './kernel-codec.ts';
import { LruCache } from './kernel-cache.ts';
import { LibraryMetrics } from './metrics.ts';
import { CatalogLockedError, OwnerLock } from './owner-lock.ts';
import { recoverCatalog, type RecoveryOptions, type RecoveryReport } from './recovery.ts';
import { slotKey, type SlotInput } from './slot-key.ts';

const { CircuitBreakerState, BlueprintTier } = leyline;

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

const NO_RECOVERY: RecoveryReport = { rowsChecked: 0, tempFilesRemoved: 0, missingEvicted: 0, corruptEvicted: 0, unreferencedRemoved: 0, elapsedMs: 0 };

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

/** What Tezzeret hands over after a successful compile. */
export interface SaveKernelInput {
  descriptor: v1.BlueprintDescriptor;
  slot: SlotInput;
  /** The serialised module (bytes never travel in messages: this is an in-process call). */
  artifact: Uint8Array;
  /** compile_ms, prewarm_ms, guard_digest, and the checksum the bytes must have; artifact_ref is ignored. */
  update: v1.KernelCatalogUpdate;
  /** What was built (BlueprintModule.family). */
  moduleFamily: string;
  guardSummary?: string;
  strategy: v1.CompileStrategy;
  tags?: Readonly<Record<string, string>>;
}

export type SaveResult =
  | { ok: true; entry: v1.KernelCatalogEntry; replaced: boolean }
  | { ok: false; error: UrzaSaveError };

/** Why a stored kernel could not be served; in every case its row has been evicted and counted. */
export type CorruptionReason = 'checksum_mismatch' | 'artifact_not_found' | 'undecodable';

export interface NotFound {
  status: 'not_found';
  blueprintId: string;
  slotKey: string | null;
}
/**
 * The catalog cannot answer now (breaker open, or the access failed), or cannot be changed by this process (another
 * owns the root): fall back, do not recompile.
 */
export interface Unavailable {
  status: 'unavailable';
  blueprintId: string;
  cause: 'breaker_open' | 'catalog_error' | 'not_owner';
  message: string;
}
export interface Corrupt {
  status: 'corrupt';
  blueprintId: string;
  slotKey: string;
  reason: CorruptionReason;
  message: string;
}
export type Miss = NotFound | Unavailable | Corrupt;

export type LookupResult = { status: 'found'; entry: v1.KernelCatalogEntry; fromCache: boolean } | Miss;

export type KernelFetchResult =
  | { status: 'found'; module: BlueprintModule; entry: v1.KernelCatalogEntry; fromCache: boolean; latencyMs: number }
  | (Miss & { latencyMs: number });

export type PresenceResult = { status: 'found'; slotKeys: string[] } | NotFound | Unavailable;

export type QueryResult = { status: 'ok'; entries: v1.KernelCatalogEntry[] } | Unavailable;

export interface KernelQuery {
  blueprintId?: string;
  tier?: v1.BlueprintTier;
  stage?: number;
  slot?: SlotInput;
  /** A tag key (case-insensitive), or a key and its exact value. */
  tag?: string | { key: string; value?: string };
}

export type MaintenanceResult =
  | { status: 'ok'; expired: number; missing: number; corrupt: number; cachePurged: number }
  | Unavailable;

export interface LookupOptions {
  /** Skip the cache: read the artifact and verify its checksum now (prefetch does, as the prototype did). */
  fromDisk?: boolean;
  /** A fetch of this kernel is coming: prepare a spare module for it off the hot path (prefetch does). */
  warm?: boolean;
}

/**
 * The in-process interface other subsystems use (Tezzeret saves, Kasmina fetches). Artifact bytes and modules do
 * not travel in Leyline messages, so this is a call, not a message.
 */
export interface UrzaStore {
  save(input: SaveKernelInput): SaveResult;
  get(blueprintId: string, slot?: SlotInput, options?: LookupOptions): LookupResult;
  fetchKernel(blueprintId: string, slot: SlotInput): KernelFetchResult;
  has(blueprintId: string, slot?: SlotInput): PresenceResult;
}

interface CachedKernel {
  /** Refreshed (same bytes) when the row is re-read from disk. */
  row: CatalogRow;
  /** Bytes whose SHA-256 was checked against the row when they were read. */
  bytes: Uint8Array;
  /** Modules deserialised from `bytes` and never handed out; disposed when the entry leaves the cache. */
  spares: BlueprintModule[];
}

type Loaded = { status: 'found'; kernel: CachedKernel; fromCache: boolean } | Miss;

const cacheKey = (blueprintId: string, key: string): string => `${blueprintId}@${key}`;
const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class UrzaLibrary implements UrzaStore {
  readonly root: string;
  readonly catalogPath: string;
  readonly breaker: CircuitBreaker;
  readonly metrics = new LibraryMetrics();
  /** What recovery found and did when this library took ownership (zeros while it has not). */
  recovery: RecoveryReport = NO_RECOVERY;
  readonly #db: CatalogDb;
  #lock: OwnerLock | null = null;
  readonly #recoveryOptions: RecoveryOptions | undefined;
  readonly #store: ArtifactStore;
  readonly #cache: LruCache<CachedKernel>;
  /** blueprint id → slot key of its most recent variant, so an unslotted lookup can hit the cache. */
  readonly #latestSlot = new Map<string, string>();
  readonly #codec: KernelCodec | undefined;
  readonly #spareTarget: number;
  /** Cache keys with a spare refill scheduled. */
  readonly #pendingSpares = new Map<string, NodeJS.Immediate>();
  readonly #clock: () => number;
  readonly #wallClock: () => number;
  readonly #entryTtlMs: number | null;
  readonly #maxSamples: number;
  readonly #slowQueryMs: number;
  readonly #onSaveStep: SaveStepHook | undefined;

  constructor(options: UrzaLibraryOptions = {}) {
    this.root = resolve(options.root ?? defaultUrzaRoot());
    this.catalogPath = join(this.root, CATALOG_FILE);
    this.#clock = options.clock ?? (() => performance.now());
    this.#wallClock = options.wallClock ?? (() => Date.now());
    this.#codec = options.codec;
    this.#spareTarget = Math.max(0, Math.floor(options.spareModules ?? 1));
    this.#entryTtlMs = options.entryTtlMs ?? null;
    this.#maxSamples = Math.max(1, Math.floor(options.maxPrewarmSamples ?? 20));
    this.#slowQueryMs = options.slowQueryMs ?? 250;
    this.#onSaveStep = options.onSaveStep;
    this.#recoveryOptions = options.recovery;
    this.#store = new ArtifactStore(this.root, options.onSaveStep ? { onStep: options.onSaveStep } : {});
    this.#db = new CatalogDb(this.catalogPath, { busyTimeoutMs: this.#slowQueryMs });
    this.#cache = new LruCache<CachedKernel>({
      capacity: options.cacheSize ?? 128,
      ttlMs: options.cacheTtlMs ?? null,
      clock: this.#clock,
      onRemove: (kernel) => {
        for (const spare of kernel.spares.splice(0)) spare.dispose();
      },
    });
    this.breaker =
      options.breaker instanceof CircuitBreaker
        ? options.breaker
        : new CircuitBreaker('urza.library', {
            failureThreshold: 3,
            successThreshold: 2,
            timeoutMs: 30_000,
            clock: this.#clock,
            ...options.breaker,
          });
    this.metrics.breakerState = this.breaker.state;
    this.breaker.onTransition(({ to }) => {
      this.metrics.breakerState = to;
      if (to === CircuitBreakerState.CIRCUIT_STATE_OPEN) {
        this.metrics.breakerOpenTotal += 1;
        this.metrics.conservativeMode = 1;
      } else if (to === CircuitBreakerState.CIRCUIT_STATE_CLOSED) {
        this.metrics.conservativeMode = 0;
      }
    });
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
    this.#latestSlot.clear();
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
      this.metrics.cacheErrors += 1;
      this.breaker.recordFailure();
      return false;
    }
  }

  #notOwner(blueprintId: string): Unavailable {
    const pid = OwnerLock.ownerPid(this.root);
    return { status: 'unavailable', blueprintId, cause: 'not_owner', message: `${this.catalogPath} is owned by ${pid === null ? 'another process' : `process ${pid}`}: this process only reads it` };
  }

  /** The catalog's schema version and the migrations this open applied. */
  get schema(): { version: number; applied: readonly number[] } {
    return { version: this.#db.schemaVersion, applied: this.#db.appliedMigrations };
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
      ({ key, hash } = this.#checkSaveInput(input));
    } catch (error) {
      if (error instanceof UrzaSaveError) return refuse(error);
      throw error;
    }
    if (!this.breaker.allow()) {
      this.metrics.breakerDenied += 1;
      return refuse(new UrzaSaveError('unavailable', blueprintId, 'the catalog breaker is open'));
    }
    if (!this.#writable()) return refuse(new UrzaSaveError('unavailable', blueprintId, this.#notOwner(blueprintId).message));
    let stored;
    try {
      stored = this.#store.put(input.artifact, hash);
    } catch (error) {
      this.breaker.recordFailure();
      return refuse(new UrzaSaveError('io_error', blueprintId, `writing the artifact failed: ${errorText(error)}`, { cause: error }));
    }
    const started = this.#clock();
    let row: CatalogRow;
    let previous: CatalogRow | null;
    try {
      ({ row, previous } = this.#db.transaction(() => {
        const before = this.#db.get(blueprintId, key);
        const next = this.#rowFor(input, key, hash, stored.relativePath, stored.mtimeS, before);
        this.#db.upsert(next);
        return { row: next, previous: before };
      }));
    } catch (error) {
      this.breaker.recordFailure();
      this.#releaseArtifactQuietly(hash, stored.relativePath);
      return refuse(new UrzaSaveError('io_error', blueprintId, `the catalog write failed: ${errorText(error)}`, { cause: error }));
    }
    this.#settle(started);
    this.#onSaveStep?.('committed', hash);
    if (previous && previous.contentHash !== hash) this.#releaseArtifactQuietly(previous.contentHash, previous.artifactPath);
    this.#cache.set(cacheKey(blueprintId, key), { row, bytes: input.artifact.slice(), spares: [] });
    this.#latestSlot.set(blueprintId, key);
    this.metrics.saves += 1;
    return { ok: true, entry: toCatalogEntry(row, this.root), replaced: previous !== null };
  }

  #checkSaveInput(input: SaveKernelInput): { key: string; hash: string } {
    const { descriptor, update, artifact } = input;
    const id = descriptor?.blueprintId ?? '';
    const invalid = (detail: string) => new UrzaSaveError('invalid_input', id, detail);
    if (!(descriptor instanceof leyline.BlueprintDescriptor)) throw invalid('descriptor must be a Leyline BlueprintDescriptor');
    if (id === '') throw invalid('descriptor.blueprint_id is empty');
    if (descriptor.tier === BlueprintTier.BLUEPRINT_TIER_UNSPECIFIED) {
      throw invalid('descriptor.tier is UNSPECIFIED (a kernel without a tier cannot be gated by tier)');
    }
    if (!(update instanceof leyline.KernelCatalogUpdate)) throw invalid('update must be a Leyline KernelCatalogUpdate');
    if (update.blueprintId !== id) throw invalid(`update.blueprint_id "${update.blueprintId}" differs from the descriptor's`);
    if (!isSha256Hex(update.checksum)) throw invalid('update.checksum must be a lowercase hex SHA-256');
    if (!(artifact instanceof Uint8Array) || artifact.length === 0) throw invalid('the artifact is empty');
    if (typeof input.moduleFamily !== 'string' || input.moduleFamily === '') throw invalid('moduleFamily is empty');
    for (const [tag, value] of Object.entries(input.tags ?? {})) {
      if (typeof value !== 'string') throw invalid(`tag "${tag}" must have a string value`);
    }
    let key: string;
    try {
      key = slotKey(input.slot);
    } catch (error) {
      throw invalid(errorText(error));
    }
    const hash = sha256Hex(artifact);
    if (hash !== update.checksum) {
      throw new UrzaSaveError('checksum_mismatch', id, `the artifact hashes to ${hash}, the update says ${update.checksum}`);
    }
    return { key, hash };
  }

  #rowFor(
    input: SaveKernelInput,
    key: string,
    hash: string,
    relativePath: string,
    mtimeS: number,
    previous: CatalogRow | null,
  ): CatalogRow {
    const { descriptor, update } = input;
    const samples = [...(previous?.prewarmSamples ?? [])];
    if (update.prewarmMs > 0) samples.push(Math.fround(update.prewarmMs));
    return {
      blueprintId: descriptor.blueprintId,
      slotKey: key,
      tier: descriptor.tier,
      stage: descriptor.stage,
      name: descriptor.name,
      moduleFamily: input.moduleFamily,
      contentHash: hash,
      artifactPath: relativePath,
      checksum: hash,
      guardDigest: update.guardDigest,
      guardSummary: input.guardSummary ?? '',
      compileMs: Math.fround(update.compileMs),
      prewarmMs: Math.fround(update.prewarmMs),
      prewarmSamples: samples.slice(-this.#maxSamples),
      compileStrategy: input.strategy,
      tags: { ...input.tags },
      descriptor: new Uint8Array(encodeLeyline(descriptor)),
      artifactMtimeS: mtimeS,
      storedAtMs: this.#wallClock(),
    };
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
    if (options.warm) this.#scheduleSpare(cacheKey(loaded.kernel.row.blueprintId, loaded.kernel.row.slotKey));
    return { status: 'found', entry: toCatalogEntry(loaded.kernel.row, this.root), fromCache: loaded.fromCache };
  }

  /** A NEW module for (blueprint, slot) per call (never one shared between seeds), with the whole fetch's latency. */
  fetchKernel(blueprintId: string, slot: SlotInput): KernelFetchResult {
    const codec = this.#codec;
    if (!codec) throw new NoKernelCodecError();
    const started = this.#clock();
    this.metrics.kernelFetches += 1;
    const finish = <T extends object>(result: T): T & { latencyMs: number } => {
      const latencyMs = this.#clock() - started;
      this.metrics.fetchLatencyMs = latencyMs;
      return { ...result, latencyMs };
    };
    const loaded = this.#load(blueprintId, slot, {});
    if (loaded.status !== 'found') return finish(loaded);
    const { kernel } = loaded;
    let module = kernel.spares.pop();
    if (module) {
      this.metrics.spareHits += 1;
    } else {
      const built = this.#deserialize(codec, kernel);
      if (typeof built === 'string') return finish(this.#undecodable(kernel.row, built));
      module = built;
    }
    this.#scheduleSpare(cacheKey(kernel.row.blueprintId, kernel.row.slotKey));
    return finish({ status: 'found' as const, module, entry: toCatalogEntry(kernel.row, this.root), fromCache: loaded.fromCache });
  }

  /** A new module from the kernel's bytes, or why there is none. */
  #deserialize(codec: KernelCodec, kernel: CachedKernel): BlueprintModule | string {
    const { row } = kernel;
    let module: BlueprintModule;
    try {
      module = codec.deserialize(kernel.bytes);
    } catch (error) {
      return `the kernel codec refused the artifact: ${errorText(error)}`;
    }
    const dims = module.slot.dims.join('x');
    if (module.blueprintId !== row.blueprintId || dims !== row.slotKey) {
      module.dispose();
      return `the artifact holds ${module.blueprintId}@${dims}, not ${row.blueprintId}@${row.slotKey}`;
    }
    return module;
  }

  /** Tops up the kernel's spare modules on the next turn of the event loop, off the caller's clock. */
  #scheduleSpare(key: string): void {
    const codec = this.#codec;
    if (this.#spareTarget === 0 || !codec || this.#pendingSpares.has(key) || !this.#db.isOpen) return;
    const handle = setImmediate(() => {
      this.#pendingSpares.delete(key);
      const kernel = this.#cache.peek(key);
      while (kernel && kernel.spares.length < this.#spareTarget) {
        const built = this.#deserialize(codec, kernel);
        // A failure is left for the next fetch, which reports and evicts it.
        if (typeof built === 'string') return;
        kernel.spares.push(built);
      }
    });
    // A pending refill never keeps the process alive.
    handle.unref();
    this.#pendingSpares.set(key, handle);
  }

  /** Whether the catalog holds the blueprint (for that slot), without reading the artifact. */
  has(blueprintId: string, slot?: SlotInput): PresenceResult {
    checkId(blueprintId);
    const key = slot === undefined ? undefined : slotKey(slot);
    if (key !== undefined && this.#cache.peek(cacheKey(blueprintId, key))) return { status: 'found', slotKeys: [key] };
    const result = this.#guarded(blueprintId, () => this.#db.query({ blueprintId, ...(key === undefined ? {} : { slotKey: key }) }));
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
    const result = this.#guarded('(query)', () => this.#db.query(filter));
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
    const rows = this.#guarded(blueprintId, () => this.#db.query({ blueprintId, ...(key === undefined ? {} : { slotKey: key }) }));
    if (rows.status !== 'ok') return rows;
    return { status: 'ok', evicted: this.#evictRows(rows.value) };
  }

  /**
   * Housekeeping (Weatherlight runs it every 60 s): evicts rows past the entry TTL and rows whose artifact is gone,
   * and with `verifyChecksums` rows whose artifact no longer matches; drops expired cache entries.
   */
  maintenance(options: { verifyChecksums?: boolean } = {}): MaintenanceResult {
    if (!this.#writable()) {
      // A reader leaves the catalog to its owner; it only drops what its own cache holds past the TTL.
      const cachePurged = this.#cache.purgeExpired();
      this.metrics.cacheExpired += cachePurged;
      return { status: 'ok', expired: 0, missing: 0, corrupt: 0, cachePurged };
    }
    const rows = this.#guarded('(maintenance)', () => this.#db.query());
    if (rows.status !== 'ok') return rows;
    const expired: CatalogRow[] = [];
    const missing: CatalogRow[] = [];
    const corrupt: CatalogRow[] = [];
    const verdicts = new Map<string, 'ok' | 'missing' | 'corrupt'>();
    for (const row of rows.value) {
      if (this.#entryExpired(row)) {
        expired.push(row);
        continue;
      }
      let verdict = verdicts.get(row.artifactPath);
      if (verdict === undefined) {
        if (!options.verifyChecksums) verdict = this.#store.exists(row.artifactPath) ? 'ok' : 'missing';
        else {
          const bytes = this.#store.read(row.artifactPath);
          verdict = bytes === null ? 'missing' : sha256Hex(bytes) === row.checksum ? 'ok' : 'corrupt';
        }
        verdicts.set(row.artifactPath, verdict);
      }
      if (verdict === 'missing') missing.push(row);
      else if (verdict === 'corrupt') corrupt.push(row);
    }
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
    for (const handle of this.#pendingSpares.values()) clearImmediate(handle);
    this.#pendingSpares.clear();
    this.#cache.clear();
    this.#latestSlot.clear();
    this.#db.close();
    this.#lock?.release();
    this.metrics.catalogOwner = 0;
  }

  // ---- internals -------------------------------------------------------------------------------------------------

  #load(blueprintId: string, slot: SlotInput | undefined, options: LookupOptions): Loaded {
    checkId(blueprintId);
    const started = this.#clock();
    try {
      const key = slot === undefined ? this.#latestSlot.get(blueprintId) : slotKey(slot);
      if (key !== undefined && !options.fromDisk) {
        const cached = this.#cache.lookup(cacheKey(blueprintId, key));
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
      const read = this.#guarded(blueprintId, () => {
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
      return corrupt('artifact_not_found', `${row.artifactPath} is missing; ${row.blueprintId}@${row.slotKey} was evicted`);
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
    const key = cacheKey(row.blueprintId, row.slotKey);
    // Re-verified bytes identical to the cached ones keep the cached entry and its spare modules.
    const cached = this.#cache.peek(key);
    const kernel: CachedKernel = cached?.row.checksum === row.checksum ? Object.assign(cached, { row }) : { row, bytes, spares: [] };
    this.#cache.set(key, kernel);
    if (isLatest) this.#latestSlot.set(row.blueprintId, row.slotKey);
    return { status: 'found', kernel, fromCache: false };
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
   * Runs one catalog access under the breaker: denied → unavailable; a throw → unavailable, counted as a failure;
   * slower than the threshold → the value, but counted as a failure (slow_queries).
   */
  #guarded<T>(blueprintId: string, work: () => T): { status: 'ok'; value: T } | Unavailable {
    if (!this.breaker.allow()) {
      this.metrics.breakerDenied += 1;
      return { status: 'unavailable', blueprintId, cause: 'breaker_open', message: 'the Urza catalog breaker is open' };
    }
    const started = this.#clock();
    let value: T;
    try {
      value = work();
    } catch (error) {
      this.metrics.cacheErrors += 1;
      this.breaker.recordFailure();
      return { status: 'unavailable', blueprintId, cause: 'catalog_error', message: `catalog access failed: ${errorText(error)}` };
    }
    this.#settle(started);
    return { status: 'ok', value };
  }

  #settle(started: number): void {
    if (this.#clock() - started > this.#slowQueryMs) {
      this.metrics.slowQueries += 1;
      this.breaker.recordFailure();
    } else {
      this.breaker.recordSuccess();
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
      this.metrics.cacheErrors += 1;
      this.breaker.recordFailure();
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
    this.#cache.delete(cacheKey(row.blueprintId, row.slotKey));
    if (this.#latestSlot.get(row.blueprintId) === row.slotKey) this.#latestSlot.delete(row.blueprintId);
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
  if (typeof blueprintId !== 'string' || blueprintId === '') throw new UrzaInputError('blueprintId', 'must be a non-empty string');
}
