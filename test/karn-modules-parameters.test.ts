// Each family honours its parameters: counts change the variables, rates and sizes change what apply does.
import test from 'ava';
import type { BlueprintModule, SlotSpec } from '../blueprints/index.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';
import {
  buildNamed,
  CONV,
  copyVariables,
  DENSE,
  maxAbsDiff,
  perturbAll,
  setVariable,
  shapeOf,
} from './helpers/modules.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

const build = buildNamed;

function input(slot: { dims: readonly number[] }, batch = 4, rngSeed = 21): tf.Tensor {
  return tf.randomNormal([batch, ...slot.dims], 0, 1, 'float32', rngSeed);
}

/** Which input positions (row, column) of a conv input the output at (row, column) depends on. */
function footprint(module: BlueprintModule, row: number, column: number): Array<[number, number]> {
  const [height, width, channels] = module.slot.dims as [number, number, number];
  const x = input(module.slot, 1);
  const dx = tf.grad((i: tf.Tensor) => module.apply(i).slice([0, row, column, 0], [1, 1, 1, channels]).sum())(x);
  const magnitude = tf.tidy(() => dx.abs().sum(3).reshape([height, width]).arraySync() as number[][]);
  tf.dispose([x, dx]);
  const reached: Array<[number, number]> = [];
  magnitude.forEach((values, r) => values.forEach((value, c) => value > 1e-7 && reached.push([r, c])));
  return reached;
}

test('counts round half up: depth 2.5 builds 3 residual blocks, depth 1 one', (t) => {
  const three = build('residual_block', { depth: 2.5 });
  const one = build('residual_block', { depth: 1 });
  t.deepEqual(
    [...three.variables.keys()].filter((n) => n.endsWith('.in.weight')),
    ['block0.in.weight', 'block1.in.weight', 'block2.in.weight'],
  );
  t.is(one.variables.size, 4);
  three.dispose();
  one.dispose();
});

test('heads set the attention widths (8 per head)', (t) => {
  for (const [name, heads, width] of [
    ['multi_head_attention_4', 5, 40],
    ['multi_head_attention_8', 9, 72],
    ['cross_attention', 3, 24],
  ] as const) {
    for (const slot of [DENSE, CONV]) {
      const module = build(name, { heads }, slot);
      t.is(shapeOf(module, 'attention.query.weight')[1], width, `${name} heads ${heads}`);
      module.dispose();
    }
  }
  const channel = build('channel_attention', { heads: 2.5 }, CONV);
  t.deepEqual(shapeOf(channel, 'attention.query.weight'), [64, 24], 'channel tokens carry H·W features; 2.5 → 3 heads');
  channel.dispose();
});

test('epsilon reaches layer norm', (t) => {
  const x = input(DENSE);
  const outputs = [1e-6, 100].map((epsilon) => {
    const module = build('layer_norm_basic', { epsilon });
    setVariable(module, 'gamma', (v) => tf.onesLike(v));
    const y = module.apply(x);
    module.dispose();
    return y;
  });
  const expected = (epsilon: number) =>
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return x.add(x.sub(mean).div(variance.add(epsilon).sqrt()));
    });
  for (const [index, epsilon] of [1e-6, 100].entries()) {
    const want = expected(epsilon);
    t.true(maxAbsDiff(outputs[index]!, want) < 1e-4, `epsilon ${epsilon}`);
    want.dispose();
  }
  t.true(maxAbsDiff(outputs[0]!, outputs[1]!) > 0.5);
  tf.dispose([x, ...outputs]);
});

test('scale is the gain of linear_projection and layer_scaling', (t) => {
  const x = input(DENSE);
  for (const name of ['linear_projection', 'layer_scaling']) {
    const deltas = [0.5, 2].map((scale) => {
      const module = build(name, { scale });
      perturbAll(module);
      const y = module.apply(x);
      const delta = y.sub(x);
      tf.dispose([y]);
      module.dispose();
      return delta;
    });
    const ratio = tf.tidy(() => deltas[1]!.div(deltas[0]!.add(1e-12)).mean().dataSync()[0]!);
    t.true(Math.abs(ratio - 4) < 1e-3, `${name}: 2 / 0.5 = 4× the update (got ${ratio})`);
    tf.dispose(deltas);
  }
  x.dispose();
});

