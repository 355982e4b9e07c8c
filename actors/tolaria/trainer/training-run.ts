// One training run as plain code (no actors): the data, the host and its grafts, the optimizer, checkpoints, fast
// snapshots and the loss watch. The trainer actor drives it in time slices; tests drive it directly. It trains
// step by step so a slice can end at any step, and it detects a faulty loss at the step that produced it.
import { join } from 'node:path';
import { leyline, type v1 } from '../../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../../contracts/codec.ts';
import { tf } from '../../../tensor/index.ts';
import { performance } from 'node:perf_hooks';
import { CheckpointStore, type SkippedCheckpoint } from '../checkpoint/checkpoint-store.ts';
import { restoreFromCheckpoint } from '../checkpoint/full-restore.ts';
import {
  LossWatch,
  RollbackPlanner,
  type FaultReason,
  type RollbackOutcome,
  type RollbackTrigger,
} from '../checkpoint/rollback.ts';
import { SnapshotRing } from '../checkpoint/snapshot-ring.ts';
import {
  captureVariables,
  restoreVariables,
  TRAINING_STATE_FORMAT,
  type OptimizerState,
  type SavedSeed,
  type TensorMap,
  type TrainingState,
} from '../checkpoint/training-state.ts';
import { Batcher, type Batch } from '../data/batches.ts';
import { loadIdxDataset } from '../data/dataset.ts';
import { prepareDataset, type PreparedDataset } from '../data/prepare.ts';
import { spiralsDataset } from '../data/synthetic.ts';
import { featureCount, takeRows, type Dataset, type Split } from '../data/types.ts';
import { GraftTable, measureIsolation, type IsolationMeasurement, type SeedProbe } from '../../../surface/index.ts';
import { buildHost, type HostModel, type SlotActivationStats } from '../host/host-model.ts';
import { GroupedOptimizer, HOST_GROUP_ID } from '../optim/grouped-optimizer.ts';
import { learningRate } from '../optim/lr-schedule.ts';
import { ReplicaSet, type ReplicaEvent } from '../parallel/replica-set.ts';
import { EpochTally, evaluate, trainStep, type EpochStats, type EvaluationStats } from '../training/epoch.ts';
import { TolariaConfigError, type DatasetConfig, type TolariaSettings } from './settings.ts';

const EVAL_BATCH = 512;
const SEED_GROUP_PREFIX = 'seed:';
export const seedGroup = (seedId: string): string => `${SEED_GROUP_PREFIX}${seedId}`;

const { SeedLifecycleStage: Stage } = leyline;
/** Stages in which a seed's module is in the forward pass with trainable weights (graft-forward.ts). */
const TRAINED_STAGES: ReadonlySet<number> = new Set([
  Stage.SEED_STAGE_TRAINING,
  Stage.SEED_STAGE_BLENDING,
  Stage.SEED_STAGE_SHADOWING,
  Stage.SEED_STAGE_PROBATIONARY,
  Stage.SEED_STAGE_FOSSILIZED,
]);

export interface OpenRunOptions {
  runId: string;
  /** The run's directory: checkpoints go to `<runDir>/checkpoints`. */
  runDir: string;
  /** Continue from the newest good checkpoint (a fresh start when there is none). */
  resume?: boolean;
  /** The data, already loaded (tests share one copy); default: loaded from `settings.dataset`. */
  dataset?: Dataset;
  /**
   * The process-local graft table Kasmina's seeds write (docs/architecture.md#the-training-surface); default: a table
   * of the run's own.
   */
  grafts?: GraftTable;
  /** What a data-parallel run's replicas go through (started, failed, restarting, abandoned). */
  onReplicaEvent?: (event: ReplicaEvent) => void;
}

/** How a seed's training went since the last report (see `drainSeedStats`). */
interface SeedTally {
  steps: number;
  gradNormMax: number;
  nonFinite: number;
  lossSum: number;
}

/** Validation samples the seed probes use (G4 compares the host with and without a seed on them). */
const PROBE_SAMPLES = 1024;

export interface ResumeReport {
  /** The epoch the checkpoint closed. */
  epoch: number;
  skipped: SkippedCheckpoint[];
  /** An older checkpoint (format 1): the host only, no seeds and no history. */
  legacy: boolean;
  /** The grown network the checkpoint held (restoreSeeds puts it back). */
  network: SavedNetwork;
  /** The epoch judge's state at the checkpoint. */
  judge: Record<string, number>;
}

