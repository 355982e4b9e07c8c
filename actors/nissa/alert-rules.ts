// Nissa's alert rules: what they say, the defaults, and their check (one schema, used by `nissa.alerts` at boot and
// by an experiment file's `alerts` at load, so every problem is named by its field path either way).
//
// Two kinds. A threshold rule watches one metric: it fires once the value has been past `threshold` for `forCount`
// consecutive samples and for `forMs` since the first of them, and resolves only when a sample is back past
// `resolveThreshold` (hysteresis: a value hovering at the line does not flap). An SLO burn-rate rule is the
// multiwindow, multi-burn-rate alert of the SRE workbook: the error budget is 1 − `objective`; a window pair fires
// when the burn rate (the share of samples that missed their objective, over the budget) exceeds the pair's factor in
// both its long and its short window, each holding at least the pair's `minEvents` samples. The long window makes a
// burn real, the short one makes the alert resolve soon after the burning stops, and the minimum keeps a handful of
// samples (a run's first, slow epochs) from passing for a rate.
import { ConfigError } from '../../runtime/config-error.ts';
import * as s from '../../runtime/schema.ts';

export type Comparator = '>' | '>=' | '<' | '<=';
export type AlertRoute = 'log' | 'webhook' | 'inspector';

export interface ThresholdRule {
  kind?: 'threshold';
  name: string;
  metric: string;
  threshold: number;
  /** Default `>`. */
  comparator?: Comparator;
  /** Once firing, the alert resolves when a sample is no longer past this level. Default: `threshold`. */
  resolveThreshold?: number;
  /** Consecutive breaching samples before it fires. Default 1. */
  forCount?: number;
  /** How long (ms, by the samples' times) the breach must have lasted before it fires. Default 0. */
  forMs?: number;
  routes: readonly AlertRoute[];
  description?: string;
}

/** A window pair: both windows must hold `minEvents` samples and burn faster than `factor` times the budget. */
export interface BurnWindow {
  /** Names the pair in alert events (`fast`, `slow`). */
  name: string;
  longMs: number;
  shortMs: number;
  factor: number;
  minEvents: number;
}

export interface BurnRateRule {
  kind: 'slo_burn_rate';
  name: string;
  /** The SLO key (`epoch_hook_latency`); absent: every SLO a producer reports. */
  slo?: string;
  /** The share of samples that must meet their objective. Default 0.95: an error budget of 5 %. */
  objective?: number;
  /** Default DEFAULT_BURN_WINDOWS. */
  windows?: readonly BurnWindow[];
  routes: readonly AlertRoute[];
  description?: string;
}

export type AlertRule = ThresholdRule | BurnRateRule;

export type ResolvedThresholdRule = Required<Omit<ThresholdRule, 'description'>> & { description?: string };
export type ResolvedBurnRateRule = Required<Omit<BurnRateRule, 'description' | 'slo'>> & {
  slo?: string;
  description?: string;
};
export type ResolvedRule = ResolvedThresholdRule | ResolvedBurnRateRule;

/**
 * The workbook's factors (14.4 and 6) on windows of minutes, not its hours: SLO samples come once per epoch or
 * decision, seconds apart, and a run lasts minutes. Fast: over 72 % of the samples of the last 5 minutes and of the
 * last minute missed (14.4 × a 5 % budget), at least 5 in each — the boundary is failing now. Slow: over 30 % of
 * the last 30 minutes and of the last 5 (6 × 5 %), at least 20 in each (fewer would let a run's first, slow epochs
 * pass for a rate) — a run that has degraded.
 */
export const DEFAULT_BURN_WINDOWS: readonly BurnWindow[] = [
  { name: 'fast', longMs: 300_000, shortMs: 60_000, factor: 14.4, minEvents: 5 },
  { name: 'slow', longMs: 1_800_000, shortMs: 300_000, factor: 6, minEvents: 20 },
];

const ALL_ROUTES: readonly AlertRoute[] = ['log', 'webhook', 'inspector'];

/**
 * The defaults, each on a metric a subsystem emits, quiet on a healthy run (also on a busy machine) and fired by
 * `esper drills`: the end-of-epoch hook using over half its budget 3 epochs running, Kasmina's live isolation
 * violations, Oona's deepest backlog for 2 minutes, Tezzeret's retries of its last job, and every SLO's burn rate.
 */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [
  {
    name: 'training_latency_high',
    metric: 'tolaria.epoch_hook.budget_share',
    threshold: 0.5,
    resolveThreshold: 0.25,
    comparator: '>',
    forCount: 3,
    routes: ALL_ROUTES,
    description: 'the end-of-epoch hook took over half its budget 3 epochs in a row (resolves under a quarter)',
  },
  {
    name: 'kasmina_isolation_violation',
    metric: 'kasmina.isolation.violations',
    threshold: 3,
    resolveThreshold: 1,
    comparator: '>=',
    routes: ALL_ROUTES,
    description: '3 or more live isolation violations (resolves when none is left)',
  },
  {
    name: 'oona_queue_depth',
    metric: 'oona.queue.depth',
    threshold: 4_000,
    resolveThreshold: 1_000,
    comparator: '>',
    forCount: 2,
    forMs: 120_000,
    routes: ['log', 'inspector'],
    description: 'bus backlog over 4 000 for 2 minutes (resolves at 1 000 or less)',
  },
  {
    name: 'tezzeret_compile_retry_high',
    metric: 'tezzeret.compile.retry_count',
    threshold: 1,
    resolveThreshold: 0,
    comparator: '>',
    routes: ['log', 'inspector'],
    description: 'a compile job needed more than one retry (resolves after a job with none)',
  },
  {
    kind: 'slo_burn_rate',
    name: 'slo_burn_rate_high',
    objective: 0.95,
    windows: DEFAULT_BURN_WINDOWS,
    routes: ALL_ROUTES,
    description:
      'an SLO burning its error budget fast (5 min and 1 min over 14.4×) or steadily (30 min and 5 min over 6×)',
  },
];

