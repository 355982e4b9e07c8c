// Normalisation families, residual form: y = x + (γ ⊙ normalise(x) + β) with γ and β zero at init, so the module
// starts as the identity and learns how much normalised signal to add.
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { layerNormalize } from '../ops.ts';
import { clamp } from '../params.ts';

/** layer_norm: normalises over the features (dense) or the channels at each position (conv) with `epsilon`. */
export const layerNorm: Family = {
  name: 'layer_norm',
  slotKinds: ['dense', 'conv'],
  defaults: { epsilon: 1e-5 },
  build(context) {
    const gamma = context.weights.zeros('gamma', [context.width]);
    const beta = context.weights.zeros('beta', [context.width]);
    const epsilon = Math.max(0, context.parameters.epsilon!);
    return { apply: (x) => x.add(layerNormalize(x, epsilon).mul(gamma).add(beta)) };
  },
};

const BATCH_NORM_EPSILON = 1e-5;

/**
 * batch_norm: normalises each feature (dense) or channel (conv, over batch and positions) with the batch's
 * moments in training and the moving moments otherwise. Training updates the moving moments Keras-style:
 * moving ← momentum·moving + (1 − momentum)·batch (the catalog's range [0.5, 0.99] is the kept fraction).
 */
export const batchNorm: Family = {
  name: 'batch_norm',
  slotKinds: ['dense', 'conv'],
  defaults: { momentum: 0.9 },
  build(context) {
    const { width, weights } = context;
    const gamma = weights.zeros('gamma', [width]);
    const beta = weights.zeros('beta', [width]);
    const movingMean = weights.state('moving_mean', [width], 0);
    const movingVariance = weights.state('moving_variance', [width], 1);
    const momentum = clamp(context.parameters.momentum!, 0, 1);
    const axes = context.kind === 'dense' ? [0] : [0, 1, 2];
    return {
      apply(x, training) {
        let mean: tf.Tensor = movingMean;
        let variance: tf.Tensor = movingVariance;
        if (training) {
          ({ mean, variance } = tf.moments(x, axes));
          movingMean.assign(movingMean.mul(momentum).add(mean.mul(1 - momentum)));
          movingVariance.assign(movingVariance.mul(momentum).add(variance.mul(1 - momentum)));
        }
        const normalized = x.sub(mean).div(variance.add(BATCH_NORM_EPSILON).sqrt());
        return x.add(normalized.mul(gamma).add(beta));
      },
    };
  },
};
