// The fast rollback tier: recent weights + optimizer state (and the seeds, with their modules' weights) kept in memory, newest first out, under a byte cap.
// A snapshot at step k is the state *before* step k's update (what the loss at step k was computed with). A fault
// seen at step s therefore restores the newest snapshot taken strictly before s: the one at s already carries the
// weights that produced the bad loss.
import { performance } from 'node:perf_hooks';
import {
  assertRestorable,
  restoreVariables,
  tensorBytes,
  type OptimizerState,
  type SavedSeed,
  type TensorMap,
} from './training-state.ts';
import type { tf } from '../../../tensor/index.ts';

export const DEFAULT_SNAPSHOT_CAP_BYTES = 32 * 1024 * 1024;

export interface SnapshotContent {
  epoch: number;
  weights: TensorMap;
  optimizer: OptimizerState | null;
  /** Every seed at that step, with its module's weights; null when Kasmina's records were not known. */
  seeds?: SavedSeed[] | null;
}

export interface Snapshot extends SnapshotContent {
  step: number;
  /** Bytes of tensor data held (weights, optimizer slots, seeds' weights). */
  bytes: number;
}

export type PushResult =
  | { stored: true; evicted: number; discarded: number }
  | { stored: false; reason: 'oversized'; bytes: number };

export interface SnapshotRingStats {
  count: number;
  bytes: number;
  capBytes: number;
  pushed: number;
  evicted: number;
  /** Refusals by reason: a snapshot larger than the whole cap. */
  refused: { oversized: number };
}

export interface SnapshotRestoreTargets {
  weights: ReadonlyMap<string, tf.Variable>;
  /** The optimizer's slot variables; omitted, only the weights are restored. */
  optimizerSlots?: ReadonlyMap<string, tf.Variable>;
}

export interface SnapshotRingOptions {
  capBytes?: number;
  now?: () => number;
}

export class SnapshotRing {
  readonly capBytes: number;
  readonly #now: () => number;
  // Ascending by step.
  #snapshots: Snapshot[] = [];
  #bytes = 0;
  #pushed = 0;
  #evicted = 0;
  #oversized = 0;

  constructor(options: SnapshotRingOptions = {}) {
    const cap = options.capBytes ?? DEFAULT_SNAPSHOT_CAP_BYTES;
    if (!(cap > 0)) throw new RangeError(`capBytes must be positive, got ${cap}`);
    this.capBytes = cap;
    this.#now = options.now ?? (() => performance.now());
  }

  get stats(): SnapshotRingStats {
    return {
      count: this.#snapshots.length,
      bytes: this.#bytes,
      capBytes: this.capBytes,
      pushed: this.#pushed,
      evicted: this.#evicted,
      refused: { oversized: this.#oversized },
    };
  }

  /** Steps held, oldest first. */
  steps(): number[] {
    return this.#snapshots.map((snapshot) => snapshot.step);
  }

  /**
   * Keeps a snapshot of the state before `step`. The content is held as given (captureVariables already copies):
   * do not mutate it afterwards. Snapshots at `step` or later are dropped first: after a rollback the run replays
   * those steps, and the old ones belong to the abandoned timeline (re-pushing a step replaces it). Then the oldest
   * are evicted until the new one fits. A snapshot larger than the whole cap is refused and the ring left as it was.
   */
  push(step: number, content: SnapshotContent): PushResult {
    const seedBytes = (content.seeds ?? []).reduce(
      (sum, seed) => sum + tensorBytes(seed.weights) + seed.record.byteLength,
      0,
    );
    const bytes =
      tensorBytes(content.weights) + (content.optimizer ? tensorBytes(content.optimizer.slots) : 0) + seedBytes;
    if (bytes > this.capBytes) {
      this.#oversized += 1;
      return { stored: false, reason: 'oversized', bytes };
    }
    const discarded = this.discardFrom(step);
    let evicted = 0;
    while (this.#bytes + bytes > this.capBytes && this.#snapshots.length > 0) {
      this.#bytes -= this.#snapshots.shift()!.bytes;
      evicted += 1;
    }
    this.#evicted += evicted;
    this.#snapshots.push({
      step,
      bytes,
      epoch: content.epoch,
      weights: content.weights,
      optimizer: content.optimizer,
      seeds: content.seeds ?? null,
    });
    this.#bytes += bytes;
    this.#pushed += 1;
    return { stored: true, evicted, discarded };
  }

  /** Drops snapshots at `step` or later; returns how many. */
  discardFrom(step: number): number {
    const keep = this.#snapshots.filter((snapshot) => snapshot.step < step);
    const dropped = this.#snapshots.length - keep.length;
    for (const snapshot of this.#snapshots) if (snapshot.step >= step) this.#bytes -= snapshot.bytes;
    this.#snapshots = keep;
    return dropped;
  }

  /** The newest snapshot taken strictly before `step`, or null. */
  latestBefore(step: number): Snapshot | null {
    for (let i = this.#snapshots.length - 1; i >= 0; i--) {
      if (this.#snapshots[i]!.step < step) return this.#snapshots[i]!;
    }
    return null;
  }

  /**
   * Assigns a snapshot back to the live variables (all checked before any is assigned) and measures how long it
   * took, in the ring's clock's milliseconds. The snapshot stays in the ring: a second fault can restore it again.
   */
  restore(snapshot: Snapshot, targets: SnapshotRestoreTargets): { step: number; latencyMs: number } {
    const started = this.#now();
    // Both checked before either is assigned: weights restored without their optimizer state would be a mix.
    assertRestorable(targets.weights, snapshot.weights);
    if (targets.optimizerSlots && snapshot.optimizer)
      assertRestorable(targets.optimizerSlots, snapshot.optimizer.slots);
    restoreVariables(targets.weights, snapshot.weights);
    if (targets.optimizerSlots && snapshot.optimizer)
      restoreVariables(targets.optimizerSlots, snapshot.optimizer.slots);
    return { step: snapshot.step, latencyMs: this.#now() - started };
  }

  clear(): void {
    this.#snapshots = [];
    this.#bytes = 0;
  }
}
