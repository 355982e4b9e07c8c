// Tezzeret's public surface (README.md): the forge for the tree and `esper forge`, and its configuration.
import { join } from 'node:path';
import type { v1 } from '../../contracts/index.ts';
import type { ActorRef } from '../../runtime/logic.ts';
import type { ActorSystem } from '../../runtime/system.ts';
import type { TezzeretSettings } from './settings.ts';
import type { ForgeSettings } from './forge.ts';
import type { JobJournal } from './job-journal.ts';
import type { BlueprintSource, KernelStore } from './ports.ts';
import { CompileWorkerPool } from './worker-pool.ts';

export { forgeLogic, type ForgeSettings, type ForgeMessage } from './forge.ts';
export {
  resolveTezzeretConfig,
  TEZZERET_DEFAULTS,
  TezzeretConfigError,
  type TezzeretConfig,
  type TezzeretSettings,
} from './settings.ts';
export { JobJournal, jobIdFor } from './job-journal.ts';
export { urzaKernelStore } from './urza-store.ts';
export { busKernelStore } from './bus-store.ts';
export type { BlueprintSource, KernelStore } from './ports.ts';

/** The journal's place under the run's state directory. */
export const journalPath = (varDir: string): string => join(varDir, 'tezzeret', 'jobs.db');

/** Forge settings from the configuration: real worker threads, the journal on disk. */
export function forgeSettings(options: {
  system: ActorSystem;
  config: TezzeretSettings;
  catalog: BlueprintSource;
  store: KernelStore;
  journal: JobJournal;
  telemetry: ActorRef<v1.TelemetryPacket> | null;
}): ForgeSettings {
  const { config } = options;
  return {
    system: options.system,
    catalog: options.catalog,
    store: options.store,
    journal: options.journal,
    openRunner: () => new CompileWorkerPool(config.concurrency),
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
    retryBaseMs: config.retryBaseMs,
    prewarmSamples: config.prewarmSamples,
    backend: config.backend,
    batch: 8,
    concurrency: config.concurrency,
    breakerThreshold: config.breakerThreshold,
    breakerTimeoutMs: config.breakerTimeoutMs,
    telemetry: options.telemetry,
    telemetryIntervalMs: config.telemetryIntervalMs,
  };
}
