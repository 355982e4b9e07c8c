import test from 'ava';
import { decodeLeyline, encodeLeyline } from '../contracts/codec.ts';
import { leyline, type v1 } from '../contracts/index.ts';
import { google } from '../contracts/generated/leyline.js';
import {
  buildTelemetryPacket,
  derivePriority,
  PRIORITY_INDICATOR,
  priorityFromIndicator,
  priorityName,
  type TelemetryPacketInput,
} from '../contracts/telemetry.ts';
import { fromTimestamp, millisecondsSince, toTimestamp } from '../contracts/time.ts';

const { TelemetryLevel: L, MessagePriority: P, HealthStatus: H } = leyline;
const T = 1_758_000_000_000;

function build(overrides: Partial<TelemetryPacketInput> = {}): v1.TelemetryPacket {
  return buildTelemetryPacket({
    packetId: 'p-1',
    source: 'kasmina',
    level: L.TELEMETRY_LEVEL_INFO,
    metrics: [],
    timestamp: T,
    ...overrides,
  });
}

// ---- builder (docs/bus-and-security.md#telemetry-packets-and-their-priority) -----------------------------------

test('sets packet id, source, level and the given timestamp', (t) => {
  const packet = build({ level: L.TELEMETRY_LEVEL_WARNING, timestamp: new Date(T + 250) });
  t.true(packet instanceof leyline.TelemetryPacket);
  t.is(packet.packetId, 'p-1');
  t.is(packet.sourceSubsystem, 'kasmina');
  t.is(packet.level, L.TELEMETRY_LEVEL_WARNING);
  t.is(packet.timestamp?.seconds, T / 1000);
  t.is(packet.timestamp?.nanos, 250_000_000);
});

test('the timestamp defaults to now', (t) => {
  const before = Date.now();
  const { timestamp } = buildTelemetryPacket({
    packetId: 'p',
    source: 's',
    level: L.TELEMETRY_LEVEL_INFO,
    metrics: [],
  });
  const after = Date.now();
  const ms = fromTimestamp(timestamp ?? {});
  t.true(ms >= before && ms <= after);
});

test('metrics keep input order; unit is written only when non-empty; attributes are copied', (t) => {
  const attributes = { seed: 'seed-1' };
  const packet = build({
    metrics: [
      { name: 'kasmina.seeds.active', value: 3, unit: 'count', attributes },
      { name: 'kasmina.isolation.violations', value: 0, unit: '' },
      { name: 'kasmina.latency_ms', value: 1.25 },
    ],
  });
  t.deepEqual(
    packet.metrics.map((m) => m.name),
    ['kasmina.seeds.active', 'kasmina.isolation.violations', 'kasmina.latency_ms'],
  );
  t.deepEqual(
    packet.metrics.map((m) => m.value),
    [3, 0, 1.25],
  );
  t.is(packet.metrics[0]?.unit, 'count');
  t.false(Object.hasOwn(packet.metrics[1] as object, 'unit'));
  t.false(Object.hasOwn(packet.metrics[2] as object, 'unit'));
  t.deepEqual(packet.metrics[0]?.attributes, attributes);
  t.not(packet.metrics[0]?.attributes, attributes);
  t.deepEqual(packet.metrics[1]?.attributes, {});
});

test('events get evt-<1-based index> unless given an id, INFO unless given a level', (t) => {
  const packet = build({
    events: [
      { description: 'seed_germinated', attributes: { seed_id: 'seed-1' } },
      { description: 'gate_event', level: L.TELEMETRY_LEVEL_WARNING, eventId: 'gate-7' },
      { description: 'command_rejected', level: L.TELEMETRY_LEVEL_ERROR },
    ],
  });
  t.deepEqual(
    packet.events.map((e) => e.eventId),
    ['evt-1', 'gate-7', 'evt-3'],
  );
  t.deepEqual(
    packet.events.map((e) => e.description),
    ['seed_germinated', 'gate_event', 'command_rejected'],
  );
  t.deepEqual(
    packet.events.map((e) => e.level),
    [L.TELEMETRY_LEVEL_INFO, L.TELEMETRY_LEVEL_WARNING, L.TELEMETRY_LEVEL_ERROR],
  );
  t.deepEqual(packet.events[0]?.attributes, { seed_id: 'seed-1' });
});

