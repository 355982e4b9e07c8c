// The checkpoint file format: a 24-byte header, then a msgpackr payload of the TrainingState.
//
//   offset  size  field
//   0       8     magic "ESPERCKP"
//   8       4     format version (uint32 LE), 1
//   12      4     CRC-32 of the payload (uint32 LE)
//   16      8     payload length in bytes (uint64 LE)
//   24      n     payload
//
// The length makes truncation and trailing garbage detectable before the CRC is even computed; the CRC catches
// flipped bytes; the decode and validation catch a well-checksummed payload of the wrong shape.
import { Packr } from 'msgpackr';
import { crc32 } from './crc32.ts';
import { TrainingStateError, validateTrainingState, type TrainingState } from './training-state.ts';

export const CHECKPOINT_MAGIC = 'ESPERCKP';
export const CHECKPOINT_FORMAT_VERSION = 1;
export const HEADER_BYTES = 24;

// moreTypes: Float32Arrays travel as msgpackr's typed-array extension and come back as Float32Array.
const packer = new Packr({ moreTypes: true });

/** Why a checkpoint file cannot be used. */
export type CheckpointProblem =
  | 'unreadable'
  | 'too_short'
  | 'bad_magic'
  | 'unsupported_version'
  | 'truncated'
  | 'trailing_bytes'
  | 'crc_mismatch'
  | 'undecodable'
  | 'invalid_state';

/** A checkpoint file that cannot be used; names the file and the problem. */
export class CheckpointFileError extends Error {
  override readonly name = 'CheckpointFileError';
  constructor(
    readonly file: string,
    readonly problem: CheckpointProblem,
    detail: string,
  ) {
    super(`checkpoint ${file}: ${problem} (${detail})`);
  }
}

export interface CheckpointHeader {
  version: number;
  crc: number;
  payloadBytes: number;
}

/** Header + payload bytes of a state. */
export function encodeCheckpoint(state: TrainingState): { bytes: Uint8Array; crc: number } {
  const payload = packer.pack(state);
  const crc = crc32(payload);
  const bytes = new Uint8Array(HEADER_BYTES + payload.length);
  const view = new DataView(bytes.buffer);
  bytes.set(Buffer.from(CHECKPOINT_MAGIC, 'ascii'), 0);
  view.setUint32(8, CHECKPOINT_FORMAT_VERSION, true);
  view.setUint32(12, crc, true);
  view.setBigUint64(16, BigInt(payload.length), true);
  bytes.set(payload, HEADER_BYTES);
  return { bytes, crc };
}

/**
 * Parses and checks the header (magic, version, announced length against the file's size). `fileBytes` is the
 * whole file's size when `bytes` holds only its head.
 */
export function readHeader(bytes: Uint8Array, file: string, fileBytes: number = bytes.length): CheckpointHeader {
  if (bytes.length < HEADER_BYTES)
    throw new CheckpointFileError(file, 'too_short', `${bytes.length} bytes, the header alone is ${HEADER_BYTES}`);
  const magic = Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString('latin1');
  if (magic !== CHECKPOINT_MAGIC)
    throw new CheckpointFileError(
      file,
      'bad_magic',
      `starts with ${JSON.stringify(magic)}, expected "${CHECKPOINT_MAGIC}"`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointFileError(
      file,
      'unsupported_version',
      `format version ${version}, this build reads ${CHECKPOINT_FORMAT_VERSION}`,
    );
  }
  const crc = view.getUint32(12, true);
  const length = view.getBigUint64(16, true);
  const available = BigInt(fileBytes - HEADER_BYTES);
  if (length > available)
    throw new CheckpointFileError(file, 'truncated', `header announces ${length} payload bytes, ${available} present`);
  if (length < available)
    throw new CheckpointFileError(
      file,
      'trailing_bytes',
      `header announces ${length} payload bytes, ${available} present`,
    );
  return { version, crc, payloadBytes: Number(length) };
}

/** Checks header and CRC, decodes and validates: the state, or a CheckpointFileError naming `file`. */
export function decodeCheckpoint(bytes: Uint8Array, file: string): { state: TrainingState; header: CheckpointHeader } {
  const header = readHeader(bytes, file);
  const payload = bytes.subarray(HEADER_BYTES);
  const actual = crc32(payload);
  if (actual !== header.crc) {
    throw new CheckpointFileError(file, 'crc_mismatch', `payload CRC ${hex(actual)}, header says ${hex(header.crc)}`);
  }
  let decoded: unknown;
  try {
    decoded = packer.unpack(payload);
  } catch (error) {
    throw new CheckpointFileError(file, 'undecodable', (error as Error).message);
  }
  try {
    return { state: validateTrainingState(decoded), header };
  } catch (error) {
    if (error instanceof TrainingStateError) throw new CheckpointFileError(file, 'invalid_state', error.problem);
    throw error;
  }
}

export const hex = (crc: number): string => `0x${crc.toString(16).padStart(8, '0')}`;
