// Conv2DBackpropFilter for the WASM backend, which tfjs-backend-wasm 4.22 does not register at all (so no conv
// layer can be trained on WASM: `tf.grad` of conv2d throws "Kernel 'Conv2DBackpropFilter' not registered").
//
// Formulation: dW[kh,kw,ci,co] = Σ_{b,oh,ow} x[b, oh·sH + kh·dH − top, ow·sW + kw·dW − left, ci] · dy[b,oh,ow,co],
// i.e. dW = colsᵀ · dy with cols the im2col matrix of x ([B·OH·OW, KH·KW·CI]). We write colsᵀ directly
// ([KH·KW·CI, B·OH·OW], so the matmul needs no transpose and takes XNNPACK's fast path) with one JS pass over the
// WASM heap, then multiply with the backend's own BatchMatMul. Why a JS pass and not KH·KW strided slices + concat
// through WASM kernels: the pass touches each element once, and the slice route would still need a transpose.
import * as tf from '@tensorflow/tfjs';
import { convGeometry, requireFloat32 } from './conv-attrs.ts';
import { rawKernel, release, type KernelArgs, type WasmKernelBackend } from './wasm-backend.ts';

/** Writes colsᵀ (row (kh·KW + kw)·CI + ci, column (b·OH + oh)·OW + ow) from NHWC x; padding reads as 0. */
function im2colTransposed(x: Float32Array, cols: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sH, strideWidth: sW } = info;
  const { dilationHeight: dH, dilationWidth: dW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const N = B * OH * OW;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const rowBase = (kh * KW + kw) * CI * N;
      for (let b = 0; b < B; b++) {
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * sH + kh * dH - top;
          const colBase = (b * OH + oh) * OW;
          if (ih < 0 || ih >= H) {
            for (let ci = 0; ci < CI; ci++) cols.fill(0, rowBase + ci * N + colBase, rowBase + ci * N + colBase + OW);
            continue;
          }
          const xRow = (b * H + ih) * W;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * sW + kw * dW - left;
            const out = rowBase + colBase + ow;
            if (iw < 0 || iw >= W) {
              for (let ci = 0; ci < CI; ci++) cols[out + ci * N] = 0;
            } else {
              const xAt = (xRow + iw) * CI;
              for (let ci = 0; ci < CI; ci++) cols[out + ci * N] = x[xAt + ci] as number;
            }
          }
        }
      }
    }
  }
}

/** The Conv2DBackpropFilter kernel config for 'wasm', built on the backend's registered BatchMatMul. */
export function conv2dBackpropFilterConfig(batchMatMulKernel: tf.KernelConfig): tf.KernelConfig {
  const matMul = rawKernel(batchMatMulKernel);
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const { x, dy } = args.inputs;
    if (!x || !dy) throw new Error('Conv2DBackpropFilter needs inputs x and dy');
    requireFloat32(tf.Conv2DBackpropFilter, x, dy);
    const info = convGeometry(tf.Conv2DBackpropFilter, x.shape, args.attrs['filterShape'], args.attrs, false);
    const backend: WasmKernelBackend = args.backend;
    const K = info.filterHeight * info.filterWidth * info.inChannels;
    const N = info.batchSize * info.outHeight * info.outWidth;
    const colsT = backend.makeOutput([1, K, N], 'float32');
    try {
      // Views taken after the allocation: makeOutput may grow the heap and detach earlier views.
      im2colTransposed(
        backend.typedArrayFromHeap(x) as Float32Array,
        backend.typedArrayFromHeap(colsT) as Float32Array,
        info,
      );
      const dy3: tf.TensorInfo = { dataId: dy.dataId, shape: [1, N, info.outChannels], dtype: 'float32' };
      const out = matMul({ inputs: { a: colsT, b: dy3 }, backend, attrs: { transposeA: false, transposeB: false } });
      return {
        dataId: out.dataId,
        shape: [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels],
        dtype: 'float32',
      };
    } finally {
      release(backend, colsT);
    }
  };
  return {
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
  };
}