test('dropout drops at its rate in training and not at all otherwise', (t) => {
  const module = build('dropout_light', { dropout: 0.3 });
  const x = tf.ones([64, 32]);
  const trained = module.apply(x, { training: true });
  const dropped = tf.tidy(() => trained.equal(0).toFloat().mean().dataSync()[0]!);
  t.true(Math.abs(dropped - 0.3) < 0.05, `dropped fraction ${dropped}`);
  t.true(tf.tidy(() => Math.abs(trained.mean().dataSync()[0]! - 1)) < 0.1, 'inverted dropout keeps the mean');
  const evaluated = module.apply(x);
  t.is(maxAbsDiff(evaluated, x), 0);
  tf.dispose([x, trained, evaluated]);
  module.dispose();
});

test('momentum sets how far batch norm moves its moving moments', (t) => {
  for (const slot of [DENSE, CONV]) {
    const module = build('batch_norm_1d', { momentum: 0.75 }, slot);
    const x = input(slot, 8).add(3);
    tf.dispose(module.apply(x, { training: true }));
    const axes = slot === DENSE ? [0] : [0, 1, 2];
    const want = tf.tidy(() => x.mean(axes).mul(0.25));
    t.true(maxAbsDiff(module.variables.get('moving_mean')!, want) < 1e-4);
    t.false(module.variables.get('moving_mean')!.trainable);
    // Outside training the moving moments are used (and left alone).
    const snapshot = module.variables.get('moving_mean')!.clone();
    tf.dispose(module.apply(x));
    t.is(maxAbsDiff(module.variables.get('moving_mean')!, snapshot), 0);
    tf.dispose([x, want, snapshot]);
    module.dispose();
  }
});

test('max pooling uses kernel round(kernel)', (t) => {
  const module = build('pooling_max', { kernel: 3.5 }, CONV);
  setVariable(module, 'mix', (v) => tf.onesLike(v));
  const x = input(CONV);
  const y = module.apply(x);
  const want = tf.maxPool(x as tf.Tensor4D, [4, 4], 1, 'same');
  t.true(maxAbsDiff(y, want) < 1e-6);
  tf.dispose([x, y, want]);
  module.dispose();
});

test('branches, growth_rate, hidden_multiple, reduction, memory_slots, levels and layers size the variables', (t) => {
  const cases: Array<[string, Record<string, number>, SlotSpec, string, number[]]> = [
    ['concat_fusion', { branches: 3 }, DENSE, 'fuse.weight', [96, 32]],
    ['concat_fusion', { branches: 3 }, CONV, 'branch2.kernel', [5, 5, 4, 4]],
    ['dense_connection', { growth_rate: 28 }, DENSE, 'layer2.weight', [32 + 56, 28]],
    ['dense_connection', { growth_rate: 8 }, CONV, 'layer1.kernel', [3, 3, 12, 8]],
    ['feedforward_gated', { hidden_multiple: 2.5 }, DENSE, 'gate.weight', [32, 80]],
    ['squeeze_excitation', { reduction: 10 }, DENSE, 'squeeze.weight', [32, 3]],
    ['squeeze_excitation', { reduction: 16 }, CONV, 'squeeze.weight', [4, 1]],
    ['memory_augmented', { memory_slots: 80 }, CONV, 'memory.keys', [80, 16]],
    ['spatial_attention', { radius: 2 }, CONV, 'score.kernel', [5, 5, 2, 1]],
    ['depthwise_separable', { kernel: 5 }, CONV, 'depthwise.kernel', [5, 5, 4, 1]],
    ['conv_transformer', { kernel: 7 }, CONV, 'local.depthwise', [7, 7, 4, 1]],
    ['dynamic_conv', { experts: 5 }, CONV, 'experts.kernel', [3, 3, 4, 20]],
    ['mixture_of_experts_4', { experts: 6, capacity: 1.5 }, DENSE, 'experts.in.weight', [6, 32, 32]],
    ['deformable_conv', { offset_groups: 2.5 }, CONV, 'offsets.kernel', [3, 3, 4, 2 * 9 * 2]],
    ['attention_single_head', { sequence_length: 8 }, DENSE, 'attention.position', [8, 4]],
    ['attention_single_head', { sequence_length: 136 }, DENSE, 'attention.position', [32, 1]],
  ];
  for (const [name, parameters, slot, variable, shape] of cases) {
    const module = build(name, parameters, slot);
    t.deepEqual(shapeOf(module, variable), shape, `${name} ${JSON.stringify(parameters)}`);
    module.dispose();
  }
  const counted: Array<[string, Record<string, number>, SlotSpec, RegExp, number]> = [
    ['feature_pyramid', { levels: 4 }, CONV, /^level\d+\.lateral\.weight$/, 4],
    ['hierarchical_attention', { levels: 3 }, DENSE, /^level\d+\.query\.weight$/, 3],
    ['transformer_block', { layers: 3.5 }, DENSE, /^layer\d+\.attention\.query\.weight$/, 4],
  ];
  for (const [name, parameters, slot, pattern, expected] of counted) {
    const module = build(name, parameters, slot);
    t.is([...module.variables.keys()].filter((key) => pattern.test(key)).length, expected, name);
    module.dispose();
  }
});

