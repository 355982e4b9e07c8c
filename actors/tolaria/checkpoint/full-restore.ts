// The full rollback tier's restore: the last good checkpoint back into live variables, abandoning cleanly when the
// planner's deadline has passed (nothing is assigned after the signal is aborted).
import type { tf } from '../../../tensor/index.ts';
import type { CheckpointStore, SkippedCheckpoint } from './checkpoint-store.ts';
import { assertRestorable, restoreVariables, type TrainingState } from './training-state.ts';

export interface FullRestoreTargets {
  weights: ReadonlyMap<string, tf.Variable>;
  /** The optimizer's slot variables; omitted, only the weights are restored. */
  optimizerSlots?: ReadonlyMap<string, tf.Variable>;
}

export type FullRestoreResult =
  | { restored: true; epoch: number; state: TrainingState; skipped: SkippedCheckpoint[] }
  | { restored: false; reason: 'no_checkpoint' | 'aborted'; skipped: SkippedCheckpoint[] };

/**
 * Loads the newest good checkpoint and assigns it. The caller restores the rest of `state` (optimizer step, RNG,
 * global step). Weights and slots are both checked before either is assigned.
 */
export async function restoreFromCheckpoint(
  store: CheckpointStore,
  targets: FullRestoreTargets,
  signal?: AbortSignal,
): Promise<FullRestoreResult> {
  const loaded = await store.loadLatest();
  const skipped = loaded?.skipped ?? [];
  if (!loaded) return { restored: false, reason: 'no_checkpoint', skipped };
  if (signal?.aborted) return { restored: false, reason: 'aborted', skipped };
  const { state } = loaded;
  assertRestorable(targets.weights, state.weights);
  if (targets.optimizerSlots) assertRestorable(targets.optimizerSlots, state.optimizer.slots);
  restoreVariables(targets.weights, state.weights);
  if (targets.optimizerSlots) restoreVariables(targets.optimizerSlots, state.optimizer.slots);
  return { restored: true, epoch: state.epoch, state, skipped };
}
