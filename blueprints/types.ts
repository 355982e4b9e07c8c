// What a blueprint is at run time: a TensorFlow.js module built for one slot shape. This file is the interface
// Tezzeret (builds and serialises), Urza (stores and deserialises) and Kasmina (grafts) program against.
import type { tf } from '../tensor/index.ts';

/**
 * The activation shape at a host slot, without the batch dimension: [D] for a dense slot, [H, W, C] for a conv
 * slot (channels last, as TensorFlow.js lays them out).
 */
export interface SlotSpec {
  readonly dims: readonly number[];
}

export interface ApplyOptions {
  /** Training mode: dropout active, batch-norm statistics updated, stressors armed. Default false. */
  training?: boolean;
}

export interface BlueprintModule {
  readonly blueprintId: string;
  /** What was built, e.g. "identity", "layer_norm", "multi_head_attention", "exploding_gradient". */
  readonly family: string;
  /** The family the blueprint's name asked for when it has no module for this slot type ("" otherwise). */
  readonly fallbackFrom: string;
  readonly slot: SlotSpec;
  readonly parameters: Readonly<Record<string, number>>;
  /** Every variable by a stable name (trainable weights and non-trainable state such as batch-norm moments). */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /**
   * input [B, ...slot.dims] → output [B, ...slot.dims]. A new module is near-neutral: apply(x) ≈ x at
   * initialisation (residual form x + g(x) with g's output projection zero), so blending it into the host with
   * any alpha changes nothing until it has learned. Stressors (high-risk tier) are exempt where the stress is
   * the point, and document what they do.
   */
  apply(input: tf.Tensor, options?: ApplyOptions): tf.Tensor;
  /** Frees every tensor the module owns. */
  dispose(): void;
}
