// MaxPoolGrad for the WASM backend. tfjs-backend-wasm 4.22 registers one, but as a naive C loop: ≈ 6 ms of the
// MNIST CNN's training step (batch 64, two 2×2 pools) in a kernel profile, for what is a scan and a scatter.
//
// One JS pass over the WASM heap: for each output window, the position of the maximum of the forward input is found
// and dy is added there. Ties go where the cpu backend sends them (tfjs-backend-cpu's maxPoolPositions, which
// works on the input x, not the forward output): the FIRST maximum in the window's row-major scan, compared with a
// strict `>` starting from −∞, so a window of NaNs (or one lying wholly in the padding) passes no gradient. The
// `output` input is not needed (the cpu backend does not read it either).
import * as tf from '@tensorflow/tfjs';
import { requireFloat32, UnsupportedConvAttributeError } from './conv-attrs.ts';
import { replacementKernel, type KernelArgs } from './wasm-backend.ts';

function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const kernel = tf.MaxPoolGrad;
  const { dy, input } = args.inputs;
  if (!dy || !input) throw new Error(`${kernel} needs inputs dy and input`);
  requireFloat32(kernel, dy, input);
  if (input.shape.length !== 4) {
    throw new UnsupportedConvAttributeError(`${kernel} needs a rank-4 input (NHWC), got shape [${input.shape}]`);
  }
  const dataFormat = args.attrs['dataFormat'] ?? 'NHWC';
  if (dataFormat !== 'NHWC') {
    throw new UnsupportedConvAttributeError(
      `${kernel} on wasm supports dataFormat NHWC only, got ${String(dataFormat)}`,
    );
  }
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    args.attrs['filterSize'] as number | [number, number],
    args.attrs['strides'] as number | [number, number],
    1,
    args.attrs['pad'] as 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
    args.attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sH, strideWidth: sW } = info;
  const expected = [B, OH, OW, C];
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${kernel}: dy has shape [${dy.shape}], but input and attrs give [${expected}]`);
  }
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const out = args.backend.makeOutput([B, H, W, C], 'float32');
  // Views taken after the allocation: makeOutput may grow the heap and detach earlier views.
  const dx = args.backend.typedArrayFromHeap(out) as Float32Array;
  const xs = args.backend.typedArrayFromHeap(input) as Float32Array;
  const dys = args.backend.typedArrayFromHeap(dy) as Float32Array;
  dx.fill(0);
  const WC = W * C;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const r0 = oh * sH - top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(H, r0 + KH);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = ow * sW - left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(W, c0 + KW);
        const dyBase = ((b * OH + oh) * OW + ow) * C;
        const first = ((b * H + rMin) * W + cMin) * C;
        if (KH === 2 && KW === 2 && rMax - rMin === 2 && cMax - cMin === 2) {
          // The common 2×2 window wholly inside the image, unrolled (≈ 1.5× faster than the loops below).
          for (let ch = 0; ch < C; ch++) {
            const i0 = first + ch;
            let best = Number.NEGATIVE_INFINITY;
            let at = -1;
            let v = xs[i0] as number;
            if (v > best) {
              best = v;
              at = i0;
            }
            v = xs[i0 + C] as number;
            if (v > best) {
              best = v;
              at = i0 + C;
            }
            v = xs[i0 + WC] as number;
            if (v > best) {
              best = v;
              at = i0 + WC;
            }
            v = xs[i0 + WC + C] as number;
            if (v > best) at = i0 + WC + C;
            if (at >= 0) dx[at] = (dx[at] as number) + (dys[dyBase + ch] as number);
          }
          continue;
        }
        // Scalars per channel (a window's few positions are in cache): faster in V8 than per-channel arrays.
        for (let ch = 0; ch < C; ch++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let r = rMin, rowAt = first + ch; r < rMax; r++, rowAt += WC) {
            for (let c = cMin, i = rowAt; c < cMax; c++, i += C) {
              const v = xs[i] as number;
              if (v > best) {
                best = v;
                at = i;
              }
            }
          }
          if (at >= 0) dx[at] = (dx[at] as number) + (dys[dyBase + ch] as number);
        }
      }
    }
  }
  return out;
}

/**
 * The MaxPoolGrad kernel config for 'wasm'. `original` is the backend's own config, whose setup (a cwrap of the WASM
 * export) must still run if the backend initialises after install, so that uninstall puts back a working kernel.
 */
export function maxPoolGradConfig(original?: tf.KernelConfig): tf.KernelConfig {
  return replacementKernel(tf.MaxPoolGrad, maxPoolGrad, original);
}
