// Tensor operations the families share. All are differentiable on the cpu backend; dilated convolutions are
// written as convolutions with a zero-stuffed kernel because tfjs 4.22 has no gradient for dilation > 1.
import { tf } from '../tensor/index.ts';

/** GELU, tanh approximation (tfjs has no gelu op). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  return x.mul(inner.tanh().add(1)).mul(0.5);
}

export function silu(x: tf.Tensor): tf.Tensor {
  return x.mul(x.sigmoid());
}

/** x · w (+ b) over the last axis, whatever the rank of x. */
export function dense(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const [inDim, outDim] = weight.shape as [number, number];
  const flat = x.reshape([-1, inDim]).matMul(weight as tf.Tensor2D);
  const projected = bias ? flat.add(bias) : flat;
  return projected.reshape([...x.shape.slice(0, -1), outDim]);
}

/** [kh, kw, ...] kernel → the kernel of the same filter dilated by `dilation` (zeros between taps). */
export function dilateKernel(kernel: tf.Tensor4D, dilationH: number, dilationW = dilationH): tf.Tensor4D {
  if (dilationH === 1 && dilationW === 1) return kernel;
  const [kh, kw, a, b] = kernel.shape;
  return kernel
    .reshape([kh, 1, kw, 1, a, b])
    .pad([
      [0, 0],
      [0, dilationH - 1],
      [0, 0],
      [0, dilationW - 1],
      [0, 0],
      [0, 0],
    ])
    .reshape([kh * dilationH, kw * dilationW, a, b])
    .slice([0, 0, 0, 0], [(kh - 1) * dilationH + 1, (kw - 1) * dilationW + 1, a, b]) as tf.Tensor4D;
}

export interface ConvOptions {
  dilation?: number;
  /** Channel groups (each group of input channels feeds its own group of output channels). */
  groups?: number;
}

/** 'same'-padded stride-1 conv of NHWC x with a [k, k, C/groups, Cout] kernel. */
export function conv2d(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor, options: ConvOptions = {}): tf.Tensor {
  const filter = dilateKernel(kernel as tf.Tensor4D, options.dilation ?? 1);
  const groups = options.groups ?? 1;
  let out: tf.Tensor;
  if (groups === 1) {
    out = tf.conv2d(x as tf.Tensor4D, filter, 1, 'same');
  } else {
    const inPer = filter.shape[2];
    const outPer = filter.shape[3] / groups;
    const parts: tf.Tensor4D[] = [];
    for (let group = 0; group < groups; group++) {
      const xs = (x as tf.Tensor4D).slice([0, 0, 0, group * inPer], [-1, -1, -1, inPer]);
      const ks = filter.slice([0, 0, 0, group * outPer], [-1, -1, -1, outPer]);
      parts.push(tf.conv2d(xs, ks, 1, 'same'));
    }
    out = tf.concat(parts, 3);
  }
  return bias ? out.add(bias) : out;
}

/** Depthwise 'same' conv with a [k, k, C, 1] kernel. */
export function depthwiseConv2d(x: tf.Tensor, kernel: tf.Tensor, dilation = 1): tf.Tensor {
  return tf.depthwiseConv2d(x as tf.Tensor4D, dilateKernel(kernel as tf.Tensor4D, dilation), 1, 'same');
}

/** (x − mean) / sqrt(var + epsilon) over the last axis. */
export function layerNormalize(x: tf.Tensor, epsilon: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).div(variance.add(epsilon).sqrt());
}

/** Softmax attention: q [.., Tq, d], k [.., Tk, d], v [.., Tk, dv]; optional additive mask [Tq, Tk]. */
export function attend(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask?: tf.Tensor): tf.Tensor {
  const depth = q.shape[q.shape.length - 1]!;
  // Explicit transpose then a plain matmul: the WASM backend's transposed BatchMatMul is ~10× slower.
  const kT = k.transpose(
    [...k.shape.keys()].map((axis, _i, all) =>
      axis === all.length - 1 ? all.length - 2 : axis === all.length - 2 ? all.length - 1 : axis,
    ),
  );
  let scores = tf.matMul(q, kT).div(Math.sqrt(depth));
  if (mask) scores = scores.add(mask);
  return tf.matMul(tf.softmax(scores, -1), v);
}
