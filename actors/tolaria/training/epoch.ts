// One epoch of training, and evaluation, over a host with its grafts. Plain functions: the trainer actor calls
// them, tests call them directly. Every step's tensors are freed inside the step (tf.tidy), so the tensor count
// returns to its baseline after an epoch.
import { tf } from '../../../tensor/index.ts';
import type { Batch, Batcher } from '../data/batches.ts';
import type { GraftTable } from '../../../surface/index.ts';
import type { HostModel, SlotActivationStats } from '../host/host-model.ts';
import { HOST_GROUP_ID, type GroupedOptimizer } from '../optim/grouped-optimizer.ts';

export interface StepStats {
  loss: number;
  correct: number;
  size: number;
  gradNorm: number;
  /** The global L2 norm of each non-host group's gradients (a seed's), by group id. */
  groupNorms: Record<string, number>;
}

export interface EpochStats {
  loss: number;
  accuracy: number;
  samples: number;
  steps: number;
  /** Mean over steps of the global L2 norm of the gradients. */
  gradNorm: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface EvaluationStats {
  loss: number;
  accuracy: number;
  samples: number;
}

/** A shard's mean loss, its correct count (float32) and the gradients of `variables` by variable name. */
export interface ShardGradients {
  loss: tf.Scalar;
  correct: tf.Scalar;
  grads: tf.NamedTensorMap;
}

/**
 * Where a step's gradients come from when they are not all computed here: the replicas of a data-parallel run
 * (parallel/replica-set.ts), which sum their shards' gradients in a fixed order.
 */
export interface GradientSource {
  gradients(host: HostModel, variables: tf.Variable[], batch: Batch, grafts?: GraftTable): ShardGradients;
}

/**
 * Loss, correct count and gradients of one batch or shard; call inside tf.tidy (the results are the caller's). A
 * shard's loss is weighed by its share of the batch (`weight`), so the batch's gradients are the plain sum of its
 * shards'.
 */
export function shardGradients(
  host: HostModel,
  variables: tf.Variable[],
  x: tf.Tensor,
  y: tf.Tensor,
  labels: Int32Array,
  grafts?: GraftTable,
  weight = 1,
): ShardGradients {
  let kept: tf.Tensor | undefined;
  const labelTensor = tf.tensor1d(labels, 'int32');
  const { value, grads } = tf.variableGrads(() => {
    const logits = host.apply(x, { training: true, ...(grafts ? { grafts } : {}) });
    kept = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labelTensor), 'int32')));
    const loss = tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    return weight === 1 ? loss : tf.mul(loss, weight);
  }, variables);
  // The count was kept out of variableGrads' scope; as float32 it belongs to the caller's tidy like the rest.
  const correct = tf.cast(kept ?? tf.scalar(0), 'float32') as tf.Scalar;
  kept?.dispose();
  return { loss: value, correct, grads };
}

/**
 * One optimisation step on a batch (the batch's tensors are disposed here). With `replicas` the batch is shared
 * among a data-parallel run's replicas; without, it is computed here (one replica).
 */
export function trainStep(
  host: HostModel,
  optimizer: GroupedOptimizer,
  batch: Batch,
  grafts?: GraftTable,
  replicas?: GradientSource,
): StepStats {
  let stats!: StepStats;
  try {
    // The step's figures leave through `stats`, not tidy's result (tidy would walk a returned object for tensors).
    tf.tidy(() => {
      const variables = optimizer.variables();
      const { loss, correct, grads } = replicas
        ? replicas.gradients(host, variables, batch, grafts)
        : shardGradients(host, variables, batch.x, batch.y, batch.labels, grafts);
      const squares = new Map(Object.entries(grads).map(([name, g]) => [name, tf.sum(tf.square(g))]));
      const groups = [...optimizer.groupVariables()].filter(([id]) => id !== HOST_GROUP_ID);
      const groupSquares = groups.map(([, variables]) => {
        const mine = variables.flatMap((v) => squares.get(v.name) ?? []);
        return mine.length ? tf.addN(mine) : tf.scalar(0);
      });
      // One read of everything the step reports: each dataSync is a round trip to the backend.
      const figures = tf.stack([loss, correct, tf.addN([...squares.values()]), ...groupSquares]).dataSync();
      optimizer.apply(grads);
      stats = {
        loss: figures[0] as number,
        correct: figures[1] as number,
        size: batch.size,
        gradNorm: Math.sqrt(figures[2] as number),
        groupNorms: Object.fromEntries(groups.map(([id], i) => [id, Math.sqrt(figures[3 + i] as number)])),
      };
    });
  } finally {
    tf.dispose([batch.x, batch.y]);
  }
  return stats;
}

/** Adds up an epoch's steps into EpochStats (sample-weighted loss, accuracy, mean gradient norm, throughput). */
export class EpochTally {
  #loss = 0;
  #correct = 0;
  #samples = 0;
  #steps = 0;
  #gradNorm = 0;
  #seconds = 0;

  get steps(): number {
    return this.#steps;
  }

  /** Counts a step and the seconds it took (only training time: control work between steps is left out). */
  add(step: StepStats, seconds: number): void {
    this.#loss += step.loss * step.size;
    this.#correct += step.correct;
    this.#samples += step.size;
    this.#gradNorm += step.gradNorm;
    this.#steps += 1;
    this.#seconds += seconds;
  }

  result(): EpochStats {
    const samples = this.#samples;
    const seconds = this.#seconds;
    return {
      loss: samples ? this.#loss / samples : 0,
      accuracy: samples ? this.#correct / samples : 0,
      samples,
      steps: this.#steps,
      gradNorm: this.#steps ? this.#gradNorm / this.#steps : 0,
      seconds,
      samplesPerSecond: seconds > 0 ? samples / seconds : 0,
    };
  }
}

/** Trains one epoch; `onStep` sees each step's numbers (fault detection, fences, progress). */
export function trainEpoch(options: {
  host: HostModel;
  optimizer: GroupedOptimizer;
  batcher: Batcher;
  epoch: number;
  grafts?: GraftTable;
  onStep?: (stats: StepStats) => void;
}): EpochStats {
  const tally = new EpochTally();
  for (const batch of options.batcher.epoch(options.epoch)) {
    const started = performance.now();
    const step = trainStep(options.host, options.optimizer, batch, options.grafts);
    tally.add(step, (performance.now() - started) / 1000);
    options.onStep?.(step);
  }
  return tally.result();
}

/** Loss and accuracy on a held-out split (no training behaviour: dropout off, stressors unarmed). */
export function evaluate(
  host: HostModel,
  batcher: Batcher,
  grafts?: GraftTable,
  slotStats?: Map<string, SlotActivationStats>,
): EvaluationStats {
  let loss = 0;
  let correct = 0;
  let samples = 0;
  for (const batch of batcher.epoch(0)) {
    const [batchLoss, batchCorrect] = tf.tidy(() => {
      const logits = host.apply(batch.x, {
        ...(grafts ? { grafts } : {}),
        ...(slotStats && samples === 0 ? { slotStats } : {}),
      });
      const labels = tf.tensor1d(batch.labels, 'int32');
      return [
        tf.losses.softmaxCrossEntropy(batch.y, logits).dataSync()[0] as number,
        tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')).dataSync()[0] as number,
      ];
    });
    tf.dispose([batch.x, batch.y]);
    loss += batchLoss * batch.size;
    correct += batchCorrect;
    samples += batch.size;
  }
  return { loss: samples ? loss / samples : 0, accuracy: samples ? correct / samples : 0, samples };
}
