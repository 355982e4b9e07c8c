// Replay protection that survives a restart. A consumer remembers the id (nonce) of every message it handled for as
// long as a copy could still pass the freshness check (`openEnvelope`'s maxAgeMs, the message TTL): in memory for
// speed (subscription.ts) and here, in a small SQLite table in the process's state folder, so a consumer that
// restarts still refuses an entry it already handled (a replayed XADD of the same signed fields). Past its window a
// copy is refused as stale anyway, so rows are pruned then.
//
// The rules are pure functions (tested without a database); `SeenLedger` only stores and finds rows.
import type Database from 'better-sqlite3';
import { openSqlite } from '../../runtime/sqlite.ts';
import type { OonaSettings } from './settings.ts';

/** Without a message TTL nothing goes stale; ids are then remembered for an hour (as the in-memory dedupe does). */
const WINDOW_WITHOUT_TTL_MS = 3_600_000;

/** How long a handled message's id is remembered: the window in which a copy would still be accepted as fresh. */
export function replayWindowMs(settings: Pick<OonaSettings, 'messageTtlMs'>): number {
  return settings.messageTtlMs || WINDOW_WITHOUT_TTL_MS;
}

/**
 * Until when (epoch ms) a message handled at `nowMs` is remembered. A stamped envelope goes stale at
 * issued + window, so that is the end; an unstamped one (the prototype's) never does, so it counts from now.
 */
export function rememberUntil(issuedAtMs: number | null, nowMs: number, windowMs: number): number {
  return (issuedAtMs ?? nowMs) + windowMs;
}

export type LedgerVerdict = 'accept' | 'replay';

/** An id remembered until `rememberedUntil` (undefined: never seen) arriving at `nowMs`. */
export function judge(rememberedUntil: number | undefined, nowMs: number): LedgerVerdict {
  return rememberedUntil !== undefined && rememberedUntil > nowMs ? 'replay' : 'accept';
}

export interface SeenId {
  key: string;
  until: number;
}

/**
 * `<stateDir>/seen.db`: one row per (subscription scope, id) with the time it may be forgotten. Processes of one
 * deployment may share the folder (WAL, busy timeout): a copy delivered to another consumer of the same group is
 * refused too. Rows are written once per delivered batch, before the batch is acknowledged.
 */
export class SeenLedger {
  readonly #db: Database.Database;
  readonly #lookup: Database.Statement<[string, string], { until_ms: number }>;
  readonly #upsert: Database.Statement<[string, string, number]>;
  readonly #prune: Database.Statement<[number]>;
  readonly #count: Database.Statement<[], { n: number }>;

  constructor(
    readonly path: string,
    options: { busyTimeoutMs?: number } = {},
  ) {
    this.#db = openSqlite(path, {
      store: "Oona's replay ledger",
      timeoutMs: Math.max(0, Math.floor(options.busyTimeoutMs ?? 1_000)),
      setup: (db) => {
        db.pragma('journal_mode = WAL');
        // FULL: a batch is acknowledged on the bus only after its ids are durable here.
        db.pragma('synchronous = FULL');
        db.exec(`CREATE TABLE IF NOT EXISTS seen_ids (
          scope TEXT NOT NULL, id TEXT NOT NULL, until_ms INTEGER NOT NULL, PRIMARY KEY (scope, id)) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS seen_ids_until ON seen_ids (until_ms);`);
      },
    });
    this.#lookup = this.#db.prepare('SELECT until_ms FROM seen_ids WHERE scope = ? AND id = ?');
    this.#upsert = this.#db.prepare(
      'INSERT INTO seen_ids (scope, id, until_ms) VALUES (?, ?, ?) ON CONFLICT (scope, id) DO UPDATE SET until_ms = max(until_ms, excluded.until_ms)',
    );
    this.#prune = this.#db.prepare('DELETE FROM seen_ids WHERE until_ms <= ?');
    this.#count = this.#db.prepare('SELECT count(*) AS n FROM seen_ids');
  }

  /** Until when `id` is remembered in `scope`; undefined when it is not. */
  rememberedUntil(scope: string, id: string): number | undefined {
    return this.#lookup.get(scope, id)?.until_ms;
  }

  verdict(scope: string, id: string, nowMs: number): LedgerVerdict {
    return judge(this.rememberedUntil(scope, id), nowMs);
  }

  /** Remembers a batch of handled ids, in one transaction (a later expiry wins over an earlier one). */
  remember(scope: string, ids: readonly SeenId[]): void {
    if (ids.length === 0) return;
    this.#db.transaction(() => {
      for (const { key, until } of ids) this.#upsert.run(scope, key, until);
    })();
  }

  /** Forgets the ids whose window is over — exactly those `judge` would accept again now; answers how many. */
  prune(nowMs: number): number {
    return this.#prune.run(nowMs).changes;
  }

  get size(): number {
    return this.#count.get()?.n ?? 0;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
