// The usual pipeline in one call, so the trainer and tests agree on the order: scale, fit standardisation on the
// training part only (after the validation split, so validation is as unseen as test), apply it everywhere.
import { fitStandardization, scaleInPlace, standardizeInPlace, type Standardization } from './normalize.ts';
import { validationSplit } from './split.ts';
import type { Dataset, Split } from './types.ts';

export interface PrepareOptions {
  /** Divide every value by this first (MNIST pixels: 255, the default); false leaves values as loaded. */
  readonly scale?: number | false;
  /** Standardise with the training part's statistics: one mean/std ('global', the default), one per feature, or not. */
  readonly standardize?: 'global' | 'per-feature' | false;
  /** Share of the training split held out for validation, in [0, 1); default 0.1. */
  readonly validationFraction?: number;
  readonly stratify?: boolean;
  readonly rngSeed: number;
}

export interface PreparedDataset {
  readonly train: Split;
  readonly validation: Split;
  readonly test: Split;
  readonly inputShape: readonly number[];
  readonly classes: number;
  /** The statistics applied, when standardised (kept to normalise new inputs the same way). */
  readonly standardization: Standardization | null;
}

/** Splits off validation and normalises, on copies: the input dataset is left as loaded (safe to prepare twice). */
export function prepareDataset(dataset: Dataset, options: PrepareOptions): PreparedDataset {
  const { scale = 255, standardize = 'global', validationFraction = 0.1, stratify = false, rngSeed } = options;
  const { train, validation } = validationSplit(dataset.train, { fraction: validationFraction, rngSeed, stratify });
  const test: Split = { x: new Float32Array(dataset.test.x), y: dataset.test.y, n: dataset.test.n };
  const parts = [train, validation, test];
  if (scale !== false) for (const part of parts) scaleInPlace(part.x, scale);
  let standardization: Standardization | null = null;
  if (standardize !== false) {
    standardization = fitStandardization(train, standardize === 'per-feature');
    for (const part of parts) standardizeInPlace(part.x, standardization);
  }
  return { train, validation, test, inputShape: dataset.inputShape, classes: dataset.classes, standardization };
}
