// The kernel codec of this project: Karn's module format (msgpackr weights + module description, loaded as data,
// never as code). Kept apart from library.ts so that opening a library does not load TensorFlow.js.
import { deserializeModule } from '../../blueprints/index.ts';
import type { KernelCodec } from './kernel-codec.ts';

export const karnKernelCodec: KernelCodec = {
  deserialize: (bytes) => deserializeModule(bytes),
};
