// The HIGH_RISK stressors do what they say, so the safety gates can be tested against them.
import test from 'ava';
import { HANG_OPS_PER_ITERATION, STRESSOR_FAMILIES, type BlueprintModule } from '../blueprints/index.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';
import { buildNamed, CONV, DENSE, gradientNorm, maxAbsDiff } from './helpers/modules.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

const build = buildNamed;

function inputGradientNorm(module: BlueprintModule, x: tf.Tensor): number {
  const dx = tf.grad((input: tf.Tensor) => module.apply(input, { training: true }).square().mean())(x);
  const norm = tf.tidy(() => dx.norm().dataSync()[0]!);
  dx.dispose();
  return norm;
}

test("exploding_gradient: gradients about scale³ larger than a safe module's", (t) => {
  for (const slot of [DENSE, CONV]) {
    const x = tf.randomNormal([8, ...slot.dims], 0, 1, 'float32', 1);
    const safe = build('residual_block', { depth: 3 }, slot);
    const mild = build('exploding_gradient', { scale: 5 }, slot);
    const wild = build('exploding_gradient', { scale: 20 }, slot);
    const [safeNorm, mildNorm, wildNorm] = [safe, mild, wild].map((m) => gradientNorm(m, x));
    t.true(mildNorm / safeNorm > 100, `scale 5: ratio ${mildNorm / safeNorm}`);
    t.true(wildNorm / safeNorm > 1e5, `scale 20: ratio ${wildNorm / safeNorm}`);
    // Same weights (same seed), scale 4× larger: the loss scales by (4³)² and its gradients by about 4⁵–4⁶.
    t.true(wildNorm / mildNorm > 4 ** 5 * 0.9, `scale ratio ${wildNorm / mildNorm}`);
    t.true(inputGradientNorm(wild, x) / inputGradientNorm(safe, x) > 1e5, 'the input gradient explodes too');
    for (const m of [safe, mild, wild]) m.dispose();
    x.dispose();
  }
});

test("vanishing_gradient: gradients about decay³ of a safe module's", (t) => {
  for (const slot of [DENSE, CONV]) {
    const x = tf.randomNormal([8, ...slot.dims], 0, 1, 'float32', 1);
    const safe = build('residual_block', { depth: 3 }, slot);
    const stressor = build('vanishing_gradient', { decay: 0.05 }, slot);
    const ratio = gradientNorm(stressor, x) / gradientNorm(safe, x);
    t.true(ratio < 1e-3, `weight gradient ratio ${ratio}`);
    const inputRatio = inputGradientNorm(stressor, x) / inputGradientNorm(safe, x);
    t.true(inputRatio < 1e-3, `input gradient ratio ${inputRatio}`);
    const zero = build('vanishing_gradient', { decay: 0 }, slot);
    const y = zero.apply(x);
    t.is(
      tf.tidy(() => y.abs().max().dataSync()[0]),
      0,
      'decay 0 kills the signal outright',
    );
    tf.dispose([x, y]);
    for (const m of [safe, stressor, zero]) m.dispose();
  }
});

test('nan_injection: NaNs at rate frequency in training, seeded; none outside training', (t) => {
  const x = tf.randomNormal([64, 32], 0, 1, 'float32', 1);
  const module = build('nan_injection', { frequency: 0.055 }, DENSE, 9);
  const y = module.apply(x, { training: true });
  const rate = tf.tidy(() => y.isNaN().toFloat().mean().dataSync()[0]!);
  t.true(rate > 0.035 && rate < 0.075, `NaN rate ${rate}`);
  const clean = module.apply(x);
  t.is(
    tf.tidy(() => clean.isNaN().any().dataSync()[0]),
    0,
  );
  // Seeded: a module built with the same seed injects at the same places.
  const twin = build('nan_injection', { frequency: 0.055 }, DENSE, 9);
  const z = twin.apply(x, { training: true });
  t.deepEqual(Array.from(tf.tidy(() => z.isNaN().dataSync())), Array.from(tf.tidy(() => y.isNaN().dataSync())));
  // The NaNs reach the gradients, which is what a gate has to catch.
  const trainable = [...module.variables.values()];
  const { value, grads } = tf.variableGrads(() => module.apply(x, { training: true }).mean() as tf.Scalar, trainable);
  t.true(Number.isNaN(value.dataSync()[0]));
  tf.dispose([x, y, clean, z, value, ...Object.values(grads)]);
  module.dispose();
  twin.dispose();
});

test('infinite_loop (and deadlock_pattern) are flagged stressors that would run iterations × 1e6 ops (not run)', (t) => {
  for (const [name, fallbackFrom] of [
    ['infinite_loop', ''],
    ['deadlock_pattern', 'deadlock_pattern'],
  ] as const) {
    const module = build(name, name === 'infinite_loop' ? { iterations: 5500 } : { threads: 9 }, CONV);
    t.is(module.family, 'infinite_loop');
    t.is(module.fallbackFrom, fallbackFrom);
    t.true(STRESSOR_FAMILIES.has(module.family));
    t.is(module.parameters.iterations, 5500);
    module.dispose();
  }
  t.is(HANG_OPS_PER_ITERATION, 1_000_000);
});

test('memory_leak: each training apply keeps round(growth_rate) tensors until dispose', (t) => {
  const x = tf.randomNormal([4, 8, 8, 4], 0, 1, 'float32', 1);
  const module = build('memory_leak', { growth_rate: 2.5 }, CONV);
  const start = tf.memory();
  for (let step = 1; step <= 4; step++) tf.dispose(module.apply(x, { training: true }));
  const grown = tf.memory();
  t.is(grown.numTensors - start.numTensors, 4 * 3);
  t.is(grown.numBytes - start.numBytes, 4 * 3 * x.size * 4);
  tf.dispose(module.apply(x));
  t.is(tf.memory().numTensors, grown.numTensors, 'outside training nothing leaks');
  module.dispose();
  t.true(tf.memory().numTensors < start.numTensors, 'dispose frees the leaked tensors and the weights');
  x.dispose();
});

test('adversarial_noise: noise of standard deviation epsilon in training; race_condition: epsilon = window_ns / 1000', (t) => {
  const x = tf.randomNormal([64, 32], 0, 1, 'float32', 1);
  for (const [name, parameters, epsilon] of [
    ['adversarial_noise', { epsilon: 0.55 }, 0.55],
    ['race_condition', { window_ns: 250 }, 0.25],
  ] as const) {
    const module = build(name, parameters);
    t.is(module.family, 'adversarial_noise');
    t.is(module.parameters.epsilon, epsilon);
    const clean = module.apply(x);
    t.is(maxAbsDiff(clean, x), 0, 'no noise outside training');
    const [a, b] = [module.apply(x, { training: true }), module.apply(x, { training: true })];
    const std = tf.tidy(() => tf.moments(a.sub(x)).variance.sqrt().dataSync()[0]!);
    t.true(Math.abs(std - epsilon) < 0.05 * epsilon + 0.01, `${name}: noise std ${std}`);
    t.true(maxAbsDiff(a, b) > 0, 'different noise on every call');
    tf.dispose([clean, a, b]);
    module.dispose();
  }
  x.dispose();
});
