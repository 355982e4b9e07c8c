// Simic's replay buffer: experiences from completed field reports (Tamiyo's SQLite store, or reports handed over
// live), each kept once (by report id), at most `capacity` (the oldest go first) and none older than `ttlMs` (pruned
// wherever they sit, not only at the head). Sampling is uniform without replacement, seeded. A report that cannot
// be learned from (still waiting, no decision) is skipped; a malformed one is counted and named, never fatal.
import type { v1 } from '../../contracts/index.ts';
import { fromTimestamp } from '../../contracts/time.ts';
import { mulberry32 } from '../../runtime/seeded-random.ts';
import { experienceOf, type Experience } from './experience.ts';

export interface ReplayOptions {
  capacity: number;
  ttlMs: number;
  /** The random seed of sampling. */
  rngSeed: number;
  /** Epoch milliseconds. */
  clock?: () => number;
}

export const DEFAULT_REPLAY_OPTIONS: ReplayOptions = { capacity: 1024, ttlMs: 24 * 3_600_000, rngSeed: 11 };

export interface ReplayCounters {
  added: number;
  /** Pending (no outcome yet) or without a decision: nothing to learn from (yet). */
  skipped: number;
  malformed: number;
  evicted: number;
  expired: number;
}

interface Entry {
  reportId: string;
  atMs: number;
  experience: Experience;
}

export class ReplayBuffer {
  readonly counters: ReplayCounters = { added: 0, skipped: 0, malformed: 0, evicted: 0, expired: 0 };
  /** The last malformed report's problem (for telemetry). */
  lastProblem = '';
  readonly #entries: Entry[] = [];
  readonly #seen = new Set<string>();
  readonly #random: () => number;
  readonly #clock: () => number;

  constructor(readonly options: ReplayOptions = DEFAULT_REPLAY_OPTIONS) {
    this.#random = mulberry32(options.rngSeed);
    this.#clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Reports already taken in (or refused as malformed): a store need not hand them over again. */
  get known(): ReadonlySet<string> {
    return this.#seen;
  }

  /** Adds what can be learned from `reports` (each report once); returns how many experiences were added. */
  addReports(reports: readonly v1.FieldReport[]): number {
    let added = 0;
    for (const report of reports) {
      if (this.#seen.has(report.reportId)) continue;
      let experience: Experience | null;
      try {
        experience = experienceOf(report, report.metrics?.['observed.seed_parameters'] ?? 0);
      } catch (error) {
        this.#seen.add(report.reportId);
        this.counters.malformed += 1;
        this.lastProblem = (error as Error).message;
        continue;
      }
      if (!experience) {
        // Pending reports are looked at again once their outcome is in.
        this.counters.skipped += 1;
        continue;
      }
      this.#seen.add(report.reportId);
      this.#entries.push({
        reportId: report.reportId,
        atMs: report.issuedAt ? fromTimestamp(report.issuedAt) : this.#clock(),
        experience,
      });
      added += 1;
    }
    this.counters.added += added;
    this.#prune();
    return added;
  }

  /** Up to `n` experiences, uniformly without replacement; all of them (in order) when n ≥ size. */
  sample(n: number): Experience[] {
    this.#prune();
    if (n >= this.#entries.length) return this.#entries.map((e) => e.experience);
    const picked = this.#entries.map((e) => e.experience);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.#random() * (picked.length - i));
      [picked[i], picked[j]] = [picked[j]!, picked[i]!];
    }
    return picked.slice(0, n);
  }

  #prune(): void {
    const cutoff = this.#clock() - this.options.ttlMs;
    const before = this.#entries.length;
    const kept = this.#entries.filter((e) => e.atMs >= cutoff);
    // An expired report has left the store too (same window): its id need not be remembered.
    for (const e of this.#entries) if (e.atMs < cutoff) this.#seen.delete(e.reportId);
    this.counters.expired += before - kept.length;
    const evicted = Math.max(0, kept.length - this.options.capacity);
    this.counters.evicted += evicted;
    this.#entries.splice(0, this.#entries.length, ...kept.slice(evicted));
  }
}
