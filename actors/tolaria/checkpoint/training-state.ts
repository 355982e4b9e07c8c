// The plain data of a checkpoint (and of a fast-tier snapshot): weights, optimizer state, epoch, step, RNG state
// and the epoch's metrics, with no TF.js objects inside, so it can be encoded, copied and compared as data. The
// helpers move it between this form and live TF.js variables.
import { tf } from '../../../tensor/index.ts';
import { renameStoredSeed } from '../../../runtime/seeded-random.ts';

/**
 * Format 2 adds the grown network (every seed's record and its module's weights) and the history decisions read;
 * a format 1 state (host only) still loads.
 */
export const TRAINING_STATE_FORMAT = 2;

/** One tensor as data: its shape and its values (row-major float32). */
export interface TensorRecord {
  shape: number[];
  data: Float32Array;
}

/** Tensors by name (the variable's name in its model, or an optimizer slot's name). */
export type TensorMap = Record<string, TensorRecord>;

export interface OptimizerState {
  /** e.g. "adam", "sgd": restoring into a different kind is the caller's error to refuse. */
  kind: string;
  /** The optimizer's own step counter (bias correction depends on it). */
  step: number;
  /** Per-variable accumulators (moments, velocities), by slot name. */
  slots: TensorMap;
  /** Learning rate, betas, momentum…: numbers only. */
  hyper: Record<string, number>;
}

export interface RngState {
  /** The run's random seed. */
  rngSeed: number;
  /** The generator's internal words, so a resumed run draws the same numbers it would have drawn. */
  state: number[];
}

/** A seed as a checkpoint keeps it: Kasmina's record of it (an encoded SeedRecord) and its module's weights. */
export interface SavedSeed {
  record: Uint8Array;
  weights: TensorMap;
}

/**
 * What the run's decisions read besides the weights: every finished epoch's validation loss, the loss watch's window
 * (which losses count as explosions), the judge's state.
 */
export interface RunHistory {
  validationLosses: number[];
  recentLosses: number[];
  recentLossSum: number;
  judge: Record<string, number>;
}

export interface TrainingState {
  /** 1: the host only (an older checkpoint); 2: with seeds and history. */
  format: 1 | typeof TRAINING_STATE_FORMAT;
  runId: string;
  /** The epoch this state closes (a resumed run continues with epoch + 1). */
  epoch: number;
  globalStep: number;
  weights: TensorMap;
  optimizer: OptimizerState;
  rng: RngState;
  metrics: Record<string, number>;
  /** ISO-8601 time of capture. */
  createdAt: string;
  seeds: SavedSeed[];
  history: RunHistory;
}

/** A decoded value that is not a training state; `problem` says what is wrong. */
export class TrainingStateError extends Error {
  override readonly name = 'TrainingStateError';
  constructor(readonly problem: string) {
    super(`not a training state: ${problem}`);
  }
}

/** Live variables and stored weights disagree; `variable` names the first offender. */
export class StateMismatchError extends Error {
  override readonly name = 'StateMismatchError';
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`variable "${variable}": ${problem}`);
  }
}

/** Bytes of tensor data in a map (what a snapshot costs in memory, give or take the shapes). */
export function tensorBytes(map: TensorMap): number {
  let bytes = 0;
  for (const record of Object.values(map)) bytes += record.data.byteLength;
  return bytes;
}

/**
 * Copies the values of live variables into plain data. Reads are asynchronous (no GPU/WASM stall of the event
 * loop) and create no tensors. Every array is a fresh copy: a backend may hand out its own buffer, which must not
 * be aliased by a snapshot that outlives the variable's next assignment.
 */
export async function captureVariables(map: ReadonlyMap<string, tf.Variable>): Promise<TensorMap> {
  const entries = [...map];
  for (const [name, variable] of entries) {
    if (variable.isDisposed) throw new StateMismatchError(name, 'is disposed');
    if (variable.dtype !== 'float32')
      throw new StateMismatchError(name, `has dtype ${variable.dtype}; only float32 is captured`);
  }
  const values = await Promise.all(entries.map(([, variable]) => variable.data()));
  const out: TensorMap = {};
  entries.forEach(([name, variable], i) => {
    out[name] = { shape: [...variable.shape], data: new Float32Array(values[i] as Float32Array) };
  });
  return out;
}

/**
 * Throws StateMismatchError unless `weights` fits the live variables exactly: each variable needs a stored tensor
 * of the same shape, and every stored tensor needs a variable (a checkpoint from a different architecture must not
 * half-load).
 */
export function assertRestorable(map: ReadonlyMap<string, tf.Variable>, weights: TensorMap): void {
  for (const [name, variable] of map) {
    const record = weights[name];
    if (!record) throw new StateMismatchError(name, 'has no stored tensor');
    if (variable.isDisposed) throw new StateMismatchError(name, 'is disposed');
    if (record.shape.join(',') !== variable.shape.join(',')) {
      throw new StateMismatchError(
        name,
        `stored shape [${record.shape.join(', ')}] differs from the variable's [${variable.shape.join(', ')}]`,
      );
    }
    if (record.data.length !== variable.size) {
      throw new StateMismatchError(name, `stored ${record.data.length} values, the variable holds ${variable.size}`);
    }
  }
  for (const name of Object.keys(weights)) {
    if (!map.has(name)) throw new StateMismatchError(name, 'is stored but has no live variable');
  }
}

