// The alert conditions as plain logic: a threshold rule's state advanced by one sample, and a burn-rate rule read
// from an SLO's samples — `(state, sample) → { state, change }`, no clocks or I/O inside. AlertEngine keeps the state
// per (rule, source) and turns the changes into events.
import {
  errorBudget,
  type Comparator,
  type BurnWindow,
  type ResolvedBurnRateRule,
  type ResolvedThresholdRule,
} from './alert-rules.ts';

export type AlertChange = 'fired' | 'resolved' | null;

const COMPARE: Record<Comparator, (value: number, level: number) => boolean> = {
  '>': (v, l) => v > l,
  '>=': (v, l) => v >= l,
  '<': (v, l) => v < l,
  '<=': (v, l) => v <= l,
};

/** Whether `value` is past `level` in the rule's direction. */
export const past = (comparator: Comparator, value: number, level: number): boolean =>
  COMPARE[comparator](value, level);

export interface ThresholdState {
  /** Consecutive samples past the threshold (while not firing). */
  breaches: number;
  /** The time of the first of them. */
  since: number;
  firing: boolean;
}

export const QUIET: ThresholdState = { breaches: 0, since: 0, firing: false };

/**
 * One sample of a threshold rule's metric. Not firing: a sample past `threshold` extends the run of breaches (any
 * other resets it), and the rule fires once the run is `forCount` long and `forMs` old. Firing: only a sample no
 * longer past `resolveThreshold` resolves it, so values between the two levels neither resolve nor fire again.
 */
export function thresholdTransition(
  rule: ResolvedThresholdRule,
  state: ThresholdState,
  value: number,
  at: number,
): { state: ThresholdState; change: AlertChange } {
  if (state.firing) {
    return past(rule.comparator, value, rule.resolveThreshold)
      ? { state, change: null }
      : { state: QUIET, change: 'resolved' };
  }
  if (!past(rule.comparator, value, rule.threshold)) return { state: QUIET, change: null };
  const since = state.breaches === 0 ? at : state.since;
  const breaches = state.breaches + 1;
  const firing = breaches >= rule.forCount && at - since >= rule.forMs;
  return { state: { breaches, since, firing }, change: firing ? 'fired' : null };
}

/** One SLO sample: whether it missed its objective. */
export interface SloSample {
  at: number;
  violation: boolean;
}

export interface WindowTally {
  events: number;
  violations: number;
  /** The share of violations over the error budget (1: spending the budget exactly at the objective's rate). */
  burnRate: number;
}

/** The samples of the window ending at `at` (times in (at − windowMs, at]). */
export function tallyWindow(samples: readonly SloSample[], at: number, windowMs: number, budget: number): WindowTally {
  let events = 0;
  let violations = 0;
  for (const sample of samples) {
    if (sample.at <= at - windowMs || sample.at > at) continue;
    events += 1;
    if (sample.violation) violations += 1;
  }
  return { events, violations, burnRate: events === 0 ? 0 : violations / events / budget };
}

export interface PairReading {
  window: BurnWindow;
  long: WindowTally;
  short: WindowTally;
  /** The pair's burn rate: the lower of its two windows' (the pair burns when this exceeds the factor). */
  burnRate: number;
  /** Both windows hold the pair's `minEvents` samples and burn faster than its factor. */
  burning: boolean;
}

/** Each window pair of the rule, read at `at`. */
export function readPairs(rule: ResolvedBurnRateRule, samples: readonly SloSample[], at: number): PairReading[] {
  const budget = errorBudget(rule.objective);
  return rule.windows.map((window) => {
    const long = tallyWindow(samples, at, window.longMs, budget);
    const short = tallyWindow(samples, at, window.shortMs, budget);
    const burnRate = Math.min(long.burnRate, short.burnRate);
    const enough = long.events >= window.minEvents && short.events >= window.minEvents;
    return { window, long, short, burnRate, burning: enough && burnRate > window.factor };
  });
}

/**
 * A burn-rate rule after a new sample: it fires when a pair burns (the first that does, in the rule's order) and
 * resolves when none does; `reading` is the pair the event reports (the one that burns, or, on resolving, the one
 * that had fired).
 */
export function burnTransition(
  firingPair: string | null,
  readings: readonly PairReading[],
): { firingPair: string | null; change: AlertChange; reading: PairReading | null } {
  const burning = readings.find((r) => r.burning) ?? null;
  if (firingPair === null)
    return burning
      ? { firingPair: burning.window.name, change: 'fired', reading: burning }
      : { firingPair, change: null, reading: null };
  if (burning) return { firingPair, change: null, reading: null };
  return {
    firingPair: null,
    change: 'resolved',
    reading: readings.find((r) => r.window.name === firingPair) ?? readings[0] ?? null,
  };
}
