// Urza: the kernel library (catalog + artifacts + cache), its prefetch protocol and its actor (README.md).
import { karnKernelCodec } from './karn-codec.ts';
import { UrzaLibrary, type UrzaLibraryOptions } from './library.ts';

export {
  UrzaLibrary,
  defaultUrzaRoot,
  CATALOG_FILE,
  type Ownership,
  type UrzaStore,
  type UrzaLibraryOptions,
  type SaveKernelInput,
  type SaveResult,
  type LookupResult,
  type LookupOptions,
  type KernelFetchResult,
  type PresenceResult,
  type QueryResult,
  type KernelQuery,
  type MaintenanceResult,
  type CorruptionReason,
  type NotFound,
  type Unavailable,
  type Corrupt,
  type Miss,
} from './library.ts';
export { UrzaInputError, UrzaSaveError, NoKernelCodecError, type SaveErrorCode } from './errors.ts';
export { CatalogSchemaError } from './catalog-db.ts';
export { CatalogLockedError } from './owner-lock.ts';
export { slotKey, slotDims, slotShapeOf, SlotShapeError, type SlotInput } from './slot-key.ts';
export type { KernelCodec } from './kernel-codec.ts';
export { importArtifact } from './artifact-import.ts';
export { karnKernelCodec } from './karn-codec.ts';
export {
  PrefetchResponder,
  PrefetchErrorReason,
  fallbackGuardDigest,
  type PrefetchAnswer,
  type PrefetchOptions,
  type PrefetchOutcome,
} from './prefetch.ts';
export { urzaLogic, MAINTENANCE_TIMER, type UrzaActorOptions, type UrzaMessage } from './urza-actor.ts';
export { metricPoints } from './metrics.ts';
export type { RecoveryReport, RecoveryOptions } from './recovery.ts';
export type { SaveStep, SaveStepHook } from './artifact-store.ts';

/** Opens a library that fetches kernels with Karn's module codec (the production default). */
export function openUrzaLibrary(options: Omit<UrzaLibraryOptions, 'codec'> = {}): UrzaLibrary {
  return new UrzaLibrary({ ...options, codec: karnKernelCodec });
}
