// Tamiyo's field reports, durable (docs/tamiyo.md#the-field-report-log): one row per report, WAL journal with
// synchronous=FULL, so a report whose append returned survives kill -9; an interrupted append is rolled back, never
// half-written. A report is appended when its decision is made and completed later, once its observation window has
// passed, with the observed outcome. Retention drops reports older than the window (24 h by default) in bounded
// batches; a report without a timestamp never expires.
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite } from '../../runtime/sqlite.ts';
import { leyline, type v1 } from '../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import { fromTimestamp } from '../../contracts/time.ts';

/** Where Tamiyo keeps its field reports in its state folder (`<varDir>/tamiyo`). */
export const fieldReportsPath = (stateDir: string): string => join(stateDir, 'field_reports.db');

export const DEFAULT_RETENTION_MS = 24 * 60 * 60 * 1000;
const DEFAULT_PRUNE_BATCH = 500;

export class FieldReportError extends Error {
  override readonly name = 'FieldReportError';
}

export interface FieldReportLogOptions {
  retentionMs?: number;
  /** Rows deleted per statement when pruning (a long prune never holds the database for long). */
  pruneBatch?: number;
  /** Epoch milliseconds. */
  clock?: () => number;
}

export interface FieldReportCounters {
  appended: number;
  completed: number;
  pruned: number;
  /** Rows that did not decode on reload (counted and skipped). */
  undecodable: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS field_reports (
    id INTEGER PRIMARY KEY,
    report_id TEXT NOT NULL UNIQUE,
    issued_at_ms INTEGER NOT NULL,
    outcome INTEGER NOT NULL,
    report BLOB NOT NULL
  );
  CREATE INDEX IF NOT EXISTS field_reports_by_time ON field_reports (issued_at_ms);`;

export class FieldReportLog {
  readonly retentionMs: number;
  readonly counters: FieldReportCounters = { appended: 0, completed: 0, pruned: 0, undecodable: 0 };
  readonly #db: Database.Database;
  readonly #clock: () => number;
  readonly #pruneBatch: number;
  readonly #insert: Database.Statement;
  readonly #upsert: Database.Statement;
  readonly #update: Database.Statement;

  constructor(
    readonly path: string,
    options: FieldReportLogOptions = {},
  ) {
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#pruneBatch = options.pruneBatch ?? DEFAULT_PRUNE_BATCH;
    this.#clock = options.clock ?? Date.now;
    this.#db = openSqlite(path, {
      store: "Tamiyo's field reports",
      setup: (db) => {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.exec(SCHEMA);
      },
    });
    this.#insert = this.#db.prepare(
      'INSERT INTO field_reports (report_id, issued_at_ms, outcome, report) VALUES (?, ?, ?, ?)',
    );
    this.#upsert = this.#db.prepare(
      'INSERT INTO field_reports (report_id, issued_at_ms, outcome, report) VALUES (?, ?, ?, ?) ON CONFLICT (report_id) DO UPDATE SET issued_at_ms = excluded.issued_at_ms, outcome = excluded.outcome, report = excluded.report',
    );
    this.#update = this.#db.prepare('UPDATE field_reports SET outcome = ?, report = ? WHERE report_id = ?');
    this.enforceRetention();
  }

  /** Stores a report; durable when this returns. A duplicate or id-less report is refused, naming the problem. */
  append(report: v1.FieldReport): void {
    if (!report.reportId) throw new FieldReportError('field report: report_id is empty');
    try {
      this.#insert.run(report.reportId, issuedAtMs(report), report.outcome, encodeLeyline(report));
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new FieldReportError(`field report ${report.reportId}: already stored`);
      throw error;
    }
    this.counters.appended += 1;
    this.enforceRetention();
  }

  /**
   * Stores a report, replacing one of the same id in its place: a decision taken again after a run resumed from a
   * checkpoint (the same boundary of the same run) replaces the one taken before the crash, never doubles it.
   */
  record(report: v1.FieldReport): void {
    if (!report.reportId) throw new FieldReportError('field report: report_id is empty');
    this.#upsert.run(report.reportId, issuedAtMs(report), report.outcome, encodeLeyline(report));
    this.counters.appended += 1;
    this.enforceRetention();
  }

  /** Replaces a stored report with its completed form (the observed outcome and metrics); durable on return. */
  complete(report: v1.FieldReport): void {
    const changed = this.#update.run(report.outcome, encodeLeyline(report), report.reportId).changes;
    if (changed === 0) throw new FieldReportError(`field report ${report.reportId}: not stored (or expired)`);
    this.counters.completed += 1;
  }

  /** Every retained report, oldest first. */
  reports(): v1.FieldReport[] {
    return this.#decode(
      this.#db.prepare('SELECT report FROM field_reports ORDER BY id').all() as Array<{ report: Uint8Array }>,
    );
  }

  /** Reports still waiting for their outcome (FIELD_REPORT_OUTCOME_UNSPECIFIED), oldest first. */
  pending(): v1.FieldReport[] {
    const rows = this.#db
      .prepare('SELECT report FROM field_reports WHERE outcome = ? ORDER BY id')
      .all(leyline.FieldReportOutcome.FIELD_REPORT_OUTCOME_UNSPECIFIED);
    return this.#decode(rows as Array<{ report: Uint8Array }>);
  }

  /**
   * Completed reports (an outcome observed), oldest first, except those named in `known`: a reader that polls (Simic)
   * decodes only what it has not seen, not the whole retention window each time.
   */
  completed(known: ReadonlySet<string>): v1.FieldReport[] {
    const ids = (
      this.#db
        .prepare('SELECT id, report_id FROM field_reports WHERE outcome != ? ORDER BY id')
        .all(leyline.FieldReportOutcome.FIELD_REPORT_OUTCOME_UNSPECIFIED) as Array<{ id: number; report_id: string }>
    )
      .filter((row) => !known.has(row.report_id))
      .map((row) => row.id);
    const select = this.#db.prepare('SELECT report FROM field_reports WHERE id = ?');
    return this.#decode(ids.map((id) => select.get(id) as { report: Uint8Array }).filter((row) => row !== undefined));
  }

  get size(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM field_reports').get() as { n: number }).n;
  }

  /** Drops reports issued before now − retention (never those without a timestamp); returns how many. */
  enforceRetention(now = this.#clock()): number {
    const cutoff = now - this.retentionMs;
    const prune = this.#db.prepare(
      'DELETE FROM field_reports WHERE id IN (SELECT id FROM field_reports WHERE issued_at_ms > 0 AND issued_at_ms < ? LIMIT ?)',
    );
    let removed = 0;
    for (;;) {
      const changes = prune.run(cutoff, this.#pruneBatch).changes;
      removed += changes;
      if (changes < this.#pruneBatch) break;
    }
    this.counters.pruned += removed;
    return removed;
  }

  close(): void {
    this.#db.close();
  }

  #decode(rows: ReadonlyArray<{ report: Uint8Array }>): v1.FieldReport[] {
    const out: v1.FieldReport[] = [];
    for (const row of rows) {
      const decoded = decodeLeyline(leyline.FieldReport, new Uint8Array(row.report));
      if (decoded.ok) out.push(decoded.message);
      else this.counters.undecodable += 1;
    }
    return out;
  }
}

function issuedAtMs(report: v1.FieldReport): number {
  return report.issuedAt ? fromTimestamp(report.issuedAt) : 0;
}
