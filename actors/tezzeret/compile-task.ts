// The work of one compile attempt, run inside a worker thread: build the module for the slot, time its first
// execution (compile_ms) and then N more (pre-warm samples), record the guard spec of the example input, and
// serialise topology and weights into one artifact.
import { stableHash32 } from '../../runtime/stable-hash.ts';
import { leyline, type v1 } from '../../contracts/index.ts';
import { buildModule, guardDigest, guardSpec, guardSummary, serializeModule } from '../../blueprints/index.ts';
import { selectTensorBackend, tf, type BackendPreference } from '../../tensor/index.ts';

export interface CompileTask {
  /** Encoded BlueprintDescriptor (Leyline bytes cross the thread boundary, not objects). */
  descriptor: Uint8Array;
  parameters: Record<string, number>;
  slotDims: number[];
  prewarmSamples: number;
  backend: BackendPreference;
  /** Example batch size of the guard spec and the timed executions. */
  batch: number;
}

export interface CompileOutput {
  artifact: Uint8Array;
  family: string;
  fallbackFrom: string;
  compileMs: number;
  prewarmSamplesMs: number[];
  guardDigest: string;
  guardSummary: string;
  backend: string;
}

export async function runCompileTask(task: CompileTask): Promise<CompileOutput> {
  const backend = await selectTensorBackend(task.backend);
  const descriptor: v1.BlueprintDescriptor = leyline.BlueprintDescriptor.decode(task.descriptor);
  const slot = { dims: task.slotDims };
  const spec = guardSpec(slot, task.batch);
  const input = tf.randomNormal([task.batch, ...task.slotDims]);
  const started = performance.now();
  // Initial weights follow from what is compiled, so every library compiles the same kernel (and runs reproduce).
  const rngSeed = stableHash32(
    JSON.stringify([descriptor.blueprintId, task.slotDims, Object.entries(task.parameters).sort()]),
  );
  const module = buildModule(descriptor, task.parameters, slot, { rngSeed });
  try {
    await tf.tidy(() => module.apply(input)).data();
    const compileMs = performance.now() - started;
    const prewarmSamplesMs: number[] = [];
    for (let i = 0; i < task.prewarmSamples; i++) {
      const t0 = performance.now();
      const out = tf.tidy(() => module.apply(input));
      await out.data();
      out.dispose();
      prewarmSamplesMs.push(performance.now() - t0);
    }
    return {
      // A copy with its own buffer: msgpackr may return a view of a shared pool, which must not be transferred.
      artifact: new Uint8Array(serializeModule(module)),
      family: module.family,
      fallbackFrom: module.fallbackFrom,
      compileMs,
      prewarmSamplesMs,
      guardDigest: guardDigest(spec),
      guardSummary: guardSummary(spec),
      backend,
    };
  } finally {
    module.dispose();
    input.dispose();
  }
}
