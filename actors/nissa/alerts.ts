// The alert engine: the rules' state per (rule, source), advanced by the logic of alert-logic.ts, and the events it
// yields — to the rules' routes and to a bounded history. Only packets from one source that carry a rule's metric
// advance, reset or clear that source's state, so another subsystem's packets neither break a run of breaches nor
// clear an active alert; a burn-rate rule is evaluated per SLO (source `<producer>/<slo key>`) on each new sample.
import {
  burnTransition,
  QUIET,
  readPairs,
  thresholdTransition,
  type PairReading,
  type SloSample,
  type ThresholdState,
} from './alert-logic.ts';
import {
  BURN_RATE_METRIC,
  isBurnRateRule,
  validateRules,
  type AlertRoute,
  type AlertRule,
  type ResolvedBurnRateRule,
  type ResolvedRule,
} from './alert-rules.ts';

export interface AlertEvent {
  kind: 'fired' | 'resolved';
  rule: string;
  metric: string;
  source: string;
  value: number;
  /** A threshold rule's threshold (its resolve level when resolved); a burn-rate rule's factor. */
  threshold: number;
  /** Epoch ms of the sample that fired or resolved it. */
  at: number;
  routes: readonly AlertRoute[];
  /** A burn-rate alert's window pair, e.g. `fast (5m/1m)`. */
  window?: string;
}

const minutes = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`);
const pairName = (reading: PairReading): string =>
  `${reading.window.name} (${minutes(reading.window.longMs)}/${minutes(reading.window.shortMs)})`;

export class AlertEngine {
  readonly rules: readonly ResolvedRule[];
  readonly #threshold = new Map<string, ThresholdState>();
  /** Per (burn rule, SLO): the pair that fired it, while it fires. */
  readonly #burning = new Map<string, string>();
  readonly #active = new Map<string, AlertEvent>();
  readonly #history: AlertEvent[] = [];

  constructor(
    rules: readonly AlertRule[],
    private readonly dispatch: (event: AlertEvent) => void,
    readonly historySize = 500,
  ) {
    this.rules = validateRules(rules, 'nissa.alerts');
  }

  /** One packet's metrics (name → value, the last of a repeated name) from `source`, sampled at `at`. */
  evaluate(metrics: ReadonlyMap<string, number>, source: string, at: number): void {
    for (const rule of this.rules) {
      if (isBurnRateRule(rule)) continue;
      const value = metrics.get(rule.metric);
      if (value === undefined) continue;
      const key = `${rule.name}\u0000${source}`;
      const { state, change } = thresholdTransition(rule, this.#threshold.get(key) ?? QUIET, value, at);
      this.#threshold.set(key, state);
      if (change)
        this.#emit(key, change, rule, source, value, change === 'fired' ? rule.threshold : rule.resolveThreshold, at);
    }
  }

  /** A new sample of SLO `key` from `source` (`samples`: that SLO's samples, the new one included), at `at`. */
  evaluateSlo(source: string, key: string, samples: readonly SloSample[], at: number): void {
    const slo = `${source}/${key}`;
    for (const rule of this.burnRules(key)) {
      const state = `${rule.name}\u0000${slo}`;
      const { firingPair, change, reading } = burnTransition(
        this.#burning.get(state) ?? null,
        readPairs(rule, samples, at),
      );
      if (firingPair === null) this.#burning.delete(state);
      else this.#burning.set(state, firingPair);
      if (change && reading)
        this.#emit(state, change, rule, slo, reading.burnRate, reading.window.factor, at, pairName(reading));
    }
  }

  /** The burn-rate rules that watch SLO `key`. */
  burnRules(key: string): ResolvedBurnRateRule[] {
    return this.rules.filter(
      (rule): rule is ResolvedBurnRateRule => isBurnRateRule(rule) && (rule.slo === undefined || rule.slo === key),
    );
  }

  /** Alerts firing now, by rule and source. */
  active(): AlertEvent[] {
    return [...this.#active.values()];
  }

  /** The last `historySize` events, oldest first. */
  history(): readonly AlertEvent[] {
    return this.#history;
  }

  #emit(
    key: string,
    kind: AlertEvent['kind'],
    rule: ResolvedRule,
    source: string,
    value: number,
    threshold: number,
    at: number,
    window?: string,
  ): void {
    const metric = isBurnRateRule(rule) ? BURN_RATE_METRIC : rule.metric;
    const event: AlertEvent = {
      kind,
      rule: rule.name,
      metric,
      source,
      value,
      threshold,
      at,
      routes: rule.routes,
      ...(window ? { window } : {}),
    };
    if (kind === 'fired') this.#active.set(key, event);
    else this.#active.delete(key);
    this.#history.push(event);
    if (this.#history.length > this.historySize) this.#history.splice(0, this.#history.length - this.historySize);
    this.dispatch(event);
  }
}
