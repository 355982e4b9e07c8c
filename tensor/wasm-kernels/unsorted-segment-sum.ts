// UnsortedSegmentSum for the WASM backend, which tfjs-backend-wasm 4.22 does not register. Besides
// `tf.unsortedSegmentSum` itself, it is the gradient of `tf.gather`, so without it nothing built from gathers
// (Tamiyo's message passing) can train on WASM. One pass over the WASM heap: out[ids[i]] += x[i] row by row; ids
// outside [0, numSegments) are skipped, as the cpu backend does.
import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from './wasm-backend.ts';

function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const kernel = tf.UnsortedSegmentSum;
  const { x, segmentIds } = args.inputs;
  if (!x || !segmentIds) throw new Error(`${kernel} needs inputs x and segmentIds`);
  if (x.dtype !== 'float32') throw new Error(`${kernel} on wasm supports float32 only, got ${x.dtype}`);
  const numSegments = Number(args.attrs['numSegments']);
  const rows = segmentIds.shape.reduce((a, b) => a * b, 1);
  const width = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const out = args.backend.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], 'float32');
  // Views taken after the allocation: makeOutput may grow the heap and detach earlier views.
  const sums = args.backend.typedArrayFromHeap(out) as Float32Array;
  const values = args.backend.typedArrayFromHeap(x) as Float32Array;
  const ids = args.backend.typedArrayFromHeap(segmentIds);
  sums.fill(0);
  for (let i = 0; i < rows; i++) {
    const segment = ids[i] as number;
    if (segment < 0 || segment >= numSegments) continue;
    const to = segment * width;
    const from = i * width;
    for (let k = 0; k < width; k++) sums[to + k] = (sums[to + k] as number) + (values[from + k] as number);
  }
  return out;
}

export function unsortedSegmentSumConfig(): tf.KernelConfig {
  return {
    kernelName: tf.UnsortedSegmentSum,
    backendName: 'wasm',
    kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
  };
}
