// The bus over both stores: the embedded one and a private redis-server. Each test uses its own stream names.
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { leyline, type v1 } from '../contracts/index.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { toTimestamp } from '../contracts/time.ts';
import { MemoryStreamStore } from '../actors/oona/memory-store.ts';
import { OonaClient } from '../actors/oona/oona-client.ts';
import type { BusMessage } from '../actors/oona/routing.ts';
import { DEFAULT_STREAMS, resolveOonaConfig, type OonaConfig, type StreamNames } from '../actors/oona/settings.ts';
import type { StreamStore } from '../actors/oona/stream-store.ts';
import type { Delivery } from '../actors/oona/subscription.ts';
import { openEnvelope } from '../actors/oona/envelope.ts';
import { busKernelStore } from '../actors/tezzeret/bus-store.ts';
import { EventLog, eventually } from './helpers/events.ts';
import { bytesOf, descriptor, saveInput } from './fixtures/urza-fixtures.ts';
import { RedisServer, redisServerAvailable } from './helpers/redis-server.ts';

const { BusMessageType: T, TelemetryLevel } = leyline;
const signing = new SignatureContext('oona-test-secret');
const haveRedis = redisServerAvailable();
let server: RedisServer | null = null;
let sequence = 0;

test.before(async () => {
  if (haveRedis) server = await RedisServer.start();
});
test.after.always(async () => {
  await server?.stop();
});

type Kind = 'embedded' | 'redis';
const KINDS: Kind[] = ['embedded', 'redis'];

function streamsFor(prefix: string): StreamNames {
  return Object.fromEntries(
    Object.entries(DEFAULT_STREAMS).map(([key, name]) => [key, `${prefix}.${name}`]),
  ) as unknown as StreamNames;
}

interface Bus {
  make(overrides?: OonaConfig, options?: { consumer?: string; source?: string }): OonaClient;
  streams: StreamNames;
  clients: OonaClient[];
}

/** Clients of one bus: on the embedded kind they share one store (one process), on Redis one server. */
function bus(kind: Kind, base: OonaConfig = {}): Bus {
  const streams = streamsFor(`t${++sequence}`);
  const shared: StreamStore | undefined = kind === 'embedded' ? new MemoryStreamStore() : undefined;
  const clients: OonaClient[] = [];
  return {
    streams,
    clients,
    make(overrides = {}, options = {}) {
      const settings = resolveOonaConfig({
        url: kind === 'redis' ? (server as RedisServer).url : 'embedded',
        retryIdleMs: 40,
        ...base,
        ...overrides,
        streams,
      });
      const client = new OonaClient({
        settings,
        signing,
        source: options.source ?? 'test',
        ...(options.consumer ? { consumer: options.consumer } : {}),
        ...(shared ? { store: shared } : {}),
      });
      clients.push(client);
      return client;
    },
  };
}

async function closeAll(b: Bus): Promise<void> {
  for (const client of b.clients.reverse()) await client.close();
}

function state(epoch: number): v1.SystemStatePacket {
  return leyline.SystemStatePacket.create({
    version: 1,
    currentEpoch: epoch,
    packetId: `state-${epoch}`,
    sourceSubsystem: 'tolaria',
  });
}

function telemetry(id: string, level: v1.TelemetryLevel = TelemetryLevel.TELEMETRY_LEVEL_INFO): v1.TelemetryPacket {
  return leyline.TelemetryPacket.create({ packetId: id, sourceSubsystem: 'tester', level });
}

type Seen = { message: BusMessage; delivery: Delivery };

function collect(
  client: OonaClient,
  stream: string,
  group: string,
  behaviour: (seen: Seen) => void = () => undefined,
): EventLog<Seen> {
  const log = new EventLog<Seen>();
  client.subscribe({
    stream,
    group,
    blockMs: 50,
    handler: (message, delivery) => {
      const seen = { message, delivery };
      log.push(seen);
      behaviour(seen);
    },
  });
  return log;
}

function each(title: string, body: (t: ExecutionContext, kind: Kind) => Promise<void>): void {
  for (const kind of KINDS) {
    const run = kind === 'redis' && !haveRedis ? test.skip : test.serial;
    run(`${kind}: ${title}`, (t) => body(t, kind));
  }
}

