// The in-memory dataset shape every data module shares. Samples stay in plain typed arrays (not tensors): on the WASM
// backend slicing a large resident tensor copies the whole source out of the heap per call
// (docs/architecture.md#tensors-data-and-speed), so batches are built from these arrays one tensor per step
// (batches.ts).

/** n samples: x is row-major n × features (features = product of the input shape), y the class of each sample. */
export interface Split {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
}

/** A train/test pair with what a model needs to know about it. */
export interface Dataset {
  readonly train: Split;
  readonly test: Split;
  /** One sample's shape without the batch axis, e.g. [28, 28, 1] for MNIST, [16] for the synthetic task. */
  readonly inputShape: readonly number[];
  /** Number of classes; labels are 0 … classes − 1. */
  readonly classes: number;
}

/** Values per sample for an input shape. */
export function featureCount(inputShape: readonly number[]): number {
  return inputShape.reduce((a, b) => a * b, 1);
}

/** Gathers the given rows (in that order) into a new Split. */
export function takeRows(split: Split, rows: ArrayLike<number>): Split {
  const features = split.n === 0 ? 0 : split.x.length / split.n;
  const x = new Float32Array(rows.length * features);
  const y = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    x.set(split.x.subarray(row * features, (row + 1) * features), i * features);
    y[i] = split.y[row]!;
  }
  return { x, y, n: rows.length };
}
