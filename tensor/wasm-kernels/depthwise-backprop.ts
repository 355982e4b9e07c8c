// DepthwiseConv2dNativeBackpropFilter / DepthwiseConv2dNativeBackpropInput for the WASM backend, which
// tfjs-backend-wasm 4.22 does not register (so `tf.depthwiseConv2d`, used by Karn's depthwise blueprints, cannot be
// trained on WASM). Both are direct loops over the WASM heap, accumulating in float64 like the cpu backend: a
// depthwise gradient has one small reduction per (channel, multiplier) and no large matmul to hand to XNNPACK, so
// reformulating through WASM kernels would cost more dispatches than it saves.
import * as tf from '@tensorflow/tfjs';
import { convGeometry, requireFloat32 } from './conv-attrs.ts';
import type { KernelArgs } from './wasm-backend.ts';

/** The depthwise convolution's sizes in the short names the loops use (M: channel multiplier). */
function depthwiseGeometry(kernel: string, inputShape: unknown, filterShape: unknown, args: KernelArgs) {
  const info = convGeometry(kernel, inputShape, filterShape, args.attrs, true);
  return {
    B: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    CI: info.inChannels,
    OH: info.outHeight,
    OW: info.outWidth,
    CO: info.outChannels,
    KH: info.filterHeight,
    KW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
    M: info.outChannels / info.inChannels,
  };
}

/** dW[kh,kw,ci,m] = Σ_{b,oh,ow} x[b, oh·sH + kh − top, ow·sW + kw − left, ci] · dy[b, oh, ow, ci·M + m]. */
function filterGradient(args: KernelArgs): tf.TensorInfo {
  const kernel = tf.DepthwiseConv2dNativeBackpropFilter;
  const { x, dy } = args.inputs;
  if (!x || !dy) throw new Error(`${kernel} needs inputs x and dy`);
  requireFloat32(kernel, x, dy);
  const { B, H, W, CI, OH, OW, CO, KH, KW, sH, sW, top, left, M } = depthwiseGeometry(
    kernel,
    x.shape,
    args.attrs['filterShape'],
    args,
  );
  const out = args.backend.makeOutput([KH, KW, CI, M], 'float32');
  // Views taken after the allocation: makeOutput may grow the heap and detach earlier views.
  const dw = args.backend.typedArrayFromHeap(out) as Float32Array;
  const xs = args.backend.typedArrayFromHeap(x) as Float32Array;
  const dys = args.backend.typedArrayFromHeap(dy) as Float32Array;
  for (let kh = 0; kh < KH; kh++) {
    // Output rows whose input row is inside the image: 0 ≤ oh·sH + kh − top < H.
    const ohMin = Math.max(0, Math.ceil((top - kh) / sH));
    const ohMax = Math.min(OH, Math.ceil((H + top - kh) / sH));
    for (let kw = 0; kw < KW; kw++) {
      const owMin = Math.max(0, Math.ceil((left - kw) / sW));
      const owMax = Math.min(OW, Math.ceil((W + left - kw) / sW));
      for (let ci = 0; ci < CI; ci++) {
        for (let m = 0; m < M; m++) {
          const co = ci * M + m;
          let sum = 0;
          for (let b = 0; b < B; b++) {
            for (let oh = ohMin; oh < ohMax; oh++) {
              const xRow = (b * H + oh * sH + kh - top) * W;
              const dyRow = (b * OH + oh) * OW;
              for (let ow = owMin; ow < owMax; ow++) {
                sum += (xs[(xRow + ow * sW + kw - left) * CI + ci] as number) * (dys[(dyRow + ow) * CO + co] as number);
              }
            }
          }
          dw[((kh * KW + kw) * CI + ci) * M + m] = sum;
        }
      }
    }
  }
  return out;
}

/** dx[b,ih,iw,ci] = Σ_{kh,kw,m : ih = oh·sH + kh − top, iw = ow·sW + kw − left} dy[b,oh,ow,ci·M + m] · W[kh,kw,ci,m]. */
function inputGradient(args: KernelArgs): tf.TensorInfo {
  const kernel = tf.DepthwiseConv2dNativeBackpropInput;
  const { dy, filter } = args.inputs;
  if (!dy || !filter) throw new Error(`${kernel} needs inputs dy and filter`);
  requireFloat32(kernel, dy, filter);
  const { B, H, W, CI, OH, OW, CO, KH, KW, sH, sW, top, left, M } = depthwiseGeometry(
    kernel,
    args.attrs['inputShape'],
    filter.shape,
    args,
  );
  const out = args.backend.makeOutput([B, H, W, CI], 'float32');
  const dx = args.backend.typedArrayFromHeap(out) as Float32Array;
  const dys = args.backend.typedArrayFromHeap(dy) as Float32Array;
  const ws = args.backend.typedArrayFromHeap(filter) as Float32Array;
  for (let b = 0; b < B; b++) {
    for (let ih = 0; ih < H; ih++) {
      for (let iw = 0; iw < W; iw++) {
        for (let ci = 0; ci < CI; ci++) {
          let sum = 0;
          for (let kh = 0; kh < KH; kh++) {
            const ohs = ih + top - kh;
            if (ohs < 0 || ohs % sH !== 0) continue;
            const oh = ohs / sH;
            if (oh >= OH) continue;
            for (let kw = 0; kw < KW; kw++) {
              const ows = iw + left - kw;
              if (ows < 0 || ows % sW !== 0) continue;
              const ow = ows / sW;
              if (ow >= OW) continue;
              const dyAt = ((b * OH + oh) * OW + ow) * CO + ci * M;
              const wAt = ((kh * KW + kw) * CI + ci) * M;
              for (let m = 0; m < M; m++) sum += (dys[dyAt + m] as number) * (ws[wAt + m] as number);
            }
          }
          dx[((b * H + ih) * W + iw) * CI + ci] = sum;
        }
      }
    }
  }
  return out;
}

export function depthwiseBackpropFilterConfig(): tf.KernelConfig {
  return {
    kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
    backendName: 'wasm',
    kernelFunc: filterGradient as unknown as tf.KernelFunc,
  };
}

export function depthwiseBackpropInputConfig(): tf.KernelConfig {
  return {
    kernelName: tf.DepthwiseConv2dNativeBackpropInput,
    backendName: 'wasm',
    kernelFunc: inputGradient as unknown as tf.KernelFunc,
  };
}
