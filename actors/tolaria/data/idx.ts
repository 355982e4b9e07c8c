// The IDX format (LeCun's MNIST files): a 4-byte magic [0, 0, dtype, ndims], ndims big-endian uint32 sizes, then the
// values, big-endian, row-major. We read it ourselves (docs/architecture.md#tensors-data-and-speed) so any directory of
// IDX files can be a dataset, plain or gzipped. Strict on purpose: a corrupt or mis-named file must fail loudly at
// load, not train on garbage.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** The IDX element types, by their type byte. */
export type IdxDtype = 'ubyte' | 'byte' | 'short' | 'int' | 'float' | 'double';

export type IdxValues = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  readonly dtype: IdxDtype;
  /** Sizes, outermost first (e.g. [60000, 28, 28] for MNIST's training images). */
  readonly dims: readonly number[];
  /** The values in row-major order, in host byte order. */
  readonly data: IdxValues;
}

/** A malformed IDX file: `file` is the path (or a caller-given name) and `problem` what is wrong with it. */
export class IdxFormatError extends Error {
  readonly file: string;
  readonly problem: string;
  constructor(file: string, problem: string) {
    super(`bad IDX file ${file}: ${problem}`);
    this.name = 'IdxFormatError';
    this.file = file;
    this.problem = problem;
  }
}

interface DtypeInfo {
  readonly name: IdxDtype;
  readonly bytes: number;
}

const DTYPES: ReadonlyMap<number, DtypeInfo> = new Map([
  [0x08, { name: 'ubyte', bytes: 1 }],
  [0x09, { name: 'byte', bytes: 1 }],
  [0x0b, { name: 'short', bytes: 2 }],
  [0x0c, { name: 'int', bytes: 4 }],
  [0x0d, { name: 'float', bytes: 4 }],
  [0x0e, { name: 'double', bytes: 8 }],
]);

/** The type byte for each dtype (for writers and tests). */
export const IDX_TYPE_BYTE: Readonly<Record<IdxDtype, number>> = {
  ubyte: 0x08,
  byte: 0x09,
  short: 0x0b,
  int: 0x0c,
  float: 0x0d,
  double: 0x0e,
};

const hex = (value: number): string => `0x${value.toString(16).padStart(8, '0')}`;

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses IDX bytes (gunzipping first when they start with 1f 8b). `file` names the source in errors.
 * Errors (IdxFormatError): bad magic, zero dimensions or a zero-sized dimension, truncated header or data, and
 * trailing bytes after the data (a concatenated or mislabelled file is more likely than harmless padding).
 */
export function parseIdx(input: Uint8Array, file = '<buffer>'): IdxArray {
  let bytes = input;
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new IdxFormatError(file, `corrupt gzip data (${(error as Error).message})`);
    }
  }
  if (bytes.length < 4)
    throw new IdxFormatError(file, `truncated: ${bytes.length} bytes, shorter than the 4-byte magic`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const dtype = DTYPES.get(bytes[2]!);
  if (bytes[0] !== 0 || bytes[1] !== 0 || dtype === undefined) {
    throw new IdxFormatError(
      file,
      `bad magic number ${hex(magic)} (expected 0x000008NN–0x00000eNN: two zero bytes, a type byte 08/09/0b/0c/0d/0e, the number of dimensions)`,
    );
  }
  const ndims = bytes[3]!;
  if (ndims === 0) throw new IdxFormatError(file, `bad magic number ${hex(magic)}: zero dimensions`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new IdxFormatError(file, `truncated header: ${bytes.length} bytes, ${ndims} dimensions need ${headerBytes}`);
  }
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) {
    const size = view.getUint32(4 + 4 * i, false);
    if (size === 0) throw new IdxFormatError(file, `dimension ${i} has size 0`);
    dims.push(size);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const dataBytes = count * dtype.bytes;
  const available = bytes.length - headerBytes;
  if (available < dataBytes) {
    throw new IdxFormatError(
      file,
      `truncated: dims [${dims.join(', ')}] need ${dataBytes} data bytes, found ${available}`,
    );
  }
  if (available > dataBytes) {
    throw new IdxFormatError(
      file,
      `${available - dataBytes} trailing bytes after the data of dims [${dims.join(', ')}]`,
    );
  }
  return { dtype: dtype.name, dims, data: decode(view, headerBytes, count, dtype.name) };
}

/** Copies the values out (never a view on the file's buffer) and converts big-endian to host order. */
function decode(view: DataView, offset: number, count: number, dtype: IdxDtype): IdxValues {
  const start = view.byteOffset + offset;
  switch (dtype) {
    case 'ubyte':
      return new Uint8Array(view.buffer.slice(start, start + count));
    case 'byte':
      return new Int8Array(view.buffer.slice(start, start + count));
    case 'short': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'double': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/** Reads and parses one IDX file (plain or gzipped); errors name the path. */
export function readIdxFile(path: string): IdxArray {
  return parseIdx(readFileSync(path), path);
}

/** Encodes an IdxArray as IDX bytes (big-endian). For tests and for writing small datasets. */
export function encodeIdx(array: IdxArray): Uint8Array {
  const width = { ubyte: 1, byte: 1, short: 2, int: 4, float: 4, double: 8 }[array.dtype];
  const count = array.dims.reduce((a, b) => a * b, 1);
  const header = 4 + 4 * array.dims.length;
  const out = new Uint8Array(header + count * width);
  const view = new DataView(out.buffer);
  out[2] = IDX_TYPE_BYTE[array.dtype];
  out[3] = array.dims.length;
  array.dims.forEach((size, i) => view.setUint32(4 + 4 * i, size, false));
  for (let i = 0; i < count; i++) {
    const value = Number(array.data[i] ?? 0);
    const at = header + i * width;
    switch (array.dtype) {
      case 'ubyte':
        view.setUint8(at, value);
        break;
      case 'byte':
        view.setInt8(at, value);
        break;
      case 'short':
        view.setInt16(at, value, false);
        break;
      case 'int':
        view.setInt32(at, value, false);
        break;
      case 'float':
        view.setFloat32(at, value, false);
        break;
      case 'double':
        view.setFloat64(at, value, false);
        break;
    }
  }
  return out;
}
