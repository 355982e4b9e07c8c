// Isolation measured on real gradients: a grafted seed in TRAINING or BLENDING leaks nothing into the host; a seed
// module that shares a host parameter (a deliberate leak) is caught.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { buildModule, type BlueprintModule } from '../blueprints/index.ts';
import { measureIsolation } from '../surface/index.ts';
import { Batcher } from '../actors/tolaria/data/batches.ts';
import { spiralsDataset } from '../actors/tolaria/data/synthetic.ts';
import { GraftTable } from '../surface/index.ts';
import { buildHost } from '../actors/tolaria/host/host-model.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';

const { SeedLifecycleStage: Stage } = leyline;

test.before(async () => {
  await selectTensorBackend('cpu');
});

const data = spiralsDataset({ rngSeed: 2, train: 256, test: 64 });
const batch = () =>
  new Batcher(data.train, { batchSize: 64, inputShape: data.inputShape, classes: data.classes, rngSeed: 1 })
    .epoch(0)
    .next().value!;

for (const stage of [Stage.SEED_STAGE_TRAINING, Stage.SEED_STAGE_BLENDING, Stage.SEED_STAGE_SHADOWING]) {
  test(`a grafted seed in ${leyline.SeedLifecycleStage[stage]} leaks no gradient into the host`, (t) => {
    const host = buildHost({ kind: 'mlp', inputs: 16, hidden: [32, 32], classes: 4 }, 1);
    const module = buildModule(
      leyline.BlueprintDescriptor.create({ blueprintId: 'BP009', name: 'residual_block' }),
      { depth: 1 },
      { dims: [32] },
      { rngSeed: 4 },
    );
    const grafts = new GraftTable();
    grafts.attach({ seedId: 's1', slotId: 'mlp.0', module, stage, alpha: 0.5 });
    const b = batch();
    const measured = measureIsolation({ host, grafts, seedId: 's1', batch: b });
    t.false(measured.violated, `leak ratio ${measured.ratio}`);
    t.is(measured.leakNorm, 0);
    t.true(measured.hostNorm > 0);
    tf.dispose([b.x, b.y]);
    module.dispose();
    host.dispose();
  });
}

test('a seed module that shares a host parameter leaks gradient into the host and is caught; the measurement frees its tensors', (t) => {
  const host = buildHost({ kind: 'mlp', inputs: 16, hidden: [32, 32], classes: 4 }, 1);
  const shared = host.variables.get('dense1.kernel')!;
  const honest = buildModule(
    leyline.BlueprintDescriptor.create({ blueprintId: 'BP009', name: 'residual_block' }),
    { depth: 1 },
    { dims: [32] },
    { rngSeed: 4 },
  );
  // The deliberate leak: the seed's output depends on a host weight, so the host trains through the seed.
  const leaky: BlueprintModule = {
    ...honest,
    apply: (x) => tf.add(x, tf.mul(0.1, tf.matMul(x as tf.Tensor2D, shared))),
  };
  const grafts = new GraftTable();
  grafts.attach({ seedId: 'leaky', slotId: 'mlp.0', module: leaky, stage: Stage.SEED_STAGE_TRAINING, alpha: 0 });
  const b = batch();
  const before = tf.memory().numTensors;
  const measured = measureIsolation({ host, grafts, seedId: 'leaky', batch: b });
  t.is(tf.memory().numTensors, before);
  t.true(measured.violated);
  t.true(measured.ratio > 1e-3, `leak ratio ${measured.ratio}`);
  t.true(measured.ms > 0);
  t.throws(() => measureIsolation({ host, grafts, seedId: 'nope', batch: b }), { message: /no graft for seed nope/ });
  tf.dispose([b.x, b.y]);
  honest.dispose();
  host.dispose();
});
