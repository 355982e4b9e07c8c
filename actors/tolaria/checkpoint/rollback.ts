// Rollback decisions: when a loss is a fault (LossWatch), and which tier restores from it within which deadline
// (RollbackPlanner). Neither touches tensors: the restores themselves are callbacks, so the rules can be tested
// with a fake clock and Tolaria decides how a restore is done.
import { performance } from 'node:perf_hooks';
import type { Snapshot } from './snapshot-ring.ts';

export const DEFAULT_EXPLOSION_FACTOR = 15;
export const DEFAULT_LOSS_WINDOW = 50;
export const DEFAULT_FAST_DEADLINE_MS = 500;
export const DEFAULT_FULL_DEADLINE_MS = 12_000;

export type FaultReason = 'nan' | 'inf' | 'explosion';
/** What started a rollback: a faulty loss, or a ROLLBACK command. */
export type RollbackTrigger = FaultReason | 'command';

export type LossVerdict = { fault: false } | { fault: true; reason: FaultReason; loss: number; mean: number | null };

export interface LossWatchOptions {
  /** How many recent healthy losses the running mean covers. */
  window?: number;
  /** A loss above factor × the running mean is an explosion. */
  explosionFactor?: number;
}

/**
 * Running mean of the recent healthy losses. Faulty losses never enter the mean: one explosion must not raise the
 * bar for the next. With no history yet (or a mean ≤ 0, where a ratio means nothing) only NaN/Inf are faults.
 */
export class LossWatch {
  readonly window: number;
  readonly explosionFactor: number;
  readonly #values: number[] = [];
  #sum = 0;

  constructor(options: LossWatchOptions = {}) {
    this.window = options.window ?? DEFAULT_LOSS_WINDOW;
    this.explosionFactor = options.explosionFactor ?? DEFAULT_EXPLOSION_FACTOR;
    if (!Number.isInteger(this.window) || this.window < 1)
      throw new RangeError(`window must be an integer ≥ 1, got ${this.window}`);
    if (!(this.explosionFactor > 1)) throw new RangeError(`explosionFactor must be > 1, got ${this.explosionFactor}`);
  }

  get mean(): number | null {
    return this.#values.length === 0 ? null : this.#sum / this.#values.length;
  }

