// What a seed reports to the telemetry log, as plain functions of its lifecycle's effects: stage changes, gate
// results, culls (`rollback_ready`), refusals; pause and resume; and each kernel fetch against its budget.
import { leyline, type v1 } from '../../contracts/index.ts';
import { buildTelemetryPacket, type EventInput } from '../../contracts/telemetry.ts';
import { gateName, stageName, type PauseAction, type SeedData, type SeedEffect } from './lifecycle.ts';

const { TelemetryLevel } = leyline;

/** The packet for one lifecycle transition's effects, or null when none of them is worth reporting. */
export function effectsPacket(
  data: SeedData,
  effects: readonly SeedEffect[],
  packetId: string,
): v1.TelemetryPacket | null {
  const { seedId } = data;
  const events: EventInput[] = [];
  for (const effect of effects) {
    if (effect.kind === 'transition') {
      events.push({
        description: 'seed_stage_changed',
        attributes: { seed_id: seedId, from: stageName(effect.from), to: stageName(effect.to) },
      });
    } else if (effect.kind === 'gate') {
      const r = effect.result;
      events.push({
        description: r.passed ? 'gate_event' : 'gate_failure',
        level: r.passed ? TelemetryLevel.TELEMETRY_LEVEL_INFO : TelemetryLevel.TELEMETRY_LEVEL_WARNING,
        attributes: {
          seed_id: seedId,
          gate: gateName(r.gate),
          passed: String(r.passed),
          reason: r.reason,
          ...r.attributes,
        },
      });
    } else if (effect.kind === 'detach') {
      events.push({
        description: 'rollback_ready',
        level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
        attributes: { seed_id: seedId, reason: data.lastFailure ?? '', slot: data.slotId },
      });
    } else if (effect.kind === 'illegal_transition' || effect.kind === 'rejected') {
      events.push({
        description: effect.kind,
        level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
        attributes:
          effect.kind === 'rejected'
            ? { seed_id: seedId, reason: effect.reason }
            : { seed_id: seedId, from: stageName(effect.from), requested: stageName(effect.requested) },
      });
    }
  }
  if (events.length === 0) return null;
  return buildTelemetryPacket({
    packetId,
    source: 'kasmina',
    level: Math.max(...events.map((e) => e.level ?? TelemetryLevel.TELEMETRY_LEVEL_INFO)) as v1.TelemetryLevel,
    metrics: [
      { name: 'kasmina.seed.stage', value: data.stage, attributes: { seed_id: seedId } },
      { name: 'kasmina.seed.alpha', value: data.alpha, attributes: { seed_id: seedId } },
    ],
    events,
  });
}

/** A PAUSE or resume as it went (`data`: the seed after it): `seed_paused`, `seed_resumed`, or `rejected` with why. */
export function pausePacket(
  data: SeedData,
  action: PauseAction,
  effects: readonly SeedEffect[],
  packetId: string,
): v1.TelemetryPacket {
  const refused = effects.find(
    (effect): effect is Extract<SeedEffect, { kind: 'rejected' }> => effect.kind === 'rejected',
  );
  const resume = action === 'resume';
  const level = !refused && resume ? TelemetryLevel.TELEMETRY_LEVEL_INFO : TelemetryLevel.TELEMETRY_LEVEL_WARNING;
  return buildTelemetryPacket({
    packetId,
    source: 'kasmina',
    level,
    metrics: [{ name: 'kasmina.seed.paused', value: data.paused ? 1 : 0, attributes: { seed_id: data.seedId } }],
    events: [
      refused
        ? { description: 'rejected', level, attributes: { seed_id: data.seedId, reason: refused.reason } }
        : {
            description: resume ? 'seed_resumed' : 'seed_paused',
            level,
            attributes: { seed_id: data.seedId, stage: stageName(data.stage) },
          },
    ],
  });
}

/** One kernel fetch against its budget: an SLO sample for Nissa's burn rate. */
export function kernelFetchPacket(
  data: SeedData,
  latencyMs: number,
  budgetMs: number,
  packetId: string,
): v1.TelemetryPacket {
  return buildTelemetryPacket({
    packetId,
    source: 'kasmina',
    level: TelemetryLevel.TELEMETRY_LEVEL_INFO,
    metrics: [
      {
        name: 'slo.kernel_fetch_latency_actual',
        value: latencyMs,
        unit: 'ms',
        attributes: { seed_id: data.seedId, slot: data.slotId },
      },
      { name: 'slo.kernel_fetch_latency_objective', value: budgetMs, unit: 'ms' },
    ],
  });
}
