// Fault drills (actors/nissa/README.md#alerts-and-slos): each default alert is made to fire with breaching samples and
// to clear with a good one, through a telemetry sink — Nissa in process (standalone), or a running system's bus — and
// observed in the alert events. Each drill reports from a source of its own run (`drill.<subsystem>.<run>`), so it
// never touches the alert state of the real producers nor sees an earlier run's events; the time window of
// `oona_queue_depth` is met by the samples' timestamps.
import { leyline, type v1 } from '../../contracts/index.ts';
import { buildTelemetryPacket } from '../../contracts/telemetry.ts';
import type { AlertEvent } from './alerts.ts';

export interface Drill {
  rule: string;
  /** The subsystem whose metric it imitates. */
  source: string;
  metric: string;
  breach: number[];
  clear: number;
  /** Milliseconds between breaching samples (the rule's time window). */
  spacingMs: number;
}

export const DRILLS: readonly Drill[] = [
  { rule: 'training_latency_high', source: 'tolaria', metric: 'tolaria.epoch_hook.latency_ms', breach: [25, 25, 25], clear: 10, spacingMs: 1 },
  { rule: 'kasmina_isolation_violation', source: 'kasmina', metric: 'kasmina.isolation.violations', breach: [5], clear: 0, spacingMs: 1 },
  { rule: 'oona_queue_depth', source: 'oona', metric: 'oona.queue.depth', breach: [5_000, 5_000], clear: 1_000, spacingMs: 120_000 },
  { rule: 'tezzeret_compile_retry_high', source: 'tezzeret', metric: 'tezzeret.compile.retry_count', breach: [2], clear: 0, spacingMs: 1 },
];

export interface DrillResult {
  rule: string;
  triggered: AlertEvent | null;
  cleared: AlertEvent | null;
}

export const drillSource = (drill: Drill, run: string): string => `drill.${drill.source}.${run}`;

/** The packets of one drill, oldest first: the breaching samples `spacingMs` apart, ending now, then the clear one. */
export function drillPackets(drill: Drill, now: number, run: string): v1.TelemetryPacket[] {
  const values = [...drill.breach, drill.clear];
  const start = now - drill.spacingMs * (drill.breach.length - 1);
  return values.map((value, i) =>
    buildTelemetryPacket({
      packetId: `drill-${run}-${drill.rule}-${i}`,
      source: drillSource(drill, run),
      level: leyline.TelemetryLevel.TELEMETRY_LEVEL_INFO,
      metrics: [{ name: drill.metric, value }],
      timestamp: i < drill.breach.length ? start + i * drill.spacingMs : now + 1,
    }),
  );
}

/**
 * Runs every drill: `send` delivers a packet (in order), `events` answers the alert events seen so far (polled until
 * each drill's fired and resolved events appear, or `timeoutMs`).
 */
export async function runDrills(
  send: (packet: v1.TelemetryPacket) => void | Promise<void>,
  events: () => AlertEvent[] | Promise<AlertEvent[]>,
  options: { now?: number; timeoutMs?: number; run?: string } = {},
): Promise<DrillResult[]> {
  const now = options.now ?? Date.now();
  const run = options.run ?? String(now);
  const results: DrillResult[] = [];
  for (const drill of DRILLS) {
    const packets = drillPackets(drill, now, run);
    for (const packet of packets) await send(packet);
    const source = drillSource(drill, run);
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    let result: DrillResult = { rule: drill.rule, triggered: null, cleared: null };
    for (;;) {
      const seen = (await events()).filter((e) => e.rule === drill.rule && e.source === source);
      result = { rule: drill.rule, triggered: seen.find((e) => e.kind === 'fired') ?? null, cleared: seen.find((e) => e.kind === 'resolved') ?? null };
      if ((result.triggered && result.cleared) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    results.push(result);
  }
  return results;
}