test('system_health is always present: HEALTHY, empty summary and the priority by default', (t) => {
  const packet = build();
  t.truthy(packet.systemHealth);
  t.is(packet.systemHealth?.status, H.HEALTH_STATUS_HEALTHY);
  t.is(packet.systemHealth?.summary, '');
  t.deepEqual(packet.systemHealth?.indicators, { priority: 'MESSAGE_PRIORITY_NORMAL' });
  t.deepEqual(packet.spans, []);
  const decoded = decodeLeyline(leyline.TelemetryPacket, encodeLeyline(packet));
  t.true(decoded.ok && decoded.message.systemHealth !== null && decoded.message.systemHealth !== undefined);
});

test('health status, summary and indicators are copied, with the priority added', (t) => {
  const indicators = { queue: 'ok' };
  const packet = build({ healthStatus: H.HEALTH_STATUS_DEGRADED, healthSummary: 'slow', healthIndicators: indicators });
  t.is(packet.systemHealth?.status, H.HEALTH_STATUS_DEGRADED);
  t.is(packet.systemHealth?.summary, 'slow');
  t.deepEqual(packet.systemHealth?.indicators, { queue: 'ok', priority: 'MESSAGE_PRIORITY_NORMAL' });
  t.deepEqual(indicators, { queue: 'ok' }, 'the caller’s object is not modified');
});

test('a built packet round-trips through the codec (names, values, units in order)', (t) => {
  const units = ['loss', 'ms', 'count', 'ratio', 'bool', 'delta'];
  for (let n = 1; n <= 4; n++) {
    const metrics = Array.from({ length: n }, (_, i) => ({
      name: `m.${i}`,
      value: (i - 2) * 1234.5678,
      unit: units[(n + i) % units.length] as string,
    }));
    const packet = build({ metrics, events: [{ description: 'x' }] });
    const decoded = decodeLeyline(leyline.TelemetryPacket, encodeLeyline(packet));
    t.true(decoded.ok);
    if (!decoded.ok) continue;
    t.deepEqual(
      decoded.message.metrics.map((m) => [m.name, m.value, m.unit]),
      metrics.map((m) => [m.name, m.value, m.unit]),
    );
  }
});

// ---- priority --------------------------------------------------------------------------------------------------

test('derivePriority: CRITICAL anywhere → CRITICAL; WARNING or ERROR → HIGH; otherwise NORMAL', (t) => {
  const cases: Array<[v1.TelemetryLevel, v1.TelemetryLevel[], v1.MessagePriority]> = [
    [L.TELEMETRY_LEVEL_INFO, [], P.MESSAGE_PRIORITY_NORMAL],
    [L.TELEMETRY_LEVEL_UNSPECIFIED, [L.TELEMETRY_LEVEL_INFO], P.MESSAGE_PRIORITY_NORMAL],
    [L.TELEMETRY_LEVEL_WARNING, [], P.MESSAGE_PRIORITY_HIGH],
    [L.TELEMETRY_LEVEL_ERROR, [L.TELEMETRY_LEVEL_INFO], P.MESSAGE_PRIORITY_HIGH],
    [L.TELEMETRY_LEVEL_INFO, [L.TELEMETRY_LEVEL_INFO, L.TELEMETRY_LEVEL_WARNING], P.MESSAGE_PRIORITY_HIGH],
    [L.TELEMETRY_LEVEL_INFO, [L.TELEMETRY_LEVEL_ERROR], P.MESSAGE_PRIORITY_HIGH],
    [L.TELEMETRY_LEVEL_CRITICAL, [L.TELEMETRY_LEVEL_INFO], P.MESSAGE_PRIORITY_CRITICAL],
    [L.TELEMETRY_LEVEL_INFO, [L.TELEMETRY_LEVEL_WARNING, L.TELEMETRY_LEVEL_CRITICAL], P.MESSAGE_PRIORITY_CRITICAL],
    [L.TELEMETRY_LEVEL_WARNING, [L.TELEMETRY_LEVEL_CRITICAL], P.MESSAGE_PRIORITY_CRITICAL],
  ];
  for (const [level, eventLevels, expected] of cases) {
    const packet = build({ level, events: eventLevels.map((l) => ({ description: 'e', level: l })) });
    t.is(derivePriority(packet), expected, `level ${level}, events ${eventLevels.join(',')}`);
    t.is(
      packet.systemHealth?.indicators?.[PRIORITY_INDICATOR],
      priorityName(expected),
      'the builder writes the derived name',
    );
    t.is(priorityFromIndicator(packet), expected, 'and the shared parser reads it back');
  }
});

