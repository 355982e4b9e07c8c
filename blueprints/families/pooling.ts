// Pooling families (conv slots only; on a dense slot there are no positions to pool). Each starts as the
// identity: a per-channel mix or a last 1×1 projection that starts at zero.
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { linear } from '../layers.ts';
import { gelu } from '../ops.ts';
import { count } from '../params.ts';
import { adaptiveAvgPool, upsampleNearest } from '../resize.ts';

/** max_pooling: y = x + a ⊙ (maxpool_k(x) − x), stride 1, 'same', k = round(kernel) (at most H and W). */
export const maxPooling: Family = {
  name: 'max_pooling',
  slotKinds: ['conv'],
  defaults: { kernel: 3 },
  build(context) {
    const [height, width] = context.slot.dims as [number, number, number];
    const size = Math.min(count(context.parameters.kernel!), height, width);
    const mix = context.weights.zeros('mix', [context.width]);
    return {
      apply: (x) =>
        x.add(
          tf
            .maxPool(x as tf.Tensor4D, [size, size], 1, 'same')
            .sub(x)
            .mul(mix),
        ),
    };
  },
};

/**
 * adaptive_pooling: adaptive average pool to S×S (S = round(output_size), at most H and W) → 1×1 → GELU → 1×1
 * (zero at init) → nearest upsampling back to H×W, added to x.
 */
export const adaptivePooling: Family = {
  name: 'adaptive_pooling',
  slotKinds: ['conv'],
  defaults: { output_size: 4 },
  build(context) {
    const [height, width, channels] = context.slot.dims as [number, number, number];
    const size = count(context.parameters.output_size!);
    const [outHeight, outWidth] = [Math.min(size, height), Math.min(size, width)];
    const expand = linear(context, 'head.in', channels, channels);
    const project = linear(context, 'head.out', channels, channels, { init: 'zeros' });
    return {
      apply(x) {
        const pooled = adaptiveAvgPool(x, outHeight, outWidth);
        return x.add(upsampleNearest(project(gelu(expand(pooled))), height, width));
      },
    };
  },
};

/**
 * feature_pyramid: L = round(levels) levels; level l average-pools to ⌈H/2^l⌉×⌈W/2^l⌉, applies its own 1×1
 * lateral, and is upsampled back; the sum → GELU → 1×1 (zero at init), added to x.
 */
export const featurePyramid: Family = {
  name: 'feature_pyramid',
  slotKinds: ['conv'],
  defaults: { levels: 3 },
  build(context) {
    const [height, width, channels] = context.slot.dims as [number, number, number];
    const levels = Array.from({ length: count(context.parameters.levels!) }, (_, level) => ({
      height: Math.ceil(height / 2 ** level),
      width: Math.ceil(width / 2 ** level),
      lateral: linear(context, `level${level}.lateral`, channels, channels),
    }));
    const fuse = linear(context, 'fuse', channels, channels, { init: 'zeros' });
    return {
      apply(x) {
        const merged = tf.addN(
          levels.map((level) =>
            upsampleNearest(level.lateral(adaptiveAvgPool(x, level.height, level.width)), height, width),
          ),
        );
        return x.add(fuse(gelu(merged)));
      },
    };
  },
};
