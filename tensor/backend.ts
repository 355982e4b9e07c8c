// The TensorFlow.js backend for this process. Order: tfjs-node-gpu or tfjs-node when the user installed one (they
// download libtensorflow at install time, which this project's build machine cannot), then WASM (SIMD), then the
// pure-JS CPU backend. On WASM our training kernels are installed first (tensor/wasm-kernels: transposed matmuls
// without the 10× penalty, and the conv gradients tfjs 4.22 lacks there).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

let selected: Promise<string> | null = null;

/** Selects (once per process) and returns the backend in use. Later calls return the first choice. */
export function selectTensorBackend(preference: BackendPreference = 'auto'): Promise<string> {
  selected ??= choose(preference);
  return selected;
}

async function choose(preference: BackendPreference): Promise<string> {
  // Quiet tfjs's console advice about installing tfjs-node; the backend in use is reported by us instead.
  tf.enableProdMode();
  if (preference === 'auto' || preference === 'tensorflow') {
    for (const name of NATIVE_PACKAGES) {
      try {
        await import(name);
        if (await tf.setBackend('tensorflow')) return tf.getBackend();
      } catch {
        // Not installed: the next option.
      }
    }
    if (preference === 'tensorflow')
      throw new Error(`backend "tensorflow" needs ${NATIVE_PACKAGES.join(' or ')} installed`);
  }
  if (preference === 'auto' || preference === 'wasm') {
    if (await tf.setBackend('wasm').catch(() => false)) {
      (await import('./wasm-kernels/index.ts')).installWasmTrainingKernels();
      await tf.ready();
      return tf.getBackend();
    }
    if (preference === 'wasm') throw new Error('the WASM backend could not start');
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return tf.getBackend();
}

export { tf };
