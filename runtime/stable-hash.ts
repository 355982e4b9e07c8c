// The project's one stable hash of a string (docs/architecture.md#determinism): the first 4 bytes of SHA-256 of its
// UTF-8 bytes, read as a big-endian unsigned 32-bit integer. The same on every machine and in every process (Python's
// hash() is not).
import { createHash } from 'node:crypto';

export function stableHash32(text: string): number {
  // readUInt32BE, never `<<`: a shift would make values ≥ 2^31 negative.
  return createHash('sha256').update(text, 'utf8').digest().readUInt32BE(0);
}

/** stableHash32 scaled to [0, 1]; the empty string is 0 (a categorical feature for a network). */
export function stableUnit(text: string): number {
  return text === '' ? 0 : stableHash32(text) / 0xffffffff;
}
