// The training thread's side of a data-parallel run: N replicas, replica 0 being the training thread itself and
// 1…N−1 worker threads (replica-worker.ts). Each step the batch is cut into shards (shards.ts), the current weights
// go to shared memory, every live replica computes its shard while the training thread computes shard 0, and the
// shards' gradients are summed in replica order, each weighed by its share of the batch. The training thread keeps
// the only optimizer and the only authoritative weights: checkpoints, rollback and resume see one copy.
//
// A replica that dies or does not answer within `stepTimeoutMs` is replaced under supervision (restart intensity
// and backoff from supervision/): meanwhile the training thread computes its shard itself, with the same numbers
// the replica would have given, so the step is retried in place and the run's results do not depend on it.
import { performance } from 'node:perf_hooks';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { serializeModule, type BlueprintModule } from '../../../blueprints/index.ts';
import { startTsWorker } from '../../../runtime/ts-worker.ts';
import type { GraftTable } from '../../../surface/index.ts';
import { restartDelayMs, type BackoffPolicy } from '../../../supervision/backoff.ts';
import { recordRestart, type IntensityLimit } from '../../../supervision/restart-intensity.ts';
import { tf } from '../../../tensor/index.ts';
import type { Batch } from '../data/batches.ts';
import type { HostConfig, HostModel } from '../host/host-model.ts';
import { shardGradients, type GradientSource, type ShardGradients } from '../training/epoch.ts';
import { planLayout, layoutSignature, type PlannedVariable, type ReplicaLayout } from './replica-layout.ts';
import {
  CONTROL,
  CONTROL_INTS,
  type FromReplica,
  type GraftView,
  type ReplicaInit,
  type ToReplica,
} from './replica-protocol.ts';
import { largestShard, shardBatch, type Shard } from './shards.ts';

export interface ReplicaSetOptions {
  /** Replicas in all, the training thread included (>= 2: one replica is a plain run). */
  replicas: number;
  host: HostConfig;
  rngSeed: number;
  /** The training thread's tensor backend (tf.getBackend()). */
  backend: string;
  inputShape: readonly number[];
  classes: number;
  batchSize: number;
  /** A replica that has not answered a step after this long is taken for dead. */
  stepTimeoutMs: number;
  /** Restarts allowed per replica within a period before it is given up (the run goes on with fewer). */
  restartLimit?: IntensityLimit;
  backoff?: BackoffPolicy;
  onEvent?: (event: ReplicaEvent) => void;
}

export type ReplicaEvent =
  | { kind: 'started'; replica: number; incarnation: number }
  | { kind: 'failed'; replica: number; reason: string }
  | { kind: 'restarting'; replica: number; delayMs: number }
  /** Too many restarts: the training thread computes this replica's shard from now on. */
  | { kind: 'abandoned'; replica: number; reason: string };

const DEFAULT_REPLICA_RESTART_LIMIT: IntensityLimit = { intensity: 5, periodMs: 60_000 };
const DEFAULT_REPLICA_BACKOFF: BackoffPolicy = { baseMs: 100, maxMs: 5_000, jitter: 0, stableMs: 60_000 };

interface Replica {
  readonly index: number;
  state: 'starting' | 'ready' | 'dead' | 'abandoned';
  worker: Worker | null;
  port: MessagePort | null;
  incarnation: number;
  control: Int32Array<ArrayBufferLike>;
  results: Float64Array<ArrayBufferLike>;
  input: Float32Array<ArrayBufferLike>;
  labels: Int32Array<ArrayBufferLike>;
  grads: Float32Array<ArrayBufferLike>;
  gradBuffer: SharedArrayBuffer | null;
  /** The layout version and modules the worker holds. */
  layoutVersion: number;
  modules: Set<number>;
  seq: number;
  restartHistory: number[];
  failures: number;
  restartTimer: NodeJS.Timeout | null;
}

