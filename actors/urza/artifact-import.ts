// A kernel compiled in another process arrives as a KernelArtifact (bytes and catalog record, by bus); it is saved
// like one compiled here: the checksum is verified against the bytes before anything is written.
import type { v1 } from '../../contracts/index.ts';
import type { KernelWriter, SaveResult } from './library-api.ts';

export function importArtifact(library: KernelWriter, artifact: v1.KernelArtifact): SaveResult {
  return library.save({
    descriptor: artifact.descriptor as v1.BlueprintDescriptor,
    slot: artifact.slot?.dims ?? [],
    artifact: artifact.artifact,
    update: artifact.update as v1.KernelCatalogUpdate,
    moduleFamily: artifact.moduleFamily,
    guardSummary: artifact.guardSummary,
    strategy: artifact.strategy,
    tags: { ...artifact.tags },
  });
}
