// The one way every subsystem builds a TelemetryPacket, and the one rule for its routing priority (carried as the
// MessagePriority enum name in system_health.indicators["priority"], a convention the prototype's schema does
// not encode).
import { leyline, type v1 } from './index.ts';
import { toTimestamp } from './time.ts';

const { MessagePriority, TelemetryLevel, HealthStatus } = leyline;

/** The indicator key that carries a packet's routing priority. */
export const PRIORITY_INDICATOR = 'priority';

/** A metric sample to put in a packet (builder input only; it never leaves the calling actor). */
export interface MetricInput {
  name: string;
  value: number;
  /** Written only when non-empty. */
  unit?: string;
  attributes?: Readonly<Record<string, string>>;
}

/** An event to put in a packet (builder input only). */
export interface EventInput {
  description: string;
  /** Default TELEMETRY_LEVEL_INFO. */
  level?: v1.TelemetryLevel;
  attributes?: Readonly<Record<string, string>>;
  /** Default `evt-<n>`, n being the event's 1-based position in the packet. */
  eventId?: string;
}

export interface TelemetryPacketInput {
  packetId: string;
  source: string;
  level: v1.TelemetryLevel;
  metrics: readonly MetricInput[];
  events?: readonly EventInput[];
  /** Default HEALTH_STATUS_HEALTHY. */
  healthStatus?: v1.HealthStatus;
  /** Default "". */
  healthSummary?: string;
  healthIndicators?: Readonly<Record<string, string>>;
  /** Default now. */
  timestamp?: Date | number;
  /**
   * Routing priority. Default: a valid priority name already in `healthIndicators.priority`, else
   * `derivePriority` of the packet.
   */
  priority?: v1.MessagePriority;
}

/**
 * Builds a TelemetryPacket: metrics and events in input order, `system_health` always present, and the
 * priority name always written into its indicators. No validation, size check or de-duplication is done.
 */
export function buildTelemetryPacket(input: TelemetryPacketInput): v1.TelemetryPacket {
  const metrics = input.metrics.map((metric) =>
    leyline.MetricPoint.create({
      name: metric.name,
      value: metric.value,
      ...(metric.unit ? { unit: metric.unit } : {}),
      attributes: { ...metric.attributes },
    }),
  );
  const events = (input.events ?? []).map((event, index) =>
    leyline.TelemetryEvent.create({
      eventId: event.eventId ?? `evt-${index + 1}`,
      description: event.description,
      level: event.level ?? TelemetryLevel.TELEMETRY_LEVEL_INFO,
      attributes: { ...event.attributes },
    }),
  );
  const indicators: Record<string, string> = { ...input.healthIndicators };
  const priority =
    input.priority ??
    parsePriorityName(indicators[PRIORITY_INDICATOR]) ??
    derivePriority({ level: input.level, events });
  indicators[PRIORITY_INDICATOR] = priorityName(priority);
  const packet = leyline.TelemetryPacket.create({
    packetId: input.packetId,
    timestamp: toTimestamp(input.timestamp ?? Date.now()),
    sourceSubsystem: input.source,
    level: input.level,
    metrics,
    events,
    systemHealth: leyline.SystemHealth.create({
      status: input.healthStatus ?? HealthStatus.HEALTH_STATUS_HEALTHY,
      summary: input.healthSummary ?? '',
      indicators,
    }),
  });
  return packet;
}

const priorityByName = new Map<string, v1.MessagePriority>(
  Object.entries(MessagePriority).map(([name, value]) => [name, value as v1.MessagePriority]),
);
const nameByPriority = new Map<number, string>([...priorityByName].map(([name, value]) => [value, name]));

/** The enum name of a priority, e.g. "MESSAGE_PRIORITY_HIGH" (unknown numbers fall back to NORMAL's name). */
export function priorityName(priority: v1.MessagePriority): string {
  return nameByPriority.get(priority) ?? 'MESSAGE_PRIORITY_NORMAL';
}

/** A usable priority from its enum name; undefined for a missing, unknown or UNSPECIFIED name. */
function parsePriorityName(name: string | undefined): v1.MessagePriority | undefined {
  if (name === undefined) return undefined;
  const priority = priorityByName.get(name);
  return priority === undefined || priority === MessagePriority.MESSAGE_PRIORITY_UNSPECIFIED ? undefined : priority;
}

/**
 * The routing priority a packet declares in `system_health.indicators["priority"]`. The one parser every consumer
 * uses: a missing, unknown (or UNSPECIFIED) name means MESSAGE_PRIORITY_NORMAL.
 */
export function priorityFromIndicator(packet: v1.TelemetryPacket): v1.MessagePriority {
  return (
    parsePriorityName(packet.systemHealth?.indicators?.[PRIORITY_INDICATOR]) ?? MessagePriority.MESSAGE_PRIORITY_NORMAL
  );
}

/** What `derivePriority` reads: a TelemetryPacket, or the parts of one being built. */
export interface LevelledPacket {
  level?: v1.TelemetryLevel | null;
  events?: ReadonlyArray<{ level?: v1.TelemetryLevel | null }> | null;
}

/**
 * The one rule deriving a packet's priority, from the highest of its own level and its events' levels:
 * CRITICAL → CRITICAL, WARNING or ERROR → HIGH, anything else (INFO, unspecified, unknown) → NORMAL.
 */
export function derivePriority(packet: LevelledPacket): v1.MessagePriority {
  const levels = [packet.level, ...(packet.events ?? []).map((event) => event.level)];
  if (levels.includes(TelemetryLevel.TELEMETRY_LEVEL_CRITICAL)) return MessagePriority.MESSAGE_PRIORITY_CRITICAL;
  if (
    levels.includes(TelemetryLevel.TELEMETRY_LEVEL_WARNING) ||
    levels.includes(TelemetryLevel.TELEMETRY_LEVEL_ERROR)
  ) {
    return MessagePriority.MESSAGE_PRIORITY_HIGH;
  }
  return MessagePriority.MESSAGE_PRIORITY_NORMAL;
}