each('a published SystemStatePacket is consumed, decoded and acknowledged', async (t, kind) => {
  const b = bus(kind);
  const consumer = b.make();
  const seen = collect(consumer, b.streams.normal, 'g');
  await eventually(
    async () =>
      (await consumer.store.pending(b.streams.normal, 'g')) === 0 &&
      (await consumer.store.backlog(b.streams.normal)) === 0,
    'group',
  );
  const producer = b.make();
  const result = producer.publish(state(7));
  t.true(result.ok);
  t.is(result.ok && result.stream, b.streams.normal);
  const { message, delivery } = await seen.waitFor(() => true);
  t.true(message instanceof leyline.SystemStatePacket);
  t.is((message as v1.SystemStatePacket).currentEpoch, 7);
  t.is(delivery.type, T.BUS_MESSAGE_TYPE_SYSTEM_STATE);
  t.is(delivery.attempt, 1);
  t.truthy(delivery.attributes.nonce);
  await eventually(async () => (await consumer.store.pending(b.streams.normal, 'g')) === 0, 'ack');
  t.is(consumer.metrics.counters.consumed_total, 1);
  await closeAll(b);
});

each('messages go to their streams by type and priority', async (t, kind) => {
  const b = bus(kind);
  const c = b.make();
  const s = b.streams;
  const cases: [BusMessage, string][] = [
    [telemetry('info'), s.telemetry],
    [telemetry('warn', TelemetryLevel.TELEMETRY_LEVEL_WARNING), s.emergency],
    [telemetry('crit', TelemetryLevel.TELEMETRY_LEVEL_CRITICAL), s.emergency],
    [leyline.PolicyUpdate.create({ version: 1, policyId: 'p' }), s.policy],
    [leyline.FieldReport.create({ reportId: 'r' }), s.normal],
    [
      leyline.KernelPrefetchRequest.create({ requestId: 'k', blueprintId: 'BP001', issuedAt: toTimestamp(Date.now()) }),
      s.kernelRequests,
    ],
    [leyline.KernelArtifactReady.create({ requestId: 'k' }), s.kernelReady],
    [leyline.KernelCatalogUpdate.create({ blueprintId: 'BP001' }), s.kernelReady],
    [leyline.KernelArtifactError.create({ requestId: 'k', reason: 'missing_artifact' }), s.kernelErrors],
    [leyline.KernelArtifact.create({ jobId: 'j', artifact: new Uint8Array([1, 2, 3]) }), s.kernelArtifacts],
  ];
  for (const [message, stream] of cases) {
    const result = c.publish(message);
    t.true(result.ok && result.stream === stream, `${message.constructor.name} → ${stream}`);
  }
  t.true(c.publish(state(1), { emergency: true }).ok);
  await c.flush();
  t.is(await c.store.length(s.emergency), 3);
  t.is(await c.store.length(s.kernelReady), 2);
  t.is(c.metrics.counters.emergency_published, 3);
  await closeAll(b);
});

each(
  "a Tezzeret worker's KernelArtifacts go on their own stream; every entry on the ready stream is a KernelArtifactReady",
  async (t, kind) => {
    const b = bus(kind);
    const c = b.make();
    const s = b.streams;
    // The real producer: a worker process's kernel store publishes each compiled kernel.
    const store = busKernelStore((artifact) => t.true(c.publish(artifact).ok));
    const desc = descriptor('BP001');
    const artifactBytes = bytesOf('compiled kernel bytes');
    await store.save({
      jobId: 'job-1',
      descriptor: desc,
      slot: { dims: [32] },
      parameters: {},
      artifact: artifactBytes,
      update: saveInput(desc, [32], artifactBytes).update,
      family: 'residual_mlp',
      fallbackFrom: '',
      strategy: leyline.CompileStrategy.COMPILE_STRATEGY_STANDARD,
      guardSummary: 'float32[1x32]',
      prewarmSamplesMs: [1],
    });
    t.true(c.publish(leyline.KernelArtifactReady.create({ requestId: 'k', blueprintId: 'BP001', checksum: 'abc' })).ok);
    await c.flush();
    // Read every entry of both streams from their start, as a prototype consumer would.
    const entries = async (stream: string): Promise<v1.BusEnvelope[]> => {
      await c.store.ensureGroup(stream, 'raw', '0');
      const reader = c.store.reader();
      try {
        return (await reader.read(stream, 'raw', 'r', 100, 0)).map((entry) =>
          leyline.BusEnvelope.decode(entry.fields.payload as Buffer),
        );
      } finally {
        await reader.close();
      }
    };
    const ready = await entries(s.kernelReady);
    t.is(ready.length, 1);
    for (const envelope of ready) {
      t.is(envelope.messageType, T.BUS_MESSAGE_TYPE_KERNEL_PREFETCH_READY);
      t.is(leyline.KernelArtifactReady.decode(envelope.payload).requestId, 'k');
    }
    const artifacts = await entries(s.kernelArtifacts);
    t.is(artifacts.length, 1);
    t.is(artifacts[0]?.messageType, T.BUS_MESSAGE_TYPE_KERNEL_ARTIFACT);
    const artifact = leyline.KernelArtifact.decode((artifacts[0] as v1.BusEnvelope).payload);
    t.is(artifact.jobId, 'job-1');
    t.deepEqual([...artifact.artifact], [...artifactBytes]);
    await closeAll(b);
  },
);

