// Oona's bus, publish → consume → ack, with signed, stamped envelopes (TelemetryPackets of a typical size):
// embedded_throughput: messages/s through the embedded bus; baseline: the same entries through the bare embedded
//   store (no envelope, signing or verification), in the same run.
// redis_throughput: messages/s through a private redis-server (pipelined writes, batched reads and acks);
//   baseline: bare pipelined XADD of the same bytes with ioredis, in the same run.
// redis latency at a sustained 10,000 msg/s (the design's rate): publish p95 (queued → written) and delivery
//   p50/p95/p99 (issued → handled); baselines: the design's 25 ms and 100 ms.
import { Redis } from 'ioredis';
import { leyline, type v1 } from '../contracts/index.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { MemoryStreamStore, OonaClient, DEFAULT_STREAMS, resolveOonaConfig } from '../actors/oona/index.ts';
import { RedisServer, redisServerAvailable } from '../test/helpers/redis-server.ts';
import { report } from './report.ts';

const BENCH = 'oona';
const signing = new SignatureContext('oona-bench-secret');

function packet(i: number): v1.TelemetryPacket {
  return leyline.TelemetryPacket.create({
    packetId: `bench-${i}`,
    sourceSubsystem: 'tolaria',
    level: leyline.TelemetryLevel.TELEMETRY_LEVEL_INFO,
    metrics: [
      leyline.MetricPoint.create({ name: 'tolaria.train.loss', value: 0.25, unit: 'loss' }),
      leyline.MetricPoint.create({ name: 'tolaria.train.accuracy', value: 0.93, unit: 'ratio' }),
      leyline.MetricPoint.create({ name: 'tolaria.epoch_hook.latency_ms', value: 8.1, unit: 'ms' }),
    ],
  });
}

/** Publishes `total` messages (yielding every `chunk` so the writer and the consumer run) and waits until all are handled; answers msgs/s. */
async function flood(client: OonaClient, total: number, chunk: number): Promise<number> {
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const sub = client.subscribe({
    stream: DEFAULT_STREAMS.telemetry,
    group: 'bench',
    count: 500,
    blockMs: 100,
    handler: () => {
      handled += 1;
      if (handled === total) done();
    },
  });
  await client.flush();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = performance.now();
  for (let i = 0; i < total; i += 1) {
    if (!client.publish(packet(i)).ok) throw new Error(`publish ${i} refused`);
    // A producer faster than the transport waits for it rather than filling the local buffer (backpressure).
    if (i % chunk === chunk - 1)
      await (client.buffered > 4 * chunk ? client.flush() : new Promise((resolve) => setImmediate(resolve)));
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await client.unsubscribe(sub);
  return total / seconds;
}

async function embedded(): Promise<void> {
  const total = 50_000;
  const bare = new MemoryStreamStore();
  await bare.ensureGroup('s', 'g');
  const fields = {
    payload: Buffer.from(leyline.TelemetryPacket.encode(packet(0)).finish()),
    signature: 'x'.repeat(44),
  };
  const reader = bare.reader();
  const bareStarted = performance.now();
  for (let i = 0; i < total; i += 1) bare.addNow({ stream: 's', fields });
  let read = 0;
  while (read < total) {
    const entries = await reader.read('s', 'g', 'c', 500, 0);
    for (const entry of entries) leyline.TelemetryPacket.decode(entry.fields.payload as Buffer);
    await bare.ack(
      's',
      'g',
      entries.map((e) => e.id),
    );
    read += entries.length;
  }
  const bareRate = total / ((performance.now() - bareStarted) / 1000);
  const client = new OonaClient({ settings: resolveOonaConfig({ maxStreamLength: 0 }), signing, source: 'bench' });
  const rate = await flood(client, total, 500);
  await client.close();
  report(BENCH, 'embedded_throughput', rate, 'msgs/s', bareRate);
  report(BENCH, 'embedded_throughput_vs_design', rate, 'msgs/s', 10_000);
}

async function redis(server: RedisServer): Promise<void> {
  const total = 50_000;
  const raw = new Redis(server.url);
  const bytes = Buffer.from(
    leyline.BusEnvelope.encode(
      leyline.BusEnvelope.create({ messageType: 4, payload: leyline.TelemetryPacket.encode(packet(0)).finish() }),
    ).finish(),
  );
  const rawStarted = performance.now();
  for (let i = 0; i < total; i += 512) {
    const pipeline = raw.pipeline();
    for (let j = i; j < Math.min(total, i + 512); j += 1)
      pipeline.xadd('bare', '*', 'payload', bytes, 'signature', 'x'.repeat(44));
    await pipeline.exec();
  }
  const rawRate = total / ((performance.now() - rawStarted) / 1000);
  await raw.del('bare');
  raw.disconnect();

  const settings = resolveOonaConfig({ url: server.url, maxStreamLength: 0 });
  const client = new OonaClient({ settings, signing, source: 'bench' });
  await client.connect();
  const rate = await flood(client, total, 500);
  report(BENCH, 'redis_throughput', rate, 'msgs/s', rawRate);
  report(BENCH, 'redis_throughput_vs_design', rate, 'msgs/s', 10_000);
  await client.close();

  // Latency at the design's sustained rate: 10 messages every millisecond for 3 s, on fresh windows.
  const steady = new OonaClient({ settings, signing, source: 'bench-steady' });
  await steady.connect();
  let handled = 0;
  const target = 30_000;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  steady.subscribe({
    stream: DEFAULT_STREAMS.telemetry,
    group: 'steady',
    count: 500,
    blockMs: 100,
    handler: () => {
      handled += 1;
      if (handled === target) done();
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = performance.now();
  for (let tick = 0; tick < 3_000; tick += 1) {
    for (let i = 0; i < 10; i += 1) steady.publish(packet(tick * 10 + i));
    const next = started + tick + 1;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    else await new Promise((resolve) => setImmediate(resolve));
  }
  await finished;
  const m = steady.metrics;
  const achieved = target / ((performance.now() - started) / 1000);
  report(BENCH, 'redis_sustained_rate', achieved, 'msgs/s', 10_000);
  report(BENCH, 'redis_publish_p95_ms', m.publishLatency.quantile(0.95), 'ms', 25);
  report(BENCH, 'redis_publish_p99_ms', m.publishLatency.quantile(0.99), 'ms', 50);
  report(BENCH, 'redis_delivery_p50_ms', m.deliveryLatency.quantile(0.5), 'ms', 100);
  report(BENCH, 'redis_delivery_p95_ms', m.deliveryLatency.quantile(0.95), 'ms', 100);
  report(BENCH, 'redis_delivery_p99_ms', m.deliveryLatency.quantile(0.99), 'ms', 250);
  await steady.close();
}

export async function run(): Promise<void> {
  await embedded();
  if (!redisServerAvailable()) return;
  const server = await RedisServer.start();
  try {
    await redis(server);
  } finally {
    await server.stop();
  }
}
