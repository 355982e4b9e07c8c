// SLO samples. A producer reports `slo.<key>_actual` and `slo.<key>_objective` in one packet: one sample of SLO
// `<source>/<key>` at the packet's time, a violation when actual > objective. Each SLO keeps its samples as long as
// the longest burn-rate window needs them (at least a minute, for the summary).
import { readPairs, type SloSample, type WindowTally } from './alert-logic.ts';
import { isBurnRateRule, type ResolvedBurnRateRule, type ResolvedRule } from './alert-rules.ts';

/** The SLO pairs of one packet's metrics (an actual without its objective is not a sample). */
export function sloPairs(
  metrics: ReadonlyMap<string, number>,
): Array<{ key: string; actual: number; objective: number }> {
  const pairs: Array<{ key: string; actual: number; objective: number }> = [];
  for (const [name, actual] of metrics) {
    if (!name.startsWith('slo.') || !name.endsWith('_actual')) continue;
    const key = name.slice('slo.'.length, -'_actual'.length);
    const objective = metrics.get(`slo.${key}_objective`);
    if (objective !== undefined) pairs.push({ key, actual, objective });
  }
  return pairs;
}

/** How long samples must be kept for these rules' windows. */
export function sloRetentionMs(rules: readonly ResolvedRule[]): number {
  return Math.max(60_000, ...rules.flatMap((rule) => (isBurnRateRule(rule) ? rule.windows.map((w) => w.longMs) : [])));
}

export interface SloSeries {
  source: string;
  key: string;
  samples: SloSample[];
}

export class SloTracker {
  readonly #series = new Map<string, SloSeries>();

  constructor(readonly keepMs: number) {}

  /** Takes the SLO pairs of one packet from `source`; answers the series it added a sample to. */
  record(metrics: ReadonlyMap<string, number>, source: string, at: number): SloSeries[] {
    return sloPairs(metrics).map(({ key, actual, objective }) => {
      const id = `${source}/${key}`;
      const series = this.#series.get(id) ?? { source, key, samples: [] };
      series.samples = series.samples.filter((s) => s.at > at - this.keepMs);
      series.samples.push({ at, violation: actual > objective });
      this.#series.set(id, series);
      return series;
    });
  }

  /** Every SLO seen, by `<source>/<key>`. */
  series(): SloSeries[] {
    return [...this.#series.keys()].sort().map((id) => this.#series.get(id) as SloSeries);
  }
}

export interface SloStatus {
  /** `<source>/<key>`. */
  slo: string;
  /** Samples kept, and how many missed. */
  events: number;
  violations: number;
  /** Each window pair of each burn-rate rule watching it, read at its latest sample. */
  pairs: Array<{
    rule: string;
    window: string;
    longMs: number;
    shortMs: number;
    factor: number;
    long: WindowTally;
    short: WindowTally;
    burnRate: number;
    burning: boolean;
  }>;
}

/** The SLOs as /metrics/summary shows them. */
export function sloStatus(
  series: readonly SloSeries[],
  burnRules: (key: string) => readonly ResolvedBurnRateRule[],
): SloStatus[] {
  return series.map(({ source, key, samples }) => {
    const latest = samples.at(-1)?.at ?? 0;
    return {
      slo: `${source}/${key}`,
      events: samples.length,
      violations: samples.filter((s) => s.violation).length,
      pairs: burnRules(key).flatMap((rule) =>
        readPairs(rule, samples, latest).map(({ window, long, short, burnRate, burning }) => ({
          rule: rule.name,
          window: window.name,
          longMs: window.longMs,
          shortMs: window.shortMs,
          factor: window.factor,
          long,
          short,
          burnRate,
          burning,
        })),
      ),
    };
  });
}
