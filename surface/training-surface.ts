// What the training loop shares in process with the seeds: the graft table its forward pass reads, and the running
// training run as a `SeedProbe`, through which a seed measures itself on the training thread (probe loss with and
// without it, gradient isolation). Tensors never travel in messages; this is the one place seeds touch the host.
// The probe is an interface: the training run implements it, the seeds call it, neither sees the other's code.
import type { tf } from '../tensor/index.ts';
import type { SlotSpec } from '../blueprints/index.ts';
import { GraftTable } from './graft-table.ts';
import type { IsolationMeasurement } from './isolation.ts';

/** A slot of the host: where a seed can be grafted, and the activation shape there. */
export interface SurfaceSlot extends SlotSpec {
  readonly id: string;
}

/** The host as a seed sees it. */
export interface ProbeHost {
  /** Its slots in forward order (a slot's 1-based position is its depth). */
  readonly slots: readonly SurfaceSlot[];
  /** Its parameters by stable name: read, never written, from this side. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
}

/** The running training run, as seeds may ask it things. */
export interface SeedProbe {
  readonly host: ProbeHost;
  /** The epoch being trained and the current base learning rate (a seed's group trains at it). */
  readonly epoch: number;
  readonly learningRate: number;
  /** The host's validation loss on the probe samples with `grafts`. */
  probeLoss(grafts: GraftTable): number;
  /** Gradient isolation of `seedId`'s graft in `grafts`, measured on a batch of probe samples (isolation.ts). */
  probeIsolation(grafts: GraftTable, seedId: string): IsolationMeasurement;
}

export class TrainingSurface {
  readonly grafts = new GraftTable();
  /** The run in progress (set by the trainer while it runs), null between runs. */
  probe: SeedProbe | null = null;
}