  /** Its window as data (a checkpoint keeps it: a resumed run judges its losses as the uninterrupted one would). */
  snapshot(): { losses: number[]; sum: number } {
    return { losses: [...this.#values], sum: this.#sum };
  }

  restore(saved: { losses: readonly number[]; sum: number }): void {
    this.#values.splice(0, this.#values.length, ...saved.losses.slice(-this.window));
    // The running sum as it was (summing the window again would round differently).
    this.#sum = saved.losses.length <= this.window ? saved.sum : this.#values.reduce((a, b) => a + b, 0);
  }

  /** Judges a loss without recording it. */
  check(loss: number): LossVerdict {
    const mean = this.mean;
    if (Number.isNaN(loss)) return { fault: true, reason: 'nan', loss, mean };
    if (!Number.isFinite(loss)) return { fault: true, reason: 'inf', loss, mean };
    if (mean !== null && mean > 0 && loss > this.explosionFactor * mean)
      return { fault: true, reason: 'explosion', loss, mean };
    return { fault: false };
  }

  isFault(loss: number): boolean {
    return this.check(loss).fault;
  }

  /** Judges a loss and, when healthy, adds it to the running mean. */
  observe(loss: number): LossVerdict {
    const verdict = this.check(loss);
    if (!verdict.fault) {
      this.#values.push(loss);
      this.#sum += loss;
      if (this.#values.length > this.window) this.#sum -= this.#values.shift()!;
    }
    return verdict;
  }

  reset(): void {
    this.#values.length = 0;
    this.#sum = 0;
  }
}

export type RollbackTier = 'fast' | 'full';

export type RollbackPlan =
  | { tier: 'fast'; snapshot: Snapshot; deadlineMs: number }
  | { tier: 'full'; deadlineMs: number };

/** Where fast-tier snapshots come from (a SnapshotRing). */
export interface SnapshotSource {
  latestBefore(step: number): Snapshot | null;
}

export interface RollbackActions {
  /** Restores a snapshot (in memory: normally synchronous). */
  fast(snapshot: Snapshot, signal: AbortSignal): void | Promise<void>;
  /**
   * Restores from the last good checkpoint; false when there is none. Must not assign anything once `signal` is
   * aborted: the planner has abandoned the restore and training goes on without it.
   */
  full(signal: AbortSignal): Promise<{ restored: boolean; epoch?: number }>;
}

export type AttemptStatus = 'restored' | 'deadline_missed' | 'failed' | 'nothing_to_restore';

export interface TierAttempt {
  tier: RollbackTier;
  status: AttemptStatus;
  /** The state was restored (possibly late: status deadline_missed with restored true). */
  restored: boolean;
  latencyMs: number;
  deadlineMs: number;
  /** Fast tier: the snapshot's step. */
  snapshotStep?: number;
  /** Full tier: the checkpoint's epoch. */
  checkpointEpoch?: number;
  error?: string;
}

export interface RollbackOutcome {
  trigger: RollbackTrigger;
  faultStep: number;
  /** The tier of the last attempt. */
  tier: RollbackTier;
  restored: boolean;
  deadlineMissed: boolean;
  latencyMs: number;
  attempts: TierAttempt[];
}

/** Schedules `fn` after `ms`; returns a cancel function (injected in tests). */
export type SetTimer = (ms: number, fn: () => void) => () => void;

export interface RollbackPlannerOptions {
  snapshots: SnapshotSource;
  fastDeadlineMs?: number;
  fullDeadlineMs?: number;
  now?: () => number;
  setTimer?: SetTimer;
}

const realTimer: SetTimer = (ms, fn) => {
  const handle = setTimeout(fn, ms);
  return () => clearTimeout(handle);
};

/**
 * Two tiers: the fast one (the newest snapshot strictly before the fault step, 500 ms) when there is such a
 * snapshot, else — or when it fails or times out — the full one (the last good checkpoint, 12 s). Each tier runs
 * against its deadline: a restore still running at the deadline is abandoned (its signal aborted) and reported as
 * deadline_missed; one that finished but took too long (a synchronous restore cannot be interrupted) is kept and
 * reported as deadline_missed too.
 */
export class RollbackPlanner {
  readonly fastDeadlineMs: number;
  readonly fullDeadlineMs: number;
  readonly #snapshots: SnapshotSource;
  readonly #now: () => number;
  readonly #setTimer: SetTimer;

  constructor(options: RollbackPlannerOptions) {
    this.#snapshots = options.snapshots;
    this.fastDeadlineMs = options.fastDeadlineMs ?? DEFAULT_FAST_DEADLINE_MS;
    this.fullDeadlineMs = options.fullDeadlineMs ?? DEFAULT_FULL_DEADLINE_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#setTimer = options.setTimer ?? realTimer;
  }

  /** The first tier to try for a fault at `faultStep` (pure). */
  plan(faultStep: number): RollbackPlan {
    const snapshot = this.#snapshots.latestBefore(faultStep);
    return snapshot
      ? { tier: 'fast', snapshot, deadlineMs: this.fastDeadlineMs }
      : { tier: 'full', deadlineMs: this.fullDeadlineMs };
  }

  async rollback(faultStep: number, trigger: RollbackTrigger, actions: RollbackActions): Promise<RollbackOutcome> {
    const started = this.#now();
    const attempts: TierAttempt[] = [];
    const plan = this.plan(faultStep);
    if (plan.tier === 'fast') {
      const snapshot = plan.snapshot;
      const fast = await this.#attempt('fast', plan.deadlineMs, async (signal) => {
        await actions.fast(snapshot, signal);
        return { restored: true };
      });
      attempts.push({ ...fast, snapshotStep: snapshot.step });
    }
    if (!attempts[0]?.restored) {
      const full = await this.#attempt('full', this.fullDeadlineMs, (signal) => actions.full(signal));
      attempts.push(full);
    }
    const last = attempts[attempts.length - 1]!;
    return {
      trigger,
      faultStep,
      tier: last.tier,
      restored: last.restored,
      deadlineMissed: attempts.some((attempt) => attempt.status === 'deadline_missed'),
      latencyMs: this.#now() - started,
      attempts,
    };
  }

  async #attempt(
    tier: RollbackTier,
    deadlineMs: number,
    run: (signal: AbortSignal) => Promise<{ restored: boolean; epoch?: number }>,
  ): Promise<TierAttempt> {
    const controller = new AbortController();
    const started = this.#now();
    let cancel = (): void => undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      cancel = this.#setTimer(deadlineMs, () => resolve('timeout'));
    });
    const work = run(controller.signal).then(
      (result) => ({ kind: 'done' as const, result }),
      (error: unknown) => ({ kind: 'error' as const, error }),
    );
    const first = await Promise.race([work, timeout]);
    cancel();
    const latencyMs = this.#now() - started;
    if (first === 'timeout') {
      controller.abort();
      return {
        tier,
        status: 'deadline_missed',
        restored: false,
        latencyMs,
        deadlineMs,
        error: `abandoned at the ${deadlineMs} ms deadline`,
      };
    }
    if (first.kind === 'error') {
      return {
        tier,
        status: 'failed',
        restored: false,
        latencyMs,
        deadlineMs,
        error: (first.error as Error)?.message ?? String(first.error),
      };
    }
    const { restored, epoch } = first.result;
    const attempt: TierAttempt = {
      tier,
      status: !restored ? 'nothing_to_restore' : latencyMs > deadlineMs ? 'deadline_missed' : 'restored',
      restored,
      latencyMs,
      deadlineMs,
    };
    if (epoch !== undefined) attempt.checkpointEpoch = epoch;
    return attempt;
  }
}
