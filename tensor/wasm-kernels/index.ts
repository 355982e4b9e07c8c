// Training kernels for the WASM backend of tfjs 4.22 (docs/architecture.md#tensors-data-and-speed).
// `installWasmTrainingKernels()` replaces or adds kernels in tfjs's global registry for backendName 'wasm';
// `uninstallWasmTrainingKernels()` puts the originals back (the benchmark measures both in one run). The registry is
// consulted on every kernel call, so both take effect immediately, whether or not the wasm backend is the active one or
// already initialised.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { transposeFreeMatMul } from './batch-matmul.ts';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.ts';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';
import { wasmKernel } from './wasm-backend.ts';

export { UnsupportedConvAttributeError } from './conv-attrs.ts';

const BACKEND = 'wasm';

/** The kernels we register, by name. */
export const PATCHED_KERNELS = [
  tf.BatchMatMul,
  tf._FusedMatMul,
  tf.Conv2DBackpropFilter,
  tf.Conv2DBackpropInput,
  tf.MaxPoolGrad,
  tf.DepthwiseConv2dNativeBackpropFilter,
  tf.DepthwiseConv2dNativeBackpropInput,
  tf.UnsortedSegmentSum,
] as const;
export type PatchedKernel = (typeof PATCHED_KERNELS)[number];

/** What was registered before install, per kernel (null: nothing was, e.g. Conv2DBackpropFilter or the depthwise gradients). */
let originals: Map<PatchedKernel, tf.KernelConfig | null> | null = null;

function replace(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, BACKEND)) tf.unregisterKernel(config.kernelName, BACKEND);
  tf.registerKernel(config);
}

/** Registers the WASM training kernels. Idempotent: a second call while installed does nothing. */
export function installWasmTrainingKernels(): void {
  if (originals) return;
  const saved = new Map<PatchedKernel, tf.KernelConfig | null>();
  for (const name of PATCHED_KERNELS) saved.set(name, tf.getKernel(name, BACKEND) ?? null);
  // Resolve every dependency before touching the registry, so a missing one leaves it unchanged.
  const batchMatMul = wasmKernel(tf.BatchMatMul);
  const fusedMatMul = wasmKernel(tf._FusedMatMul);
  const transpose = wasmKernel(tf.Transpose);
  const conv2dBackpropInput = wasmKernel(tf.Conv2DBackpropInput);
  const maxPoolGrad = wasmKernel(tf.MaxPoolGrad);
  const patched = [
    transposeFreeMatMul(batchMatMul, transpose),
    transposeFreeMatMul(fusedMatMul, transpose),
    // Built on the original BatchMatMul: its operands are already laid out for the plain, fast path.
    conv2dBackpropFilterConfig(batchMatMul),
    // The backend's own versions of these two are naive C loops; ours keep the originals' setup (see their files).
    conv2dBackpropInputConfig(batchMatMul, conv2dBackpropInput),
    maxPoolGradConfig(maxPoolGrad),
    depthwiseBackpropFilterConfig(),
    depthwiseBackpropInputConfig(),
    unsortedSegmentSumConfig(),
  ];
  for (const config of patched) replace(config);
  originals = saved;
}

/** Restores the kernels registered before install (and removes ones that did not exist). Idempotent. */
export function uninstallWasmTrainingKernels(): void {
  if (!originals) return;
  for (const [name, original] of originals) {
    if (tf.getKernel(name, BACKEND)) tf.unregisterKernel(name, BACKEND);
    if (original) tf.registerKernel(original);
  }
  originals = null;
}

/** Whether the patched kernels are currently installed. */
export function wasmTrainingKernelsInstalled(): boolean {
  return originals !== null;
}

/** The kernel registered before install (null if there was none, undefined when not installed). */
export function originalWasmKernel(name: PatchedKernel): tf.KernelConfig | null | undefined {
  return originals ? originals.get(name) : undefined;
}
