// The tensor layer's public surface: which TensorFlow.js backend a process trains on, and the few tensor helpers
// the subsystems share. The WASM training kernels (wasm-kernels/) are installed by selectTensorBackend when it picks
// 'wasm'; only their test and benchmark import them directly.
export { selectTensorBackend, tf, type BackendPreference } from './backend.ts';
export { stopGradient } from './ops.ts';
