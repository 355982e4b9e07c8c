// Leyline bytes in and out. Encoding is canonical; decoding is total (it returns a result, it never throws), keeps
// the unknown fields of newer peers, and refuses what no peer sharing our schema could have sent.
import protobuf from 'protobufjs/minimal.js';
import {
  describeValue,
  isLeylineMessage,
  leylineTypes,
  type LeylineMessage,
  type LeylineType,
  type v1,
} from './index.ts';
import { DEFAULT_DECODE_MAX_BYTES } from './limits.ts';

// ---- encode ----------------------------------------------------------------------------------------------------

/**
 * Encodes a Leyline message. The bytes are canonical: the generated encoders write fields in field-number order,
 * skip proto3 defaults, and write map entries sorted by key (contracts/generate.mjs patches that in), then any
 * unknown fields kept from decoding. Equal messages therefore encode to equal bytes in every process, which is
 * what lets a signature made by one actor verify in another.
 *
 * Throws a TypeError for a value that is not a Leyline message instance (a programming error, not bad input).
 */
export function encodeLeyline(message: LeylineMessage): Uint8Array {
  if (!isLeylineMessage(message)) {
    throw new TypeError(`encodeLeyline: expected a Leyline message instance, got ${describeValue(message)}`);
  }
  const Type = message.constructor as unknown as { encode(message: LeylineMessage): { finish(): Uint8Array } };
  return Type.encode(message).finish();
}

// ---- decode ----------------------------------------------------------------------------------------------------

export type LeylineDecodeErrorCode = 'oversized' | 'malformed' | 'not_bytes';

/** Why bytes could not become a Leyline message. Names the type that was expected. */
export class LeylineDecodeError extends Error {
  override readonly name = 'LeylineDecodeError';
  readonly code: LeylineDecodeErrorCode;
  /** Fully-qualified Leyline name of the expected type, e.g. esper.leyline.v1.SystemStatePacket. */
  readonly typeName: string;

  constructor(code: LeylineDecodeErrorCode, typeName: string, detail: string, options?: { cause?: unknown }) {
    super(`cannot decode ${typeName} (${code}): ${detail}`, options);
    this.code = code;
    this.typeName = typeName;
  }
}

export type DecodeResult<M> =
  | { readonly ok: true; readonly message: M }
  | { readonly ok: false; readonly error: LeylineDecodeError };

export interface DecodeOptions {
  /** Largest accepted input in bytes; default DEFAULT_DECODE_MAX_BYTES (4 MiB, see contracts/limits.ts). */
  maxBytes?: number;
}

/**
 * Decodes `bytes` as `Type`. Never throws: every failure is a `LeylineDecodeError` with a code:
 * - `not_bytes`: the input is not a Uint8Array (a Buffer is one);
 * - `oversized`: longer than `maxBytes`, refused before parsing;
 * - `malformed`: truncated, invalid varint/length, invalid UTF-8, nesting deeper than 100, or a *known* field
 *   arriving with a wire type its declared type never uses (a schema disagreement on that field number, not a
 *   newer peer: fields are never renumbered or retyped).
 * Fields this schema does not know are kept (copied out of `bytes`) and written back by `encodeLeyline`, so a
 * message from a newer peer survives a decode/encode round trip unchanged.
 */
export function decodeLeyline<M extends LeylineMessage>(
  Type: LeylineType<M>,
  bytes: unknown,
  options: DecodeOptions = {},
): DecodeResult<M> {
  if (!(bytes instanceof Uint8Array)) {
    return failure('not_bytes', Type, `expected a Uint8Array, got ${describeValue(bytes)}`);
  }
  const maxBytes = options.maxBytes ?? DEFAULT_DECODE_MAX_BYTES;
  if (bytes.length > maxBytes) {
    return failure('oversized', Type, `${bytes.length} bytes exceed the limit of ${maxBytes}`);
  }
  let message: M;
  const reader = new TrackingReader(bytes);
  try {
    message = (Type as unknown as { decode(reader: protobuf.Reader): M }).decode(reader);
  } catch (cause) {
    return failure('malformed', Type, cause instanceof Error ? cause.message : String(cause), cause);
  }
  if (reader.sawUnknown) {
    // Slow path, only for messages that carried fields the generated decoder skipped.
    let problem: string | null;
    try {
      problem = auditUnknowns(message, typeNameOf(Type).split('.').pop() ?? 'message', 0);
    } catch (cause) {
      problem = cause instanceof Error ? cause.message : String(cause);
    }
    if (problem !== null) return failure('malformed', Type, problem);
  }
  return { ok: true, message };
}

