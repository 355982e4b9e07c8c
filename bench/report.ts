// One JSON line per result, as every Esper benchmark prints them.

export interface BenchResult {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  /** Measured in the same run on the same machine (or a stated anchor when no in-process baseline exists). */
  baseline: number | null;
  /** value / baseline, or null without a baseline. */
  ratio: number | null;
}

const round = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

export function report(
  bench: string,
  metric: string,
  value: number,
  unit: string,
  baseline: number | null = null,
): BenchResult {
  const result: BenchResult = {
    bench,
    metric,
    value: round(value),
    unit,
    baseline: baseline === null ? null : round(baseline),
    ratio: baseline ? round(value / baseline) : null,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result;
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