each(
  'backlog over the emergency threshold reroutes; over the drop threshold refuses (counted, not a breaker failure)',
  async (t, kind) => {
    const b = bus(kind);
    const router = b.make({ emergencyThreshold: 2 });
    const collector = b.make();
    collect(collector, b.streams.normal, 'slow', () => undefined);
    // The group exists but reads nothing more once stopped: its backlog is what it has not finished.
    await eventually(async () => (await router.store.backlog(b.streams.normal)) === 0, 'group');
    await collector.close();
    const routes: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const r = router.publish(state(i));
      routes.push(r.ok ? r.stream : 'refused');
      await router.flush();
    }
    t.deepEqual(routes, [b.streams.normal, b.streams.normal, b.streams.emergency, b.streams.emergency]);
    t.is(router.metrics.counters.publish_rerouted, 2);
    t.true(router.metrics.queueDepthMax >= 2);
    const dropper = b.make({ backpressureDropThreshold: 2 });
    t.true(await dropper.connect());
    const refused = dropper.publish(state(9));
    t.false(refused.ok);
    t.is(!refused.ok && refused.reason, 'backpressure');
    t.is(dropper.metrics.counters.publish_dropped, 1);
    t.is(dropper.publishBreaker.state, leyline.CircuitBreakerState.CIRCUIT_STATE_CLOSED);
    await closeAll(b);
  },
);

each('the emergency token bucket lets 5 of 10 urgent publishes through at 5 per minute', async (t, kind) => {
  const b = bus(kind, { emergencyMaxPerMin: 5 });
  const c = b.make({}, { source: 'tamiyo' });
  const sent = Array.from({ length: 10 }, (_, i) =>
    c.publish(telemetry(`u${i}`, TelemetryLevel.TELEMETRY_LEVEL_ERROR)),
  ).filter((r) => r.ok).length;
  t.is(sent, 5);
  t.is(c.metrics.counters.emergency_rate_dropped, 5);
  const snapshot = await c.metricsSnapshot();
  t.is(snapshot['emergency_published.src.tester'], 5);
  t.is(snapshot['emergency_rate_dropped.src.tester'], 5);
  await closeAll(b);
});

each('a failing handler is retried by redelivery, then dead-lettered after retryMaxAttempts', async (t, kind) => {
  const b = bus(kind, { retryMaxAttempts: 2 });
  const c = b.make();
  const seen = collect(c, b.streams.normal, 'g', () => {
    throw new Error('handler is broken');
  });
  await eventually(async () => (await c.store.backlog(b.streams.normal)) === 0, 'group');
  c.publish(state(1));
  await seen.waitFor((s) => s.delivery.attempt === 2);
  await eventually(async () => (await c.store.length(b.streams.deadLetter)) === 1, 'dead letter');
  await eventually(async () => (await c.store.pending(b.streams.normal, 'g')) === 0, 'ack');
  t.deepEqual(
    seen.seen.map((s) => s.delivery.attempt),
    [1, 2],
  );
  t.is(c.metrics.counters.dead_letter_total, 1);
  t.is(c.metrics.counters.retry_total, 1);
  const kept = await rawEntries(c, b.streams.deadLetter);
  const opened = openEnvelope(kept, { signing, acceptUnstamped: false, maxAgeMs: 0 });
  t.true(opened.ok, 'the dead letter is a signed, stamped envelope');
  if (opened.ok) {
    t.is(opened.envelope.attributes.attempt, '2');
    t.regex(opened.envelope.attributes.dead_letter_reason ?? '', /handler failed 2 times: handler is broken/);
    t.is(opened.envelope.attributes.origin_stream, b.streams.normal);
    t.is(leyline.SystemStatePacket.decode(opened.envelope.payload).currentEpoch, 1);
  }
  await closeAll(b);
});

