// What the kernel library promises its callers: the results of each call (a miss always says why), and the narrow
// interfaces other subsystems hold instead of the library itself — Kasmina reads kernels (KernelReader), Tezzeret
// writes them (KernelWriter), the prefetch protocol looks records up (KernelLookup). One UrzaLibrary per process
// implements all of them.
import type { v1 } from '../../contracts/index.ts';
import type { BlueprintModule } from '../../blueprints/index.ts';
import type { UrzaSaveError } from './errors.ts';
import type { SlotInput } from './slot-key.ts';

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

/** Kasmina's view: a new module per call, for a seed. */
export interface KernelReader {
  fetchKernel(blueprintId: string, slot: SlotInput): KernelFetchResult;
}

/** Tezzeret's view: skip what is stored, store what was compiled. */
export interface KernelWriter {
  has(blueprintId: string, slot?: SlotInput): PresenceResult;
  save(input: SaveKernelInput): SaveResult;
}

/** The prefetch protocol's view: a record, verified from disk on request, without building a module. */
export interface KernelLookup {
  get(blueprintId: string, slot?: SlotInput, options?: LookupOptions): LookupResult;
}

/**
 * Every in-process call other subsystems make. Artifact bytes and modules do not travel in Leyline messages, so
 * these are calls, not messages.
 */
export interface UrzaStore extends KernelReader, KernelWriter, KernelLookup {}
