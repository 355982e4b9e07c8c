// The kernel store of a Tezzeret worker process (`esper serve tezzeret`): it has no library of its own; each
// compiled kernel goes out on the bus as a KernelArtifact (bytes, descriptor, catalog update), and the Urza of
// each process that wants it stores it. It cannot see what those libraries hold, so it never answers "stored":
// requesters ask only for what they lack.
import { hostname } from 'node:os';
import { leyline, type v1 } from '../../contracts/index.ts';
import { kernelTags, type KernelStore } from './ports.ts';

export function busKernelStore(publish: (artifact: v1.KernelArtifact) => void): KernelStore {
  const compiledBy = `${hostname()}:${process.pid}`;
  return {
    has: () => false,
    save(kernel) {
      publish(
        leyline.KernelArtifact.create({
          jobId: kernel.jobId,
          descriptor: kernel.descriptor,
          slot: leyline.SlotShape.create({ slotId: kernel.slot.dims.join('x'), dims: [...kernel.slot.dims] }),
          artifact: kernel.artifact,
          update: kernel.update,
          moduleFamily: kernel.family,
          guardSummary: kernel.guardSummary,
          strategy: kernel.strategy,
          tags: { ...kernelTags(kernel), compiled_by: compiledBy },
        }),
      );
    },
  };
}
