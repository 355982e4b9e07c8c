// Seeded shuffling and the validation split. Determinism matters: the same rngSeed must give the same order on every
// run and machine, so we use our own PRNG (runtime/seeded-random.ts).
import { mulberry32 } from '../../../runtime/seeded-random.ts';
import { takeRows, type Split } from './types.ts';

/** A random seed derived from a base one and a stream number (e.g. the epoch), so each epoch gets its own order. */
export function deriveRngSeed(rngSeed: number, stream: number): number {
  let h = (rngSeed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A uniformly random permutation of 0 … n − 1 (Fisher–Yates), fixed by the random seed. */
export function permutation(n: number, rngSeed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = mulberry32(rngSeed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}

/** A shuffled copy of the split. */
export function shuffleSplit(split: Split, rngSeed: number): Split {
  return takeRows(split, permutation(split.n, rngSeed));
}

export interface ValidationSplitOptions {
  /** Share of samples held out, in [0, 1). */
  readonly fraction: number;
  readonly rngSeed: number;
  /**
   * Keep each class's share in both parts: each class holds out round(count × fraction) of its samples, so the
   * validation size can differ by a few samples from round(n × fraction).
   */
  readonly stratify?: boolean;
}

/**
 * Splits a training set into train and validation, disjoint and together exactly the input, both shuffled.
 * Without stratification the validation part has round(n × fraction) samples.
 */
export function validationSplit(split: Split, options: ValidationSplitOptions): { train: Split; validation: Split } {
  const { fraction, rngSeed } = options;
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`validation fraction must be in [0, 1), got ${fraction}`);
  const order = permutation(split.n, rngSeed);
  let held: number[];
  let kept: number[];
  if (options.stratify) {
    const byClass = new Map<number, number[]>();
    for (const row of order) {
      const label = split.y[row]!;
      let rows = byClass.get(label);
      if (rows === undefined) {
        rows = [];
        byClass.set(label, rows);
      }
      rows.push(row);
    }
    held = [];
    kept = [];
    for (const rows of byClass.values()) {
      const cut = Math.round(rows.length * fraction);
      // A loop, not push(...rows): spreading a class of 100k+ rows would overflow the call stack.
      rows.forEach((row, i) => (i < cut ? held : kept).push(row));
    }
    // Grouping by class undid the shuffle; restore a random order within each part.
    held = reorder(held, deriveRngSeed(rngSeed, 1));
    kept = reorder(kept, deriveRngSeed(rngSeed, 2));
  } else {
    const cut = Math.round(split.n * fraction);
    held = Array.from(order.subarray(0, cut));
    kept = Array.from(order.subarray(cut));
  }
  return { train: takeRows(split, kept), validation: takeRows(split, held) };
}

function reorder(rows: readonly number[], rngSeed: number): number[] {
  return Array.from(permutation(rows.length, rngSeed), (i) => rows[i]!);
}
