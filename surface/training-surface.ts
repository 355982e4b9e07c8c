// What Tolaria shares in process with Kasmina: the graft table its forward pass reads, and the running
// training run, through which a seed measures itself (probe loss with and without it, a batch for the isolation
// check) on the training thread. Tensors never travel in messages; this is the one place seeds touch the host.
import type { Batch } from '../actors/tolaria/data/batches.ts';
import { GraftTable } from './graft-table.ts';
import type { HostModel } from '../actors/tolaria/host/host-model.ts';

export interface SeedProbe {
  readonly host: HostModel;
  /** The epoch being trained and the current base learning rate (a seed's group trains at it). */
  readonly epoch: number;
  readonly learningRate: number;
  /** The host's validation loss on the probe samples with `grafts`. */
  probeLoss(grafts: GraftTable): number;
  /** A batch of probe samples; the caller disposes its tensors. */
  probeBatch(size?: number): Batch;
}

export class TrainingSurface {
  readonly grafts = new GraftTable();
  /** The run in progress (set by the trainer while it runs), null between runs. */
  probe: SeedProbe | null = null;
}
