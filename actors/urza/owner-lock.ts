// One writer per Urza root, any number of readers. The owner — the one process that saves, evicts, runs start-up
// recovery and deletes artifact files — holds an exclusive SQLite lock on `<root>/owner.lock` for as long as it owns
// the root. It is an OS file lock, so it dies with its process: after a kill -9 the next process to try takes over,
// with no stale lock to judge. (A pid file judged by liveness would misjudge a reused pid, and two processes finding
// the same dead pid could both take over.) The owner also records its pid in `owner.pid`, only to name it in errors.
import type Database from 'better-sqlite3';
import { openSqlite, StoreOpenError } from '../../runtime/sqlite.ts';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../runtime/atomic-file.ts';

export const OWNER_LOCK_FILE = 'owner.lock';
export const OWNER_PID_FILE = 'owner.pid';

/** Another process (or connection) owns the root and this one needed to write. */
export class CatalogLockedError extends Error {
  override readonly name = 'CatalogLockedError';
  constructor(
    readonly path: string,
    readonly ownerPid: number | null,
    options?: { cause?: unknown },
  ) {
    super(
      `${path} is owned by ${ownerPid === null ? 'another process' : `process ${ownerPid}`}: one writer per Urza root (other processes read it)`,
      options,
    );
  }
}

export class OwnerLock {
  readonly #db: Database.Database;

  private constructor(
    readonly root: string,
    db: Database.Database,
  ) {
    this.#db = db;
  }

  /** Takes ownership of `root` if no live process holds it; null when one does (see `ownerPid`). */
  static tryAcquire(root: string): OwnerLock | null {
    mkdirSync(root, { recursive: true });
    let db: Database.Database;
    try {
      db = openSqlite(join(root, OWNER_LOCK_FILE), {
        store: "Urza's owner lock",
        timeoutMs: 0,
        setup: (connection) => {
          // An exclusive-mode connection keeps every lock it takes until it closes; BEGIN EXCLUSIVE takes the strongest.
          connection.pragma('locking_mode = EXCLUSIVE');
          connection.exec('BEGIN EXCLUSIVE; COMMIT');
        },
      });
    } catch (error) {
      if (error instanceof StoreOpenError && error.code === 'SQLITE_BUSY') return null;
      throw error;
    }
    writeFileAtomic(join(root, OWNER_PID_FILE), `${process.pid}\n`);
    return new OwnerLock(root, db);
  }

  /** The pid the current owner recorded, when that process is alive (else null: unknown, or just starting). */
  static ownerPid(root: string): number | null {
    let pid: number;
    try {
      pid = Number.parseInt(readFileSync(join(root, OWNER_PID_FILE), 'utf8'), 10);
    } catch {
      return null;
    }
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
  }

  get held(): boolean {
    return this.#db.open;
  }

  release(): void {
    if (this.#db.open) this.#db.close();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
