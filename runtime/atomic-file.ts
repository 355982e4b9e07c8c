// A small file replaced atomically: the bytes go to a temporary file in the same directory, which is fsynced and
// renamed over the target, and the directory is fsynced, so after a crash the file holds the old or the new
// contents, never a mix.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** fsync of a directory: makes a rename or a new entry in it durable. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `path` atomically; `temporary` (same directory) defaults to `<path>.tmp-<pid>`. */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  temporary = `${path}.tmp-${process.pid}`,
): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(temporary, 'w', 0o644);
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  syncDirectory(dir);
}
