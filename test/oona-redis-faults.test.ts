// Redis failing under the bus: killed mid-stream and restarted, or down with more to buffer than the bound allows.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { OonaClient } from '../actors/oona/oona-client.ts';
import { DEFAULT_STREAMS, resolveOonaConfig, type OonaConfig } from '../actors/oona/settings.ts';
import { RedisServer, redisServerAvailable } from './helpers/redis-server.ts';
import { runTsChild } from './helpers/child-process.ts';
import { eventually } from './helpers/events.ts';

const { MessagePriority: P, CircuitBreakerState } = leyline;
const signing = new SignatureContext('oona-fault-secret');
const run = redisServerAvailable() ? test.serial : test.skip;

function client(server: RedisServer, source: string, overrides: OonaConfig = {}): OonaClient {
  const settings = resolveOonaConfig({
    url: server.url,
    retryIdleMs: 200,
    breaker: { failureThreshold: 3, timeoutMs: 200 },
    ...overrides,
  });
  return new OonaClient({ settings, signing, source, consumer: source });
}

const state = (epoch: number): v1.SystemStatePacket =>
  leyline.SystemStatePacket.create({ version: 1, currentEpoch: epoch, sourceSubsystem: 'tolaria' });

run(
  'a Redis killed mid-stream and restarted loses no acknowledged message; the run goes on in process meanwhile',
  async (t) => {
    const server = await RedisServer.start({ persistent: true });
    const trainer = client(server, 'trainer');
    const remote = client(server, 'nissa');
    t.true(await trainer.connect());
    t.true(await remote.connect());
    const local = new Map<number, number>();
    const far = new Map<number, number>();
    const record = (into: Map<number, number>) => (message: unknown) => {
      const epoch = (message as v1.SystemStatePacket).currentEpoch;
      into.set(epoch, (into.get(epoch) ?? 0) + 1);
    };
    trainer.subscribe({ stream: DEFAULT_STREAMS.normal, group: 'tamiyo', handler: record(local), blockMs: 50 });
    remote.subscribe({ stream: DEFAULT_STREAMS.normal, group: 'nissa', handler: record(far), blockMs: 50 });
    await eventually(
      async () =>
        (await trainer.store.backlog(DEFAULT_STREAMS.normal)) === 0 &&
        (await remote.store.pending(DEFAULT_STREAMS.normal, 'nissa')) === 0,
      'groups',
    );

    const total = 300;
    let maxBuffered = 0;
    for (let epoch = 1; epoch <= total; epoch += 1) {
      if (epoch === 100) await server.kill();
      if (epoch === 200) {
        await eventually(
          () => trainer.publishBreaker.state !== CircuitBreakerState.CIRCUIT_STATE_CLOSED,
          'the publish breaker to open on real failures',
        );
        await server.restart();
      }
      const result = trainer.publish(state(epoch));
      t.true(result.ok, `publish ${epoch} accepted`);
      maxBuffered = Math.max(maxBuffered, trainer.buffered);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await eventually(() => local.size === total, 'every message handled in the trainer process');
    await eventually(() => far.size === total, 'every message handled by the remote consumer');
    await eventually(() => trainer.buffered === 0, 'the buffer flushed');
    t.true(maxBuffered > 0, 'messages were buffered while Redis was down');
    t.true(
      [...local.values()].every((n) => n === 1),
      'in process: each message handled once (copies deduplicated)',
    );
    t.true(
      [...far.values()].every((n) => n === 1),
      'remote: each message handled once',
    );
    await eventually(
      () => trainer.metrics.counters.duplicate_total > 0,
      'the Redis copies of messages delivered in process to be recognised',
    );
    t.is(trainer.metrics.counters.buffer_dropped, 0);
    await trainer.close();
    await remote.close();
    await server.stop();
  },
);

run('with Redis down, the local buffer keeps its bound and drops the lowest priority first, counted', async (t) => {
  const server = await RedisServer.start();
  const c = client(server, 'trainer', { bufferCapacity: 5 });
  t.true(await c.connect());
  await server.kill();
  for (let i = 0; i < 5; i += 1) t.true(c.publish(state(i), { priority: P.MESSAGE_PRIORITY_LOW }).ok);
  for (let i = 100; i < 103; i += 1) t.true(c.publish(state(i), { priority: P.MESSAGE_PRIORITY_HIGH }).ok);
  const refused = c.publish(state(999), { priority: P.MESSAGE_PRIORITY_LOW });
  t.false(refused.ok, 'a LOW message finds no room among higher priorities');
  t.is(!refused.ok && refused.reason, 'buffer_full');
  t.is(c.buffered, 5);
  t.is(c.metrics.counters.buffer_dropped, 4);
  await server.restart();
  await eventually(async () => {
    await c.flush();
    return c.buffered === 0;
  }, 'flush after restart');
  const { Redis } = await import('ioredis');
  const redis = new Redis(server.url);
  const entries = (await redis.xrangeBuffer(DEFAULT_STREAMS.normal, '-', '+')) as [Buffer, Buffer[]][];
  redis.disconnect();
  const epochs = entries.map(([, flat]) => {
    const envelope = leyline.BusEnvelope.decode(flat[1] as Buffer);
    return leyline.SystemStatePacket.decode(envelope.payload).currentEpoch;
  });
  t.deepEqual(epochs, [3, 4, 100, 101, 102], 'the oldest LOW messages went first; the rest kept their order');
  await c.close();
  await server.stop();
});

run(
  'a message whose consumer process was killed mid-handling is redelivered to another consumer of the group',
  async (t) => {
    const server = await RedisServer.start();
    const stream = DEFAULT_STREAMS.normal;
    const doomed = runTsChild(new URL('./fixtures/oona-doomed-consumer.ts', import.meta.url).pathname, [
      server.url,
      stream,
      'workers',
    ]);
    await doomed.waitFor((line) => line === 'subscribed');
    const producer = client(server, 'producer');
    t.true(await producer.connect());
    // The group is created by the doomed consumer's first read; wait until it exists before publishing.
    await eventually(
      async () =>
        (await producer.store.backlog(stream)) === 0 && (await producer.store.pending(stream, 'workers')) === 0,
      'the group',
    );
    producer.publish(state(42));
    await producer.flush();
    await doomed.waitFor((line) => line === 'handling 42');
    doomed.kill();
    await doomed.exit;
    t.is(await producer.store.pending(stream, 'workers'), 1, 'the killed consumer never acknowledged it');
    const survivor = client(server, 'survivor');
    const attempts: number[] = [];
    survivor.subscribe({
      stream,
      group: 'workers',
      blockMs: 50,
      handler: (message, delivery) => {
        t.is((message as v1.SystemStatePacket).currentEpoch, 42);
        attempts.push(delivery.attempt);
      },
    });
    await eventually(() => attempts.length === 1, 'the redelivery');
    t.deepEqual(attempts, [2], 'handed to the handler as the second delivery');
    await eventually(async () => (await survivor.store.pending(stream, 'workers')) === 0, 'the acknowledgement');
    await producer.close();
    await survivor.close();
    await server.stop();
  },
);
