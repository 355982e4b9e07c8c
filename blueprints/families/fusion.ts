// Fusion families: several feature sets concatenated and projected back to the slot width by a projection
// that starts at zero (so the module starts as the identity).
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { conv, linear, mixer, type Layer } from '../layers.ts';
import { gelu } from '../ops.ts';
import { count } from '../params.ts';

/**
 * concat_fusion: N = round(branches) parallel branches, GELU of a dense layer each (conv slot: convolutions of
 * kernel 1, 3, 5, … so each branch sees a different neighbourhood), concatenated and projected back.
 */
export const concatFusion: Family = {
  name: 'concat_fusion',
  slotKinds: ['dense', 'conv'],
  defaults: { branches: 2 },
  build(context) {
    const { width, kind } = context;
    const branches: Layer[] = Array.from({ length: count(context.parameters.branches!) }, (_, index) =>
      kind === 'dense'
        ? linear(context, `branch${index}`, width, width)
        : conv(context, `branch${index}`, 2 * index + 1, width, width),
    );
    const fuse = linear(context, 'fuse', branches.length * width, width, { init: 'zeros' });
    return {
      apply: (x) =>
        x.add(
          fuse(
            tf.concat(
              branches.map((branch) => gelu(branch(x))),
              -1,
            ),
          ),
        ),
    };
  },
};

const DENSE_LAYERS = 3;

/**
 * dense_connection (DenseNet block): 3 layers, each adding k = round(growth_rate) features computed from
 * everything before it (dense layer, or 3×3 convolution on a conv slot), then a projection back to the width.
 */
export const denseConnection: Family = {
  name: 'dense_connection',
  slotKinds: ['dense', 'conv'],
  defaults: { growth_rate: 12 },
  build(context) {
    const { width } = context;
    const growth = count(context.parameters.growth_rate!);
    const layers = Array.from({ length: DENSE_LAYERS }, (_, index) =>
      mixer(context, `layer${index}`, width + index * growth, growth),
    );
    const fuse = linear(context, 'fuse', width + DENSE_LAYERS * growth, width, { init: 'zeros' });
    return {
      apply(x) {
        const features: tf.Tensor[] = [x];
        for (const layer of layers) features.push(gelu(layer(tf.concat(features, -1))));
        return x.add(fuse(tf.concat(features, -1)));
      },
    };
  },
};
