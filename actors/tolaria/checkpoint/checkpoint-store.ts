// Checkpoints of one run, one file per epoch, in one directory:
//   ckpt-000012.ckpt   header + msgpackr TrainingState (checkpoint-format.ts)
//   manifest.json      { manifestVersion: 1, checkpoints: [{ epoch, file, bytes, crc, createdAt }] }, oldest first
// A file only ever appears under its final name complete and durable (temp file in the same directory, fsync,
// rename, directory fsync), so a kill -9 at any point leaves the previous checkpoints intact and at worst a temp
// file, which the next open removes. The directory listing is the truth about which checkpoints exist; the manifest
// is an index for people and tools, rewritten after each save and reconciled at open (it can lag one crash).
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, readSync, statSync, unlinkSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { syncDirectory, writeFileAtomic } from '../../../runtime/atomic-file.ts';
import { createLogger } from '../../../runtime/log.ts';
import type { Logger } from '../../../runtime/logic.ts';
import {
  CheckpointFileError,
  HEADER_BYTES,
  decodeCheckpoint,
  encodeCheckpoint,
  hex,
  readHeader,
  type CheckpointProblem,
} from './checkpoint-format.ts';
import type { TrainingState } from './training-state.ts';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_VERSION = 1;
export const DEFAULT_KEEP = 3;
const TEMP_SUFFIX = '.tmp';
const CHECKPOINT_FILE = /^ckpt-(\d+)\.ckpt$/;
const EPOCH_DIGITS = 6;

/** The durable steps of a save, in order (tests kill the process between them). */
export type CheckpointStep = 'temp_written' | 'temp_synced' | 'renamed' | 'dir_synced' | 'manifest_written' | 'pruned';
export type CheckpointStepHook = (step: CheckpointStep, file: string) => void;

export interface ManifestEntry {
  epoch: number;
  file: string;
  bytes: number;
  /** CRC-32 of the payload, as in the file's header. */
  crc: number;
  createdAt: string;
}

export interface Manifest {
  manifestVersion: typeof MANIFEST_VERSION;
  checkpoints: ManifestEntry[];
}

export interface CheckpointStoreOptions {
  /** How many checkpoints to keep (newest epochs); at least 1. Default 3. */
  keep?: number;
  logger?: Logger;
  onStep?: CheckpointStepHook;
}

/** What opening the store found and fixed. */
export interface RecoveryReport {
  tempFilesRemoved: number;
  /** Checkpoints beyond `keep` left by a save killed before its prune. */
  prunedAtOpen: number;
  /** The manifest was missing, unreadable or out of date and was rewritten from the files. */
  manifestRebuilt: boolean;
}

export interface SkippedCheckpoint {
  file: string;
  problem: CheckpointProblem;
  message: string;
}

export interface LoadedCheckpoint {
  state: TrainingState;
  file: string;
  /** Newer checkpoints that could not be used, newest first (empty when the newest was good). */
  skipped: SkippedCheckpoint[];
  /** One line per skipped file, as logged. */
  warnings: string[];
}

export interface CheckpointCounters {
  saved: number;
  pruned: number;
  corrupt_skipped: number;
}

/** A save that failed on the file system; names the file. The previous checkpoints are untouched. */
export class CheckpointWriteError extends Error {
  override readonly name = 'CheckpointWriteError';
  constructor(
    readonly file: string,
    override readonly cause: unknown,
  ) {
    super(`checkpoint ${file}: write failed (${(cause as Error)?.message ?? String(cause)})`);
  }
}

export function checkpointFileName(epoch: number): string {
  return `ckpt-${String(epoch).padStart(EPOCH_DIGITS, '0')}.ckpt`;
}

