// How Urza turns verified artifact bytes back into a runnable module. Urza stores bytes and never runs them; the
// codec (Karn's module serialisation) is injected, so the library and its tests do not load TensorFlow.js unless
// kernels are actually fetched.
import type { BlueprintModule } from '../../blueprints/types.ts';

export interface KernelCodec {
  /**
   * A NEW module from artifact bytes: its variables belong to it alone, so two seeds fetching the same kernel
   * never share weights. Throws on bytes it cannot read (a format it does not know, truncated data).
   */
  deserialize(bytes: Uint8Array): BlueprintModule;
}