test('an explicit priority wins; a valid name in the given indicators is kept; an invalid one is replaced', (t) => {
  const explicit = build({ level: L.TELEMETRY_LEVEL_CRITICAL, priority: P.MESSAGE_PRIORITY_LOW });
  t.is(explicit.systemHealth?.indicators?.priority, 'MESSAGE_PRIORITY_LOW');
  const kept = build({ healthIndicators: { priority: 'MESSAGE_PRIORITY_HIGH' } });
  t.is(kept.systemHealth?.indicators?.priority, 'MESSAGE_PRIORITY_HIGH');
  const replaced = build({ level: L.TELEMETRY_LEVEL_WARNING, healthIndicators: { priority: 'URGENT' } });
  t.is(replaced.systemHealth?.indicators?.priority, 'MESSAGE_PRIORITY_HIGH');
});

test('priorityFromIndicator: missing, unknown or UNSPECIFIED names mean NORMAL', (t) => {
  const packet = leyline.TelemetryPacket.create({ packetId: 'x' });
  t.is(priorityFromIndicator(packet), P.MESSAGE_PRIORITY_NORMAL, 'no system_health');
  packet.systemHealth = leyline.SystemHealth.create({});
  t.is(priorityFromIndicator(packet), P.MESSAGE_PRIORITY_NORMAL, 'no indicator');
  for (const name of [
    'URGENT',
    'message_priority_high',
    '3',
    '',
    'MESSAGE_PRIORITY_UNSPECIFIED',
    'constructor',
    '__proto__',
  ]) {
    packet.systemHealth.indicators = { priority: name };
    t.is(priorityFromIndicator(packet), P.MESSAGE_PRIORITY_NORMAL, name);
  }
  for (const [name, value] of [
    ['MESSAGE_PRIORITY_LOW', P.MESSAGE_PRIORITY_LOW],
    ['MESSAGE_PRIORITY_NORMAL', P.MESSAGE_PRIORITY_NORMAL],
    ['MESSAGE_PRIORITY_HIGH', P.MESSAGE_PRIORITY_HIGH],
    ['MESSAGE_PRIORITY_CRITICAL', P.MESSAGE_PRIORITY_CRITICAL],
  ] as const) {
    packet.systemHealth.indicators = { priority: name };
    t.is(priorityFromIndicator(packet), value);
  }
});

// ---- time ------------------------------------------------------------------------------------------------------

test('toTimestamp / fromTimestamp convert Dates and milliseconds, including fractions and pre-1970 instants', (t) => {
  t.deepEqual({ ...toTimestamp(new Date(T)) }, { seconds: T / 1000, nanos: 0 });
  t.true(toTimestamp(T) instanceof Object);
  // Sub-millisecond parts are exact for small instants; at present-day magnitudes a double holds epoch ms only to
  // ~0.24 µs, so the nanos are that close.
  t.is(toTimestamp(1.0005).nanos, 1_000_500);
  t.true(Math.abs((toTimestamp(T + 0.0005).nanos ?? 0) - 500) <= 250);
  t.is(fromTimestamp(toTimestamp(T + 123.456)), T + 123.456);
  const before1970 = toTimestamp(-1.5);
  t.is(before1970.seconds, -1);
  t.is(before1970.nanos, 998_500_000);
  t.is(fromTimestamp(before1970), -1.5);
  t.is(fromTimestamp({}), 0);
  t.throws(() => toTimestamp(Number.NaN), { instanceOf: RangeError });
  t.throws(() => toTimestamp(new Date('nope')), { instanceOf: RangeError });
});

test('a Timestamp survives the wire', (t) => {
  const packet = build({ timestamp: T + 0.5 });
  const decoded = decodeLeyline(leyline.TelemetryPacket, encodeLeyline(packet));
  t.true(decoded.ok);
  if (decoded.ok) {
    t.is(decoded.message.timestamp?.seconds, T / 1000);
    t.is(decoded.message.timestamp?.nanos, 500_000);
    t.is(fromTimestamp(decoded.message.timestamp ?? {}), T + 0.5);
  }
});

test('millisecondsSince keeps sub-microsecond precision for present-day instants', (t) => {
  const ts = toTimestamp(T);
  t.is(millisecondsSince(ts, T + 60_000), 60_000);
  t.true(
    millisecondsSince(
      leyline.TelemetryPacket.create({ timestamp: google.protobuf.Timestamp.create({ seconds: T / 1000, nanos: 1 }) })
        .timestamp ?? {},
      T,
    ) < 0,
  );
});