/**
 * Assigns stored weights to live variables. Everything is checked (assertRestorable) before anything is assigned,
 * so a mismatch leaves the variables untouched.
 */
export function restoreVariables(map: ReadonlyMap<string, tf.Variable>, weights: TensorMap): void {
  assertRestorable(map, weights);
  for (const [name, variable] of map) {
    const record = weights[name]!;
    // tidy disposes the temporary tensor; the variable keeps its own reference to the data.
    tf.tidy(() => variable.assign(tf.tensor(record.data, record.shape, 'float32')));
  }
}

/** Checks a decoded value and returns it typed; throws TrainingStateError naming what is wrong. */
export function validateTrainingState(value: unknown): TrainingState {
  const record = asRecord(value, 'the top level');
  if (record.format !== TRAINING_STATE_FORMAT && record.format !== 1) {
    throw new TrainingStateError(
      `unknown format ${JSON.stringify(record.format)} (expected 1 or ${TRAINING_STATE_FORMAT})`,
    );
  }
  const legacy = record.format === 1;
  const optimizer = asRecord(record.optimizer, 'optimizer');
  // A checkpoint written while the random seed was `rng.seed` still loads.
  const rng = renameStoredSeed(asRecord(record.rng, 'rng'));
  const rngWords = rng.state;
  if (!Array.isArray(rngWords) || !rngWords.every((word) => typeof word === 'number')) {
    throw new TrainingStateError('rng.state is not an array of numbers');
  }
  const history = legacy ? null : asRecord(record.history, 'history');
  return {
    format: legacy ? 1 : TRAINING_STATE_FORMAT,
    runId: asString(record.runId, 'runId'),
    epoch: asCount(record.epoch, 'epoch'),
    globalStep: asCount(record.globalStep, 'globalStep'),
    weights: asTensorMap(record.weights, 'weights'),
    optimizer: {
      kind: asString(optimizer.kind, 'optimizer.kind'),
      step: asCount(optimizer.step, 'optimizer.step'),
      slots: asTensorMap(optimizer.slots, 'optimizer.slots'),
      hyper: asNumbers(optimizer.hyper, 'optimizer.hyper'),
    },
    rng: { rngSeed: asNumber(rng.rngSeed, 'rng.rngSeed'), state: rngWords as number[] },
    metrics: asNumbers(record.metrics, 'metrics'),
    createdAt: asString(record.createdAt, 'createdAt'),
    seeds: legacy ? [] : asSeeds(record.seeds),
    history: history
      ? {
          validationLosses: asNumberList(history.validationLosses, 'history.validationLosses'),
          recentLosses: asNumberList(history.recentLosses, 'history.recentLosses'),
          recentLossSum: asNumber(history.recentLossSum, 'history.recentLossSum'),
          judge: asNumbers(history.judge, 'history.judge'),
        }
      : { validationLosses: [], recentLosses: [], recentLossSum: 0, judge: {} },
  };
}

function asSeeds(value: unknown): SavedSeed[] {
  if (!Array.isArray(value)) throw new TrainingStateError('seeds is not a list');
  return value.map((entry, i) => {
    const seed = asRecord(entry, `seeds[${i}]`);
    if (!(seed.record instanceof Uint8Array)) throw new TrainingStateError(`seeds[${i}].record is not bytes`);
    return { record: seed.record, weights: asTensorMap(seed.weights, `seeds[${i}].weights`) };
  });
}

function asNumberList(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((x) => typeof x === 'number'))
    throw new TrainingStateError(`${what} is not a list of numbers`);
  return value as number[];
}

function asTensorMap(value: unknown, what: string): TensorMap {
  const out: TensorMap = {};
  for (const [name, entry] of Object.entries(asRecord(value, what))) {
    const tensor = asRecord(entry, `${what}["${name}"]`);
    const shape = tensor.shape;
    if (!Array.isArray(shape) || !shape.every((dim) => Number.isInteger(dim) && dim >= 0)) {
      throw new TrainingStateError(`${what}["${name}"].shape is not a list of sizes`);
    }
    if (!(tensor.data instanceof Float32Array))
      throw new TrainingStateError(`${what}["${name}"].data is not a Float32Array`);
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (tensor.data.length !== size) {
      throw new TrainingStateError(
        `${what}["${name}"] holds ${tensor.data.length} values for shape [${shape.join(', ')}]`,
      );
    }
    out[name] = { shape: shape as number[], data: tensor.data };
  }
  return out;
}

function asNumbers(value: unknown, what: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, entry] of Object.entries(asRecord(value, what))) out[key] = asNumber(entry, `${what}.${key}`);
  return out;
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new TrainingStateError(`${what} is not a map`);
  }
  return value as Record<string, unknown>;
}

function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TrainingStateError(`${what} is not a string`);
  return value;
}

function asNumber(value: unknown, what: string): number {
  if (typeof value !== 'number') throw new TrainingStateError(`${what} is not a number`);
  return value;
}

function asCount(value: unknown, what: string): number {
  if (!Number.isInteger(value) || (value as number) < 0)
    throw new TrainingStateError(`${what} is not a non-negative integer`);
  return value as number;
}
