// The compile worker pool with real workers: a blueprint is built, pre-warmed and serialised in a worker thread;
// a task that overruns its timeout is really stopped (its worker terminated and replaced) and the pool goes on.
import test from 'ava';
import { encodeLeyline } from '../contracts/codec.ts';
import { leyline } from '../contracts/index.ts';
import { deserializeModule, guardDigest, guardSpec } from '../blueprints/index.ts';
import { CompileTimeoutError, CompileWorkerError, CompileWorkerPool } from '../actors/tezzeret/worker-pool.ts';
import type { CompileTask } from '../actors/tezzeret/compile-task.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';

const task = (fields: {
  id: string;
  name: string;
  dims?: number[];
  parameters?: Record<string, number>;
  bounds?: Record<string, [number, number]>;
}): CompileTask => ({
  descriptor: encodeLeyline(
    leyline.BlueprintDescriptor.create({
      blueprintId: fields.id,
      name: fields.name,
      tier: leyline.BlueprintTier.BLUEPRINT_TIER_SAFE,
      allowedParameters: Object.fromEntries(
        Object.entries(fields.bounds ?? {}).map(([k, [minValue, maxValue]]) => [
          k,
          leyline.BlueprintParameterBounds.create({ minValue, maxValue }),
        ]),
      ),
    }),
  ),
  parameters: fields.parameters ?? {},
  slotDims: fields.dims ?? [32],
  prewarmSamples: 5,
  backend: 'cpu',
  batch: 8,
});

test('a worker compiles a real module: timings, guard digest, artifact that deserialises', async (t) => {
  const pool = new CompileWorkerPool(1);
  try {
    const out = await pool.run(
      task({ id: 'BP009', name: 'residual_block', parameters: { depth: 2.5 }, bounds: { depth: [1, 4] } }),
      60_000,
    );
    t.true(out.compileMs > 0);
    t.is(out.prewarmSamplesMs.length, 5);
    t.is(out.guardDigest, 'c0e3ed3adc7800b37bf6f90a7156046c87111dcef83232afad8a9e0addde055f');
    t.is(out.guardSummary, 'float32[8x32]');
    t.is(out.guardDigest, guardDigest(guardSpec({ dims: [32] })));
    await selectTensorBackend('cpu');
    const module = deserializeModule(out.artifact);
    t.is(module.blueprintId, 'BP009');
    t.is(module.family, out.family);
    const y = module.apply(tf.ones([2, 32]));
    t.deepEqual(y.shape, [2, 32]);
    module.dispose();
  } finally {
    await pool.close();
  }
});

test('a task that never finishes is stopped at its timeout; the pool replaces the worker and goes on', async (t) => {
  const pool = new CompileWorkerPool(1);
  try {
    const loop = task({
      id: 'BP046',
      name: 'infinite_loop',
      parameters: { iterations: 5500 },
      bounds: { iterations: [1000, 10_000] },
    });
    // The loop never ends by itself: the timeout error is the proof that the worker was stopped at the deadline.
    await t.throwsAsync(pool.run(loop, 3_000), { instanceOf: CompileTimeoutError });
    t.is(pool.spawned, 2, 'the stuck worker was replaced');
    const next = await pool.run(task({ id: 'BP001', name: 'identity_passthrough' }), 60_000);
    t.true(next.artifact.length > 0, 'the pool still compiles');
  } finally {
    await pool.close();
  }
});

test('a task waiting for its worker to start is rejected, not left pending, when the pool closes', async (t) => {
  const pool = new CompileWorkerPool(1);
  const pending = pool.run(task({ id: 'BP001', name: 'identity_passthrough' }), 60_000);
  await pool.close();
  await t.throwsAsync(pending, { instanceOf: CompileWorkerError, message: /failed to start/ });
});
