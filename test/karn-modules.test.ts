// Every one of the 50 default blueprints, on a dense slot [32] and a conv slot [8, 8, 4]: the family its name
// builds, forward and backward passes, near-neutral start, serialisation round trips and no tensor leaks.
import test from 'ava';
import {
  buildModule,
  deserializeModule,
  serializeModule,
  STRESSOR_FAMILIES,
  type BlueprintModule,
} from '../blueprints/index.ts';
import { leyline, type v1 } from '../contracts/index.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';
import { defaultBlueprints } from '../actors/karn/index.ts';
import { midpointParameters } from '../actors/karn/index.ts';
import { maxAbsDiff, perturbAll, setVariable } from './helpers/modules.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

const DENSE = { dims: [32] };
const CONV = { dims: [8, 8, 4] };
const BATCH = 4;
const HIGH_RISK = leyline.BlueprintTier.BLUEPRINT_TIER_HIGH_RISK;
/** Modules whose apply never returns in practice: built and inspected, never run. */
const HANGS = new Set(['infinite_loop', 'deadlock_pattern']);

/** name → [dense family, conv family]; "fallback←asked" marks a stand-in (README.md's table). */
const EXPECTED: Readonly<Record<string, readonly [string, string]>> = {
  identity_passthrough: ['identity', 'identity'],
  linear_projection: ['linear_projection', 'linear_projection'],
  layer_norm_basic: ['layer_norm', 'layer_norm'],
  dropout_light: ['dropout', 'dropout'],
  relu_activation: ['relu_activation', 'relu_activation'],
  batch_norm_1d: ['batch_norm', 'batch_norm'],
  pooling_max: ['residual_mlp←max_pooling', 'max_pooling'],
  skip_connection: ['identity', 'identity'],
  residual_block: ['residual_mlp', 'residual_mlp'],
  concat_fusion: ['concat_fusion', 'concat_fusion'],
  gelu_activation: ['gelu_activation', 'gelu_activation'],
  layer_scaling: ['layer_scale', 'layer_scale'],
  grouped_conv: ['residual_mlp←grouped_conv', 'grouped_conv'],
  highway_gate: ['highway_gate', 'highway_gate'],
  depthwise_separable: ['residual_mlp←depthwise_separable_conv', 'depthwise_separable_conv'],
  squeeze_excitation: ['squeeze_excitation', 'squeeze_excitation'],
  channel_attention: ['residual_mlp←channel_attention', 'channel_attention'],
  spatial_attention: ['residual_mlp←spatial_attention', 'spatial_attention'],
  cross_attention: ['multi_head_attention←cross_attention', 'multi_head_attention←cross_attention'],
  attention_single_head: ['single_head_attention', 'single_head_attention'],
  feedforward_gated: ['gated_feed_forward', 'gated_feed_forward'],
  multi_head_attention_4: ['multi_head_attention', 'multi_head_attention'],
  transformer_block: ['transformer_block', 'transformer_block'],
  conv_transformer: ['residual_mlp←conv_transformer', 'conv_transformer'],
  dynamic_conv: ['residual_mlp←dynamic_conv', 'dynamic_conv'],
  adaptive_pooling: ['residual_mlp←adaptive_pooling', 'adaptive_pooling'],
  feature_pyramid: ['residual_mlp←feature_pyramid', 'feature_pyramid'],
  dense_connection: ['dense_connection', 'dense_connection'],
  multi_head_attention_8: ['multi_head_attention', 'multi_head_attention'],
  graph_attention: ['graph_attention', 'graph_attention'],
  temporal_conv: ['residual_mlp←temporal_conv', 'temporal_conv'],
  dilated_conv: ['residual_mlp←dilated_conv', 'dilated_conv'],
  deformable_conv: ['residual_mlp←deformable_conv', 'deformable_conv'],
  non_local_block: ['non_local_block', 'non_local_block'],
  learned_positional: ['learned_positional', 'learned_positional'],
  mixture_of_experts_4: ['mixture_of_experts', 'mixture_of_experts'],
  hierarchical_attention: ['hierarchical_attention', 'hierarchical_attention'],
  memory_augmented: ['memory_attention', 'memory_attention'],
  neural_ode_block: ['neural_ode', 'neural_ode'],
  differentiable_nas: ['differentiable_nas', 'differentiable_nas'],
  meta_learning_layer: ['meta_learning', 'meta_learning'],
  recursive_processing: ['recursive_block', 'recursive_block'],
  exploding_gradient: ['exploding_gradient', 'exploding_gradient'],
  vanishing_gradient: ['vanishing_gradient', 'vanishing_gradient'],
  nan_injection: ['nan_injection', 'nan_injection'],
  infinite_loop: ['infinite_loop', 'infinite_loop'],
  memory_leak: ['memory_leak', 'memory_leak'],
  deadlock_pattern: ['infinite_loop←deadlock_pattern', 'infinite_loop←deadlock_pattern'],
  race_condition: ['adversarial_noise←race_condition', 'adversarial_noise←race_condition'],
  adversarial_noise: ['adversarial_noise', 'adversarial_noise'],
};

