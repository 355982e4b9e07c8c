// Guard spec, digest and summary: a fingerprint of the example inputs a compiled module was warmed on, in the
// prototype's exact format so digests match across languages (blueprints/README.md#guard-spec).
import { createHash } from 'node:crypto';
import { validateSlot } from './slot.ts';
import type { SlotSpec } from './types.ts';

export interface GuardSpecEntry {
  readonly index: number;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly stride: readonly number[];
  readonly requires_grad: boolean;
}

/** Row-major contiguous strides (TF.js has no strides; computed by hand as PyTorch reports them). */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = step;
    step *= shape[axis]!;
  }
  return strides;
}

/** The guard spec of a slot's one example input, [batch, ...dims] float32. */
export function guardSpec(slot: SlotSpec, batch = 8): GuardSpecEntry[] {
  validateSlot(slot);
  if (!Number.isInteger(batch) || batch <= 0)
    throw new RangeError(`guard batch must be a positive integer (got ${batch})`);
  const shape = [batch, ...slot.dims];
  return [{ index: 0, shape, dtype: 'float32', stride: contiguousStrides(shape), requires_grad: false }];
}

/** Lowercase hex SHA-256 of the spec as Python's json.dumps(spec, sort_keys=True) writes it. */
export function guardDigest(spec: readonly GuardSpecEntry[]): string {
  return createHash('sha256').update(pythonJson(spec), 'utf8').digest('hex');
}

/** One "<dtype>[<d0>x<d1>…]" per input ("<dtype>[scalar]" for rank 0), joined with ", ". */
export function guardSummary(spec: readonly GuardSpecEntry[]): string {
  return spec
    .map((entry) => `${entry.dtype}[${entry.shape.length === 0 ? 'scalar' : entry.shape.join('x')}]`)
    .join(', ');
}

/**
 * Python json.dumps(value, sort_keys=True) with its default separators (", " and ": ") and ensure_ascii. Integral
 * numbers print without a fraction (the guard spec holds only ints); other numbers use JS's shortest round-trip
 * form, which matches Python's repr for ordinary magnitudes.
 */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return String(value);
  }
  if (typeof value === 'string') return pythonString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort(comparePython);
    return `{${keys.map((key) => `${pythonString(key)}: ${pythonJson(record[key])}`).join(', ')}}`;
  }
  throw new TypeError(`cannot write ${typeof value} as JSON`);
}

// Python sorts str keys by code point; JS's default sort compares UTF-16 units (differs only past the BMP).
function comparePython(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const diff = left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!;
    if (diff !== 0) return diff;
  }
  return left.length - right.length;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function pythonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    const code = text.charCodeAt(i);
    if (SHORT_ESCAPES[char]) out += SHORT_ESCAPES[char];
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}