each('entries left by a crashed consumer are claimed and handled by another', async (t, kind) => {
  const b = bus(kind);
  const crashed = b.make({}, { consumer: 'crashed' });
  await crashed.store.ensureGroup(b.streams.normal, 'workers');
  crashed.publish(state(3));
  await crashed.flush();
  // The crashed consumer read the entry and died before acknowledging it.
  const reader = crashed.store.reader();
  const taken = await reader.read(b.streams.normal, 'workers', 'crashed', 10, 0);
  t.is(taken.length, 1);
  await reader.close();
  const survivor = b.make({}, { consumer: 'survivor' });
  const seen = collect(survivor, b.streams.normal, 'workers');
  const { message, delivery } = await seen.waitFor(() => true);
  t.is((message as v1.SystemStatePacket).currentEpoch, 3);
  t.is(delivery.attempt, 2);
  await eventually(async () => (await survivor.store.pending(b.streams.normal, 'workers')) === 0, 'ack');
  await closeAll(b);
});

each('bad input is acknowledged and counted, never handled; the batch goes on', async (t, kind) => {
  const b = bus(kind);
  const c = b.make();
  const seen = collect(c, b.streams.normal, 'g');
  await eventually(async () => (await c.store.backlog(b.streams.normal)) === 0, 'group');
  const good = leyline.BusEnvelope.encode(
    leyline.BusEnvelope.create({
      messageType: T.BUS_MESSAGE_TYPE_SYSTEM_STATE,
      payload: leyline.SystemStatePacket.encode(state(1)).finish(),
    }),
  ).finish();
  const { sign } = await import('../contracts/signing.ts');
  const garbage = Buffer.from([0xff, 0xff, 0xff]);
  const wrongType = leyline.BusEnvelope.encode(
    leyline.BusEnvelope.create({ messageType: 77 as v1.BusMessageType, payload: new Uint8Array([1]) }),
  ).finish();
  await c.store.add([
    { stream: b.streams.normal, fields: { bootstrap: '' } },
    { stream: b.streams.normal, fields: { payload: Buffer.from(good), signature: 'AAAA' } },
    { stream: b.streams.normal, fields: { payload: garbage, signature: sign(garbage, signing) } },
    { stream: b.streams.normal, fields: { payload: Buffer.from(wrongType), signature: sign(wrongType, signing) } },
    { stream: b.streams.normal, fields: { payload: Buffer.from(good), signature: sign(good, signing) } },
  ]);
  const { message } = await seen.waitFor(() => true);
  t.is((message as v1.SystemStatePacket).currentEpoch, 1, 'the valid (unstamped, prototype-style) entry is handled');
  await eventually(async () => (await c.store.pending(b.streams.normal, 'g')) === 0, 'acks');
  const n = c.metrics.counters;
  t.is(n.entry_no_payload, 1);
  t.is(n.signature_fail_total, 1);
  t.is(n.undecodable_total, 1);
  t.is(n.unexpected_type, 1);
  t.is(seen.seen.length, 1);
  t.is(
    await c.store.length(b.streams.deadLetter),
    2,
    'the undecodable and the unknown-type entries are kept for audit',
  );
  await closeAll(b);
});

each('a copy of a handled message (same nonce) is acknowledged without running the handler again', async (t, kind) => {
  const b = bus(kind);
  const c = b.make();
  const seen = collect(c, b.streams.normal, 'g');
  await eventually(async () => (await c.store.backlog(b.streams.normal)) === 0, 'group');
  c.publish(state(5));
  await c.flush();
  await seen.waitFor(() => true);
  // Replay: the same signed fields written again.
  const raw = await rawEntries(c, b.streams.normal);
  await c.store.add([{ stream: b.streams.normal, fields: raw }]);
  await eventually(() => c.metrics.counters.duplicate_total === 1, 'duplicate counted');
  t.is(seen.seen.length, 1);
  await closeAll(b);
});

