// The forge's durable job journal (SQLite, WAL, synchronous=FULL): every compile job from request to outcome, so
// a forge that was interrupted resumes the jobs that were queued or running.
import type Database from 'better-sqlite3';
import { openSqlite } from '../../runtime/sqlite.ts';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface JournalJob {
  jobId: string;
  blueprintId: string;
  slotDims: number[];
  parameters: Record<string, number>;
  state: JobState;
  attempts: number;
  lastError: string;
}

interface Row {
  job_id: string;
  blueprint_id: string;
  slot_dims: string;
  parameters: string;
  state: JobState;
  attempts: number;
  last_error: string;
}

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE jobs (
     job_id TEXT PRIMARY KEY,
     blueprint_id TEXT NOT NULL,
     slot_dims TEXT NOT NULL,
     parameters TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error TEXT NOT NULL DEFAULT '',
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX jobs_by_state ON jobs (state);`,
];

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export class JobJournal {
  readonly #db: Database.Database;
  readonly #finishedListeners = new Set<(job: JournalJob) => void>();

  constructor(readonly path: string) {
    this.#db = openSqlite(path, {
      store: "Tezzeret's job journal",
      setup: (db) => {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        migrate(db);
      },
    });
  }

  record(job: Omit<JournalJob, 'state' | 'attempts' | 'lastError'>): void {
    const now = Date.now();
    this.#db
      .prepare(
        `INSERT INTO jobs (job_id, blueprint_id, slot_dims, parameters, state, attempts, last_error, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'queued', 0, '', ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET state = 'queued', updated_at = excluded.updated_at`,
      )
      .run(job.jobId, job.blueprintId, JSON.stringify(job.slotDims), JSON.stringify(job.parameters), now, now);
  }

  started(jobId: string): void {
    this.#db
      .prepare(`UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ? WHERE job_id = ?`)
      .run(Date.now(), jobId);
  }

  attemptFailed(jobId: string, error: string): void {
    this.#db.prepare(`UPDATE jobs SET last_error = ?, updated_at = ? WHERE job_id = ?`).run(error, Date.now(), jobId);
  }

  finished(jobId: string, ok: boolean, error = ''): void {
    this.#db
      .prepare(`UPDATE jobs SET state = ?, last_error = ?, updated_at = ? WHERE job_id = ?`)
      .run(ok ? 'succeeded' : 'failed', error, Date.now(), jobId);
    const job = this.get(jobId);
    if (job) for (const listener of this.#finishedListeners) listener(job);
  }

  /** Called with each job once its outcome is written (progress reports, tests). */
  onFinished(listener: (job: JournalJob) => void): () => void {
    this.#finishedListeners.add(listener);
    return () => this.#finishedListeners.delete(listener);
  }

  /** Jobs that were queued or running when the forge last stopped, oldest first. */
  unfinished(): JournalJob[] {
    return this.#select(`SELECT * FROM jobs WHERE state IN ('queued', 'running') ORDER BY created_at, job_id`);
  }

  get(jobId: string): JournalJob | null {
    return this.#select(`SELECT * FROM jobs WHERE job_id = ?`, jobId)[0] ?? null;
  }

  counts(): Record<JobState, number> {
    const counts: Record<JobState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
    for (const row of this.#db.prepare(`SELECT state, COUNT(*) AS n FROM jobs GROUP BY state`).all() as Array<{
      state: JobState;
      n: number;
    }>) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  close(): void {
    this.#db.close();
  }

  #select(sql: string, ...args: unknown[]): JournalJob[] {
    return (this.#db.prepare(sql).all(...args) as Row[]).map((row) => ({
      jobId: row.job_id,
      blueprintId: row.blueprint_id,
      slotDims: JSON.parse(row.slot_dims) as number[],
      parameters: JSON.parse(row.parameters) as Record<string, number>,
      state: row.state,
      attempts: row.attempts,
      lastError: row.last_error,
    }));
  }
}

/** The journal's id for a job: one per blueprint, slot and parameters, so a repeated request is the same job. */
export function jobIdFor(
  blueprintId: string,
  slotDims: readonly number[],
  parameters: Readonly<Record<string, number>>,
): string {
  const params = Object.keys(parameters)
    .sort()
    .map((key) => `${key}=${parameters[key]}`)
    .join(',');
  return `${blueprintId}@${slotDims.join('x')}${params ? `?${params}` : ''}`;
}
