// differentiable_nas (DARTS mixed operation): y = x + Σ_i softmax(α / temperature)_i · op_i(x), α learned (zero at
// init: a uniform mix), each candidate op's last projection zero at init. Candidates: none (zero), GELU MLP,
// ReLU MLP, tanh MLP on a dense slot; none, 3×3 conv, dilated 3×3 conv (dilation 2), 1×1 MLP on a conv slot.
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { conv, linear, type Layer } from '../layers.ts';
import { gelu } from '../ops.ts';

export const differentiableNas: Family = {
  name: 'differentiable_nas',
  slotKinds: ['dense', 'conv'],
  defaults: { temperature: 1 },
  build(context) {
    const { width, kind } = context;
    const temperature = Math.max(1e-3, context.parameters.temperature!);
    const branch = (name: string, first: Layer, activation: (x: tf.Tensor) => tf.Tensor): Layer => {
      const project = linear(context, `${name}.out`, width, width, { init: 'zeros' });
      return (x) => project(activation(first(x)));
    };
    const ops: Layer[] =
      kind === 'dense'
        ? [
            branch('gelu_mlp', linear(context, 'gelu_mlp.in', width, width), gelu),
            branch('relu_mlp', linear(context, 'relu_mlp.in', width, width), (x) => x.relu()),
            branch('tanh_mlp', linear(context, 'tanh_mlp.in', width, width), (x) => x.tanh()),
          ]
        : [
            branch('conv3', conv(context, 'conv3.in', 3, width, width), (x) => x.relu()),
            branch('dilated3', conv(context, 'dilated3.in', 3, width, width, { dilation: 2 }), (x) => x.relu()),
            branch('pointwise', linear(context, 'pointwise.in', width, width), gelu),
          ];
    // One more weight for the "none" op, which contributes zero.
    const alpha = context.weights.zeros('architecture', [ops.length + 1]);
    return {
      apply(x) {
        const mix = tf.unstack(tf.softmax(alpha.div(temperature)));
        return x.add(tf.addN(ops.map((op, index) => op(x).mul(mix[index + 1]!))));
      },
    };
  },
};