/** A step's variables under the keys replicas know them by, and the grafts' modules by id. */
interface StepKeys {
  variables: Map<string, tf.Variable>;
  byVariable: Map<tf.Variable, string>;
  modules: Map<number, BlueprintModule>;
}

const WORKER_ENTRY = new URL('./replica-worker.ts', import.meta.url);

export class ReplicaSet implements GradientSource {
  readonly size: number;
  readonly counters = { steps: 0, localShards: 0, failures: 0, restarts: 0 };
  readonly #options: ReplicaSetOptions;
  readonly #replicas: Replica[] = [];
  readonly #moduleIds = new WeakMap<BlueprintModule, number>();
  #nextModuleId = 1;
  #layout: ReplicaLayout | null = null;
  #weights: Float32Array<ArrayBufferLike> = new Float32Array(0);
  #weightBuffer: SharedArrayBuffer | null = null;
  #prepared: {
    host: HostModel;
    grafts: GraftTable | undefined;
    graftVersion: number;
    trained: tf.Variable[];
    keys: StepKeys;
    layout: ReplicaLayout;
  } | null = null;
  #waiters: Array<() => void> = [];
  #disposed = false;

  constructor(options: ReplicaSetOptions) {
    if (!Number.isInteger(options.replicas) || options.replicas < 2)
      throw new RangeError(`a replica set needs at least 2 replicas, got ${options.replicas}`);
    this.#options = options;
    this.size = options.replicas;
    for (let index = 1; index < options.replicas; index++) {
      const replica = this.#blank(index);
      this.#replicas.push(replica);
      this.#start(replica);
    }
  }

  /** Resolves once every replica not given up is running (a run trains meanwhile, its shards computed here). */
  ready(): Promise<void> {
    if (this.#replicas.every((r) => r.state === 'ready' || r.state === 'abandoned')) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(() => void this.ready().then(resolve)));
  }

  /** Each worker replica's state, in replica order (1…N−1). */
  states(): string[] {
    return this.#replicas.map((r) => r.state);
  }

  /** Stops a replica's worker as a crash would (drills and tests): it is noticed and replaced like one. */
  kill(replica: number): Promise<number> {
    const target = this.#replicas[replica - 1];
    if (!target?.worker) return Promise.resolve(0);
    return target.worker.terminate();
  }

  gradients(host: HostModel, variables: tf.Variable[], batch: Batch, grafts?: GraftTable): ShardGradients {
    this.counters.steps += 1;
    const shards = shardBatch(batch.size, this.size);
    const { keys, layout } = this.#prepare(host, variables, grafts);
    for (const entry of layout.weights) this.#weights.set(keys.variables.get(entry.key)!.dataSync(), entry.offset);
    const values = batch.values;
    const features = values.length / batch.size;
    const views = grafts ? this.#graftViews(grafts) : [];
    const sent: Array<{ shard: Shard; replica: Replica }> = [];
    const local: Shard[] = [];
    for (const shard of shards) {
      const replica = shard.replica === 0 ? null : this.#replicas[shard.replica - 1]!;
      if (replica?.state === 'ready' && this.#dispatch(replica, shard, layout, keys, values, features, batch, views))
        sent.push({ shard, replica });
      else local.push(shard);
    }
    const parts = new Map<number, ShardGradients>();
    const computeHere = (shard: Shard): void => {
      const x = tf.tensor(values.subarray(shard.start * features, shard.end * features), [
        shard.end - shard.start,
        ...this.#options.inputShape,
      ]);
      const labels = batch.labels.subarray(shard.start, shard.end);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), this.#options.classes).toFloat();
      parts.set(shard.replica, shardGradients(host, variables, x, y, labels, grafts, shard.weight));
      if (shard.replica !== 0) this.counters.localShards += 1;
    };
    for (const shard of local) computeHere(shard);
    for (const { shard, replica } of sent) {
      const answer = this.#collect(replica, grafts);
      if (answer === true) parts.set(shard.replica, this.#received(replica, layout, variables));
      else {
        this.#fail(replica, answer);
        computeHere(shard);
      }
    }
    return combine(shards, parts);
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.all(
      this.#replicas.map(async (replica) => {
        if (replica.restartTimer) clearTimeout(replica.restartTimer);
        replica.state = 'abandoned';
        replica.port?.close();
        await replica.worker?.terminate();
      }),
    );
    this.#notify();
  }

  #blank(index: number): Replica {
    return {
      index,
      state: 'starting',
      worker: null,
      port: null,
      incarnation: 0,
      control: new Int32Array(0),
      results: new Float64Array(0),
      input: new Float32Array(0),
      labels: new Int32Array(0),
      grads: new Float32Array(0),
      gradBuffer: null,
      layoutVersion: -1,
      modules: new Set(),
      seq: 0,
      restartHistory: [],
      failures: 0,
      restartTimer: null,
    };
  }

  /** A fresh worker with fresh buffers (nothing of a dead incarnation's step count or layout carries over). */
  #start(replica: Replica): void {
    const { host, rngSeed, backend, inputShape, classes, batchSize } = this.#options;
    const shard = largestShard(batchSize, this.size);
    const features = inputShape.reduce((n, d) => n * d, 1);
    const buffers = {
      control: new SharedArrayBuffer(CONTROL_INTS * 4),
      results: new SharedArrayBuffer(2 * 8),
      input: new SharedArrayBuffer(shard * features * 4),
      labels: new SharedArrayBuffer(shard * 4),
    };
    const { port1, port2 } = new MessageChannel();
    const init: ReplicaInit = {
      replica: replica.index,
      host,
      rngSeed,
      backend,
      inputShape: [...inputShape],
      classes,
      ...buffers,
      port: port2,
    };
    replica.incarnation += 1;
    const incarnation = replica.incarnation;
    Object.assign(replica, {
      state: 'starting',
      port: port1,
      control: new Int32Array(buffers.control),
      results: new Float64Array(buffers.results),
      input: new Float32Array(buffers.input),
      labels: new Int32Array(buffers.labels),
      grads: new Float32Array(0),
      gradBuffer: null,
      layoutVersion: -1,
      modules: new Set<number>(),
      seq: 0,
      restartTimer: null,
    });
    const worker = startTsWorker(WORKER_ENTRY, { workerData: init, transferList: [port2] });
    worker.unref();
    replica.worker = worker;
    const current = (): boolean => replica.worker === worker && !this.#disposed;
    worker.on('message', (message: FromReplica) => {
      if (message.kind !== 'ready' || !current()) return;
      replica.state = 'ready';
      this.#options.onEvent?.({ kind: 'started', replica: replica.index, incarnation });
      this.#notify();
    });
    worker.on('error', (error) => {
      if (current()) this.#fail(replica, `crashed: ${error.message}`);
    });
    worker.on('exit', (code) => {
      if (current()) this.#fail(replica, `exited (code ${code})`);
    });
  }

  /** The replica is out: replaced after a backoff, or given up when it has restarted too often. */
  #fail(replica: Replica, reason: string): void {
    if (replica.state === 'dead' || replica.state === 'abandoned') return;
    this.counters.failures += 1;
    replica.state = 'dead';
    const worker = replica.worker;
    replica.worker = null;
    replica.port?.close();
    void worker?.terminate();
    this.#options.onEvent?.({ kind: 'failed', replica: replica.index, reason });
    if (this.#disposed) return;
    const limit = this.#options.restartLimit ?? DEFAULT_REPLICA_RESTART_LIMIT;
    const { history, exceeded } = recordRestart(replica.restartHistory, Date.now(), limit);
    replica.restartHistory = history;
    if (exceeded) {
      replica.state = 'abandoned';
      this.#options.onEvent?.({
        kind: 'abandoned',
        replica: replica.index,
        reason: `${history.length} failures within ${limit.periodMs} ms (last: ${reason})`,
      });
      this.#notify();
      return;
    }
    replica.failures += 1;
    const delayMs = restartDelayMs(this.#options.backoff ?? DEFAULT_REPLICA_BACKOFF, replica.failures);
    this.#options.onEvent?.({ kind: 'restarting', replica: replica.index, delayMs });
    replica.restartTimer = setTimeout(() => {
      this.counters.restarts += 1;
      if (!this.#disposed) this.#start(replica);
    }, delayMs);
    replica.restartTimer.unref();
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Every variable the forward pass reads, under the keys replicas know them by. */
  #keys(host: HostModel, grafts?: GraftTable): StepKeys {
    const variables = new Map<string, tf.Variable>();
    const modules = new Map<number, BlueprintModule>();
    for (const [name, variable] of host.variables) variables.set(`host/${name}`, variable);
    for (const graft of grafts?.all() ?? []) {
      const id = this.#moduleId(graft.module);
      modules.set(id, graft.module);
      for (const [name, variable] of graft.module.variables) variables.set(`module:${id}/${name}`, variable);
    }
    return { variables, modules, byVariable: new Map([...variables].map(([key, variable]) => [variable, key])) };
  }

  #moduleId(module: BlueprintModule): number {
    let id = this.#moduleIds.get(module);
    if (id === undefined) {
      id = this.#nextModuleId++;
      this.#moduleIds.set(module, id);
    }
    return id;
  }

  /** The current layout, planned again (with new shared buffers) when the variables changed. */
  #plan(keys: StepKeys, trained: tf.Variable[]): ReplicaLayout {
    const weights: PlannedVariable[] = [...keys.variables].map(([key, v]) => ({ key, shape: v.shape }));
    const gradKeys = trained.map((variable) => {
      const key = keys.byVariable.get(variable);
      if (key === undefined)
        throw new RangeError(`variable ${variable.name} is trained but neither the host's nor a graft's`);
      return key;
    });
    if (this.#layout?.signature === layoutSignature(weights, gradKeys)) return this.#layout;
    this.#layout = planLayout((this.#layout?.version ?? 0) + 1, weights, gradKeys);
    this.#weightBuffer = new SharedArrayBuffer(this.#layout.weightFloats * 4);
    this.#weights = new Float32Array(this.#weightBuffer);
    return this.#layout;
  }

  /** The keys and layout of this step: the last step's while the host, the grafts and the trained set are the same. */
  #prepare(host: HostModel, trained: tf.Variable[], grafts?: GraftTable): { keys: StepKeys; layout: ReplicaLayout } {
    const last = this.#prepared;
    const graftVersion = grafts?.version ?? -1;
    if (
      last &&
      last.host === host &&
      last.grafts === grafts &&
      last.graftVersion === graftVersion &&
      last.trained.length === trained.length &&
      last.trained.every((variable, i) => variable === trained[i])
    )
      return last;
    const keys = this.#keys(host, grafts);
    this.#prepared = { host, grafts, graftVersion, trained: [...trained], keys, layout: this.#plan(keys, trained) };
    return this.#prepared;
  }

  #graftViews(grafts: GraftTable): GraftView[] {
    return grafts.all().map((graft) => ({
      moduleId: this.#moduleId(graft.module),
      seedId: graft.seedId,
      slotId: graft.slotId,
      stage: graft.stage,
      alpha: graft.alpha,
      ...(graft.failure !== undefined ? { failure: graft.failure } : {}),
    }));
  }

  /** Hands a replica its shard (and the layout, if it holds an older one); false if it could not be posted. */
  #dispatch(
    replica: Replica,
    shard: Shard,
    layout: ReplicaLayout,
    keys: StepKeys,
    values: Float32Array,
    features: number,
    batch: Batch,
    grafts: GraftView[],
  ): boolean {
    const port = replica.port!;
    try {
      if (replica.layoutVersion !== layout.version) {
        replica.gradBuffer = new SharedArrayBuffer(layout.gradFloats * 4);
        replica.grads = new Float32Array(replica.gradBuffer);
        const keep = [...new Set(grafts.map((view) => view.moduleId))];
        const modules = keep
          .filter((id) => !replica.modules.has(id))
          .map((id) => ({ id, bytes: serializeModule(keys.modules.get(id)!) }));
        port.postMessage({
          kind: 'layout',
          layout,
          weights: this.#weightBuffer!,
          grads: replica.gradBuffer,
          modules,
          keep,
        } satisfies ToReplica);
        replica.modules = new Set(keep);
        replica.layoutVersion = layout.version;
      }
      replica.input.set(values.subarray(shard.start * features, shard.end * features));
      replica.labels.set(batch.labels.subarray(shard.start, shard.end));
      replica.seq += 1;
      port.postMessage({
        kind: 'step',
        seq: replica.seq,
        layout: layout.version,
        size: shard.end - shard.start,
        weight: shard.weight,
        grafts,
      } satisfies ToReplica);
    } catch (error) {
      this.#fail(replica, `could not be sent its shard: ${(error as Error).message}`);
      return false;
    }
    Atomics.store(replica.control, CONTROL.seq, replica.seq);
    Atomics.notify(replica.control, CONTROL.seq);
    return true;
  }

  /** Waits for a replica's answer: true, or why there is none. */
  #collect(replica: Replica, grafts?: GraftTable): true | string {
    const deadline = performance.now() + this.#options.stepTimeoutMs;
    for (;;) {
      const done = Atomics.load(replica.control, CONTROL.done);
      if (done === replica.seq) break;
      const left = deadline - performance.now();
      if (left <= 0) return `did not answer step ${replica.seq} within ${this.#options.stepTimeoutMs} ms`;
      Atomics.wait(replica.control, CONTROL.done, done, left);
    }
    let failure: string | null = null;
    for (let message = receiveMessageOnPort(replica.port!); message; message = receiveMessageOnPort(replica.port!)) {
      const reply = message.message as FromReplica;
      if (reply.kind === 'step_failed') failure = reply.message;
      else if (reply.kind === 'module_failed') {
        const graft = grafts?.bySeed(reply.seedId);
        if (graft && graft.failure === undefined) graft.failure = reply.message;
      }
    }
    if (Atomics.load(replica.control, CONTROL.status) !== 0)
      return `step ${replica.seq} failed: ${failure ?? 'no reason given'}`;
    return true;
  }

  /** A replica's shard as tensors (copied out of its buffers, which the next step rewrites). */
  #received(replica: Replica, layout: ReplicaLayout, variables: tf.Variable[]): ShardGradients {
    const grads: tf.NamedTensorMap = {};
    for (const [i, entry] of layout.grads.entries())
      grads[variables[i]!.name] = tf.tensor(
        replica.grads.slice(entry.offset, entry.offset + entry.size),
        entry.shape as number[],
      );
    return {
      loss: tf.scalar(replica.results[0]!),
      correct: tf.scalar(replica.results[1]!),
      grads,
    };
  }
}

/**
 * The batch's loss and gradients from its shards' (each already weighed by its share): their sum in replica order,
 * a fixed order, as floating-point sums depend on it. A variable without a gradient on the training thread's shard
 * has none in the step either.
 */
function combine(shards: readonly Shard[], parts: ReadonlyMap<number, ShardGradients>): ShardGradients {
  const ordered = shards.map((shard) => parts.get(shard.replica)!);
  const sum = (pick: (part: ShardGradients) => tf.Tensor | undefined): tf.Tensor => {
    let total = pick(ordered[0]!)!;
    for (const part of ordered.slice(1)) {
      const value = pick(part);
      if (value) total = tf.add(total, value);
    }
    return total;
  };
  const grads: tf.NamedTensorMap = {};
  for (const name of Object.keys(ordered[0]!.grads)) grads[name] = sum((part) => part.grads[name]);
  return { loss: sum((part) => part.loss) as tf.Scalar, correct: sum((part) => part.correct) as tf.Scalar, grads };
}
