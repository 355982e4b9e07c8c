// Convolution families (conv slots only). Each is residual, y = x + branch(x), with the branch's last
// projection (a 1×1 convolution) zero at init, so the module starts as the identity.
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { conv, linear } from '../layers.ts';
import { depthwiseConv2d, dilateKernel } from '../ops.ts';
import { count, nearestDivisor } from '../params.ts';

/** grouped_conv: 3×3 convolution in G channel groups → ReLU → 1×1; G = the divisor of C nearest round(groups). */
export const groupedConv: Family = {
  name: 'grouped_conv',
  slotKinds: ['conv'],
  defaults: { groups: 2 },
  build(context) {
    const { width } = context;
    const groups = nearestDivisor(width, count(context.parameters.groups!));
    const grouped = conv(context, 'grouped', 3, width, width, { groups });
    const project = linear(context, 'pointwise', width, width, { init: 'zeros' });
    return { apply: (x) => x.add(project(grouped(x).relu())) };
  },
};

/** depthwise_separable_conv: depthwise k×k (k = round(kernel)) → ReLU → pointwise 1×1. */
export const depthwiseSeparableConv: Family = {
  name: 'depthwise_separable_conv',
  slotKinds: ['conv'],
  defaults: { kernel: 3 },
  build(context) {
    const { width, weights } = context;
    const size = count(context.parameters.kernel!);
    const depthwise = weights.normal('depthwise.kernel', [size, size, width, 1], 1 / size);
    const depthwiseBias = weights.zeros('depthwise.bias', [width]);
    const project = linear(context, 'pointwise', width, width, { init: 'zeros' });
    return { apply: (x) => x.add(project(depthwiseConv2d(x, depthwise).add(depthwiseBias).relu())) };
  },
};

/** dilated_conv: a stack 3×3 (dilation 1) → ReLU → 3×3 (dilation d = round(dilation)) → ReLU → 1×1. */
export const dilatedConv: Family = {
  name: 'dilated_conv',
  slotKinds: ['conv'],
  defaults: { dilation: 2 },
  build(context) {
    const { width } = context;
    const dilation = count(context.parameters.dilation!);
    const local = conv(context, 'local', 3, width, width);
    const dilated = conv(context, 'dilated', 3, width, width, { dilation });
    const project = linear(context, 'pointwise', width, width, { init: 'zeros' });
    return { apply: (x) => x.add(project(dilated(local(x).relu()).relu())) };
  },
};

/**
 * temporal_conv (TCN): the rows (H) read as time; a causal 3-tap convolution along H with dilation
 * d = round(dilation) (each output row sees only itself and earlier rows) → ReLU → 1×1.
 */
export const temporalConv: Family = {
  name: 'temporal_conv',
  slotKinds: ['conv'],
  defaults: { dilation: 1 },
  build(context) {
    const { width, weights } = context;
    const dilation = count(context.parameters.dilation!);
    const kernel = weights.normal('causal.kernel', [3, 1, width, width]);
    const bias = weights.zeros('causal.bias', [width]);
    const project = linear(context, 'pointwise', width, width, { init: 'zeros' });
    const reach = 2 * dilation;
    return {
      apply(x) {
        const past = x.pad([
          [0, 0],
          [reach, 0],
          [0, 0],
          [0, 0],
        ]) as tf.Tensor4D;
        const causal = tf.conv2d(past, dilateKernel(kernel as tf.Tensor4D, dilation, 1), 1, 'valid').add(bias);
        return x.add(project(causal.relu()));
      },
    };
  },
};

/**
 * dynamic_conv (CondConv): E = round(experts) 3×3 expert kernels mixed per sample by a router,
 * π = softmax(mean_hw(x)·W_r); branch = Σ_e π_e·conv_e(x), experts zero at init.
 */
export const dynamicConv: Family = {
  name: 'dynamic_conv',
  slotKinds: ['conv'],
  defaults: { experts: 2 },
  build(context) {
    const { width } = context;
    const experts = count(context.parameters.experts!);
    const router = linear(context, 'router', width, experts);
    const expertConvs = conv(context, 'experts', 3, width, experts * width, { init: 'zeros' });
    return {
      apply(x) {
        const [batch, height, columns] = x.shape as [number, number, number, number];
        const mix = tf.softmax(router(x.mean([1, 2]))).reshape([batch, 1, 1, experts, 1]);
        const outputs = expertConvs(x).reshape([batch, height, columns, experts, width]);
        return x.add(outputs.mul(mix).sum(3));
      },
    };
  },
};