/** The metric a burn-rate rule's events name. */
export const BURN_RATE_METRIC = 'slo.burn_rate';

export const isBurnRateRule = <R extends AlertRule | ResolvedRule>(
  rule: R,
): rule is Extract<R, { kind: 'slo_burn_rate' }> => rule.kind === 'slo_burn_rate';

/** The error budget of an objective: 1 − objective, rounded so 0.95 gives 0.05. */
export const errorBudget = (objective: number): number => Number((1 - objective).toPrecision(12));

const positiveInt = s.number({ integer: true, min: 1 });
const common = {
  name: s.string(),
  routes: s.array(s.literal(...ALL_ROUTES), { minLength: 1 }),
  description: s.optional(s.string()),
};
const THRESHOLD_RULE = s.object(
  {
    kind: s.optional(s.literal('threshold')),
    ...common,
    metric: s.string(),
    threshold: s.number(),
    comparator: s.optional(s.literal('>', '>=', '<', '<=')),
    resolveThreshold: s.optional(s.number()),
    forCount: s.optional(positiveInt),
    forMs: s.optional(s.number({ integer: true, min: 0 })),
  },
  'a threshold rule { name, metric, threshold, comparator, resolveThreshold, forCount, forMs, routes }',
);
const BURN_WINDOW = s.object(
  {
    name: s.string(),
    longMs: positiveInt,
    shortMs: positiveInt,
    factor: s.number({ above: 0 }),
    minEvents: positiveInt,
  },
  'a window pair { name, longMs, shortMs, factor, minEvents }',
);
const BURN_RATE_RULE = s.object(
  {
    kind: s.literal('slo_burn_rate'),
    ...common,
    slo: s.optional(s.string()),
    objective: s.optional(s.number({ above: 0, below: 1 })),
    windows: s.optional(s.array(BURN_WINDOW, { minLength: 1 })),
  },
  'an SLO burn-rate rule { kind: "slo_burn_rate", name, slo, objective, windows, routes }',
);

/** Where a rule's levels may lie, beyond each field's own type: problems that name the field. */
function ruleProblems(rule: ResolvedRule, path: string, issues: s.Issue[]): void {
  if (isBurnRateRule(rule)) {
    const budget = errorBudget(rule.objective);
    const names = new Set<string>();
    rule.windows.forEach((window, i) => {
      const at = `${path}.windows[${i}]`;
      if (names.has(window.name))
        issues.push({ path: `${at}.name`, message: `repeats ${JSON.stringify(window.name)}` });
      names.add(window.name);
      if (window.shortMs >= window.longMs)
        issues.push({
          path: `${at}.shortMs`,
          message: `must be shorter than longMs (${window.longMs}), got ${window.shortMs}`,
        });
      // A burn rate cannot exceed 1 / budget (every sample missed): a factor at or above it never fires.
      if (window.factor * budget >= 1)
        issues.push({
          path: `${at}.factor`,
          message: `must be below ${Number((1 / budget).toPrecision(6))} (1 / the error budget ${budget}), got ${window.factor}`,
        });
    });
    return;
  }
  const above = rule.comparator === '>' || rule.comparator === '>=';
  if (above ? rule.resolveThreshold > rule.threshold : rule.resolveThreshold < rule.threshold) {
    issues.push({
      path: `${path}.resolveThreshold`,
      message: `must be ${above ? 'at or below' : 'at or above'} threshold (${rule.threshold}) for a ${rule.comparator} rule, got ${rule.resolveThreshold}`,
    });
  }
}

/** A rule with its defaults filled in. */
export function resolveRule(rule: AlertRule): ResolvedRule {
  if (isBurnRateRule(rule)) {
    return { ...rule, objective: rule.objective ?? 0.95, windows: rule.windows ?? DEFAULT_BURN_WINDOWS };
  }
  return {
    ...rule,
    kind: 'threshold',
    comparator: rule.comparator ?? '>',
    resolveThreshold: rule.resolveThreshold ?? rule.threshold,
    forCount: rule.forCount ?? 1,
    forMs: rule.forMs ?? 0,
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One alert rule, either kind (chosen by `kind`), with its fields and levels checked. */
export const ALERT_RULE_SCHEMA: s.Schema = {
  expected: 'an alert rule (a threshold rule, or { kind: "slo_burn_rate", … })',
  check(value, path, issues) {
    const schema = isRecord(value) && value.kind === 'slo_burn_rate' ? BURN_RATE_RULE : THRESHOLD_RULE;
    const before = issues.length;
    schema.check(value, path, issues);
    if (issues.length === before) ruleProblems(resolveRule(value as unknown as AlertRule), path || '(root)', issues);
  },
};

const RULE_LIST = s.array(ALERT_RULE_SCHEMA);

/** Checks a rule list (`field` names it in errors: `nissa.alerts`) and fills in the defaults; names must differ. */
export function validateRules(rules: readonly AlertRule[], field: string): ResolvedRule[] {
  const issues = s.validate(RULE_LIST, rules);
  const names = new Set<string>();
  if (issues.length === 0) {
    rules.forEach((rule, i) => {
      if (names.has(rule.name)) issues.push({ path: `[${i}].name`, message: `repeats ${JSON.stringify(rule.name)}` });
      names.add(rule.name);
    });
  }
  const first = issues[0];
  if (first) throw new ConfigError(first.path === '(root)' ? field : `${field}${first.path}`, first.message);
  return rules.map(resolveRule);
}
