// The IDX reader: generated buffers of every dtype, plain and gzipped, and each malformed-file error.
import test from 'ava';
import { gzipSync } from 'node:zlib';
import { encodeIdx, IdxFormatError, parseIdx, type IdxArray, type IdxDtype } from '../actors/tolaria/data/idx.ts';

const CASES: ReadonlyArray<{ dtype: IdxDtype; values: number[] }> = [
  { dtype: 'ubyte', values: [0, 1, 127, 128, 255, 42] },
  { dtype: 'byte', values: [-128, -1, 0, 1, 127, 5] },
  { dtype: 'short', values: [-32768, -2, 0, 300, 32767, 1] },
  { dtype: 'int', values: [-2147483648, -70000, 0, 70000, 2147483647, 9] },
  { dtype: 'float', values: [-1.5, 0, 0.25, 3.5, 1e10, -2e-3] },
  { dtype: 'double', values: [-1.5, 0, Math.PI, 1e300, -1e-300, 7] },
];

for (const { dtype, values } of CASES) {
  for (const gzip of [false, true]) {
    test(`parses ${dtype} ${gzip ? 'gzipped' : 'plain'}`, (t) => {
      const array: IdxArray = { dtype, dims: [2, 3], data: Float64Array.from(values) };
      const bytes = encodeIdx(array);
      const parsed = parseIdx(gzip ? gzipSync(bytes) : bytes, 'x.idx');
      t.is(parsed.dtype, dtype);
      t.deepEqual([...parsed.dims], [2, 3]);
      const expected = dtype === 'float' ? values.map(Math.fround) : values;
      t.deepEqual(Array.from(parsed.data, Number), expected);
    });
  }
}

test('reads big-endian bytes exactly as the format specifies (MNIST-style images and labels)', (t) => {
  // 0x00000803: ubyte, 3 dims; 2 images of 2×2.
  const images = Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]);
  const parsed = parseIdx(images);
  t.deepEqual([...parsed.dims], [2, 2, 2]);
  t.deepEqual([...parsed.data], [1, 2, 3, 4, 5, 6, 7, 8]);
  t.true(parsed.data instanceof Uint8Array);
  // 0x00000801: ubyte labels; 0x0B short, value 0x0102 = 258 big-endian.
  t.deepEqual([...parseIdx(Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 9, 0, 7])).data], [9, 0, 7]);
  t.deepEqual([...parseIdx(Uint8Array.from([0, 0, 0x0b, 1, 0, 0, 0, 1, 1, 2])).data], [258]);
});

test('the parsed data is a copy, not a view on the input', (t) => {
  const bytes = encodeIdx({ dtype: 'ubyte', dims: [3], data: Uint8Array.from([1, 2, 3]) });
  const parsed = parseIdx(bytes);
  bytes[8] = 99;
  t.is(parsed.data[0], 1);
});

function problem(bytes: Uint8Array, file = 'data/x-idx3-ubyte'): IdxFormatError {
  const error = (() => {
    try {
      parseIdx(bytes, file);
    } catch (caught) {
      return caught;
    }
    return undefined;
  })();
  if (!(error instanceof IdxFormatError)) throw new Error(`expected an IdxFormatError, got ${String(error)}`);
  return error;
}

test('bad magic: nonzero leading bytes or an unknown type byte', (t) => {
  const e1 = problem(Uint8Array.from([0x12, 0x34, 8, 1, 0, 0, 0, 1, 0]));
  t.is(e1.file, 'data/x-idx3-ubyte');
  t.regex(e1.message, /^bad IDX file data\/x-idx3-ubyte: bad magic number 0x12340801/);
  const e2 = problem(Uint8Array.from([0, 0, 0x0a, 1, 0, 0, 0, 1, 0]));
  t.regex(e2.message, /bad magic number 0x00000a01/);
  // A PNG, say, is not IDX.
  t.regex(problem(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])).problem, /^bad magic number 0x89504e47/);
});

test('zero dimensions and a zero-sized dimension are errors', (t) => {
  t.regex(problem(Uint8Array.from([0, 0, 8, 0])).problem, /zero dimensions/);
  t.is(problem(Uint8Array.from([0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 0])).problem, 'dimension 1 has size 0');
});

test('truncated: short magic, short header, short data (plain and gzipped)', (t) => {
  t.regex(problem(Uint8Array.from([0, 0])).problem, /^truncated: 2 bytes, shorter than the 4-byte magic/);
  t.regex(
    problem(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2])).problem,
    /^truncated header: 8 bytes, 3 dimensions need 16/,
  );
  const full = encodeIdx({ dtype: 'int', dims: [2, 2], data: Int32Array.from([1, 2, 3, 4]) });
  const cut = full.subarray(0, full.length - 3);
  t.is(problem(cut).problem, 'truncated: dims [2, 2] need 16 data bytes, found 13');
  t.is(problem(gzipSync(cut)).problem, 'truncated: dims [2, 2] need 16 data bytes, found 13');
});

test('trailing bytes after the data are an error', (t) => {
  const full = encodeIdx({ dtype: 'ubyte', dims: [3], data: Uint8Array.from([1, 2, 3]) });
  const padded = new Uint8Array(full.length + 2);
  padded.set(full);
  t.is(problem(padded).problem, '2 trailing bytes after the data of dims [3]');
});

test('corrupt gzip is an IdxFormatError naming the file', (t) => {
  const gz = gzipSync(encodeIdx({ dtype: 'ubyte', dims: [100], data: new Uint8Array(100) }));
  const broken = gz.subarray(0, gz.length - 10);
  const error = problem(broken, 'labels.gz');
  t.is(error.file, 'labels.gz');
  t.regex(error.message, /^bad IDX file labels\.gz: corrupt gzip data/);
});
