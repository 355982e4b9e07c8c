// Nissa's queryable telemetry store (the embedded stand-in for the prototype's Elasticsearch): one SQLite table of
// documents — each a message, of kind telemetry, system state or field report (a Leyline BusMessageType; the
// prototype's `simic_metrics` index is telemetry of source `simic`) — with its run, source, time and event names,
// kept `retentionMs` and queried by any of those.
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite } from '../../runtime/sqlite.ts';
import type { v1 } from '../../contracts/index.ts';

export type DocumentKind = v1.BusMessageType;

export interface StoredDocument {
  id: number;
  kind: DocumentKind;
  runId: string;
  source: string;
  timeMs: number;
  events: string[];
  body: unknown;
}

export interface DocumentQuery {
  kind?: DocumentKind;
  runId?: string;
  source?: string;
  fromMs?: number;
  toMs?: number;
  /** Documents with a telemetry event of this name (its description). */
  event?: string;
  /** Newest first; default 100, at most 1 000. */
  limit?: number;
}

/** A run named by the documents: its id and the times of its first and last document (epoch ms). */
export interface RunSpan {
  runId: string;
  firstMs: number;
  lastMs: number;
}

/** Where Nissa keeps its documents in its state folder (`<varDir>/nissa`). */
export const documentsPath = (stateDir: string): string => join(stateDir, 'documents.db');

interface Row {
  id: number;
  kind: number;
  run_id: string;
  source: string;
  time_ms: number;
  events: string;
  body: string;
}

export class DocumentStore {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;

  constructor(
    path: string,
    readonly retentionMs: number,
  ) {
    this.#db = openSqlite(path, {
      store: "Nissa's documents",
      setup: (db) => {
        db.pragma('journal_mode = WAL');
        db.exec(`CREATE TABLE IF NOT EXISTS documents (
      id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, run_id TEXT NOT NULL, source TEXT NOT NULL,
      time_ms INTEGER NOT NULL, events TEXT NOT NULL, body TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS documents_kind_time ON documents (kind, time_ms);
      CREATE INDEX IF NOT EXISTS documents_run ON documents (run_id, time_ms);
      CREATE INDEX IF NOT EXISTS documents_source ON documents (source, time_ms);`);
      },
    });
    this.#insert = this.#db.prepare(
      'INSERT INTO documents (kind, run_id, source, time_ms, events, body) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }

  add(document: Omit<StoredDocument, 'id'>): void {
    this.#insert.run(
      document.kind,
      document.runId,
      document.source,
      Math.round(document.timeMs),
      JSON.stringify(document.events),
      JSON.stringify(document.body),
    );
  }

  query(query: DocumentQuery = {}): StoredDocument[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    // Each filter the query sets (an empty string sets none) adds its clause and its parameter.
    const filters: Array<[clause: string, value: string | number | undefined]> = [
      ['kind = ?', query.kind],
      ['run_id = ?', query.runId || undefined],
      ['source = ?', query.source || undefined],
      ['time_ms >= ?', query.fromMs],
      ['time_ms <= ?', query.toMs],
      ['EXISTS (SELECT 1 FROM json_each(events) WHERE value = ?)', query.event || undefined],
    ];
    for (const [clause, value] of filters) {
      if (value === undefined) continue;
      where.push(clause);
      params.push(value);
    }
    const limit = Math.min(1_000, Math.max(1, query.limit ?? 100));
    const sql = `SELECT * FROM documents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time_ms DESC, id DESC LIMIT ${limit}`;
    return (this.#db.prepare(sql).all(...params) as Row[]).map((row) => ({
      id: row.id,
      kind: row.kind,
      runId: row.run_id,
      source: row.source,
      timeMs: row.time_ms,
      events: JSON.parse(row.events) as string[],
      body: JSON.parse(row.body) as unknown,
    }));
  }

  /**
   * The runs the documents name (system state and field reports carry their run's id; telemetry does not), oldest
   * first, each with the time of its first and its last document.
   */
  runs(): RunSpan[] {
    return this.#db
      .prepare(
        "SELECT run_id AS runId, MIN(time_ms) AS firstMs, MAX(time_ms) AS lastMs FROM documents WHERE run_id != '' GROUP BY run_id ORDER BY firstMs, runId",
      )
      .all() as RunSpan[];
  }

  /** Drops documents older than the retention; answers how many. */
  expire(now = Date.now()): number {
    return this.#db.prepare('DELETE FROM documents WHERE time_ms < ?').run(now - this.retentionMs).changes;
  }

  count(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM documents').get() as { n: number }).n;
  }

  close(): void {
    this.#db.close();
  }
}