/**
 * A reader that keeps unknown fields (protobufjs discards them by default) and notes whether it met any, so the
 * common case (none) costs nothing extra. It also copies `bytes` fields out of the input. (64-bit integers are
 * read as Long, as by the stock reader; the generated decoders make them bigints, see contracts/generate.mjs.)
 */
class TrackingReader extends protobuf.Reader {
  sawUnknown = false;

  constructor(buffer: Uint8Array) {
    super(buffer);
    this.discardUnknown = false;
  }

  override skipType(wireType: number, depth?: number, fieldNumber?: number): protobuf.Reader {
    this.sawUnknown = true;
    return super.skipType(wireType, depth, fieldNumber);
  }

  /** A copy, not a view: a decoded `bytes` field must not change when the caller reuses its input buffer. */
  override bytes(): Uint8Array {
    return Uint8Array.prototype.slice.call(super.bytes());
  }
}

interface MessageLike {
  $unknowns?: Uint8Array[];
  constructor: unknown;
}

type DecodeFn = (reader: protobuf.Reader) => MessageLike;

function decoderOf(value: unknown): DecodeFn | null {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return null;
  const decode = (value.constructor as { decode?: unknown } | undefined)?.decode;
  return typeof decode === 'function' ? (decode as DecodeFn) : null;
}

/**
 * Walks a decoded message. Returns a description of the first known field that arrived with a wrong wire type
 * (the generated decoder files those under `$unknowns` too), or null. Copies every kept unknown field out of the
 * input buffer so that reusing the buffer later cannot change the message.
 */
function auditUnknowns(message: MessageLike, path: string, depth: number): string | null {
  if (depth > protobuf.util.recursionLimit) return `${path}: nesting deeper than ${protobuf.util.recursionLimit}`;
  const unknowns = message.$unknowns;
  if (unknowns) {
    const decode = decoderOf(message);
    for (let i = 0; i < unknowns.length; i++) {
      const raw = unknowns[i] as Uint8Array;
      const tag = readVarint(raw);
      const fieldNumber = Math.floor(tag / 8);
      const wireType = tag % 8;
      if (decode && acceptsFieldNumber(decode, fieldNumber)) {
        return `${path}: field ${fieldNumber} arrived with wire type ${wireType}, which its declared type does not use`;
      }
      unknowns[i] = Uint8Array.prototype.slice.call(raw); // a real copy, also for a Buffer
    }
  }
  for (const [key, value] of Object.entries(message)) {
    if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) continue;
    const children: Array<[string, unknown]> = Array.isArray(value)
      ? value.map((item, index) => [`${path}.${key}[${index}]`, item])
      : decoderOf(value)
        ? [[`${path}.${key}`, value]]
        : Object.entries(value).map(([mapKey, item]) => [`${path}.${key}[${JSON.stringify(mapKey)}]`, item]);
    for (const [childPath, child] of children) {
      if (!decoderOf(child)) continue;
      const problem = auditUnknowns(child as MessageLike, childPath, depth + 1);
      if (problem !== null) return problem;
    }
  }
  return null;
}

function readVarint(bytes: Uint8Array): number {
  let value = 0;
  for (let i = 0, scale = 1; i < bytes.length && i < 5; i++, scale *= 128) {
    const byte = bytes[i] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
  }
  return value;
}