test('groups: the divisor of the channel count nearest round(groups)', (t) => {
  for (const [groups, slot, perGroup] of [
    [5, { dims: [6, 6, 8] }, 2],
    [2, CONV, 2],
    [8, CONV, 1],
    [3, { dims: [4, 4, 6] }, 2],
  ] as const) {
    const module = build('grouped_conv', { groups }, slot);
    t.is(shapeOf(module, 'grouped.kernel')[2], perGroup, `groups ${groups} on ${slot.dims[2]} channels`);
    module.dispose();
  }
});

test('dilation widens the receptive field of dilated_conv: radius 1 + d', (t) => {
  for (const dilation of [1, 2.5]) {
    const module = build('dilated_conv', { dilation }, { dims: [12, 12, 2] });
    perturbAll(module, 0.3);
    const reached = footprint(module, 6, 6);
    const radius = Math.max(...reached.map(([r, c]) => Math.max(Math.abs(r - 6), Math.abs(c - 6))));
    t.is(radius, 1 + Math.round(dilation), `dilation ${dilation}`);
    module.dispose();
  }
});

test('temporal_conv is causal along rows with reach 2·dilation', (t) => {
  const module = build('temporal_conv', { dilation: 3 }, { dims: [12, 5, 2] });
  perturbAll(module, 0.3);
  const reached = footprint(module, 8, 2);
  t.true(
    reached.every(([r, c]) => r <= 8 && c === 2),
    'only this column, this row and earlier ones',
  );
  t.deepEqual(
    [...new Set(reached.map(([r]) => r))].sort((a, b) => a - b),
    [2, 5, 8],
  );
  module.dispose();
});

test('hops bound graph attention (grid distance) and window bounds non-local attention', (t) => {
  const slot = { dims: [7, 7, 2] };
  const graph = build('graph_attention', { hops: 2 }, slot);
  perturbAll(graph, 0.3);
  const reachedGraph = footprint(graph, 3, 3);
  t.is(Math.max(...reachedGraph.map(([r, c]) => Math.abs(r - 3) + Math.abs(c - 3))), 2);
  t.is(reachedGraph.length, 13, 'every node within 2 hops on a 4-connected grid');
  graph.dispose();
  const local = build('non_local_block', { window: 4 }, slot);
  perturbAll(local, 0.3);
  const reachedLocal = footprint(local, 3, 3);
  t.is(Math.max(...reachedLocal.map(([r, c]) => Math.max(Math.abs(r - 3), Math.abs(c - 3)))), 2);
  t.is(reachedLocal.length, 25, 'the 5×5 window');
  local.dispose();
});

test('output_size: adaptive pooling adds one value per S×S cell', (t) => {
  const module = build('adaptive_pooling', { output_size: 2 }, CONV);
  perturbAll(module, 0.3);
  const x = input(CONV, 1);
  const added = tf.tidy(
    () => module.apply(x).sub(x).slice([0, 0, 0, 0], [1, 8, 8, 1]).reshape([8, 8]).arraySync() as number[][],
  );
  const distinct = new Set(added.flat().map((value) => value.toFixed(5)));
  t.is(distinct.size, 4);
  t.is(added[0]![0], added[3]![3]);
  t.not(added[0]![0], added[4]![4]);
  x.dispose();
  module.dispose();
});

test('sequence_length pools keys and values on a conv slot when there are more positions', (t) => {
  const wide = build('attention_single_head', { sequence_length: 20 }, CONV);
  const full = build('attention_single_head', { sequence_length: 136 }, CONV);
  copyVariables(full, wide);
  perturbAll(full);
  copyVariables(full, wide);
  const x = input(CONV);
  const [a, b] = [wide.apply(x), full.apply(x)];
  t.true(maxAbsDiff(a, b) > 1e-4, 'keys pooled by 2 (16 positions ≤ 20) change the result');
  tf.dispose([a, b, x]);
  wide.dispose();
  full.dispose();
});

