// Mini-batches as tensors, built one tensor per batch from the Float32Array. Never slice batches out of one large
// resident tensor: on the WASM backend each slice copies the whole source out of the WASM heap (0.6–0.8 s per call
// measured; docs/architecture.md#tensors-data-and-speed); copying a batch's rows into a fresh array and making a tensor
// of it costs microseconds.
import { tf } from '../../../tensor/index.ts';
import { deriveRngSeed, permutation } from './split.ts';
import { featureCount, type Split } from './types.ts';

/**
 * One step's data. The caller owns `x` and `y` and must dispose them (tf.dispose([batch.x, batch.y]) or inside
 * tf.tidy); the Batcher keeps no reference to them.
 */
export interface Batch {
  /** float32 [size, ...inputShape]. */
  readonly x: tf.Tensor;
  /** float32 one-hot [size, classes]: what tf.losses.softmaxCrossEntropy and categoricalCrossentropy take. */
  readonly y: tf.Tensor2D;
  /** x's values in host memory (a data-parallel step hands each replica its rows from here). */
  readonly values: Float32Array;
  /** The same labels as integers, in host memory, for accuracy counts without reading y back. */
  readonly labels: Int32Array;
  /** The rows of the split in this batch, in batch order. */
  readonly indices: Int32Array;
  readonly size: number;
}

export interface BatcherOptions {
  readonly batchSize: number;
  readonly inputShape: readonly number[];
  readonly classes: number;
  /** Base random seed; epoch e is shuffled with deriveRngSeed(rngSeed, e): each epoch its own, reproducible order. */
  readonly rngSeed: number;
  /** Default true; false keeps the split's order (evaluation). */
  readonly shuffle?: boolean;
  /**
   * Default false: the last, smaller batch is yielded, so every sample is seen exactly once per epoch. true drops
   * it (fixed batch shape, e.g. for batch-norm statistics or a compiled kernel of one shape).
   */
  readonly dropLast?: boolean;
}

export class Batcher {
  readonly split: Split;
  readonly options: BatcherOptions;
  readonly features: number;

  constructor(split: Split, options: BatcherOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.features = featureCount(options.inputShape);
    if (split.x.length !== split.n * this.features || split.y.length !== split.n) {
      throw new RangeError(
        `split of ${split.n} samples does not match input shape [${options.inputShape.join(', ')}]: x has ${split.x.length} values, y ${split.y.length}`,
      );
    }
    this.split = split;
    this.options = options;
  }

  /** Batches per epoch under the last-batch policy. */
  get stepsPerEpoch(): number {
    const { batchSize, dropLast = false } = this.options;
    return dropLast ? Math.floor(this.split.n / batchSize) : Math.ceil(this.split.n / batchSize);
  }

  /** The batches of one epoch, made lazily: each tensor exists only from its step until the caller disposes it. */
  *epoch(epoch = 0): Generator<Batch, void, undefined> {
    const { batchSize, shuffle = true } = this.options;
    const order = shuffle
      ? permutation(this.split.n, deriveRngSeed(this.options.rngSeed, epoch))
      : identity(this.split.n);
    for (let step = 0; step < this.stepsPerEpoch; step++) {
      const start = step * batchSize;
      yield this.batch(order.subarray(start, Math.min(start + batchSize, this.split.n)));
    }
  }

  /** One batch of the given rows. */
  batch(indices: Int32Array): Batch {
    const { inputShape, classes } = this.options;
    const { features, split } = this;
    const size = indices.length;
    const x = new Float32Array(size * features);
    const oneHot = new Float32Array(size * classes);
    const labels = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const row = indices[i]!;
      x.set(split.x.subarray(row * features, (row + 1) * features), i * features);
      const label = split.y[row]!;
      if (label < 0 || label >= classes)
        throw new RangeError(`label ${label} of sample ${row} is outside 0…${classes - 1}`);
      labels[i] = label;
      oneHot[i * classes + label] = 1;
    }
    return {
      x: tf.tensor(x, [size, ...inputShape], 'float32'),
      y: tf.tensor2d(oneHot, [size, classes], 'float32'),
      values: x,
      labels,
      indices: Int32Array.from(indices),
      size,
    };
  }
}

function identity(n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}
