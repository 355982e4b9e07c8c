// Training epochs and evaluation on the synthetic task: the host learns, the tensor count returns to its
// baseline after every epoch, and a grafted TRAINING seed learns without changing the host's forward pass.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { buildModule } from '../blueprints/index.ts';
import { Batcher } from '../actors/tolaria/data/batches.ts';
import { spiralsDataset } from '../actors/tolaria/data/synthetic.ts';
import { GraftTable } from '../surface/index.ts';
import { buildHost } from '../actors/tolaria/host/host-model.ts';
import { GroupedOptimizer } from '../actors/tolaria/optim/grouped-optimizer.ts';
import { evaluate, trainEpoch } from '../actors/tolaria/training/epoch.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

const data = spiralsDataset({ rngSeed: 5 });
const batchers = () => ({
  train: new Batcher(data.train, { batchSize: 64, inputShape: data.inputShape, classes: data.classes, rngSeed: 9 }),
  test: new Batcher(data.test, {
    batchSize: 256,
    inputShape: data.inputShape,
    classes: data.classes,
    rngSeed: 0,
    shuffle: false,
  }),
});

test('the MLP host learns the synthetic task (> 90 %) and every epoch leaves no tensors behind', (t) => {
  const host = buildHost({ kind: 'mlp', inputs: 16, hidden: [32, 32], classes: 4 }, 3);
  const optimizer = new GroupedOptimizer({ kind: 'adam', learningRate: 0.01 });
  optimizer.setGroup('host', host.variables, { step: 0, force: true });
  const { train, test: held } = batchers();
  const before = evaluate(host, held);
  t.true(before.accuracy < 0.5);
  // The optimizer's own slot variables appear on the first step: count from after it.
  trainEpoch({ host, optimizer, batcher: train, epoch: 0 });
  const baseline = tf.memory().numTensors;
  let last = { loss: Infinity, accuracy: 0, samples: 0, steps: 0, gradNorm: 0, seconds: 0, samplesPerSecond: 0 };
  for (let epoch = 1; epoch < 12; epoch++) {
    last = trainEpoch({ host, optimizer, batcher: train, epoch });
    t.is(tf.memory().numTensors, baseline, `epoch ${epoch} leaked tensors`);
  }
  t.is(last.samples, 3000);
  t.is(last.steps, Math.ceil(3000 / 64));
  t.true(last.gradNorm > 0);
  t.true(last.samplesPerSecond > 0);
  const after = evaluate(host, held);
  t.true(after.accuracy > 0.9, `test accuracy ${after.accuracy}`);
  t.true(after.loss < before.loss);
  optimizer.dispose();
  host.dispose();
});

test('a seed grafted in TRAINING learns from the task while the host trains exactly as without it', (t) => {
  const run = (withSeed: boolean): { hostWeights: Float32Array; seedMoved: number } => {
    const host = buildHost({ kind: 'mlp', inputs: 16, hidden: [24, 24], classes: 4 }, 3);
    const optimizer = new GroupedOptimizer({ kind: 'sgd', learningRate: 0.05 });
    optimizer.setGroup('host', host.variables, { step: 0, force: true });
    const grafts = new GraftTable();
    const seed = buildModule(
      leyline.BlueprintDescriptor.create({ blueprintId: 'BP009', name: 'residual_block' }),
      { depth: 1 },
      { dims: [24] },
      { rngSeed: 4 },
    );
    const start = [...seed.variables.values()].map((v) => v.dataSync().slice());
    if (withSeed) {
      grafts.attach({
        seedId: 's',
        slotId: 'mlp.0',
        module: seed,
        stage: leyline.SeedLifecycleStage.SEED_STAGE_TRAINING,
        alpha: 0,
      });
      optimizer.setGroup('seed:s', seed.variables, { step: 0, force: true });
    }
    trainEpoch({ host, optimizer, batcher: batchers().train, epoch: 0, grafts });
    const hostWeights = host.variables.get('dense1.kernel')!.dataSync().slice() as Float32Array;
    let seedMoved = 0;
    [...seed.variables.values()].forEach((v, i) => {
      Array.from(v.dataSync()).forEach((x, j) => {
        seedMoved += Math.abs(x - (start[i]?.[j] ?? 0));
      });
    });
    optimizer.dispose();
    host.dispose();
    seed.dispose();
    return { hostWeights, seedMoved };
  };
  const plain = run(false);
  const grafted = run(true);
  t.deepEqual([...grafted.hostWeights], [...plain.hostWeights], 'the host is trained exactly as without the seed');
  t.true(grafted.seedMoved > 0, 'the seed learned');
  t.is(plain.seedMoved, 0);
});
