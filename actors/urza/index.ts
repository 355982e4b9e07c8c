// Urza: the kernel library (catalog + artifacts + cache), its prefetch protocol and its actor (README.md).
//
// One UrzaLibrary is opened per process, by what starts the process (Weatherlight, `esper forge`), and handed to
// the others as the narrow view each needs: Kasmina a KernelReader (fetchKernel), Tezzeret a KernelWriter (has,
// save), the prefetch protocol a KernelLookup (get). UrzaStore is all three.
import { karnKernelCodec } from './karn-codec.ts';
import { UrzaLibrary, type UrzaLibraryOptions } from './library.ts';

// The views other subsystems hold, and what their calls answer.
export type {
  KernelReader,
  KernelWriter,
  KernelLookup,
  UrzaStore,
  SaveKernelInput,
  SaveResult,
  LookupResult,
  LookupOptions,
  KernelFetchResult,
  PresenceResult,
  QueryResult,
  KernelQuery,
  MaintenanceResult,
  CorruptionReason,
  NotFound,
  Unavailable,
  Corrupt,
  Miss,
} from './library-api.ts';
export { UrzaInputError, UrzaSaveError, NoKernelCodecError, type SaveErrorCode } from './errors.ts';
export { slotKey, slotDims, slotShapeOf, SlotShapeError, type SlotInput } from './slot-key.ts';
// The checksum a saved artifact must carry (KernelCatalogUpdate.checksum): the lowercase hex SHA-256 of its bytes.
export { sha256Hex } from './artifact-store.ts';

// Opening the library (the process's owner of it).
export { UrzaLibrary, defaultUrzaRoot, CATALOG_FILE, type Ownership, type UrzaLibraryOptions } from './library.ts';
export { CatalogSchemaError } from './catalog-db.ts';
export { CatalogLockedError } from './owner-lock.ts';
export type { KernelCodec } from './kernel-codec.ts';
export { karnKernelCodec } from './karn-codec.ts';
export type { RecoveryReport, RecoveryOptions } from './recovery.ts';
export type { SaveStep, SaveStepHook } from './artifact-store.ts';
export { importArtifact } from './artifact-import.ts';

// The actor and its prefetch protocol.
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

/** Opens a library that fetches kernels with Karn's module codec (the production default). */
export function openUrzaLibrary(options: Omit<UrzaLibraryOptions, 'codec'> = {}): UrzaLibrary {
  return new UrzaLibrary({ ...options, codec: karnKernelCodec });
}