function writeVarint(value: number, out: number[]): void {
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

// A zero-valued field body for each wire type a proto3 field can declare (varint, fixed64, length-delimited,
// fixed32). Every declared field type accepts the zero body of its own wire type.
const PROBE_BODIES: ReadonlyArray<readonly [number, readonly number[]]> = [
  [0, [0]],
  [1, [0, 0, 0, 0, 0, 0, 0, 0]],
  [2, [0]],
  [5, [0, 0, 0, 0]],
];
const knownFields = new WeakMap<DecodeFn, Map<number, boolean>>();

/**
 * Whether the type behind `decode` declares `fieldNumber`. Learned from the generated decoder itself (no schema
 * reflection is loaded): a declared field accepts a zero value of its own wire type without filing it as unknown.
 */
function acceptsFieldNumber(decode: DecodeFn, fieldNumber: number): boolean {
  let cache = knownFields.get(decode);
  if (!cache) {
    cache = new Map();
    knownFields.set(decode, cache);
  }
  const cached = cache.get(fieldNumber);
  if (cached !== undefined) return cached;
  let known = false;
  for (const [wireType, body] of PROBE_BODIES) {
    const probe: number[] = [];
    writeVarint(fieldNumber * 8 + wireType, probe);
    probe.push(...body);
    const reader = new protobuf.Reader(Uint8Array.from(probe));
    reader.discardUnknown = false;
    try {
      if (!decode(reader).$unknowns) {
        known = true;
        break;
      }
    } catch {
      // This wire type is not the field's; try the next.
    }
  }
  cache.set(fieldNumber, known);
  return known;
}

let namesByType: Map<unknown, string> | undefined;

function typeNameOf(Type: unknown): string {
  if (!namesByType) {
    namesByType = new Map();
    for (const [name, ctor] of leylineTypes()) namesByType.set(ctor, name);
  }
  return namesByType.get(Type) ?? `${(Type as { name?: string } | null)?.name ?? 'unknown'} (not a Leyline type)`;
}

function failure<M>(code: LeylineDecodeErrorCode, Type: unknown, detail: string, cause?: unknown): DecodeResult<M> {
  counters.decodeFailures[code] += 1;
  const error = new LeylineDecodeError(code, typeNameOf(Type), detail, cause === undefined ? undefined : { cause });
  return { ok: false, error };
}

// ---- copies ----------------------------------------------------------------------------------------------------

/**
 * A shallow copy of `message` with `patch` applied. Unknown fields go with it, so the copy encodes exactly as the
 * original would apart from the patch (the command verifier relies on this to re-encode a command without its
 * signature annotation, never touching the message it was given).
 */
export function withFields<M extends LeylineMessage>(message: M, patch: Partial<M>): M {
  const Ctor = message.constructor as new () => M;
  const copy = Object.assign(new Ctor(), message, patch);
  const unknowns = (message as MessageLike).$unknowns;
  if (unknowns) {
    Object.defineProperty(copy, '$unknowns', {
      value: [...unknowns],
      enumerable: false,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

// ---- schema version --------------------------------------------------------------------------------------------

/** The only Leyline schema version this project speaks. */
export const LEYLINE_SCHEMA_VERSION = 1;

/** The messages that carry a `version` field. */
export type VersionedMessage = v1.SystemStatePacket | v1.AdaptationCommand | v1.FieldReport | v1.PolicyUpdate;

export class LeylineVersionError extends Error {
  override readonly name = 'LeylineVersionError';
  readonly code = 'version_mismatch';
  readonly typeName: string;
  readonly version: number;

  constructor(typeName: string, version: number) {
    super(`${typeName} has schema version ${version}; only version ${LEYLINE_SCHEMA_VERSION} is accepted`);
    this.typeName = typeName;
    this.version = version;
  }
}

export type VersionCheck = { readonly ok: true } | { readonly ok: false; readonly error: LeylineVersionError };

/**
 * Consumers call this on every versioned message they accept: anything but version 1 (including an unset 0) is
 * refused and counted. The prototype declared this check but never implemented it.
 */
export function checkVersion(message: VersionedMessage): VersionCheck {
  const version = message.version ?? 0;
  if (version === LEYLINE_SCHEMA_VERSION) return { ok: true };
  counters.versionMismatches += 1;
  return { ok: false, error: new LeylineVersionError(typeNameOf(message.constructor), version) };
}

// ---- counters --------------------------------------------------------------------------------------------------

export interface LeylineCounterSnapshot {
  readonly decodeFailures: Readonly<Record<LeylineDecodeErrorCode, number>>;
  readonly versionMismatches: number;
}

const counters = {
  decodeFailures: { oversized: 0, malformed: 0, not_bytes: 0 } as Record<LeylineDecodeErrorCode, number>,
  versionMismatches: 0,
};

/** Process-wide rejection counters, for telemetry (`leyline.decode_failures{code}`, `leyline.version_mismatches`). */
export const LeylineCounters = {
  snapshot(): LeylineCounterSnapshot {
    return { decodeFailures: { ...counters.decodeFailures }, versionMismatches: counters.versionMismatches };
  },
} as const;
