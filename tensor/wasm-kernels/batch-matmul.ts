// BatchMatMul / _FusedMatMul with transposed operands for the WASM backend.
//
// Why: tfjs-backend-wasm 4.22 runs a matmul through XNNPACK's fast fully-connected path only when neither operand
// is transposed; with `transposeA` or `transposeB` it falls back to a naive loop. Training hits exactly those cases
// (a dense layer's gradients are dy·Wᵀ and xᵀ·dy), and the fallback is 10–18× slower than transposing the operand
// first (measured: [64,784]ᵀ×[64,256] 18 ms native vs 0.1 ms transpose + 1.0 ms plain matmul). So we materialise
// the transpose with the backend's own Transpose kernel and call the original kernel with no transposes.
import type * as tf from '@tensorflow/tfjs';
import { rawKernel, release, replacementKernel, type KernelArgs, type RawKernel } from './wasm-backend.ts';

/** Swaps the last two axes with the given Transpose kernel (a new buffer; the caller releases it). */
function transposeLastTwo(transpose: RawKernel, args: KernelArgs, x: tf.TensorInfo): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return transpose({ inputs: { x }, backend: args.backend, attrs: { perm } });
}

/**
 * A kernel config that replaces `original` (BatchMatMul or _FusedMatMul: inputs `a`, `b`, attrs `transposeA`,
 * `transposeB`) and removes the transposes before calling it. Everything else (bias, activation, batch broadcast,
 * dtype checks) stays the original kernel's job.
 */
export function transposeFreeMatMul(original: tf.KernelConfig, transposeKernel: tf.KernelConfig): tf.KernelConfig {
  const call = rawKernel(original);
  const transpose = rawKernel(transposeKernel);
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const { a, b } = args.inputs;
    const transposeA = args.attrs.transposeA === true;
    const transposeB = args.attrs.transposeB === true;
    // Non-float operands go straight to the original, which raises its own error for them.
    if ((!transposeA && !transposeB) || !a || !b || a.dtype !== 'float32' || b.dtype !== 'float32') return call(args);
    const made: tf.TensorInfo[] = [];
    try {
      const a2 = transposeA ? transposeLastTwo(transpose, args, a) : a;
      if (transposeA) made.push(a2);
      const b2 = transposeB ? transposeLastTwo(transpose, args, b) : b;
      if (transposeB) made.push(b2);
      return call({
        ...args,
        inputs: { ...args.inputs, a: a2, b: b2 },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const info of made) release(args.backend, info);
    }
  };
  return replacementKernel(original.kernelName, kernelFunc, original);
}
