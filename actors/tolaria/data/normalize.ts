// Input normalisation. Statistics come from the training split only and are then applied unchanged to validation
// and test (fitting on them would leak). Everything works in place: MNIST's training images are 188 MB as float32,
// and a copy per step of the pipeline would double that.
import type { Split } from './types.ts';

/** Divides every value by `maxValue` in place (0–255 pixels → [0, 1]). Returns the same array. */
export function scaleInPlace(x: Float32Array, maxValue = 255): Float32Array {
  const factor = 1 / maxValue;
  for (let i = 0; i < x.length; i++) x[i]! *= factor;
  return x;
}

/** Mean and standard deviation: one value each (global) or one per feature. */
export interface Standardization {
  readonly mean: Float32Array;
  readonly std: Float32Array;
}

/** Below this a standard deviation counts as zero (a constant feature, e.g. MNIST's border pixels) and is taken as 1. */
const MIN_STD = 1e-6;

/**
 * Computes mean and std over a training split: global (one pair, the usual MNIST 0.1307/0.3081 after scaling) or
 * per feature. Sums in float64 so 47 million values do not lose precision.
 */
export function fitStandardization(train: Split, perFeature = false): Standardization {
  const features = train.n === 0 ? 0 : train.x.length / train.n;
  const width = perFeature ? features : 1;
  const sum = new Float64Array(width);
  const sumSq = new Float64Array(width);
  for (let i = 0; i < train.x.length; i++) {
    const v = train.x[i]!;
    const k = perFeature ? i % features : 0;
    sum[k]! += v;
    sumSq[k]! += v * v;
  }
  const count = perFeature ? train.n : train.x.length;
  if (count === 0) throw new Error('fitStandardization: the training split is empty');
  const mean = new Float32Array(width);
  const std = new Float32Array(width);
  for (let k = 0; k < width; k++) {
    const m = sum[k]! / count;
    const s = Math.sqrt(Math.max(0, sumSq[k]! / count - m * m));
    mean[k] = m;
    std[k] = s < MIN_STD ? 1 : s;
  }
  return { mean, std };
}

/** (x − mean) / std in place, with statistics from fitStandardization. Returns the same array. */
export function standardizeInPlace(x: Float32Array, stats: Standardization): Float32Array {
  const width = stats.mean.length;
  for (let i = 0; i < x.length; i++) {
    const k = width === 1 ? 0 : i % width;
    x[i] = (x[i]! - stats.mean[k]!) / stats.std[k]!;
  }
  return x;
}