each(
  'kernel requests: stale and future ones are dropped, a replayed id runs once, a failed one is retried',
  async (t, kind) => {
    const b = bus(kind, { kernelFreshnessWindowMs: 1_000 });
    const c = b.make();
    let failOnce = true;
    const seen = collect(c, b.streams.kernelRequests, 'urza', (s) => {
      if ((s.message as v1.KernelPrefetchRequest).requestId === 'retry-me' && failOnce) {
        failOnce = false;
        throw new Error('transient');
      }
    });
    await eventually(async () => (await c.store.backlog(b.streams.kernelRequests)) === 0, 'group');
    const request = (id: string, at: number) =>
      leyline.KernelPrefetchRequest.create({ requestId: id, blueprintId: 'BP001', issuedAt: toTimestamp(at) });
    c.publish(request('old', Date.now() - 5_000));
    c.publish(request('ahead', Date.now() + 60_000));
    c.publish(request('fresh', Date.now()));
    c.publish(request('fresh', Date.now()));
    c.publish(request('retry-me', Date.now()));
    await seen.waitFor(
      (s) => (s.message as v1.KernelPrefetchRequest).requestId === 'retry-me' && s.delivery.attempt === 2,
    );
    const ids = seen.seen.map((s) => (s.message as v1.KernelPrefetchRequest).requestId);
    t.deepEqual(ids, ['fresh', 'retry-me', 'retry-me']);
    t.is(c.metrics.counters.kernel_stale_dropped, 2);
    t.is(c.metrics.counters.kernel_replay_dropped, 1);
    await closeAll(b);
  },
);

each('housekeeping trims entries older than the TTL, dead letters by their own TTL', async (t, kind) => {
  const b = bus(kind, { messageTtlMs: 60_000, deadLetterTtlMs: 600_000 });
  const c = b.make();
  c.publish(state(1));
  await c.store.add([{ stream: b.streams.deadLetter, fields: { payload: 'x' } }]);
  await c.flush();
  const trimmedNow = await c.housekeeping();
  t.is(trimmedNow[b.streams.normal], 0);
  const later = await c.housekeeping(Date.now() + 120_000);
  t.is(later[b.streams.normal], 1);
  t.is(later[b.streams.deadLetter], 0);
  t.is(await c.store.length(b.streams.normal), 0);
  t.is(await c.store.length(b.streams.deadLetter), 1);
  await closeAll(b);
});

each('an envelope over the size limit is refused with a reason', async (t, kind) => {
  const b = bus(kind, { maxEnvelopeBytes: 1_024 });
  const c = b.make();
  const big = leyline.FieldReport.create({ reportId: 'x'.repeat(2_000) });
  const result = c.publish(big);
  t.false(result.ok);
  t.is(!result.ok && result.reason, 'oversized');
  t.is(c.metrics.counters.publish_oversized, 1);
  await closeAll(b);
});

async function rawEntries(c: OonaClient, stream: string): Promise<Record<string, Buffer>> {
  if (c.store.kind === 'redis') {
    const redis = new Redis((server as RedisServer).url);
    const entries = (await redis.xrangeBuffer(stream, '-', '+', 'COUNT', 1)) as [Buffer, Buffer[]][];
    redis.disconnect();
    const flat = (entries[0] as [Buffer, Buffer[]])[1];
    return { payload: flat[1] as Buffer, signature: flat[3] as Buffer };
  }
  await c.store.ensureGroup(stream, 'peek', '0');
  const [entry] = await c.store.reader().read(stream, 'peek', 'peek', 1, 0);
  await c.store.ack(stream, 'peek', [(entry as { id: string }).id]);
  return { ...(entry as { fields: Record<string, Buffer> }).fields };
}

each('a subscriber that never finishes stalls neither the publisher nor the other groups', async (t, kind) => {
  const b = bus(kind);
  const c = b.make();
  let taken = 0;
  c.subscribe({
    stream: b.streams.telemetry,
    group: 'slow',
    blockMs: 50,
    handler: () => {
      taken += 1;
      return new Promise<void>(() => undefined);
    },
  });
  let handled = 0;
  c.subscribe({
    stream: b.streams.telemetry,
    group: 'fast',
    blockMs: 50,
    count: 500,
    handler: () => {
      handled += 1;
    },
  });
  await eventually(async () => (await c.store.backlog(b.streams.telemetry)) === 0, 'groups');
  const results = Array.from({ length: 2_000 }, (_, i) => c.publish(telemetry(`p${i}`)));
  t.true(
    results.every((r) => r.ok),
    'every publish accepted at once, with a subscriber stuck',
  );
  await eventually(() => handled === 2_000, 'the other group to get everything');
  t.is(taken, 1, 'the stuck handler got one message and holds it');
  await closeAll(b);
});