/** Seeds as a checkpoint or snapshot held them — Kasmina's records and their modules' weights — with the optimizer state. */
export interface SavedNetwork {
  seeds: Array<{ record: v1.SeedRecord; weights: TensorMap }>;
  optimizer: OptimizerState | null;
}

/** A rollback carried out; `network`: the seeds of the state it went back to (null: not known, the seeds stay as they are). */
export type RunRollback = RollbackOutcome & { network: SavedNetwork | null };

export type SliceResult =
  | { kind: 'progress'; steps: number }
  /** The epoch's last batch has been trained on. */
  | { kind: 'epoch_end'; steps: number }
  /** A faulty loss; the rollback has been carried out (see `rollback`). */
  | { kind: 'fault'; steps: number; reason: FaultReason; loss: number; rollback: RunRollback };

export interface EpochResult {
  epoch: number;
  train: EpochStats;
  validation: EvaluationStats;
  slotStats: Map<string, SlotActivationStats>;
}

export function loadDataset(config: DatasetConfig): Dataset {
  switch (config.kind) {
    case 'mnist':
      return loadIdxDataset();
    case 'idx': {
      const { kind: _kind, dir, ...options } = config;
      return loadIdxDataset(dir, options);
    }
    case 'spirals': {
      const { kind: _kind, ...options } = config;
      return spiralsDataset(options);
    }
  }
}

const limitSplit = (split: Split, limit: number | null): Split =>
  limit === null || limit >= split.n
    ? split
    : takeRows(
        split,
        Array.from({ length: limit }, (_, i) => i),
      );

/** The loss watch's window as a checkpoint keeps it. */
function recent(watch: LossWatch): { recentLosses: number[]; recentLossSum: number } {
  const { losses, sum } = watch.snapshot();
  return { recentLosses: losses, recentLossSum: sum };
}

/** A model's variables under stable names that say whose they are (`host/…`, `seed/<id>/…`). */
const prefixed = (prefix: string, variables: ReadonlyMap<string, tf.Variable>): Map<string, tf.Variable> =>
  new Map([...variables].map(([name, v]) => [`${prefix}/${name}`, v]));

/** Kasmina's seeds measure themselves through it (`SeedProbe`, surface/). */
export class TrainingRun implements SeedProbe {
  readonly host: HostModel;
  readonly grafts: GraftTable;
  readonly optimizer: GroupedOptimizer;
  readonly checkpoints: CheckpointStore;
  readonly snapshots: SnapshotRing;
  readonly lossWatch: LossWatch;
  readonly planner: RollbackPlanner;
  readonly data: PreparedDataset;
  readonly trainBatches: Batcher;
  readonly validationBatches: Batcher;
  readonly testBatches: Batcher;
  /** The other replicas of a data-parallel run (null: one replica, this thread). */
  readonly replicas: ReplicaSet | null;
  readonly counters = { steps: 0, faults: 0, rollbacks: 0, snapshots: 0, checkpoints: 0 };
  /** The epoch being trained (0-based). */
  epoch = 0;
  /** Optimizer steps applied, over the whole run (a rollback sets it back to the restored state's). */
  globalStep = 0;
  resumed: ResumeReport | null = null;
  /** Every finished epoch's validation loss, oldest first (the packet carries it; a checkpoint keeps it). */
  readonly validationLosses: number[] = [];
  #batches: Generator<Batch, void, undefined> | null = null;
  /** The graft table's version the optimizer groups were last matched to. */
  #graftVersion = 0;
  readonly #seedTallies = new Map<string, SeedTally>();
  #probeBatches: Batcher | null = null;
  #tally = new EpochTally();
  #disposed = false;

