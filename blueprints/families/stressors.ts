// Stressors (the HIGH_RISK tier): modules that misbehave on purpose, so safety gates can be tested against the
// real thing. Not near-neutral where the stress is the point. Training-time stressors (NaNs, leaks, noise) sit on
// a residual GELU MLP, so they train like an ordinary seed apart from their stress.
import { tf } from '../../tensor/index.ts';
import type { Family, FamilyContext, FamilyBody } from '../kit.ts';
import { linear, mixer } from '../layers.ts';
import { gelu } from '../ops.ts';
import { clamp, count } from '../params.ts';

const CHAIN_LENGTH = 3;

function ordinaryBranch(context: FamilyContext): (x: tf.Tensor) => tf.Tensor {
  const expand = mixer(context, 'block.in', context.width, context.width);
  const project = linear(context, 'block.out', context.width, context.width, { init: 'zeros' });
  return (x) => x.add(project(gelu(expand(x))));
}

/**
 * exploding_gradient: y = h_3, h_{i+1} = scale·(h_i·W_i) with W_i ~ N(0, 1/width) (gain about 1 each). The
 * signal and every gradient are multiplied by about scale³ (12.5³ ≈ 2 000 at the catalog midpoint).
 */
export const explodingGradient: Family = {
  name: 'exploding_gradient',
  slotKinds: ['dense', 'conv'],
  defaults: { scale: 10 },
  build(context) {
    const scale = context.parameters.scale!;
    const chain = Array.from({ length: CHAIN_LENGTH }, (_, index) =>
      linear(context, `chain${index}`, context.width, context.width, { bias: false }),
    );
    return { apply: (x) => chain.reduce((h, layer) => layer(h).mul(scale), x) };
  },
};

/**
 * vanishing_gradient: y = h_3, h_{i+1} = decay·tanh(h_i·W_i + b_i). `decay` multiplies the signal path at every
 * layer, so the output and every gradient (to the weights and to the input) shrink by about decay³.
 */
export const vanishingGradient: Family = {
  name: 'vanishing_gradient',
  slotKinds: ['dense', 'conv'],
  defaults: { decay: 0.05 },
  build(context) {
    const decay = context.parameters.decay!;
    const chain = Array.from({ length: CHAIN_LENGTH }, (_, index) =>
      linear(context, `chain${index}`, context.width, context.width),
    );
    return { apply: (x) => chain.reduce((h, layer) => layer(h).tanh().mul(decay), x) };
  },
};

/** nan_injection: in training, each output value is NaN with probability `frequency` (seeded per call). */
export const nanInjection: Family = {
  name: 'nan_injection',
  slotKinds: ['dense', 'conv'],
  defaults: { frequency: 0.05 },
  build(context) {
    const branch = ordinaryBranch(context);
    const frequency = clamp(context.parameters.frequency!, 0, 1);
    return {
      apply(x, training) {
        const y = branch(x);
        if (!training) return y;
        const hit = tf.randomUniform(y.shape, 0, 1, 'float32', context.rngSeeds.next()).less(frequency);
        return tf.where(hit, tf.fill(y.shape, Number.NaN), y);
      },
    };
  },
};

/** Real tensor ops per iteration of infinite_loop: with iterations ≥ 1 000 the loop runs for hours. */
export const HANG_OPS_PER_ITERATION = 1_000_000;
const OPS_PER_BLOCK = 1000;

/**
 * infinite_loop: every apply (training or not) runs `iterations` × 1 000 000 small tensor ops before it returns,
 * which is hours: in practice it never finishes. The loop is synchronous, so nothing on the same thread can
 * interrupt it: whoever runs this module (a compile job, a seed) must run it in a worker thread or child process
 * and stop that on timeout. Memory stays bounded while it spins (ops run in tidied blocks of 1 000).
 */
export const infiniteLoop: Family = {
  name: 'infinite_loop',
  slotKinds: ['dense', 'conv'],
  defaults: { iterations: 5500 },
  build(context) {
    const iterations = count(context.parameters.iterations!);
    const block = (start: tf.Tensor) =>
      tf.tidy(() => {
        let y = start;
        for (let op = 0; op < OPS_PER_BLOCK; op++) y = y.add(0);
        return y;
      });
    return {
      apply(x) {
        let y = x.clone();
        for (let iteration = 0; iteration < iterations; iteration++) {
          for (let done = 0; done < HANG_OPS_PER_ITERATION; done += OPS_PER_BLOCK) {
            const next = block(y);
            y.dispose();
            y = next;
          }
        }
        return y;
      },
    };
  },
};

/**
 * memory_leak: each training apply keeps round(growth_rate) copies of its input alive (outside any tidy),
 * so tensor count and memory grow with every step until the module is disposed.
 */
export const memoryLeak: Family = {
  name: 'memory_leak',
  slotKinds: ['dense', 'conv'],
  defaults: { growth_rate: 1 },
  build(context): FamilyBody {
    const branch = ordinaryBranch(context);
    const copies = count(context.parameters.growth_rate!);
    const retained: tf.Tensor[] = [];
    return {
      apply(x, training) {
        if (training) for (let copy = 0; copy < copies; copy++) retained.push(tf.keep(x.clone()));
        return branch(x);
      },
      dispose() {
        tf.dispose(retained.splice(0));
      },
    };
  },
};

/** adversarial_noise: in training, adds `epsilon`·N(0, 1) noise to every output value (seeded per call). */
export const adversarialNoise: Family = {
  name: 'adversarial_noise',
  slotKinds: ['dense', 'conv'],
  defaults: { epsilon: 0.5 },
  build(context) {
    const branch = ordinaryBranch(context);
    const epsilon = Math.max(0, context.parameters.epsilon!);
    return {
      apply(x, training) {
        const y = branch(x);
        return training ? y.add(tf.randomNormal(y.shape, 0, 1, 'float32', context.rngSeeds.next()).mul(epsilon)) : y;
      },
    };
  },
};

/** Families of the HIGH_RISK tier, which misbehave on purpose. */
export const STRESSOR_FAMILIES: ReadonlySet<string> = new Set(
  [explodingGradient, vanishingGradient, nanInjection, infiniteLoop, memoryLeak, adversarialNoise].map(
    (family) => family.name,
  ),
);
