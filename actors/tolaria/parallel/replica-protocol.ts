// What the training thread and a replica's worker say to each other. Small messages go over a MessagePort that
// the worker reads synchronously (receiveMessageOnPort) when woken; tensors' values go through shared memory; the
// wake-ups and the "done" go through Atomics on a shared Int32Array, so a step costs no event-loop turn on either
// side and the training step stays synchronous, as with one replica.
import type { MessagePort } from 'node:worker_threads';
import type { HostConfig } from '../host/host-model.ts';
import type { ReplicaLayout } from './replica-layout.ts';

/** Slots of the control Int32Array. */
export const CONTROL = {
  /** The step the training thread asks for (incremented per step). */
  seq: 0,
  /** The last step the replica finished. */
  done: 1,
  /** 0: that step went well; 1: it failed (the error follows on the port). */
  status: 2,
} as const;
export const CONTROL_INTS = 4;

/** The worker's start-up data (workerData). */
export interface ReplicaInit {
  readonly replica: number;
  readonly host: HostConfig;
  readonly rngSeed: number;
  /** The tensor backend the training thread runs on: a replica computes bit for bit as it would. */
  readonly backend: string;
  readonly inputShape: readonly number[];
  readonly classes: number;
  /** Room for the largest shard: input values and labels. */
  readonly input: SharedArrayBuffer;
  readonly labels: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  /** loss, correct (Float64). */
  readonly results: SharedArrayBuffer;
  /** The worker's end of the channel for step and layout messages (read with receiveMessageOnPort). */
  readonly port: MessagePort;
}

export interface ModuleTransfer {
  readonly id: number;
  /** blueprints/serialize.ts bytes. */
  readonly bytes: Uint8Array;
}

/** A graft as a step needs it in a replica. */
export interface GraftView {
  readonly moduleId: number;
  readonly seedId: string;
  readonly slotId: string;
  readonly stage: number;
  readonly alpha: number;
  /** Set when the module threw on the training thread: the replica bypasses it too. */
  readonly failure?: string;
}

export type ToReplica =
  | {
      kind: 'layout';
      layout: ReplicaLayout;
      weights: SharedArrayBuffer;
      grads: SharedArrayBuffer;
      /** Modules the replica does not hold yet. */
      modules: ModuleTransfer[];
      /** Every module the layout uses (the replica frees the others). */
      keep: number[];
    }
  /** `weight`: the shard's share of the batch (its loss is weighed by it). */
  | { kind: 'step'; seq: number; layout: number; size: number; weight: number; grafts: GraftView[] };

export type FromReplica =
  | { kind: 'ready'; replica: number }
  /** A seed's module threw in this replica's forward pass (graft-forward.ts bypasses it from then on). */
  | { kind: 'module_failed'; seedId: string; message: string }
  | { kind: 'step_failed'; seq: number; message: string };