  private constructor(
    readonly settings: TolariaSettings,
    readonly options: OpenRunOptions,
    dataset: Dataset,
  ) {
    const limited: Dataset = {
      ...dataset,
      train: limitSplit(dataset.train, settings.limit.train),
      test: limitSplit(dataset.test, settings.limit.test),
    };
    const inputs = featureCount(dataset.inputShape);
    const host = settings.host;
    const hostInputs = host.kind === 'mlp' ? host.inputs : featureCount(host.inputShape);
    if (hostInputs !== inputs || host.classes !== dataset.classes) {
      throw new TolariaConfigError(
        'tolaria.host',
        `takes ${hostInputs} features and ${host.classes} classes; the dataset has ${inputs} features [${dataset.inputShape.join(', ')}] and ${dataset.classes} classes (set tolaria.host to match)`,
      );
    }
    this.data = prepareDataset(limited, { rngSeed: settings.rngSeed, validationFraction: settings.validationFraction });
    const batcher = (split: Split, batchSize: number, shuffle: boolean): Batcher =>
      new Batcher(split, {
        batchSize,
        inputShape: dataset.inputShape,
        classes: dataset.classes,
        rngSeed: settings.rngSeed,
        shuffle,
      });
    this.trainBatches = batcher(this.data.train, settings.batchSize, true);
    this.validationBatches = batcher(this.data.validation, EVAL_BATCH, false);
    this.testBatches = batcher(this.data.test, EVAL_BATCH, false);
    this.host = buildHost(host, settings.rngSeed);
    this.grafts = options.grafts ?? new GraftTable();
    this.optimizer = new GroupedOptimizer(settings.optimizer);
    this.optimizer.setGroup(HOST_GROUP_ID, prefixed('host', this.host.variables), { step: 0, force: true });
    this.checkpoints = new CheckpointStore(join(options.runDir, 'checkpoints'), { keep: settings.checkpoints.keep });
    this.snapshots = new SnapshotRing({ capBytes: settings.rollback.capBytes });
    this.lossWatch = new LossWatch({
      window: settings.rollback.lossWindow,
      explosionFactor: settings.rollback.explosionFactor,
    });
    this.replicas =
      settings.parallel.replicas > 1
        ? new ReplicaSet({
            replicas: settings.parallel.replicas,
            host,
            rngSeed: settings.rngSeed,
            backend: tf.getBackend(),
            inputShape: dataset.inputShape,
            classes: dataset.classes,
            batchSize: settings.batchSize,
            stepTimeoutMs: settings.parallel.stepTimeoutMs,
            ...(options.onReplicaEvent ? { onEvent: options.onReplicaEvent } : {}),
          })
        : null;
    this.planner = new RollbackPlanner({
      snapshots: this.snapshots,
      fastDeadlineMs: settings.rollback.fastDeadlineMs,
      fullDeadlineMs: settings.rollback.fullDeadlineMs,
    });
  }

  /** Loads the data, builds the host and optimizer, and (with `resume`) restores the newest good checkpoint. */
  static async open(settings: TolariaSettings, options: OpenRunOptions): Promise<TrainingRun> {
    const run = new TrainingRun(settings, options, options.dataset ?? loadDataset(settings.dataset));
    try {
      if (options.resume) await run.#resume();
    } catch (error) {
      run.dispose();
      throw error;
    }
    return run;
  }

  get stepsPerEpoch(): number {
    return this.trainBatches.stepsPerEpoch;
  }

  /** Steps trained so far in the current epoch. */
  get stepInEpoch(): number {
    return this.#tally.steps;
  }

  get finished(): boolean {
    return this.epoch >= this.settings.epochs;
  }

  get learningRate(): number {
    return this.optimizer.learningRate;
  }

