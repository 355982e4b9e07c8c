// StreamStore.keep, a long handler's heartbeat (esper serve episodes --bus keeps the request it is running): an entry
// its consumer keeps is not idle, so no other consumer claims it; an entry another consumer took is not taken back;
// no delivery is counted. On the embedded store (a controlled clock) and on a private redis-server.
import test from 'ava';
import { Redis } from 'ioredis';
import { MemoryStreamStore, RedisStreamStore } from '../actors/oona/index.ts';
import type { StreamStore } from '../actors/oona/stream-store.ts';
import { RedisServer, redisServerAvailable } from './helpers/redis-server.ts';

async function held(store: StreamStore, stream: string): Promise<string> {
  await store.ensureGroup(stream, 'g');
  await store.add([{ stream, fields: { payload: 'x' } }]);
  const reader = store.reader();
  const [entry] = await reader.read(stream, 'g', 'a', 1, 0);
  await reader.close();
  return entry!.id;
}

test('embedded: a kept entry is not claimed after its idle time; another consumer’s entry is not kept', async (t) => {
  let now = 1_000_000;
  const store = new MemoryStreamStore({ clock: () => now });
  const id = await held(store, 's');
  now += 5_000;
  t.is(await store.keep('s', 'g', 'a', [id]), 1);
  now += 3_000;
  // Idle 3 s since it was kept, not 8 s since it was read.
  t.deepEqual(await store.claim('s', 'g', 'b', 4_000, 10), []);
  now += 2_000;
  const [claimed] = await store.claim('s', 'g', 'b', 4_000, 10);
  t.is(claimed?.id, id);
  // Keeping counted no delivery: read once, claimed once.
  t.is(claimed?.deliveries, 2);
  // b has it now: a's heartbeat does not take it back.
  t.is(await store.keep('s', 'g', 'a', [id]), 0);
  t.is(await store.keep('s', 'g', 'b', [id]), 1);
});

test('redis: keep restarts the idle time of the consumer’s own entry only, counting no delivery', async (t) => {
  if (!redisServerAvailable()) return t.pass('redis-server not installed');
  const server = await RedisServer.start();
  const store = new RedisStreamStore({ url: server.url });
  const redis = new Redis(server.url);
  try {
    await store.connect(5_000);
    const id = await held(store, 's');
    const idle = async (): Promise<[string, number, number]> => {
      const [[, consumer, ms, deliveries]] = (await redis.xpending('s', 'g', id, id, 1)) as [
        string,
        string,
        number,
        number,
      ][];
      return [consumer, Number(ms), Number(deliveries)];
    };
    // Idle time must have accrued to show it restarting: wait until Redis says so (no fixed sleep).
    while ((await idle())[1] < 300) await new Promise((r) => setTimeout(r, 50));
    t.is(await store.keep('s', 'g', 'b', [id]), 0);
    t.is((await idle())[0], 'a');
    const kept = performance.now();
    t.is(await store.keep('s', 'g', 'a', [id]), 1);
    const [consumer, ms, deliveries] = await idle();
    // Keeping restarts the idle clock: it cannot have run longer than the time since the keep was sent.
    const since = performance.now() - kept;
    t.is(consumer, 'a');
    t.true(ms <= since + 1, `idle ${ms} ms, ${since.toFixed(0)} ms after keep`);
    t.is(deliveries, 1);
  } finally {
    redis.disconnect();
    await store.close();
    await server.stop();
  }
});
