// The synthetic spirals task: deterministic, balanced, and learnable: a tiny MLP trained with Adam through the
// Batcher passes 90 % test accuracy in a few seconds on the CPU backend, while a linear model cannot.
import test from 'ava';
import { Batcher } from '../actors/tolaria/data/batches.ts';
import { spiralsDataset, SYNTHETIC_CLASSES, SYNTHETIC_FEATURES } from '../actors/tolaria/data/synthetic.ts';
import type { Dataset } from '../actors/tolaria/data/types.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

test('the task is seeded, balanced, 16 features, 4 classes', (t) => {
  const data = spiralsDataset();
  t.deepEqual([...data.inputShape], [SYNTHETIC_FEATURES]);
  t.is(data.classes, SYNTHETIC_CLASSES);
  t.is(data.train.n, 3000);
  t.is(data.test.n, 1000);
  t.is(data.train.x.length, 3000 * 16);
  t.deepEqual(
    [0, 1, 2, 3].map((c) => data.train.y.filter((y) => y === c).length),
    [750, 750, 750, 750],
  );
  t.true(data.train.x.every((v) => Number.isFinite(v) && Math.abs(v) <= 1));
  t.deepEqual([...spiralsDataset().train.x], [...data.train.x]);
  t.notDeepEqual([...spiralsDataset({ rngSeed: 2 }).train.x.subarray(0, 64)], [...data.train.x.subarray(0, 64)]);
  t.is(spiralsDataset({ train: 40, test: 8 }).test.n, 8);
});

/** Trains with Adam through the Batcher and returns the test accuracy. */
function trainAndEvaluate(data: Dataset, hidden: readonly number[], epochs: number): number {
  const init = (rngSeed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: rngSeed }) });
  const model = tf.sequential();
  hidden.forEach((units, i) =>
    model.add(
      tf.layers.dense({
        ...init(i + 1),
        units,
        activation: 'relu',
        ...(i === 0 ? { inputShape: [SYNTHETIC_FEATURES] } : {}),
      }),
    ),
  );
  model.add(
    tf.layers.dense({
      ...init(99),
      units: data.classes,
      ...(hidden.length === 0 ? { inputShape: [SYNTHETIC_FEATURES] } : {}),
    }),
  );
  const optimizer = tf.train.adam(0.01);
  const batcher = new Batcher(data.train, {
    batchSize: 32,
    inputShape: data.inputShape,
    classes: data.classes,
    rngSeed: 7,
  });
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const batch of batcher.epoch(epoch)) {
      optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(batch.y, model.predict(batch.x) as tf.Tensor) as tf.Scalar,
      );
      tf.dispose([batch.x, batch.y]);
    }
  }
  const predicted = tf.tidy(() =>
    (model.predict(tf.tensor2d(data.test.x, [data.test.n, SYNTHETIC_FEATURES])) as tf.Tensor).argMax(1).dataSync(),
  );
  model.dispose();
  optimizer.dispose();
  let correct = 0;
  predicted.forEach((label, i) => (correct += label === data.test.y[i] ? 1 : 0));
  return correct / data.test.n;
}

// How fast is the train benchmark's business (npm run bench -- train); a test on a busy machine only logs it.
test('a 16-32-32-4 MLP reaches > 90 % test accuracy; a linear model does not', (t) => {
  const data = spiralsDataset();
  const baseline = tf.memory().numTensors;
  const started = Date.now();
  const accuracy = trainAndEvaluate(data, [32, 32], 8);
  const seconds = (Date.now() - started) / 1000;
  t.log(`MLP: ${(accuracy * 100).toFixed(1)} % in ${seconds.toFixed(1)} s`);
  t.true(accuracy > 0.9, `accuracy ${accuracy}`);
  t.is(tf.memory().numTensors, baseline);
  const linear = trainAndEvaluate(data, [], 4);
  t.log(`linear: ${(linear * 100).toFixed(1)} %`);
  t.true(linear < 0.7, `linear accuracy ${linear}`);
});
