// Conv2DBackpropInput for the WASM backend. tfjs-backend-wasm 4.22 registers one, but as a naive C loop: in a
// profile of the MNIST CNN's training step (batch 64) it was the most expensive kernel (≈ 9 ms a step for the
// second conv layer's dx, against ≈ 1.5 ms for both forward convs).
//
// Formulation: dx = col2im(dy · Wᵀ). With W read as [KH·KW·CI, CO] and dy as [B·OH·OW, CO],
// cols = dy · Wᵀ is [B·OH·OW, KH·KW·CI], and cols[(b,oh,ow), (kh,kw,ci)] is added to
// dx[b, oh·sH + kh − top, ow·sW + kw − left, ci] when that lies inside the image (padding positions are dropped).
// We write Wᵀ ([CO, KH·KW·CI], small: a filter) with a JS pass over the WASM heap so the one matmul is the
// backend's own BatchMatMul with no transposes (XNNPACK's fast path, see batch-matmul.ts), then scatter-add the
// columns into dx in one JS pass: for a given (b, oh, ow, kh, kw) the CI values are contiguous both in cols and dx.
import * as tf from '@tensorflow/tfjs';
import { convGeometry, requireFloat32 } from './conv-attrs.ts';
import { rawKernel, release, replacementKernel, type KernelArgs, type WasmKernelBackend } from './wasm-backend.ts';

/** Writes Wᵀ: wT[co·K + k] = w[k·CO + co], K = KH·KW·CI. */
function transposeFilter(w: Float32Array, wT: Float32Array, K: number, CO: number): void {
  for (let k = 0; k < K; k++) {
    const from = k * CO;
    for (let co = 0; co < CO; co++) wT[co * K + k] = w[from + co] as number;
  }
}

/** dx (zeroed here) += col2im(cols), cols [B·OH·OW, KH·KW·CI] row-major, dx NHWC. */
function col2im(cols: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sH, strideWidth: sW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const K = KH * KW * CI;
  dx.fill(0);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sH - top;
      // Filter rows whose input row is inside the image: 0 ≤ ih0 + kh < H.
      const khMin = Math.max(0, -ih0);
      const khMax = Math.min(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sW - left;
        const kwMin = Math.max(0, -iw0);
        const kwMax = Math.min(KW, W - iw0);
        const row = ((b * OH + oh) * OW + ow) * K;
        for (let kh = khMin; kh < khMax; kh++) {
          const dxRow = ((b * H + ih0 + kh) * W + iw0) * CI;
          const colRow = row + kh * KW * CI;
          for (let kw = kwMin; kw < kwMax; kw++) {
            const to = dxRow + kw * CI;
            const from = colRow + kw * CI;
            for (let ci = 0; ci < CI; ci++) dx[to + ci] = (dx[to + ci] as number) + (cols[from + ci] as number);
          }
        }
      }
    }
  }
}

/**
 * The Conv2DBackpropInput kernel config for 'wasm', built on the backend's original BatchMatMul. `original` is the
 * backend's own Conv2DBackpropInput config: its setup (a cwrap of the WASM export) must still run if the backend
 * initialises after install, so that uninstall can put it back in working order.
 */
export function conv2dBackpropInputConfig(
  batchMatMulKernel: tf.KernelConfig,
  original?: tf.KernelConfig,
): tf.KernelConfig {
  const matMul = rawKernel(batchMatMulKernel);
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const kernel = tf.Conv2DBackpropInput;
    const { dy, filter } = args.inputs;
    if (!dy || !filter) throw new Error(`${kernel} needs inputs dy and filter`);
    requireFloat32(kernel, dy, filter);
    const info = convGeometry(kernel, args.attrs['inputShape'], filter.shape, args.attrs, false);
    const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
    if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
      throw new Error(`${kernel}: dy has shape [${dy.shape}], but inputShape, filter and attrs give [${expected}]`);
    }
    const backend: WasmKernelBackend = args.backend;
    const K = info.filterHeight * info.filterWidth * info.inChannels;
    const CO = info.outChannels;
    const N = info.batchSize * info.outHeight * info.outWidth;
    const made: tf.TensorInfo[] = [];
    try {
      const wT = backend.makeOutput([1, CO, K], 'float32');
      made.push(wT);
      // Views taken after the allocation: makeOutput may grow the heap and detach earlier views.
      transposeFilter(
        backend.typedArrayFromHeap(filter) as Float32Array,
        backend.typedArrayFromHeap(wT) as Float32Array,
        K,
        CO,
      );
      const dy3: tf.TensorInfo = { dataId: dy.dataId, shape: [1, N, CO], dtype: 'float32' };
      const cols = matMul({ inputs: { a: dy3, b: wT }, backend, attrs: { transposeA: false, transposeB: false } });
      made.push(cols);
      const dx = backend.makeOutput([info.batchSize, info.inHeight, info.inWidth, info.inChannels], 'float32');
      col2im(backend.typedArrayFromHeap(cols) as Float32Array, backend.typedArrayFromHeap(dx) as Float32Array, info);
      return dx;
    } finally {
      for (const info of made) release(backend, info);
    }
  };
  return replacementKernel(tf.Conv2DBackpropInput, kernelFunc, original);
}
