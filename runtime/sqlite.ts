// Every SQLite store is opened here: the file is opened and read at once (better-sqlite3 opens lazily, so a corrupt
// file would otherwise fail at its first query, far from here, as a bare "file is not a database"), and a failure
// names the store, its file and what to do. The file is never moved or rewritten: what to do with it is the user's.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';

export interface OpenSqliteOptions {
  /** What the file is, for the message ("Tamiyo's field reports"). */
  store: string;
  readonly?: boolean;
  /** How long a statement waits for another connection's lock before failing (better-sqlite3's default: 5 s). */
  timeoutMs?: number;
  /** Pragmas and schema, run at once; a SQLite error in it is reported like one at open. */
  setup?: (db: Database.Database) => void;
}

/** What to do about a store that cannot be opened, by SQLite's result code. */
function remedy(code: string): string {
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return 'it is not a readable SQLite database: move it aside to start afresh (what it held is then not used), or restore it from a backup';
  }
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_LOCKED'))
    return 'another process holds it: stop that process, or use another folder';
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_CANTOPEN')) {
    return 'check that the file and its folder exist and are writable by this user';
  }
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR'))
    return 'check the disk (space, errors), then try again';
  return 'move it aside to start afresh, or restore it from a backup';
}

/** A store whose file could not be opened or read; `code` is SQLite's result code ('' when it is not SQLite's). */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
  constructor(
    readonly store: string,
    readonly path: string,
    readonly code: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${store} (${path}) cannot be opened: ${reason}; ${remedy(code)}`, options);
  }
}

/**
 * Opens the SQLite file at `path` (its folder made first; ':memory:' as is), runs `setup`, then reads the schema
 * version so a damaged file fails now, not at its first use. Any failure closes the connection and throws a
 * StoreOpenError; an error `setup` throws that is not SQLite's (a schema newer than this code) passes through.
 */
export function openSqlite(path: string, options: OpenSqliteOptions): Database.Database {
  const file = path === ':memory:' ? path : resolve(path);
  let db: Database.Database;
  try {
    if (file !== ':memory:' && !options.readonly) mkdirSync(dirname(file), { recursive: true });
    db = new Database(file, {
      readonly: options.readonly ?? false,
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
    });
  } catch (error) {
    throw new StoreOpenError(options.store, file, sqliteCode(error), messageOf(error), { cause: error });
  }
  try {
    // Setup first: some pragmas (locking_mode) must come before the file is first read.
    options.setup?.(db);
    db.pragma('schema_version');
    return db;
  } catch (error) {
    db.close();
    if (!(error instanceof Database.SqliteError)) throw error;
    throw new StoreOpenError(options.store, file, error.code, error.message, { cause: error });
  }
}

function sqliteCode(error: unknown): string {
  return error instanceof Database.SqliteError ? error.code : '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
