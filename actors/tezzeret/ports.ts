// What Tezzeret needs from its neighbours, as small interfaces (ports). Weatherlight and `esper forge` plug in
// Karn's catalog and Urza's library; tests plug in their own.
import type { v1 } from '../../contracts/index.ts';
import type { SlotSpec } from '../../blueprints/types.ts';

/** Blueprint descriptors by id (Karn's catalog). */
export interface BlueprintSource {
  get(blueprintId: string): v1.BlueprintDescriptor | null;
  all(): Iterable<v1.BlueprintDescriptor>;
}

/** A compiled kernel ready to store. */
export interface CompiledKernel {
  jobId: string;
  descriptor: v1.BlueprintDescriptor;
  slot: SlotSpec;
  parameters: Readonly<Record<string, number>>;
  artifact: Uint8Array;
  update: v1.KernelCatalogUpdate;
  family: string;
  fallbackFrom: string;
  strategy: v1.CompileStrategy;
  guardSummary: string;
  prewarmSamplesMs: readonly number[];
}

/** The tags a stored kernel carries: its parameters, and the blueprint it fell back from, if any. */
export function kernelTags(kernel: CompiledKernel): Record<string, string> {
  return {
    ...(kernel.fallbackFrom ? { fallback_from: kernel.fallbackFrom } : {}),
    parameters: JSON.stringify(kernel.parameters),
  };
}

/** Where compiled kernels go (Urza's library). */
export interface KernelStore {
  /** True when a kernel for this blueprint and slot is already stored (the forge skips it). */
  has(blueprintId: string, slot: SlotSpec): boolean | Promise<boolean>;
  save(kernel: CompiledKernel): void | Promise<void>;
}
