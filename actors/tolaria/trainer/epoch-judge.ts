// Tolaria's failure rules, as plain logic: after each control boundary and each rollback, decide whether the
// epoch failed, whether to enter or leave conservative mode, and how the emergency ladder moves. The trainer actor
// carries out what it says; tests call it directly.
//
// The rules (docs/training-loop.md#the-epoch-judge):
// - An epoch fails when the Tamiyo breaker is open (L3), the hook failed (Tamiyo timeout or error, Kasmina
//   timeout or error: L2), the hook took longer than its budget (L2), a fault was rolled back during it (L2), or
//   it was abandoned after `rollback.maxPerEpoch` faults (L3). The first reason is the one reported.
// - A failed epoch enters conservative mode (Tamiyo not asked); a successful one leaves it. A Kasmina error
//   fails the epoch but does not by itself mean the policy is at fault.
// - A rollback that restored nothing, or missed its deadline, halts (L4) at once.
// - `haltAfterFailedEpochs` failed epochs in a row halt (L4), whether or not anything else escalated.
// - The level comes down one step after `stableEpochs` successful epochs in a row (EmergencyController).
import { leyline, type v1 } from '../../../contracts/index.ts';
import type { EventInput } from '../../../contracts/telemetry.ts';
import type { RollbackOutcome } from '../checkpoint/rollback.ts';
import { EmergencyController, levelName, type Escalation } from '../training/emergency.ts';
import { CONSERVATIVE_OUTCOMES, type HookResult } from './control-hook.ts';

const { EmergencyLevel: Level, TelemetryLevel } = leyline;

export interface BoundaryFacts {
  hook: HookResult;
  /** The end-of-epoch control work: state assembly + Tamiyo + Kasmina. */
  hookMs: number;
  /** Faults rolled back since the previous boundary. */
  faults: number;
  abandoned: boolean;
}

export interface Verdict {
  failed: boolean;
  /** The first failure reason (null when the epoch succeeded). */
  reason: string | null;
  events: EventInput[];
  /** Emergency level changes, in order (each becomes an emergency packet). */
  changes: Escalation[];
  halt: boolean;
}

export interface JudgeOptions {
  hookBudgetMs: number;
  haltAfterFailedEpochs: number;
  stableEpochs: number;
}

export class EpochJudge {
  readonly emergency: EmergencyController;
  readonly counters = { epochs: 0, failedEpochs: 0, hookBudgetExceeded: 0, conservativeEntries: 0 };
  #conservative = false;
  #streak = 0;

  constructor(readonly options: JudgeOptions) {
    this.emergency = new EmergencyController(options.stableEpochs);
  }

  get conservative(): boolean {
    return this.#conservative;
  }

  get failedStreak(): number {
    return this.#streak;
  }

  get halted(): boolean {
    return this.emergency.halted;
  }

  /** What a checkpoint keeps of the judge (a resumed run judges its epochs as the uninterrupted run would). */
  snapshot(): Record<string, number> {
    return {
      ...this.counters,
      conservative: this.#conservative ? 1 : 0,
      streak: this.#streak,
      ...this.emergency.snapshot(),
    };
  }

  restore(saved: Readonly<Record<string, number>>): void {
    if (saved.conservative === undefined) return;
    this.#conservative = saved.conservative === 1;
    this.#streak = saved.streak ?? 0;
    for (const key of Object.keys(this.counters) as Array<keyof EpochJudge['counters']>)
      this.counters[key] = saved[key] ?? 0;
    this.emergency.restore(saved);
  }

  /** After a rollback: a restore that did not happen in time is the end of the run. */
  afterRollback(outcome: RollbackOutcome): Verdict {
    const events: EventInput[] = [
      {
        description: 'tolaria.rollback',
        level:
          outcome.restored && !outcome.deadlineMissed
            ? TelemetryLevel.TELEMETRY_LEVEL_WARNING
            : TelemetryLevel.TELEMETRY_LEVEL_ERROR,
        attributes: {
          trigger: outcome.trigger,
          tier: outcome.tier,
          restored: String(outcome.restored),
          latency_ms: outcome.latencyMs.toFixed(1),
          fault_step: String(outcome.faultStep),
        },
      },
    ];
    const changes: Escalation[] = [];
    if (!outcome.restored || outcome.deadlineMissed) {
      const reason = outcome.restored ? 'rollback_deadline' : 'rollback_failed';
      changes.push(this.emergency.escalate(Level.EMERGENCY_LEVEL_HALT, reason));
      events.push({
        description: 'tolaria.emergency.halt',
        level: TelemetryLevel.TELEMETRY_LEVEL_CRITICAL,
        attributes: { reason },
      });
      return { failed: true, reason, events, changes: changes.filter((c) => c.changed), halt: true };
    }
    return { failed: false, reason: null, events, changes, halt: false };
  }