  /**
   * Trains until about `budgetMs` have passed, the epoch ends, `stopAtStep` (a control boundary) is reached, or a
   * step's loss is a fault — which is rolled back before returning. A slice also ends before a snapshot is due, so
   * each snapshot is taken at the start of one: `seedRecords` (Kasmina's, as of the last exchange) go into it.
   */
  async trainFor(
    budgetMs: number,
    stopAtStep?: number,
    seedRecords?: () => Promise<v1.SeedRecord[] | null>,
  ): Promise<SliceResult> {
    const started = performance.now();
    let steps = 0;
    this.#batches ??= this.trainBatches.epoch(this.epoch);
    const every = this.settings.rollback.snapshotEverySteps;
    if (this.#tally.steps === 0 || this.globalStep % every === 0)
      await this.snapshot(seedRecords ? await seedRecords() : null);
    // After the snapshot (asking Kasmina lets a command outside the boundaries graft meanwhile): the steps below
    // train every graft in the table.
    if (this.grafts.version !== this.#graftVersion) await this.#matchSeedGroups();
    const stop = Math.min(stopAtStep ?? Infinity, (Math.floor(this.globalStep / every) + 1) * every);
    while (performance.now() - started < budgetMs && this.globalStep < stop) {
      const next = this.#batches.next();
      if (next.done) return { kind: 'epoch_end', steps };
      const stepStarted = performance.now();
      const stats = trainStep(this.host, this.optimizer, next.value, this.grafts, this.replicas ?? undefined);
      this.#tallySeeds(stats.groupNorms, stats.loss);
      const verdict = this.lossWatch.observe(stats.loss);
      steps += 1;
      this.counters.steps += 1;
      if (verdict.fault) {
        this.counters.faults += 1;
        // The faulty loss came from the weights held at this step: restore a snapshot from before them.
        const rollback = await this.rollback(verdict.reason, this.globalStep);
        return { kind: 'fault', steps, reason: verdict.reason, loss: stats.loss, rollback };
      }
      this.#tally.add(stats, (performance.now() - stepStarted) / 1000);
      this.globalStep += 1;
      if (this.settings.lrSchedule) {
        this.optimizer.setLearningRate(
          learningRate(this.settings.lrSchedule, this.settings.optimizer.learningRate, this.globalStep, this.epoch),
        );
      }
      if (this.#tally.steps >= this.stepsPerEpoch) return { kind: 'epoch_end', steps };
    }
    return { kind: 'progress', steps };
  }

  /**
   * Keeps the state before the next step in the fast tier: the host's weights, the optimizer, and — given Kasmina's
   * records (null: unknown) — every seed with its module's weights.
   */
  async snapshot(records: readonly v1.SeedRecord[] | null = null): Promise<void> {
    const [weights, optimizer, seeds] = await Promise.all([
      captureVariables(this.host.variables),
      this.optimizer.captureState(),
      records ? this.#captureSeeds(records) : null,
    ]);
    if (this.snapshots.push(this.globalStep, { epoch: this.epoch, weights, optimizer, seeds }).stored)
      this.counters.snapshots += 1;
  }

  /**
   * Restores the newest snapshot taken before `faultStep` (fast tier), else the last good checkpoint (full tier),
   * each under its deadline. The step counter follows the restored state; the epoch's data goes on from where it
   * was (the faulty batch is not replayed). The seeds of the restored state come back with the outcome: Kasmina
   * must bring its seeds to them, then `restoreSeeds` their weights.
   */
  async rollback(trigger: RollbackTrigger, faultStep = this.globalStep): Promise<RunRollback> {
    this.counters.rollbacks += 1;
    let network: SavedNetwork | null = null;
    const outcome = await this.planner.rollback(faultStep, trigger, {
      fast: async (snapshot, signal) => {
        this.snapshots.restore(snapshot, { weights: this.host.variables });
        if (snapshot.optimizer && !signal.aborted) await this.optimizer.restoreState(snapshot.optimizer);
        this.globalStep = snapshot.step;
        network = snapshot.seeds
          ? {
              seeds: decodeSeeds(snapshot.seeds, `the snapshot of step ${snapshot.step}`),
              optimizer: snapshot.optimizer,
            }
          : null;
      },
      full: async (signal) => {
        const restored = await restoreFromCheckpoint(this.checkpoints, { weights: this.host.variables }, signal);
        if (!restored.restored) return { restored: false };
        await this.optimizer.restoreState(restored.state.optimizer);
        this.globalStep = restored.state.globalStep;
        if (restored.state.format !== 1)
          network = {
            seeds: decodeSeeds(restored.state.seeds, `the checkpoint of epoch ${restored.epoch}`),
            optimizer: restored.state.optimizer,
          };
        return { restored: true, epoch: restored.epoch };
      },
    });
    return { ...outcome, network: outcome.restored ? network : null };
  }

  /**
   * Closes the epoch (finished, or abandoned after too many faults): its training figures and a validation pass
   * (with per-slot activation statistics).
   */
  endEpoch(): EpochResult {
    const slotStats = new Map<string, SlotActivationStats>();
    const validation = evaluate(this.host, this.validationBatches, this.grafts, slotStats);
    this.validationLosses.push(validation.loss);
    const result = { epoch: this.epoch, train: this.#tally.result(), validation, slotStats };
    this.#batches?.return();
    this.#batches = null;
    this.#tally = new EpochTally();
    this.epoch += 1;
    return result;
  }

  /** True when every host weight is finite (a halted run's weights are checkpointed only then). */
  weightsFinite(): boolean {
    return tf.tidy(() => [...this.host.variables.values()].every((v) => tf.all(tf.isFinite(v)).dataSync()[0] === 1));
  }

  testAccuracy(): EvaluationStats {
    return evaluate(this.host, this.testBatches, this.grafts);
  }

  /**
   * Writes a checkpoint closing `this.epoch - 1` (the epoch just ended): the host, every seed Kasmina recorded with
   * its module's weights (from the graft table), the optimizer, and the history decisions read.
   */
  async checkpoint(
    metrics: Record<string, number>,
    seeds: readonly v1.SeedRecord[] = [],
    judge: Record<string, number> = {},
  ): Promise<void> {
    const [weights, optimizer, saved] = await Promise.all([
      captureVariables(this.host.variables),
      this.optimizer.captureState(),
      this.#captureSeeds(seeds),
    ]);
    const state: TrainingState = {
      format: TRAINING_STATE_FORMAT,
      runId: this.options.runId,
      epoch: Math.max(0, this.epoch - 1),
      globalStep: this.globalStep,
      weights,
      optimizer,
      // Every random draw derives from (rngSeed, epoch): shuffles from deriveRngSeed(rngSeed, epoch), weights rngSeed.
      rng: { rngSeed: this.settings.rngSeed, state: [this.epoch] },
      metrics,
      createdAt: new Date().toISOString(),
      seeds: saved,
      history: { validationLosses: [...this.validationLosses], ...recent(this.lossWatch), judge },
    };
    await this.checkpoints.save(state);
    this.counters.checkpoints += 1;
  }

  /**
   * Each grafted seed's steps since the last call (the batched per-step fence to Kasmina). Faulty steps count too:
   * a seed whose gradients went non-finite must hear of it even though the step was rolled back.
   */
  drainSeedStats(): v1.SeedStepStats[] {
    const out = [...this.#seedTallies].map(([seedId, tally]) =>
      leyline.SeedStepStats.create({
        seedId,
        steps: tally.steps,
        gradNormMax: tally.gradNormMax,
        nonFiniteSteps: tally.nonFinite,
        lossMean: tally.lossSum / tally.steps,
      }),
    );
    this.#seedTallies.clear();
    // A module that threw is reported until its seed takes it out of the table.
    for (const graft of this.grafts.all()) {
      if (graft.failure === undefined) continue;
      const stats =
        out.find((s) => s.seedId === graft.seedId) ??
        out[out.push(leyline.SeedStepStats.create({ seedId: graft.seedId, steps: 1 })) - 1]!;
      stats.error = graft.failure;
    }
    return out;
  }

  /** The host's validation loss on the probe samples with `grafts` (the live table, or one with a seed left out). */
  probeLoss(grafts: GraftTable): number {
    this.#probeBatches ??= new Batcher(limitSplit(this.data.validation, PROBE_SAMPLES), {
      batchSize: EVAL_BATCH,
      inputShape: this.data.inputShape,
      classes: this.data.classes,
      rngSeed: this.settings.rngSeed,
      shuffle: false,
    });
    return evaluate(this.host, this.#probeBatches, grafts).loss;
  }

  /** Gradient isolation of `seedId`'s graft in `grafts`, measured on a batch of probe samples. */
  probeIsolation(grafts: GraftTable, seedId: string): IsolationMeasurement {
    const batch = this.probeBatch();
    try {
      return measureIsolation({ host: this.host, grafts, seedId, batch });
    } finally {
      batch.x.dispose();
      batch.y.dispose();
    }
  }

  /** One batch of probe samples (the caller disposes its tensors). */
  probeBatch(size = 64): Batch {
    return this.validationBatches.batch(
      Int32Array.from({ length: Math.min(size, this.data.validation.n) }, (_, i) => i),
    );
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    void this.replicas?.dispose();
    this.#batches?.return();
    this.snapshots.clear();
    this.optimizer.dispose();
    this.host.dispose();
  }

  /**
   * One optimizer group per grafted seed whose module takes part in training, made when it first appears (the host's
   * and the other seeds' optimizer state are untouched), removed when it is detached. A FOSSILIZED seed is part of
   * the host for good: its group merges into the host's, state kept. A change the storm guard refuses is retried at
   * the next slice.
   */
  async #matchSeedGroups(): Promise<void> {
    const grafts = this.grafts.all();
    const wanted = new Map(
      grafts.filter((graft) => TRAINED_STAGES.has(graft.stage)).map((graft) => [seedGroup(graft.seedId), graft]),
    );
    let complete = true;
    for (const id of this.optimizer.groups())
      if (id !== HOST_GROUP_ID && !wanted.has(id)) this.optimizer.removeGroup(id);
    const inHost = new Set(this.optimizer.groupVariables().get(HOST_GROUP_ID));
    for (const [id, graft] of wanted) {
      if (this.optimizer.groups().includes(id)) continue;
      if ([...graft.module.variables.values()].some((v) => inHost.has(v))) continue;
      if (
        !this.optimizer.setGroup(id, prefixed(`seed/${graft.seedId}`, graft.module.variables), {
          step: this.globalStep,
        }).applied
      )
        complete = false;
    }
    // A fossilized seed's group joins the host's (a group made just now too: a resumed run's fossilized seeds).
    for (const [id, graft] of wanted) {
      if (graft.stage === Stage.SEED_STAGE_FOSSILIZED && this.optimizer.groups().includes(id))
        await this.optimizer.mergeGroup(id, HOST_GROUP_ID);
    }
    if (complete) this.#graftVersion = this.grafts.version;
  }

  #tallySeeds(groupNorms: Readonly<Record<string, number>>, loss: number): void {
    for (const [group, norm] of Object.entries(groupNorms)) {
      if (!group.startsWith(SEED_GROUP_PREFIX)) continue;
      const seedId = group.slice(SEED_GROUP_PREFIX.length);
      const tally = this.#seedTallies.get(seedId) ?? { steps: 0, gradNormMax: 0, nonFinite: 0, lossSum: 0 };
      tally.steps += 1;
      if (Number.isFinite(norm)) tally.gradNormMax = Math.max(tally.gradNormMax, norm);
      else tally.nonFinite += 1;
      if (Number.isFinite(loss)) tally.lossSum += loss;
      this.#seedTallies.set(seedId, tally);
    }
  }

  /** Each seed's module weights, as its graft holds them (a seed with no graft — culled, paused — keeps none). */
  async #captureSeeds(records: readonly v1.SeedRecord[]): Promise<SavedSeed[]> {
    return Promise.all(
      records.map(async (record) => {
        const graft = this.grafts.bySeed(record.seedId);
        return { record: encodeLeyline(record), weights: graft ? await captureVariables(graft.module.variables) : {} };
      }),
    );
  }

