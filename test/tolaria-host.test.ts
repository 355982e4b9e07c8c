// Host models with slots, and what a graft does to a slot's output and to the gradients, stage by stage.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { buildModule, type BlueprintModule } from '../blueprints/index.ts';
import { GraftTable, GraftTableError } from '../surface/index.ts';
import { buildHost, HostConfigError, type HostModel } from '../actors/tolaria/host/host-model.ts';
import { selectTensorBackend, tf, stopGradient } from '../tensor/index.ts';
import { maxAbsDiff, perturbAll } from './helpers/modules.ts';

const { SeedLifecycleStage: Stage } = leyline;

test.before(async () => {
  await selectTensorBackend('cpu');
});

const mlp = (): HostModel => buildHost({ kind: 'mlp', inputs: 20, hidden: [16, 12], classes: 4 }, 7);
const seedModule = (dims: number[], name = 'residual_block'): BlueprintModule => {
  const module = buildModule(
    leyline.BlueprintDescriptor.create({ blueprintId: 'BP009', name }),
    { depth: 1 },
    { dims },
    { rngSeed: 11 },
  );
  perturbAll(module, 0.3, 13);
  return module;
};
const batch = (): { x: tf.Tensor; y: tf.Tensor } => ({
  x: tf.randomNormal([8, 20], 0, 1, 'float32', 3),
  y: tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4),
});

/** Gradients of the task loss for the host's and the seed's variables. */
function gradients(host: HostModel, grafts: GraftTable | undefined, seed?: BlueprintModule) {
  const { x, y } = batch();
  const vars = [...host.variables.values(), ...(seed ? [...seed.variables.values()].filter((v) => v.trainable) : [])];
  const { value, grads } = tf.variableGrads(
    () =>
      tf.losses.softmaxCrossEntropy(y, host.apply(x, { training: true, ...(grafts ? { grafts } : {}) })) as tf.Scalar,
    vars,
  );
  const hostGrads = [...host.variables.values()].map((v) => grads[v.name] as tf.Tensor);
  const seedGrads = seed
    ? [...seed.variables.values()].filter((v) => v.trainable).map((v) => grads[v.name] as tf.Tensor)
    : [];
  return { loss: value.dataSync()[0] as number, hostGrads, seedGrads };
}
const norm = (tensors: tf.Tensor[]): number =>
  Math.sqrt(tensors.reduce((sum, g) => sum + (tf.sum(tf.square(g)).dataSync()[0] as number), 0));

test('the MLP and CNN hosts declare a slot after each hidden block, with its activation shape', (t) => {
  const dense = mlp();
  t.deepEqual(
    dense.slots.map((s) => [s.id, s.dims]),
    [
      ['mlp.0', [16]],
      ['mlp.1', [12]],
    ],
  );
  t.deepEqual(dense.apply(tf.ones([3, 20])).shape, [3, 4]);
  const cnn = buildHost({ kind: 'cnn', inputShape: [28, 28, 1], channels: [4, 8], dense: [16], classes: 10 });
  t.deepEqual(
    cnn.slots.map((s) => [s.id, s.dims]),
    [
      ['conv.0', [28, 28, 4]],
      ['conv.1', [14, 14, 8]],
      ['dense.0', [16]],
    ],
  );
  t.deepEqual(cnn.apply(tf.ones([2, 28, 28, 1])).shape, [2, 10]);
  t.is(cnn.parameterCount(), 3 * 3 * 1 * 4 + 4 + 3 * 3 * 4 * 8 + 8 + 7 * 7 * 8 * 16 + 16 + 16 * 10 + 10);
  const tiny = buildHost({ kind: 'mlp', inputs: 784, hidden: [4], classes: 10 });
  t.is(tiny.parameterCount(), 784 * 4 + 4 + 4 * 10 + 10, 'a deliberately under-sized host is fine');
  for (const model of [dense, cnn, tiny]) model.dispose();
});

test('bad host configurations name the field', (t) => {
  t.throws(() => buildHost({ kind: 'mlp', inputs: 20, hidden: [], classes: 4 }), {
    instanceOf: HostConfigError,
    message: /tolaria\.host\.hidden must be a non-empty list/,
  });
  t.throws(() => buildHost({ kind: 'cnn', inputShape: [4, 4, 1], channels: [2, 2, 2], dense: [], classes: 2 }), {
    message: /3 pooling steps need an input of at least 8×8/,
  });
  t.throws(() => buildHost({ kind: 'gru', classes: 2 } as never), {
    message: /tolaria\.host\.kind must be "mlp" or "cnn"/,
  });
});

test('no grafts: a plain model; an empty graft table changes nothing', (t) => {
  const host = mlp();
  const x = tf.randomNormal([5, 20], 0, 1, 'float32', 1);
  t.is(maxAbsDiff(host.apply(x), host.apply(x, { grafts: new GraftTable() })), 0);
  host.dispose();
});