test("capacity: tokens past an expert's capacity pass through unchanged", (t) => {
  for (const [capacity, limitPerExpert] of [
    [0.25, 1],
    [0.5, 2],
    [2, 8],
  ] as const) {
    const module = build('mixture_of_experts_4', { experts: 2, capacity });
    perturbAll(module, 0.5);
    const x = input(DENSE, 8);
    const y = module.apply(x);
    const changed = tf.tidy(() => y.sub(x).abs().max(1).greater(1e-6).sum().dataSync()[0]!);
    t.true(changed <= 2 * limitPerExpert, `capacity ${capacity}: ${changed} tokens changed`);
    t.true(changed >= Math.min(limitPerExpert, 8), 'at least one expert fills up to its limit');
    tf.dispose([x, y]);
    module.dispose();
  }
});

test('gate_bias starts the highway gate and frequency the positional encoding', (t) => {
  const highway = build('highway_gate', { gate_bias: -2.5 });
  t.deepEqual(Array.from(highway.variables.get('gate.bias')!.dataSync()), new Array(32).fill(-2.5));
  highway.dispose();
  const positional = build('learned_positional', { frequency: 0.55 }, CONV);
  t.true(Array.from(positional.variables.get('frequency')!.dataSync()).every((value) => Math.abs(value - 0.55) < 1e-6));
  positional.dispose();
});

test('steps, depth and adapt_steps repeat a step: neural ODE with 1 step and recursive depth 1 are one residual block', (t) => {
  const x = input(CONV);
  const reference = build('residual_block', { depth: 1 }, CONV);
  perturbAll(reference, 0.3);
  const want = reference.apply(x);
  const ode = build('neural_ode_block', { steps: 1 }, CONV);
  copyVariables(reference, ode, (name) => name.replace('block0', 'field'));
  const recursive = build('recursive_processing', { depth: 1 }, CONV);
  copyVariables(reference, recursive, (name) => name.replace('block0', 'shared'));
  const [fromOde, fromRecursive] = [ode.apply(x), recursive.apply(x)];
  t.true(maxAbsDiff(fromOde, want) < 1e-5);
  t.true(maxAbsDiff(fromRecursive, want) < 1e-5);
  // More steps: a different result with the same weights (1/N steps vs shared weights applied N times).
  for (const [name, key, rename] of [
    ['neural_ode_block', 'steps', 'field'],
    ['recursive_processing', 'depth', 'shared'],
    ['meta_learning_layer', 'adapt_steps', ''],
  ] as const) {
    const [few, many] = [1, 4].map((n) => build(name, { [key]: n }, CONV));
    if (rename) copyVariables(reference, few!, (n) => n.replace('block0', rename));
    else perturbAll(few!, 0.3);
    copyVariables(few!, many!);
    const [a, b] = [few!.apply(x), many!.apply(x)];
    t.true(maxAbsDiff(a, b) > 1e-4, `${name}: ${key} 1 vs 4`);
    tf.dispose([a, b]);
    few!.dispose();
    many!.dispose();
  }
  tf.dispose([x, want, fromOde, fromRecursive]);
  for (const module of [reference, ode, recursive]) module.dispose();
});

test('temperature sharpens the NAS mixture', (t) => {
  const x = input(DENSE);
  const results = [0.5, 2].map((temperature) => {
    const module = build('differentiable_nas', { temperature });
    perturbAll(module, 0.3);
    setVariable(module, 'architecture', () => tf.tensor1d([0, 2, 0, 0]));
    const y = module.apply(x);
    module.dispose();
    return y;
  });
  // The same weights (same seed, same perturbation): only the softmax temperature differs.
  t.true(maxAbsDiff(results[0]!, results[1]!) > 1e-3);
  tf.dispose([x, ...results]);
});

test('unknown names use keyword rules, then residual_mlp; bad parameters are refused', (t) => {
  const cases: Array<[string, string]> = [
    ['bp-conv-1', 'dilated_conv'],
    ['my_attention_thing', 'multi_head_attention'],
    ['linear_probe', 'linear_projection'],
    ['something_else', 'residual_mlp'],
  ];
  for (const [name, family] of cases) {
    const module = build(name, {}, CONV);
    t.is(module.family, family, name);
    t.is(module.fallbackFrom, '');
    module.dispose();
  }
  t.throws(() => build('residual_block', { depth: Number.NaN }), {
    message: /parameter "depth" must be a finite number/,
  });
});
