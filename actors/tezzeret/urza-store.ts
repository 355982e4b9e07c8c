// Urza's library as Tezzeret's KernelStore (through Urza's public interface, actors/urza/index.ts).
import type { KernelWriter } from '../urza/index.ts';
import { kernelTags, type KernelStore } from './ports.ts';

export class KernelStoreUnavailableError extends Error {
  override readonly name = 'KernelStoreUnavailableError';
}

export function urzaKernelStore(library: KernelWriter): KernelStore {
  return {
    has(blueprintId, slot) {
      const presence = library.has(blueprintId, slot.dims);
      // "Breaker open" is not "missing": the forge must not recompile what it cannot see.
      if (presence.status === 'unavailable')
        throw new KernelStoreUnavailableError(`Urza is unavailable (${presence.cause}): ${presence.message}`);
      return presence.status === 'found';
    },
    save(kernel) {
      const result = library.save({
        descriptor: kernel.descriptor,
        slot: kernel.slot.dims,
        artifact: kernel.artifact,
        update: kernel.update,
        moduleFamily: kernel.family,
        guardSummary: kernel.guardSummary,
        strategy: kernel.strategy,
        tags: kernelTags(kernel),
      });
      if (!result.ok) throw result.error;
    },
  };
}
