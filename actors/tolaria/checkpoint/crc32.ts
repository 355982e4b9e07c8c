// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): the checksum on every checkpoint payload. Node's
// zlib.crc32 (present from Node 20.15) is native and fast; the table-driven version covers older runtimes and is
// the reference the tests compare against.
import * as zlib from 'node:zlib';

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The table-driven CRC-32 of `bytes`, continuing from `previous` (0 to start). Unsigned 32-bit result. */
export function crc32Table(bytes: Uint8Array, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// Looked up once: the typings declare zlib.crc32, but a Node older than 20.15 does not have it at run time.
const native: ((data: Uint8Array, value?: number) => number) | undefined =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? zlib.crc32 : undefined;

/** True when the native zlib.crc32 is in use. */
export const nativeCrc32 = native !== undefined;

/** CRC-32 of `bytes` (a string is taken as UTF-8), continuing from `previous`. Unsigned 32-bit result. */
export function crc32(bytes: Uint8Array | string, previous = 0): number {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return native ? native(data, previous) >>> 0 : crc32Table(data, previous);
}
