// What the seed manager reports to the telemetry log, as plain functions of what it knows: the seeds at each control
// boundary, refused commands, an emergency cleanup, and a seed's crash and its outcome.
import { leyline, type v1 } from '../../contracts/index.ts';
import { buildTelemetryPacket } from '../../contracts/telemetry.ts';
import { stageName } from './lifecycle.ts';

const { HealthStatus, TelemetryLevel } = leyline;

/** The figures of the global boundary packet that are not the seeds' own. */
export interface ManagerFigures {
  kernelBreaker: v1.CircuitBreakerState;
  isolationBreaker: v1.CircuitBreakerState;
  rejected: number;
  /** Kernels that came from the fallback blueprint or the identity module. */
  fallbacks: number;
  /** The kernel fetch budget: a seed whose kernel took longer is reported `latency_high`. */
  latencyBudgetMs: number;
}

/** The `boundary`-th control boundary: one packet per seed on the board, and a global one. */
export function boundaryPackets(
  boundary: number,
  board: Iterable<v1.SeedState>,
  slots: ReadonlyMap<string, string>,
  figures: ManagerFigures,
): v1.TelemetryPacket[] {
  const packets: v1.TelemetryPacket[] = [];
  let seeds = 0;
  let liveViolations = 0;
  for (const seed of board) {
    seeds += 1;
    const m = seed.metrics ?? {};
    const violations = m.isolation_violations ?? 0;
    liveViolations += violations;
    const fallback = (m.fallback_used ?? 0) > 0;
    const slow = (m.kernel_latency_ms ?? 0) > figures.latencyBudgetMs;
    const attributes: Record<string, string> = { seed_id: seed.seedId, slot: slots.get(seed.seedId) ?? '' };
    packets.push(
      buildTelemetryPacket({
        packetId: `kasmina-seed-${seed.seedId}-${boundary}`,
        source: 'kasmina',
        level: TelemetryLevel.TELEMETRY_LEVEL_INFO,
        metrics: [
          { name: 'kasmina.seed.stage', value: seed.stage, attributes },
          { name: 'kasmina.seed.alpha', value: m.alpha ?? 0, attributes },
          { name: 'kasmina.seed.kernel_latency_ms', value: m.kernel_latency_ms ?? 0, unit: 'ms', attributes },
          { name: 'kasmina.seed.isolation_violations', value: violations, attributes },
          { name: 'kasmina.seed.fallback_used', value: fallback ? 1 : 0, attributes },
          { name: 'kasmina.seed.gradient_norm', value: seed.gradientNorm, attributes },
          { name: 'kasmina.seed.isolation_ms', value: m.isolation_ms ?? 0, unit: 'ms', attributes },
        ],
        events: [
          {
            description: 'seed_stage',
            attributes: { seed_id: seed.seedId, stage: stageName(seed.stage), alpha: (m.alpha ?? 0).toFixed(4) },
          },
        ],
        healthStatus:
          violations > 0
            ? HealthStatus.HEALTH_STATUS_UNHEALTHY
            : fallback || slow
              ? HealthStatus.HEALTH_STATUS_DEGRADED
              : HealthStatus.HEALTH_STATUS_HEALTHY,
        healthSummary: violations > 0 ? 'violations' : fallback ? 'fallback' : slow ? 'latency_high' : 'nominal',
        healthIndicators: { seed_id: seed.seedId },
      }),
    );
  }
  packets.push(
    buildTelemetryPacket({
      packetId: `kasmina-global-${boundary}`,
      source: 'kasmina',
      level: TelemetryLevel.TELEMETRY_LEVEL_INFO,
      metrics: [
        { name: 'kasmina.seeds.active', value: seeds },
        { name: 'kasmina.isolation.violations', value: liveViolations },
        { name: 'kasmina.breaker.state', value: figures.kernelBreaker },
        { name: 'kasmina.isolation_breaker.state', value: figures.isolationBreaker },
        { name: 'kasmina.commands.rejected_total', value: figures.rejected },
        { name: 'kasmina.kernels.fallbacks_total', value: figures.fallbacks },
      ],
      healthStatus: liveViolations > 0 ? HealthStatus.HEALTH_STATUS_UNHEALTHY : HealthStatus.HEALTH_STATUS_HEALTHY,
      healthSummary: liveViolations > 0 ? 'violations' : 'nominal',
      healthIndicators: { seeds: String(seeds) },
    }),
  );
  return packets;
}

/** A refused command, with the running count of refusals. */
export function rejectedPacket(
  commandId: string,
  reason: string,
  rejectedTotal: number,
  packetId: string,
): v1.TelemetryPacket {
  return buildTelemetryPacket({
    packetId,
    source: 'kasmina',
    level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
    metrics: [{ name: 'kasmina.commands.rejected_total', value: rejectedTotal }],
    events: [
      {
        description: 'command_rejected',
        level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
        attributes: { command_id: commandId, reason },
      },
    ],
  });
}

/** COMMAND_EMERGENCY carried out: the seeds culled, and how many stayed. */
export function emergencyPacket(commandId: string, culled: readonly string[], kept: number): v1.TelemetryPacket {
  return buildTelemetryPacket({
    packetId: `kasmina-emergency-${commandId}`,
    source: 'kasmina',
    level: TelemetryLevel.TELEMETRY_LEVEL_CRITICAL,
    metrics: [{ name: 'kasmina.emergency.seeds_culled', value: culled.length }],
    events: [
      {
        description: 'emergency_cleanup',
        level: TelemetryLevel.TELEMETRY_LEVEL_CRITICAL,
        attributes: { command_id: commandId, culled: culled.join(','), kept: String(kept) },
      },
    ],
  });
}

/** A seed's crash and what came of it: restarted from its last state (WARNING), or culled (ERROR). */
export function supervisionPacket(
  event: 'seed_restarted' | 'seed_culled',
  attributes: Record<string, string>,
  packetId: string,
): v1.TelemetryPacket {
  const level = event === 'seed_culled' ? TelemetryLevel.TELEMETRY_LEVEL_ERROR : TelemetryLevel.TELEMETRY_LEVEL_WARNING;
  return buildTelemetryPacket({
    packetId,
    source: 'kasmina',
    level,
    metrics: [],
    events: [{ description: event, level, attributes }],
  });
}