  /** At a control boundary that closes an epoch. */
  endOfEpoch(facts: BoundaryFacts): Verdict {
    this.counters.epochs += 1;
    const events: EventInput[] = [];
    const changes: Escalation[] = [];
    const reasons: Array<{ reason: string; level: v1.EmergencyLevel }> = [];
    const { outcome } = facts.hook;
    if (outcome === 'breaker_open') reasons.push({ reason: 'breaker_open', level: Level.EMERGENCY_LEVEL_CONSERVATIVE });
    if (
      outcome === 'tamiyo_timeout' ||
      outcome === 'tamiyo_error' ||
      outcome === 'kasmina_timeout' ||
      outcome === 'kasmina_error'
    ) {
      reasons.push({ reason: outcome, level: Level.EMERGENCY_LEVEL_ELEVATED });
      events.push({
        description: `tolaria.${outcome}`,
        level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
        attributes: { error: facts.hook.error ?? '' },
      });
    }
    if (facts.hookMs > this.options.hookBudgetMs) {
      this.counters.hookBudgetExceeded += 1;
      reasons.push({ reason: 'hook_budget', level: Level.EMERGENCY_LEVEL_ELEVATED });
      events.push({
        description: 'tolaria.hook_budget_exceeded',
        level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
        attributes: { hook_ms: facts.hookMs.toFixed(2), budget_ms: String(this.options.hookBudgetMs) },
      });
    }
    if (facts.abandoned) reasons.push({ reason: 'epoch_abandoned', level: Level.EMERGENCY_LEVEL_CONSERVATIVE });
    else if (facts.faults > 0) reasons.push({ reason: 'rollback', level: Level.EMERGENCY_LEVEL_ELEVATED });

    const failed = reasons.length > 0;
    if (failed) {
      this.counters.failedEpochs += 1;
      this.#streak += 1;
      const top = Math.max(...reasons.map((r) => r.level)) as v1.EmergencyLevel;
      const first = reasons[0]!.reason;
      const change = this.emergency.escalate(top, first);
      if (change.changed) {
        changes.push(change);
        events.push({
          description: 'tolaria.emergency.escalated',
          level: TelemetryLevel.TELEMETRY_LEVEL_ERROR,
          attributes: { level: levelName(top), reason: first },
        });
      }
      this.#enterConservative(first, events);
      if (this.#streak >= this.options.haltAfterFailedEpochs && !this.halted) {
        changes.push(this.emergency.escalate(Level.EMERGENCY_LEVEL_HALT, `${this.#streak} failed epochs in a row`));
        events.push({
          description: 'tolaria.emergency.halt',
          level: TelemetryLevel.TELEMETRY_LEVEL_CRITICAL,
          attributes: { reason: 'failed_epochs', streak: String(this.#streak) },
        });
      }
      return { failed, reason: first, events, changes, halt: this.halted };
    }
    this.#streak = 0;
    if (this.#conservative) {
      this.#conservative = false;
      events.push({ description: 'tolaria.conservative_mode_cleared', level: TelemetryLevel.TELEMETRY_LEVEL_INFO });
    }
    const lowered = this.emergency.stableEpoch();
    if (lowered) changes.push(lowered);
    return { failed: false, reason: null, events, changes, halt: false };
  }

  /** A boundary inside an epoch (control every K steps): hook failures switch modes, nothing else is judged. */
  midEpoch(hook: HookResult): EventInput[] {
    const events: EventInput[] = [];
    if (CONSERVATIVE_OUTCOMES.has(hook.outcome)) this.#enterConservative(hook.outcome, events);
    return events;
  }

  #enterConservative(reason: string, events: EventInput[]): void {
    if (this.#conservative) return;
    this.#conservative = true;
    this.counters.conservativeEntries += 1;
    events.push({
      description: 'tolaria.conservative_mode_entered',
      level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
      attributes: { reason },
    });
  }
}