  async #resume(): Promise<void> {
    const restored = await restoreFromCheckpoint(this.checkpoints, { weights: this.host.variables });
    if (!restored.restored) return;
    const { state } = restored;
    await this.optimizer.restoreState(state.optimizer);
    this.globalStep = state.globalStep;
    this.epoch = restored.epoch + 1;
    this.validationLosses.splice(0, this.validationLosses.length, ...state.history.validationLosses);
    this.lossWatch.restore({ losses: state.history.recentLosses, sum: state.history.recentLossSum });
    const network = {
      seeds: decodeSeeds(state.seeds, `checkpoint of epoch ${restored.epoch}`),
      optimizer: state.optimizer,
    };
    this.resumed = {
      epoch: restored.epoch,
      skipped: restored.skipped,
      legacy: state.format === 1,
      network,
      judge: state.history.judge,
    };
  }

  /**
   * After Kasmina has brought its seeds to a saved network (a resumed run's checkpoint, a rollback's snapshot): each
   * module takes its saved weights, each seed its optimizer group, and the whole optimizer the saved state (by
   * variable name). Returns the seeds whose weights did not fit their module (Kasmina culls them).
   */
  async restoreSeeds(network: SavedNetwork): Promise<string[]> {
    const misfits: string[] = [];
    for (const { record, weights } of network.seeds) {
      const graft = this.grafts.bySeed(record.seedId);
      if (!graft || Object.keys(weights).length === 0) continue;
      try {
        restoreVariables(graft.module.variables, weights);
      } catch (error) {
        misfits.push(`${record.seedId}: ${(error as Error).message}`);
      }
    }
    await this.#matchSeedGroups();
    if (network.optimizer) await this.optimizer.restoreState(network.optimizer);
    return misfits;
  }
}

/** Saved seeds decoded; `where` names the checkpoint or snapshot in the error. */
function decodeSeeds(saved: readonly SavedSeed[], where: string): SavedNetwork['seeds'] {
  return saved.map(({ record, weights }) => {
    const decoded = decodeLeyline(leyline.SeedRecord, record);
    if (!decoded.ok) throw new Error(`${where}: a seed record is undecodable (${decoded.error.message})`);
    return { record: decoded.message, weights };
  });
}
