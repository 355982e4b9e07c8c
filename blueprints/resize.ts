// Spatial resampling as matrix products (differentiable everywhere): adaptive average pooling to any size and
// nearest-neighbour upsampling back, applied separably over H and W of an NHWC tensor.
import { tf } from '../tensor/index.ts';

/** [out, in] averaging matrix of adaptive average pooling: bin i covers [floor(i·in/out), ceil((i+1)·in/out)). */
export function adaptivePoolMatrix(inSize: number, outSize: number): Float32Array {
  const matrix = new Float32Array(outSize * inSize);
  for (let bin = 0; bin < outSize; bin++) {
    const start = Math.floor((bin * inSize) / outSize);
    const end = Math.ceil(((bin + 1) * inSize) / outSize);
    for (let index = start; index < end; index++) matrix[bin * inSize + index] = 1 / (end - start);
  }
  return matrix;
}

/** [out, in] nearest-neighbour upsampling matrix: output row i copies input floor(i·in/out). */
export function nearestUpsampleMatrix(inSize: number, outSize: number): Float32Array {
  const matrix = new Float32Array(outSize * inSize);
  for (let index = 0; index < outSize; index++) matrix[index * inSize + Math.floor((index * inSize) / outSize)] = 1;
  return matrix;
}

/** y[b, i, j, c] = Σ rows[i, h]·columns[j, w]·x[b, h, w, c]; rows is [H', H], columns [W', W]. */
export function resampleSeparable(x: tf.Tensor, rows: tf.Tensor2D, columns: tf.Tensor2D): tf.Tensor {
  const [batch, height, width, channels] = x.shape as [number, number, number, number];
  const outHeight = rows.shape[0];
  const outWidth = columns.shape[0];
  const alongH = x
    .transpose([0, 2, 3, 1])
    .reshape([batch * width * channels, height])
    .matMul(rows.transpose())
    .reshape([batch, width, channels, outHeight]);
  return alongH
    .transpose([0, 3, 2, 1])
    .reshape([batch * outHeight * channels, width])
    .matMul(columns.transpose())
    .reshape([batch, outHeight, channels, outWidth])
    .transpose([0, 1, 3, 2]);
}

/** Adaptive average pooling of NHWC x to [outHeight, outWidth]. */
export function adaptiveAvgPool(x: tf.Tensor, outHeight: number, outWidth: number): tf.Tensor {
  const [, height, width] = x.shape as [number, number, number, number];
  const rows = tf.tensor2d(adaptivePoolMatrix(height, outHeight), [outHeight, height]);
  const columns = tf.tensor2d(adaptivePoolMatrix(width, outWidth), [outWidth, width]);
  return resampleSeparable(x, rows, columns);
}

/** Nearest-neighbour upsampling of NHWC x to [height, width]. */
export function upsampleNearest(x: tf.Tensor, height: number, width: number): tf.Tensor {
  const [, inHeight, inWidth] = x.shape as [number, number, number, number];
  const rows = tf.tensor2d(nearestUpsampleMatrix(inHeight, height), [height, inHeight]);
  const columns = tf.tensor2d(nearestUpsampleMatrix(inWidth, width), [width, inWidth]);
  return resampleSeparable(x, rows, columns);
}
