// Fault drills: each alert rule is made to fire and to clear with telemetry built from the rule itself, through a
// telemetry sink — Nissa in process (standalone), or a running system's bus — and observed in the alert events.
// A threshold rule gets `forCount` samples past its threshold, spaced so `forMs` is met, then one back past its
// resolve level; a burn-rate rule gets its first pair's `minEvents` SLO samples that miss, inside that pair's short
// window, then
// samples that meet the objective once those have left every pair's short window. Each drill reports from a source of its own run
// (`drill.<subsystem>.<run>`), so it never touches the real producers' alert state nor sees an earlier run's events.
import { leyline, type v1 } from '../../contracts/index.ts';
import { buildTelemetryPacket } from '../../contracts/telemetry.ts';
import {
  isBurnRateRule,
  type ResolvedBurnRateRule,
  type ResolvedRule,
  type ResolvedThresholdRule,
} from './alert-rules.ts';
import type { AlertEvent } from './alerts.ts';

export interface DrillSample {
  at: number;
  metrics: Array<{ name: string; value: number }>;
}

export interface Drill {
  rule: string;
  /** The source its packets report from. */
  source: string;
  /** The source its alert events name (a burn-rate rule's: `<source>/<slo key>`). */
  eventSource: string;
  /** Oldest first: the last breaching one fires the alert, a later one clears it. */
  samples: DrillSample[];
}

/** The SLO key a burn-rate drill reports when its rule watches every SLO. */
const DRILL_SLO = 'drill_latency';

function thresholdDrill(rule: ResolvedThresholdRule, source: string, now: number): Drill {
  const above = rule.comparator === '>' || rule.comparator === '>=';
  const step = (level: number): number => Math.max(1, Math.abs(level));
  const breach = above ? rule.threshold + step(rule.threshold) : rule.threshold - step(rule.threshold);
  // Back past the resolve level: the level itself for a strict comparator, one step beyond it otherwise.
  const strict = rule.comparator === '>' || rule.comparator === '<';
  const clear = strict
    ? rule.resolveThreshold
    : above
      ? rule.resolveThreshold - step(rule.resolveThreshold)
      : rule.resolveThreshold + step(rule.resolveThreshold);
  // A time window needs a second sample to have lasted at all.
  const count = Math.max(rule.forCount, rule.forMs > 0 ? 2 : 1);
  const spacing = count > 1 ? Math.max(1, Math.ceil(rule.forMs / (count - 1))) : 1;
  const sample = (at: number, value: number): DrillSample => ({ at, metrics: [{ name: rule.metric, value }] });
  return {
    rule: rule.name,
    source,
    eventSource: source,
    samples: [
      ...Array.from({ length: count }, (_, i) => sample(now - spacing * (count - 1 - i), breach)),
      sample(now + 1, clear),
    ],
  };
}

function burnRateDrill(rule: ResolvedBurnRateRule, source: string, now: number): Drill {
  const key = rule.slo ?? DRILL_SLO;
  const pair = rule.windows[0] as ResolvedBurnRateRule['windows'][number];
  const count = pair.minEvents;
  const spacing = Math.max(1, Math.floor(pair.shortMs / count));
  // The samples that meet the objective come once the misses have left every pair's short window: no pair burns.
  const lastMiss = now - Math.max(...rule.windows.map((w) => w.shortMs));
  const sample = (at: number, actual: number): DrillSample => ({
    at,
    metrics: [
      { name: `slo.${key}_actual`, value: actual },
      { name: `slo.${key}_objective`, value: 1 },
    ],
  });
  const misses = Array.from({ length: count }, (_, i) => sample(lastMiss - spacing * (count - 1 - i), 2));
  const met = Array.from({ length: count }, (_, i) => sample(now + i, 0));
  return { rule: rule.name, source, eventSource: `${source}/${key}`, samples: [...misses, ...met] };
}

/** The drill of one rule for run `run`, its samples placed around `now`. */
export function drillFor(rule: ResolvedRule, run: string, now: number): Drill {
  if (isBurnRateRule(rule)) return burnRateDrill(rule, `drill.slo.${run}`, now);
  return thresholdDrill(rule, `drill.${rule.metric.split('.')[0] ?? 'metric'}.${run}`, now);
}

/** A drill's samples as telemetry packets, oldest first. */
export function drillPackets(drill: Drill): v1.TelemetryPacket[] {
  return drill.samples.map((sample, i) =>
    buildTelemetryPacket({
      packetId: `${drill.source}-${drill.rule}-${i}`,
      source: drill.source,
      level: leyline.TelemetryLevel.TELEMETRY_LEVEL_INFO,
      metrics: sample.metrics,
      timestamp: sample.at,
    }),
  );
}

export interface DrillResult {
  rule: string;
  triggered: AlertEvent | null;
  cleared: AlertEvent | null;
}

/**
 * Drills every rule: `send` delivers a packet (in order), `events` answers the alert events seen so far (polled until
 * each drill's fired and resolved events appear, or `timeoutMs`).
 */
export async function runDrills(
  rules: readonly ResolvedRule[],
  send: (packet: v1.TelemetryPacket) => void | Promise<void>,
  events: () => readonly AlertEvent[] | Promise<readonly AlertEvent[]>,
  options: { now?: number; timeoutMs?: number; run?: string } = {},
): Promise<DrillResult[]> {
  const now = options.now ?? Date.now();
  const run = options.run ?? String(now);
  const results: DrillResult[] = [];
  for (const rule of rules) {
    const drill = drillFor(rule, run, now);
    for (const packet of drillPackets(drill)) await send(packet);
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    let result: DrillResult = { rule: drill.rule, triggered: null, cleared: null };
    for (;;) {
      const seen = (await events()).filter((e) => e.rule === drill.rule && e.source === drill.eventSource);
      result = {
        rule: drill.rule,
        triggered: seen.find((e) => e.kind === 'fired') ?? null,
        cleared: seen.find((e) => e.kind === 'resolved') ?? null,
      };
      if ((result.triggered && result.cleared) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    results.push(result);
  }
  return results;
}
