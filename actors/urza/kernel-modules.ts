// Verified bytes → runnable modules. A fetch never hands out the same module twice (two seeds must not share
// weights), so each is either deserialised in the call or taken from the kernel's spares: modules deserialised on
// the next turn of the event loop after a fetch or a warm lookup (prefetch), off the caller's clock, and handed out
// once. The cache entry owns its spares and disposes them when it leaves (kernel-cache.ts).
import type { BlueprintModule } from '../../blueprints/index.ts';
import { errorText } from './errors.ts';
import { kernelKey, type CachedKernel, type KernelCache } from './kernel-cache.ts';
import type { KernelCodec } from './kernel-codec.ts';

export interface KernelModulesOptions {
  /** Spare modules kept per cached kernel; 0: deserialise inside every fetch. */
  spareModules: number;
  /** False once the library is closed: no refill is scheduled after that. */
  isOpen: () => boolean;
}

/** A module for the caller, or why the kernel's bytes give none. */
export type TakenModule =
  | { status: 'ok'; module: BlueprintModule; fromSpare: boolean }
  | { status: 'undecodable'; message: string };

export class KernelModules {
  readonly #codec: KernelCodec;
  readonly #cache: KernelCache;
  readonly #spareTarget: number;
  readonly #isOpen: () => boolean;
  /** Kernels (by cache key) with a spare refill scheduled. */
  readonly #pending = new Map<string, NodeJS.Immediate>();

  constructor(codec: KernelCodec, cache: KernelCache, options: KernelModulesOptions) {
    this.#codec = codec;
    this.#cache = cache;
    this.#spareTarget = Math.max(0, Math.floor(options.spareModules));
    this.#isOpen = options.isOpen;
  }

  /** A module of the caller's own: a spare when one is ready, else deserialised now. */
  take(kernel: CachedKernel): TakenModule {
    const spare = kernel.spares.pop();
    if (spare) return { status: 'ok', module: spare, fromSpare: true };
    const built = this.#deserialize(kernel);
    return typeof built === 'string'
      ? { status: 'undecodable', message: built }
      : { status: 'ok', module: built, fromSpare: false };
  }

  /** Tops up the kernel's spare modules on the next turn of the event loop, off the caller's clock. */
  scheduleSpare(blueprintId: string, slotKey: string): void {
    const key = kernelKey(blueprintId, slotKey);
    if (this.#spareTarget === 0 || this.#pending.has(key) || !this.#isOpen()) return;
    const handle = setImmediate(() => {
      this.#pending.delete(key);
      const kernel = this.#cache.peek(blueprintId, slotKey);
      while (kernel && kernel.spares.length < this.#spareTarget) {
        const built = this.#deserialize(kernel);
        // A failure is left for the next fetch, which reports and evicts it.
        if (typeof built === 'string') return;
        kernel.spares.push(built);
      }
    });
    // A pending refill never keeps the process alive.
    handle.unref();
    this.#pending.set(key, handle);
  }

  /** Cancels every scheduled refill (the library is closing). */
  cancel(): void {
    for (const handle of this.#pending.values()) clearImmediate(handle);
    this.#pending.clear();
  }

  /** A new module from the kernel's bytes, or why there is none. */
  #deserialize(kernel: CachedKernel): BlueprintModule | string {
    const { row } = kernel;
    let module: BlueprintModule;
    try {
      module = this.#codec.deserialize(kernel.bytes);
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
}
