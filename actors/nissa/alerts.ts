// Alert rules evaluated per (rule, source) (actors/nissa/README.md#alerts-and-slos): only packets from one source that
// carry a rule's metric advance, reset or clear that source's state, so another subsystem's packets neither break a run
// of breaches nor clear an active alert. A rule fires when its condition has held for `forCount` consecutive samples
// and for at least `forMs` (the design's time window: "for 2 min"); it fires once, and a `resolved` event follows when
// a sample no longer breaches. Events go to the rule's routes and to a bounded history.
import { ConfigError } from '../../runtime/config-error.ts';

export type Comparator = '>' | '>=' | '<' | '<=';
export type AlertRoute = 'log' | 'webhook' | 'inspector';

export interface AlertRule {
  name: string;
  metric: string;
  threshold: number;
  comparator?: Comparator;
  forCount?: number;
  forMs?: number;
  routes: readonly AlertRoute[];
  description?: string;
}

export interface AlertEvent {
  kind: 'fired' | 'resolved';
  rule: string;
  metric: string;
  source: string;
  value: number;
  threshold: number;
  /** Epoch ms of the sample that fired or resolved it. */
  at: number;
  routes: readonly AlertRoute[];
}

/**
 * The defaults, each on a metric a subsystem really emits: Tolaria's end-of-epoch hook (18 ms, 3 epochs in a row),
 * Kasmina's live isolation violations (≥ 3), Oona's deepest backlog (> 4 000 for 2 min), Tezzeret's retries of the
 * last job (> 1).
 */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [
  { name: 'training_latency_high', metric: 'tolaria.epoch_hook.latency_ms', threshold: 18, comparator: '>', forCount: 3, routes: ['log', 'webhook', 'inspector'], description: 'end-of-epoch hook over 18 ms for 3 epochs' },
  { name: 'kasmina_isolation_violation', metric: 'kasmina.isolation.violations', threshold: 3, comparator: '>=', routes: ['log', 'webhook', 'inspector'], description: '3 or more live isolation violations' },
  { name: 'oona_queue_depth', metric: 'oona.queue.depth', threshold: 4_000, comparator: '>', forCount: 2, forMs: 120_000, routes: ['log', 'inspector'], description: 'bus backlog over 4 000 for 2 minutes' },
  { name: 'tezzeret_compile_retry_high', metric: 'tezzeret.compile.retry_count', threshold: 1, comparator: '>', routes: ['log', 'inspector'], description: 'a compile job needed more than one retry' },
  // Evaluated per SLO: the source of its events is "<producer>/<slo key>".
  { name: 'slo_burn_rate_high', metric: 'slo.burn_rate', threshold: 0.4, comparator: '>=', routes: ['log', 'webhook', 'inspector'], description: 'an SLO burning at 40 % or more' },
];

const COMPARE: Record<Comparator, (value: number, threshold: number) => boolean> = {
  '>': (v, t) => v > t,
  '>=': (v, t) => v >= t,
  '<': (v, t) => v < t,
  '<=': (v, t) => v <= t,
};

export function validateRules(rules: readonly AlertRule[], field: string): AlertRule[] {
  const names = new Set<string>();
  return rules.map((rule, i) => {
    const at = `${field}[${i}]`;
    if (typeof rule.name !== 'string' || rule.name === '') throw new ConfigError(`${at}.name`, 'must be a non-empty string');
    if (names.has(rule.name)) throw new ConfigError(`${at}.name`, `repeats ${JSON.stringify(rule.name)}`);
    names.add(rule.name);
    if (typeof rule.metric !== 'string' || rule.metric === '') throw new ConfigError(`${at}.metric`, 'must be a metric name');
    if (typeof rule.threshold !== 'number' || !Number.isFinite(rule.threshold)) throw new ConfigError(`${at}.threshold`, `must be a number, got ${JSON.stringify(rule.threshold)}`);
    const comparator = rule.comparator ?? '>';
    if (!(comparator in COMPARE)) throw new ConfigError(`${at}.comparator`, `must be one of ${Object.keys(COMPARE).join(' ')}, got ${JSON.stringify(comparator)}`);
    for (const key of ['forCount', 'forMs'] as const) {
      const value = rule[key];
      if (value !== undefined && (!Number.isInteger(value) || value < (key === 'forCount' ? 1 : 0))) throw new ConfigError(`${at}.${key}`, `must be an integer ≥ ${key === 'forCount' ? 1 : 0}, got ${JSON.stringify(value)}`);
    }
    if (!Array.isArray(rule.routes) || rule.routes.some((r) => r !== 'log' && r !== 'webhook' && r !== 'inspector')) {
      throw new ConfigError(`${at}.routes`, `must be a list of "log", "webhook", "inspector", got ${JSON.stringify(rule.routes)}`);
    }
    return { ...rule, comparator, forCount: rule.forCount ?? 1, forMs: rule.forMs ?? 0 };
  });
}

interface RuleState {
  consecutive: number;
  since: number;
  active: AlertEvent | null;
}

export class AlertEngine {
  readonly #rules: AlertRule[];
  readonly #state = new Map<string, RuleState>();
  readonly #history: AlertEvent[] = [];

  constructor(rules: readonly AlertRule[], private readonly dispatch: (event: AlertEvent) => void, readonly historySize = 500) {
    this.#rules = validateRules(rules, 'nissa.alerts');
  }

  /** One packet's metrics (name → value, the last of a repeated name) from `source`, sampled at `at`. */
  evaluate(metrics: ReadonlyMap<string, number>, source: string, at: number): void {
    for (const rule of this.#rules) {
      const value = metrics.get(rule.metric);
      if (value === undefined) continue;
      const key = `${rule.name}\u0000${source}`;
      const state = this.#state.get(key) ?? { consecutive: 0, since: at, active: null };
      if (COMPARE[rule.comparator ?? '>'](value, rule.threshold)) {
        if (state.consecutive === 0) state.since = at;
        state.consecutive += 1;
        if (!state.active && state.consecutive >= (rule.forCount ?? 1) && at - state.since >= (rule.forMs ?? 0)) {
          state.active = this.#emit('fired', rule, source, value, at);
        }
      } else {
        if (state.active) this.#emit('resolved', rule, source, value, at);
        state.consecutive = 0;
        state.active = null;
      }
      this.#state.set(key, state);
    }
  }

  /** Alerts firing now, by rule and source. */
  active(): AlertEvent[] {
    return [...this.#state.values()].flatMap((s) => (s.active ? [s.active] : []));
  }

  /** The last `historySize` events, oldest first. */
  history(): readonly AlertEvent[] {
    return this.#history;
  }

  #emit(kind: AlertEvent['kind'], rule: AlertRule, source: string, value: number, at: number): AlertEvent {
    const event: AlertEvent = { kind, rule: rule.name, metric: rule.metric, source, value, threshold: rule.threshold, at, routes: rule.routes };
    this.#history.push(event);
    if (this.#history.length > this.historySize) this.#history.splice(0, this.#history.length - this.historySize);
    this.dispatch(event);
    return event;
  }
}