const tempName = (file: string): string => `.${file}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException)?.code === 'ENOENT';

export class CheckpointStore {
  readonly dir: string;
  readonly keep: number;
  readonly recovery: RecoveryReport;
  readonly #logger: Logger;
  readonly #onStep: CheckpointStepHook | undefined;
  readonly #counters: CheckpointCounters = { saved: 0, pruned: 0, corrupt_skipped: 0 };
  #manifest: Manifest;
  // Saves run one at a time, in call order: two interleaved saves could prune each other's files.
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Opens (creating) the directory and recovers it: removes temp files of interrupted saves, prunes beyond `keep`,
   * rewrites the manifest if it does not match the files. One process owns a directory at a time.
   */
  constructor(dir: string, options: CheckpointStoreOptions = {}) {
    const keep = options.keep ?? DEFAULT_KEEP;
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be an integer ≥ 1, got ${keep}`);
    this.dir = resolve(dir);
    this.keep = keep;
    this.#logger = options.logger ?? createLogger('tolaria.checkpoint');
    this.#onStep = options.onStep;
    mkdirSync(this.dir, { recursive: true });
    this.recovery = { tempFilesRemoved: 0, prunedAtOpen: 0, manifestRebuilt: false };
    this.#manifest = { manifestVersion: MANIFEST_VERSION, checkpoints: [] };
    this.#recover();
  }

  get counters(): Readonly<CheckpointCounters> {
    return { ...this.#counters };
  }

  /** The manifest's entries, oldest first. */
  list(): ManifestEntry[] {
    return this.#manifest.checkpoints.map((entry) => ({ ...entry }));
  }

  /** Checkpoint files on disk with their epochs, oldest first. */
  listFiles(): Array<{ epoch: number; file: string }> {
    const out: Array<{ epoch: number; file: string }> = [];
    for (const name of readdirSync(this.dir)) {
      const match = CHECKPOINT_FILE.exec(name);
      if (match) out.push({ epoch: Number(match[1]), file: name });
    }
    return out.sort((a, b) => a.epoch - b.epoch);
  }

  /** Temp files of interrupted writes. */
  listTempFiles(): string[] {
    return readdirSync(this.dir).filter((name) => name.endsWith(TEMP_SUFFIX));
  }

  pathOf(file: string): string {
    return join(this.dir, file);
  }

  /**
   * Writes the state as `ckpt-<epoch>.ckpt` (replacing a file of the same epoch), then the manifest, then prunes.
   * Checkpoints of later epochs are removed too: they belong to a timeline the run has abandoned (it resumed or
   * rolled back to an earlier epoch), and must never be mistaken for the newest state.
   */
  save(state: TrainingState): Promise<ManifestEntry> {
    const next = this.#queue.then(() => this.#save(state));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #save(state: TrainingState): Promise<ManifestEntry> {
    const file = checkpointFileName(state.epoch);
    const { bytes, crc } = encodeCheckpoint(state);
    try {
      await this.#writeAtomic(file, bytes, true);
    } catch (error) {
      throw new CheckpointWriteError(file, error);
    }
    const entry: ManifestEntry = { epoch: state.epoch, file, bytes: bytes.length, crc, createdAt: state.createdAt };
    const others = this.#manifest.checkpoints.filter((old) => old.epoch < state.epoch);
    const onDisk = this.listFiles().filter((found) => found.file !== file);
    const kept = [...others, entry].slice(-this.keep);
    const keptFiles = new Set(kept.map((k) => k.file));
    const doomed = onDisk.filter((found) => !keptFiles.has(found.file)).map((found) => found.file);
    // The manifest goes first, so it never lists a file that is already gone.
    this.#manifest = { manifestVersion: MANIFEST_VERSION, checkpoints: kept };
    try {
      await this.#writeAtomic(MANIFEST_FILE, Buffer.from(`${JSON.stringify(this.#manifest, null, 2)}\n`), false);
    } catch (error) {
      throw new CheckpointWriteError(MANIFEST_FILE, error);
    }
    this.#onStep?.('manifest_written', file);
    for (const name of doomed) {
      try {
        await unlink(this.pathOf(name));
        this.#counters.pruned += 1;
      } catch (error) {
        if (!isMissing(error)) throw new CheckpointWriteError(name, error);
      }
    }
    if (doomed.length > 0) await this.#syncDir();
    this.#onStep?.('pruned', file);
    this.#counters.saved += 1;
    this.#logger.info('checkpoint saved', {
      file,
      epoch: state.epoch,
      bytes: bytes.length,
      crc: hex(crc),
      pruned: doomed.length,
    });
    return { ...entry };
  }

  /** Reads one checkpoint file by name; throws CheckpointFileError naming it when it cannot be used. */
  async load(file: string): Promise<TrainingState> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(file));
    } catch (error) {
      throw new CheckpointFileError(file, 'unreadable', (error as Error).message);
    }
    const { state } = decodeCheckpoint(bytes, file);
    const expected = CHECKPOINT_FILE.exec(file);
    if (expected && Number(expected[1]) !== state.epoch) {
      throw new CheckpointFileError(
        file,
        'invalid_state',
        `holds epoch ${state.epoch}, its name says ${Number(expected[1])}`,
      );
    }
    return state;
  }

  /**
   * The newest checkpoint that passes its checks (what `--resume` continues from), or null when none does. Each
   * newer file that fails is skipped with a warning (logged, returned, counted in `corrupt_skipped`).
   */
  async loadLatest(): Promise<LoadedCheckpoint | null> {
    const skipped: SkippedCheckpoint[] = [];
    const warnings: string[] = [];
    for (const { file } of this.listFiles().reverse()) {
      try {
        const state = await this.load(file);
        return { state, file, skipped, warnings };
      } catch (error) {
        if (!(error instanceof CheckpointFileError)) throw error;
        this.#counters.corrupt_skipped += 1;
        skipped.push({ file, problem: error.problem, message: error.message });
        const warning = `${error.message}; falling back to the checkpoint before it`;
        warnings.push(warning);
        this.#logger.warn('checkpoint skipped', { file, problem: error.problem, detail: error.message });
      }
    }
    return null;
  }

  // Temp file in the same directory (a rename across file systems is not atomic), fsync, rename, directory fsync.
  async #writeAtomic(file: string, bytes: Uint8Array, report: boolean): Promise<void> {
    const temp = this.pathOf(tempName(file));
    const handle = await open(temp, 'wx', 0o644);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += (await handle.write(bytes, offset, bytes.length - offset)).bytesWritten;
      if (report) this.#onStep?.('temp_written', file);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await handle.close();
    if (report) this.#onStep?.('temp_synced', file);
    await rename(temp, this.pathOf(file));
    if (report) this.#onStep?.('renamed', file);
    // The rename is durable only once the directory entry is.
    await this.#syncDir();
    if (report) this.#onStep?.('dir_synced', file);
  }

  async #syncDir(): Promise<void> {
    const handle = await open(this.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  #recover(): void {
    for (const name of this.listTempFiles()) {
      try {
        unlinkSync(this.pathOf(name));
        this.recovery.tempFilesRemoved += 1;
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    const files = this.listFiles();
    const doomed = files.slice(0, Math.max(0, files.length - this.keep));
    for (const { file } of doomed) {
      unlinkSync(this.pathOf(file));
      this.recovery.prunedAtOpen += 1;
    }
    const kept = files.slice(doomed.length);
    const fromDisk: ManifestEntry[] = [];
    for (const { epoch, file } of kept) {
      const entry = this.#entryFromHeader(epoch, file);
      if (entry) fromDisk.push(entry);
    }
    const current = this.#readManifest();
    const same =
      current !== null &&
      JSON.stringify(current.checkpoints.map(stripTime)) === JSON.stringify(fromDisk.map(stripTime));
    if (same) {
      this.#manifest = current;
    } else {
      // Keep createdAt from the old manifest where it knew the file (the header does not carry it).
      const known = new Map((current?.checkpoints ?? []).map((entry) => [entry.file, entry.createdAt]));
      this.#manifest = {
        manifestVersion: MANIFEST_VERSION,
        checkpoints: fromDisk.map((entry) => ({ ...entry, createdAt: known.get(entry.file) ?? entry.createdAt })),
      };
      writeFileAtomic(
        join(this.dir, MANIFEST_FILE),
        `${JSON.stringify(this.#manifest, null, 2)}\n`,
        join(this.dir, tempName(MANIFEST_FILE)),
      );
      // A new, empty directory gets its first manifest: nothing was rebuilt.
      this.recovery.manifestRebuilt = current !== null || fromDisk.length > 0;
    }
    if (this.recovery.tempFilesRemoved + this.recovery.prunedAtOpen > 0 || this.recovery.manifestRebuilt) {
      syncDirectory(this.dir);
      this.#logger.info('checkpoint directory recovered', { dir: this.dir, ...this.recovery });
    }
  }

  // The header alone (no full read at open): the CRC and length a manifest entry records.
  #entryFromHeader(epoch: number, file: string): ManifestEntry | null {
    const path = this.pathOf(file);
    try {
      const size = statSync(path).size;
      const head = Buffer.alloc(HEADER_BYTES);
      const fd = openSync(path, 'r');
      let read = 0;
      try {
        read = readSync(fd, head, 0, HEADER_BYTES, 0);
      } finally {
        closeSync(fd);
      }
      const header = readHeader(head.subarray(0, read), file, size);
      return { epoch, file, bytes: size, crc: header.crc, createdAt: statSync(path).mtime.toISOString() };
    } catch (error) {
      if (error instanceof CheckpointFileError) {
        this.#logger.warn('checkpoint with an unusable header left out of the manifest', {
          file,
          problem: error.problem,
        });
        return null;
      }
      throw error;
    }
  }

  #readManifest(): Manifest | null {
    try {
      const parsed = JSON.parse(readFileSync(this.pathOf(MANIFEST_FILE), 'utf8')) as Partial<Manifest>;
      if (parsed.manifestVersion !== MANIFEST_VERSION || !Array.isArray(parsed.checkpoints)) return null;
      return parsed as Manifest;
    } catch {
      return null;
    }
  }
}

const stripTime = (entry: ManifestEntry): Omit<ManifestEntry, 'createdAt'> => ({
  epoch: entry.epoch,
  file: entry.file,
  bytes: entry.bytes,
  crc: entry.crc,
});
