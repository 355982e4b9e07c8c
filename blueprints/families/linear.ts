// Linear families. Both keep `scale` as the fixed gain of a learned branch that starts at zero, so the module
// starts as the identity and `scale` sets how strongly what it learns reaches the output.
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { linear, mixer } from '../layers.ts';
import { gelu } from '../ops.ts';

/** linear_projection: y = x + scale·(x·W + b), W and b zero at init. On a conv slot W is a 1×1 convolution. */
export const linearProjection: Family = {
  name: 'linear_projection',
  slotKinds: ['dense', 'conv'],
  defaults: { scale: 1 },
  build(context) {
    const project = linear(context, 'projection', context.width, context.width, { init: 'zeros' });
    const scale = context.parameters.scale!;
    return { apply: (x) => x.add(project(x).mul(scale)) };
  },
};

/**
 * layer_scale (LayerScale, CaiT): y = x + scale·(γ ⊙ g(x)), g a GELU MLP with random weights, γ a per-feature
 * gain that starts at zero.
 */
export const layerScale: Family = {
  name: 'layer_scale',
  slotKinds: ['dense', 'conv'],
  defaults: { scale: 1 },
  build(context) {
    const { width } = context;
    const expand = mixer(context, 'branch.in', width, width);
    const project = linear(context, 'branch.out', width, width);
    const gamma = context.weights.zeros('gamma', [width]);
    const scale = context.parameters.scale!;
    return { apply: (x) => x.add(tf.mul(project(gelu(expand(x))), gamma).mul(scale)) };
  },
};
