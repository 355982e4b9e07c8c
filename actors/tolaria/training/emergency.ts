// Tolaria's emergency ladder (EmergencyLevel L1–L4, docs/training-loop.md#the-emergency-ladder): escalation
// only upwards, de-escalation one level per `stableEpochs` healthy epochs, L4 (HALT) final. Each change yields a
// CRITICAL-or-HIGH TelemetryPacket for Weatherlight and Nissa (there is no EmergencySignal message).
import { leyline, type v1 } from '../../../contracts/index.ts';
import { buildTelemetryPacket } from '../../../contracts/telemetry.ts';

const { EmergencyLevel: Level, TelemetryLevel, HealthStatus, MessagePriority } = leyline;

export const levelName = (level: v1.EmergencyLevel): string => leyline.EmergencyLevel[level] ?? String(level);

export interface Escalation {
  level: v1.EmergencyLevel;
  previous: v1.EmergencyLevel;
  reason: string;
  /** False when the requested level was not above the current one. */
  changed: boolean;
}

export class EmergencyController {
  #level: v1.EmergencyLevel = Level.EMERGENCY_LEVEL_NOTICE;
  #stable = 0;
  readonly counters = { escalations: 0, deEscalations: 0, halts: 0 };

  constructor(readonly stableEpochs = 3) {}

  get level(): v1.EmergencyLevel {
    return this.#level;
  }

  get halted(): boolean {
    return this.#level === Level.EMERGENCY_LEVEL_HALT;
  }

  snapshot(): Record<string, number> {
    return { level: this.#level, stable: this.#stable };
  }

  restore(saved: Readonly<Record<string, number>>): void {
    if (saved.level !== undefined) this.#level = saved.level as v1.EmergencyLevel;
    this.#stable = saved.stable ?? 0;
  }

  escalate(level: v1.EmergencyLevel, reason: string): Escalation {
    const previous = this.#level;
    this.#stable = 0;
    if (level <= previous) return { level: previous, previous, reason, changed: false };
    this.#level = level;
    this.counters.escalations += 1;
    if (level === Level.EMERGENCY_LEVEL_HALT) this.counters.halts += 1;
    return { level, previous, reason, changed: true };
  }

  /** A healthy epoch; after `stableEpochs` of them in a row the level drops by one (never out of HALT). */
  stableEpoch(): Escalation | null {
    if (this.#level === Level.EMERGENCY_LEVEL_NOTICE || this.halted) return null;
    this.#stable += 1;
    if (this.#stable < this.stableEpochs) return null;
    this.#stable = 0;
    const previous = this.#level;
    this.#level = (previous - 1) as v1.EmergencyLevel;
    this.counters.deEscalations += 1;
    return { level: this.#level, previous, reason: `${this.stableEpochs} stable epochs`, changed: true };
  }
}

/** The broadcast for an emergency change: CRITICAL for HALT, else ERROR; priority HIGH or CRITICAL. */
export function emergencyPacket(
  change: Escalation,
  context: { runId: string; epoch: number; now?: number },
): v1.TelemetryPacket {
  const halt = change.level === Level.EMERGENCY_LEVEL_HALT;
  const level = levelName(change.level);
  const rising = change.level > change.previous;
  return buildTelemetryPacket({
    packetId: `${context.runId}-emergency-${context.epoch}-${level}`,
    source: 'tolaria',
    level: halt
      ? TelemetryLevel.TELEMETRY_LEVEL_CRITICAL
      : rising
        ? TelemetryLevel.TELEMETRY_LEVEL_ERROR
        : TelemetryLevel.TELEMETRY_LEVEL_INFO,
    metrics: [{ name: 'tolaria.emergency.level', value: change.level }],
    events: [
      {
        description: rising ? 'emergency_broadcast' : 'emergency_cleared',
        level: halt
          ? TelemetryLevel.TELEMETRY_LEVEL_CRITICAL
          : rising
            ? TelemetryLevel.TELEMETRY_LEVEL_ERROR
            : TelemetryLevel.TELEMETRY_LEVEL_INFO,
        attributes: {
          level,
          previous: levelName(change.previous),
          reason: change.reason,
          epoch: String(context.epoch),
          run_id: context.runId,
        },
      },
    ],
    healthStatus: rising ? HealthStatus.HEALTH_STATUS_UNHEALTHY : HealthStatus.HEALTH_STATUS_DEGRADED,
    healthSummary: rising ? 'emergency' : 'recovering',
    priority: halt
      ? MessagePriority.MESSAGE_PRIORITY_CRITICAL
      : rising
        ? MessagePriority.MESSAGE_PRIORITY_HIGH
        : MessagePriority.MESSAGE_PRIORITY_NORMAL,
    ...(context.now !== undefined ? { timestamp: context.now } : {}),
  });
}