const blueprints = defaultBlueprints();

test('the fixture holds the 50 default blueprints and the table names every one', (t) => {
  t.is(blueprints.length, 50);
  t.deepEqual(blueprints.map((d) => d.name).sort(), Object.keys(EXPECTED).sort());
});

function describe(module: BlueprintModule): string {
  return module.fallbackFrom ? `${module.family}←${module.fallbackFrom}` : module.family;
}

function allFinite(tensor: tf.Tensor): boolean {
  return tf.tidy(() => tf.all(tf.isFinite(tensor)).dataSync()[0] === 1);
}

/** Forward in both modes and backward; returns nothing, asserts as it goes. */
function exercise(
  t: import('ava').ExecutionContext,
  descriptor: v1.BlueprintDescriptor,
  module: BlueprintModule,
  x: tf.Tensor,
): void {
  const stressor = descriptor.tier === HIGH_RISK;
  t.is(STRESSOR_FAMILIES.has(module.family), stressor, 'stressor families are exactly the HIGH_RISK tier');
  for (const training of [false, true]) {
    const y = module.apply(x, { training });
    t.deepEqual(y.shape, x.shape, `output shape (training ${training})`);
    if (!stressor) t.true(allFinite(y), `finite output (training ${training})`);
    y.dispose();
  }
  if (!stressor) {
    const y = module.apply(x);
    t.true(maxAbsDiff(y, x) < 1e-5, 'near-neutral at initialisation: apply(x) ≈ x');
    y.dispose();
  }
  const trainable = [...module.variables.values()].filter((v) => v.trainable);
  if (trainable.length > 0) {
    const { value, grads } = tf.variableGrads(
      () => module.apply(x, { training: true }).square().mean() as tf.Scalar,
      trainable,
    );
    t.true(Object.keys(grads).length > 0, 'some variable gets a gradient');
    if (!stressor) for (const g of Object.values(grads)) t.true(allFinite(g), 'finite gradients');
    tf.dispose([value, ...Object.values(grads)]);
  } else {
    // No weights (identity, dropout): the gradient to the input still flows.
    const dx = tf.grad((input: tf.Tensor) => module.apply(input, { training: true }).square().mean())(x);
    t.true(allFinite(dx));
    t.true(tf.tidy(() => dx.abs().sum().dataSync()[0]!) > 0, 'gradient reaches the input');
    dx.dispose();
  }
}

for (const descriptor of blueprints) {
  for (const [slotName, slot, column] of [
    ['dense [32]', DENSE, 0],
    ['conv [8,8,4]', CONV, 1],
  ] as const) {
    test(`${descriptor.blueprintId} ${descriptor.name} on ${slotName}: family, forward, backward, round trip, no leaks`, (t) => {
      const parameters = midpointParameters(descriptor);
      const start = tf.memory().numTensors;
      const module = buildModule(descriptor, parameters, slot, { rngSeed: 3 });
      t.is(describe(module), EXPECTED[descriptor.name]![column]);
      t.is(module.blueprintId, descriptor.blueprintId);
      for (const [key, value] of Object.entries(parameters))
        t.is(module.parameters[key], value, `parameter ${key} kept`);

      const bytes = serializeModule(module);
      if (HANGS.has(descriptor.name)) {
        // Never run: a compile job's timeout has to stop it (README.md). Built, flagged, serialisable.
        t.true(STRESSOR_FAMILIES.has(module.family));
        const copy = deserializeModule(bytes);
        t.is(copy.family, 'infinite_loop');
        copy.dispose();
        module.dispose();
        t.is(tf.memory().numTensors, start);
        return;
      }
      const x = tf.randomNormal([BATCH, ...slot.dims], 0, 1, 'float32', 17);
      exercise(t, descriptor, module, x);

      // No leaks: repeated applies leave the tensor count where it was (memory_leak leaks on purpose).
      if (module.family !== 'memory_leak') {
        const before = tf.memory().numTensors;
        for (let round = 0; round < 3; round++) {
          tf.dispose([module.apply(x), module.apply(x, { training: true })]);
        }
        t.is(tf.memory().numTensors, before, 'tensor count flat across repeated applies');
      }

      // Round trip with weights moved off their initial values: identical outputs, variables of its own.
      perturbAll(module);
      const copy = deserializeModule(serializeModule(module));
      t.is(describe(copy), describe(module));
      t.deepEqual(copy.parameters, module.parameters);
      const a = module.apply(x);
      const b = copy.apply(x);
      t.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()), 'identical outputs after the round trip');
      for (const [name, variable] of copy.variables) {
        t.not(variable, module.variables.get(name));
        t.deepEqual(variable.shape, module.variables.get(name)!.shape);
      }
      for (const name of copy.variables.keys()) setVariable(copy, name, (v) => tf.zerosLike(v));
      const c = module.apply(x);
      t.deepEqual(Array.from(c.dataSync()), Array.from(a.dataSync()), 'changing the copy leaves the original alone');
      tf.dispose([a, b, c, x]);
      copy.dispose();
      module.dispose();
      t.is(tf.memory().numTensors, start, 'dispose frees everything the module owned');
    });
  }
}
