// The small slice of the WASM backend's surface our kernels use, typed here rather than imported: the package's
// own `BackendWasm` declaration points at generated files that are not shipped, so importing it would type as `any`.
import * as tf from '@tensorflow/tfjs';

export type DataId = object;

/** What a kernel function receives from the engine, narrowed to the WASM backend. */
export interface WasmKernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
  /** A view on the WASM heap; invalidated when the heap grows (any later `makeOutput` may grow it). */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmKernelBackend;
  attrs: tf.NamedAttrMap;
}

/** A registered kernel function, called directly (not through the engine) so intermediates stay backend-internal. */
export type RawKernel = (args: KernelArgs) => tf.TensorInfo;

/** Wraps a registry kernel so it can be called with our typed arguments and returns a single output. */
export function rawKernel(config: tf.KernelConfig): RawKernel {
  return (args) => {
    const out = config.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]);
    if (Array.isArray(out)) throw new Error(`kernel ${config.kernelName} returned ${out.length} outputs, expected one`);
    return out;
  };
}

/** The registered kernel for the WASM backend, or a clear error if the backend's kernels are not loaded. */
export function wasmKernel(kernelName: string): tf.KernelConfig {
  const config = tf.getKernel(kernelName, 'wasm');
  if (!config)
    throw new Error(
      `kernel ${kernelName} is not registered for the wasm backend (import @tensorflow/tfjs-backend-wasm first)`,
    );
  return config;
}

/** Releases an intermediate produced inside a kernel (never the kernel's inputs or output). */
export function release(backend: WasmKernelBackend, info: tf.TensorInfo): void {
  backend.disposeData(info.dataId);
}

/**
 * A wasm kernel config running `kernelFunc` in place of `original`, keeping the original's setup (its cwrap of the
 * WASM export) and dispose: they must still run if the backend initialises after install, so that uninstall puts
 * back a working kernel.
 */
export function replacementKernel(
  kernelName: string,
  kernelFunc: (args: KernelArgs) => tf.TensorInfo,
  original?: tf.KernelConfig,
): tf.KernelConfig {
  const config: tf.KernelConfig = {
    kernelName,
    backendName: 'wasm',
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
  };
  if (original?.setupFunc) config.setupFunc = original.setupFunc;
  if (original?.disposeFunc) config.disposeFunc = original.disposeFunc;
  return config;
}
