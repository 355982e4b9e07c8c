// Service-level objectives (actors/nissa/README.md#alerts-and-slos): a producer reports a pair
// `slo.<key>_actual` and `slo.<key>_objective` in one packet; a sample is a violation when actual > objective. The
// burn rate is the share of violations among the samples of the last `windowMs` (the prototype's definition, over
// the design's 24 h window rather than its 30 days), and a burn rate at or above `burnThreshold` (0.4) is an alert
// condition. Samples carry the packet's time.
export interface SloStatus {
  key: string;
  total: number;
  violations: number;
  burnRate: number;
  breached: boolean;
}

export class SloTracker {
  readonly #samples = new Map<string, Array<{ at: number; violation: boolean }>>();

  constructor(readonly windowMs = 86_400_000, readonly burnThreshold = 0.4) {}

  /** Takes the SLO pairs of one packet; answers the keys it recorded. */
  record(metrics: ReadonlyMap<string, number>, at: number): string[] {
    const recorded: string[] = [];
    for (const [name, actual] of metrics) {
      if (!name.startsWith('slo.') || !name.endsWith('_actual')) continue;
      const key = name.slice(4, -'_actual'.length);
      const objective = metrics.get(`slo.${key}_objective`);
      if (objective === undefined) continue;
      const samples = this.#samples.get(key) ?? [];
      samples.push({ at, violation: actual > objective });
      while (samples.length > 0 && (samples[0] as { at: number }).at < at - this.windowMs) samples.shift();
      this.#samples.set(key, samples);
      recorded.push(key);
    }
    return recorded;
  }

  status(key: string): SloStatus {
    const samples = this.#samples.get(key) ?? [];
    const violations = samples.filter((s) => s.violation).length;
    const burnRate = samples.length === 0 ? 0 : violations / samples.length;
    return { key, total: samples.length, violations, burnRate, breached: samples.length > 0 && burnRate >= this.burnThreshold };
  }

  summary(): SloStatus[] {
    return [...this.#samples.keys()].sort().map((key) => this.status(key));
  }
}
