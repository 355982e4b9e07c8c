// meta_learning (MAML-style inner loop, per sample): a fast bias b is adapted to each input by K = round(adapt_steps)
// gradient steps on an inner reconstruction loss ℓ(b) = ½‖(x·E + b)·D − x‖², whose gradient (x·E + b)·D − x)·Dᵀ is
// written out so the outer training differentiates through the inner loop. The adapted code feeds the output:
// y = x + W_o·gelu(x·E + b_K), W_o zero at init. The inner step size η and the starting bias b_0 are learned.
// Per position on a conv slot.
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { linear } from '../layers.ts';
import { gelu } from '../ops.ts';
import { count } from '../params.ts';

export const metaLearning: Family = {
  name: 'meta_learning',
  slotKinds: ['dense', 'conv'],
  defaults: { adapt_steps: 1 },
  build(context) {
    const { width, weights } = context;
    const steps = count(context.parameters.adapt_steps!);
    const encoder = weights.normal('encoder', [width, width]);
    const decoder = weights.normal('decoder', [width, width]);
    const startBias = weights.zeros('fast_bias.start', [width]);
    const stepSize = weights.filled('inner_step_size', [], 0.1);
    const output = linear(context, 'output', width, width, { init: 'zeros' });
    return {
      apply(x) {
        const tokens = x.reshape([-1, width]);
        const encoded = tokens.matMul(encoder);
        const decoderT = decoder.transpose();
        let bias: tf.Tensor = startBias;
        for (let step = 0; step < steps; step++) {
          const residual = encoded.add(bias).matMul(decoder).sub(tokens);
          bias = tf.sub(bias, residual.matMul(decoderT).mul(stepSize));
        }
        return x.add(output(gelu(encoded.add(bias))).reshape(x.shape));
      },
    };
  },
};