test('TRAINING: the slot output is unchanged, the seed learns, and no gradient reaches the host through it', (t) => {
  const host = mlp();
  const seed = seedModule([16]);
  const plain = gradients(host, undefined);
  const table = new GraftTable();
  table.attach({ seedId: 's1', slotId: 'mlp.0', module: seed, stage: Stage.SEED_STAGE_TRAINING, alpha: 0 });
  const x = tf.randomNormal([5, 20], 0, 1, 'float32', 1);
  t.is(maxAbsDiff(host.apply(x), host.apply(x, { grafts: table })), 0, 'forward value identical');
  const grafted = gradients(host, table, seed);
  t.is(grafted.loss, plain.loss);
  plain.hostGrads.forEach((g, i) =>
    t.true(maxAbsDiff(g, grafted.hostGrads[i] as tf.Tensor) < 1e-7, 'host gradients untouched'),
  );
  t.true(norm(grafted.seedGrads) > 1e-6, 'the seed receives the task gradient');
  host.dispose();
  seed.dispose();
});

test('BLENDING mixes (1 − α)·host + α·seed; the seed still cannot push gradient into the layers below', (t) => {
  const host = mlp();
  const seed = seedModule([16]);
  const table = new GraftTable();
  const x = tf.randomNormal([5, 20], 0, 1, 'float32', 1);
  const outputs = [0, 0.5, 1].map((alpha) => {
    if (table.size === 0)
      table.attach({ seedId: 's1', slotId: 'mlp.0', module: seed, stage: Stage.SEED_STAGE_BLENDING, alpha });
    else table.update('s1', { alpha });
    return host.apply(x, { grafts: table });
  });
  t.is(maxAbsDiff(outputs[0] as tf.Tensor, host.apply(x)), 0, 'α = 0 is the host');
  t.true(maxAbsDiff(outputs[1] as tf.Tensor, outputs[0] as tf.Tensor) > 1e-4);
  // The first layer's gradient comes only through the (1 − α) host path: with α = 1 it is zero.
  table.update('s1', { alpha: 1 });
  const full = gradients(host, table, seed);
  t.is(norm([full.hostGrads[0] as tf.Tensor, full.hostGrads[1] as tf.Tensor]), 0);
  t.true(norm(full.seedGrads) > 0);
  host.dispose();
  seed.dispose();
});

test('FOSSILIZED: the seed is part of the host and gradients flow through it', (t) => {
  const host = mlp();
  const seed = seedModule([16]);
  const table = new GraftTable();
  table.attach({ seedId: 's1', slotId: 'mlp.0', module: seed, stage: Stage.SEED_STAGE_FOSSILIZED, alpha: 1 });
  const plain = gradients(host, undefined);
  const fossil = gradients(host, table, seed);
  t.true(norm([fossil.hostGrads[0] as tf.Tensor]) > 0, 'the layer below learns through the seed');
  t.true(maxAbsDiff(fossil.hostGrads[0] as tf.Tensor, plain.hostGrads[0] as tf.Tensor) > 1e-6);
  host.dispose();
  seed.dispose();
});

test('a new near-neutral seed grafted while BLENDING leaves the host output (almost) unchanged', (t) => {
  const host = mlp();
  const fresh = buildModule(
    leyline.BlueprintDescriptor.create({ blueprintId: 'BP009', name: 'residual_block' }),
    { depth: 2 },
    { dims: [12] },
  );
  const table = new GraftTable();
  table.attach({ seedId: 's2', slotId: 'mlp.1', module: fresh, stage: Stage.SEED_STAGE_BLENDING, alpha: 0.7 });
  const x = tf.randomNormal([5, 20], 0, 1, 'float32', 1);
  t.true(maxAbsDiff(host.apply(x), host.apply(x, { grafts: table })) < 1e-5);
  host.dispose();
  fresh.dispose();
});

test('the graft table: one seed per slot, stage and alpha updates, version bumps, detach', (t) => {
  const table = new GraftTable();
  const seed = seedModule([16]);
  table.attach({ seedId: 'a', slotId: 'mlp.0', module: seed, stage: Stage.SEED_STAGE_TRAINING, alpha: 0 });
  t.throws(
    () => table.attach({ seedId: 'b', slotId: 'mlp.0', module: seed, stage: Stage.SEED_STAGE_TRAINING, alpha: 0 }),
    { instanceOf: GraftTableError, message: /slot mlp\.0 already holds seed a/ },
  );
  t.throws(() => table.update('a', { alpha: 2 }), { message: /alpha of seed a must be in \[0, 1\]/ });
  const before = table.version;
  table.update('a', { alpha: 0.2 });
  t.is(table.version, before, 'alpha alone does not change the parameter set');
  table.update('a', { stage: Stage.SEED_STAGE_BLENDING });
  t.is(table.version, before + 1);
  t.is(table.detach('a')?.seedId, 'a');
  t.is(table.size, 0);
  t.is(table.detach('a'), null);
  seed.dispose();
});

test('slot statistics are recorded per slot, and forward passes leak no tensors', (t) => {
  const host = buildHost({ kind: 'cnn', inputShape: [8, 8, 1], channels: [2], dense: [6], classes: 3 });
  const stats = new Map();
  const x = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 2);
  host.apply(x, { slotStats: stats }).dispose();
  t.deepEqual([...stats.keys()], ['conv.0', 'dense.0']);
  t.true(stats.get('conv.0').absMax >= stats.get('conv.0').mean);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) host.apply(x, { slotStats: stats, training: true }).dispose();
  t.is(tf.memory().numTensors, before);
  host.dispose();
});

test('stopGradient passes the value and blocks the gradient', (t) => {
  const x = tf.tensor1d([1, 2, 3]);
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(stopGradient(v), v)))(x);
  t.deepEqual([...g.dataSync()], [1, 2, 3], 'd/dv of stop(v)·v is stop(v)');
});
