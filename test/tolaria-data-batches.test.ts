// The Batcher: one tensor per batch from the Float32Array, shapes, every sample once per epoch, a new seeded order
// per epoch, the last-batch policy, and no tensor left behind when the caller disposes.
import test from 'ava';
import { Batcher } from '../actors/tolaria/data/batches.ts';
import type { Split } from '../actors/tolaria/data/types.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

/** n samples of shape [2, 2, 1]; every value of sample i is i, its class i mod 3. */
function traced(n: number): Split {
  return {
    x: Float32Array.from({ length: 4 * n }, (_, k) => Math.floor(k / 4)),
    y: Int32Array.from({ length: n }, (_, i) => i % 3),
    n,
  };
}

const OPTIONS = { batchSize: 8, inputShape: [2, 2, 1], classes: 3, rngSeed: 11 };

test('shapes, one-hot labels and every sample exactly once per epoch (last batch kept)', async (t) => {
  const batcher = new Batcher(traced(30), OPTIONS);
  t.is(batcher.stepsPerEpoch, 4);
  const seen: number[] = [];
  const sizes: number[] = [];
  for (const batch of batcher.epoch(0)) {
    sizes.push(batch.size);
    t.deepEqual(batch.x.shape, [batch.size, 2, 2, 1]);
    t.deepEqual(batch.y.shape, [batch.size, 3]);
    t.is(batch.x.dtype, 'float32');
    const x = await batch.x.data();
    const y = await batch.y.array();
    for (let i = 0; i < batch.size; i++) {
      const sample = x[4 * i]!;
      t.is(batch.indices[i], sample);
      t.is(batch.labels[i], sample % 3);
      t.deepEqual(
        y[i],
        [0, 1, 2].map((c) => (c === sample % 3 ? 1 : 0)),
      );
      seen.push(sample);
    }
    tf.dispose([batch.x, batch.y]);
  }
  t.deepEqual(sizes, [8, 8, 8, 6]);
  t.deepEqual(
    [...seen].sort((a, b) => a - b),
    Array.from({ length: 30 }, (_, i) => i),
  );
  t.notDeepEqual(
    seen,
    Array.from({ length: 30 }, (_, i) => i),
  );
});

function order(batcher: Batcher, epoch: number): number[] {
  const rows: number[] = [];
  for (const batch of batcher.epoch(epoch)) {
    rows.push(...batch.indices);
    tf.dispose([batch.x, batch.y]);
  }
  return rows;
}

test('a new seeded order per epoch, reproducible; shuffle: false keeps the split order', (t) => {
  const batcher = new Batcher(traced(30), OPTIONS);
  t.deepEqual(order(batcher, 0), order(batcher, 0));
  t.notDeepEqual(order(batcher, 0), order(batcher, 1));
  t.deepEqual(order(new Batcher(traced(30), OPTIONS), 1), order(batcher, 1));
  t.notDeepEqual(order(new Batcher(traced(30), { ...OPTIONS, rngSeed: 12 }), 0), order(batcher, 0));
  t.deepEqual(
    order(new Batcher(traced(30), { ...OPTIONS, shuffle: false }), 3),
    Array.from({ length: 30 }, (_, i) => i),
  );
});

test('dropLast drops the smaller last batch', (t) => {
  const batcher = new Batcher(traced(30), { ...OPTIONS, dropLast: true });
  t.is(batcher.stepsPerEpoch, 3);
  const rows = order(batcher, 0);
  t.is(rows.length, 24);
  t.is(new Set(rows).size, 24);
  t.is(new Batcher(traced(32), { ...OPTIONS, dropLast: true }).stepsPerEpoch, 4);
});

test('tensors: one pair per step, none left once the caller disposes them', (t) => {
  const batcher = new Batcher(traced(100), { ...OPTIONS, batchSize: 16 });
  const baseline = tf.memory().numTensors;
  let steps = 0;
  for (const batch of batcher.epoch(0)) {
    t.is(tf.memory().numTensors, baseline + 2);
    tf.dispose([batch.x, batch.y]);
    steps++;
  }
  t.is(steps, 7);
  t.is(tf.memory().numTensors, baseline);
});

test('bad options and labels out of range are errors', (t) => {
  t.throws(() => new Batcher(traced(10), { ...OPTIONS, batchSize: 0 }), {
    instanceOf: RangeError,
    message: /batchSize/,
  });
  t.throws(() => new Batcher(traced(10), { ...OPTIONS, inputShape: [3] }), {
    instanceOf: RangeError,
    message: /split of 10 samples does not match input shape \[3\]/,
  });
  const batcher = new Batcher(traced(10), { ...OPTIONS, classes: 2 });
  t.throws(() => [...batcher.epoch(0)].forEach((batch) => tf.dispose([batch.x, batch.y])), {
    instanceOf: RangeError,
    message: /label 2 of sample \d+ is outside 0…1/,
  });
});
