// Kernel artifacts on disk, named by content: `<root>/artifacts/<sha256>.kernel`. A file only ever appears under
// its hash name complete and durable: bytes go to a temp file in the same directory, which is fsynced, renamed
// (atomic within a directory) and the directory fsynced, before anyone may point at the name. Identical bytes
// share one file; rows count references (catalog-db.ts) and the last one out deletes it.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

/** The durable steps of a save, in order (the library reports the last one after its catalog commit). */
export type SaveStep = 'temp_written' | 'temp_synced' | 'renamed' | 'dir_synced' | 'committed';

/** Observes each step of a save as it completes (tests use it to kill a process between steps). */
export type SaveStepHook = (step: SaveStep, hash: string) => void;

export const ARTIFACTS_DIR = 'artifacts';
export const ARTIFACT_SUFFIX = '.kernel';
const TEMP_SUFFIX = '.tmp';
const HASH_FILE = /^[0-9a-f]{64}\.kernel$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export const isSha256Hex = (value: string): boolean => /^[0-9a-f]{64}$/.test(value);

export interface StoredArtifact {
  hash: string;
  /** Relative to the store root: "artifacts/<hash>.kernel". */
  relativePath: string;
  size: number;
  mtimeS: number;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class ArtifactStore {
  readonly root: string;
  /** Absolute path of the artifacts directory. */
  readonly dir: string;
  readonly #onStep: SaveStepHook | undefined;

  constructor(root: string, options: { onStep?: SaveStepHook } = {}) {
    this.root = resolve(root);
    this.dir = join(this.root, ARTIFACTS_DIR);
    this.#onStep = options.onStep;
    mkdirSync(this.dir, { recursive: true });
  }

  /** Where the artifact with this hash lives, relative to the root. */
  relativePathOf(hash: string): string {
    return `${ARTIFACTS_DIR}/${hash}${ARTIFACT_SUFFIX}`;
  }

  absolutePathOf(relativePath: string): string {
    return resolve(this.root, relativePath);
  }

  /**
   * Writes `bytes` durably under their hash name and returns where. Crash-safe: until the rename, only a temp
   * file exists (removed by `removeTempFiles` at the next start); after it, the complete file.
   */
  put(bytes: Uint8Array, hash: string = sha256Hex(bytes)): StoredArtifact {
    const relativePath = this.relativePathOf(hash);
    const finalPath = this.absolutePathOf(relativePath);
    const tempPath = join(this.dir, `.${hash}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
    const fd = openSync(tempPath, 'wx', 0o644);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      this.#onStep?.('temp_written', hash);
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      unlinkSync(tempPath);
      throw error;
    }
    closeSync(fd);
    this.#onStep?.('temp_synced', hash);
    renameSync(tempPath, finalPath);
    this.#onStep?.('renamed', hash);
    // The rename itself is durable only once the directory entry is.
    fsyncPath(this.dir);
    this.#onStep?.('dir_synced', hash);
    return { hash, relativePath, size: bytes.length, mtimeS: statSync(finalPath).mtimeMs / 1000 };
  }

  /** The artifact's bytes, or null when the file does not exist. */
  read(relativePath: string): Buffer | null {
    try {
      return readFileSync(this.absolutePathOf(relativePath));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  exists(relativePath: string): boolean {
    return existsSync(this.absolutePathOf(relativePath));
  }

  /** Deletes an artifact file; false when it was already gone. */
  remove(relativePath: string): boolean {
    try {
      unlinkSync(this.absolutePathOf(relativePath));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /** Relative paths of every complete artifact file. */
  listArtifacts(): string[] {
    return readdirSync(this.dir)
      .filter((name) => HASH_FILE.test(name))
      .map((name) => `${ARTIFACTS_DIR}/${name}`);
  }

  /** Temp files left by interrupted saves. */
  listTempFiles(): string[] {
    return readdirSync(this.dir).filter((name) => name.endsWith(TEMP_SUFFIX));
  }

  /**
   * Removes temp files of interrupted saves. Only safe while no save is in flight, i.e. at start-up of the one
   * process that owns this root.
   */
  removeTempFiles(): number {
    let removed = 0;
    for (const name of this.listTempFiles()) {
      try {
        unlinkSync(join(this.dir, name));
        removed += 1;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return removed;
  }
}
