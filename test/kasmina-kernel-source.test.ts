// A seed's kernel: from Urza within the latency budget, else the fallback blueprint, else an identity module;
// the kernel-fetch breaker opens after three failures; every seed gets weights of its own.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { buildModule } from '../blueprints/index.ts';
import { KernelSource, type KernelStore } from '../actors/kasmina/kernel-source.ts';
import type { KernelFetchResult } from '../actors/urza/index.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

const SLOT = { dims: [32] };
const NAMES: Record<string, string> = { BP001: 'identity_passthrough', BP009: 'residual_block' };

/** A store with per-blueprint latency (undefined: not stored); counts fetches. */
function fakeStore(latency: Record<string, number | undefined>): KernelStore & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetchKernel(blueprintId): KernelFetchResult {
      calls.push(blueprintId);
      const ms = latency[blueprintId];
      if (ms === undefined) return { status: 'not_found', blueprintId, latencyMs: 0.1 } as KernelFetchResult;
      const module = buildModule({ blueprintId, name: NAMES[blueprintId] ?? blueprintId }, {}, SLOT, {
        rngSeed: calls.length,
      });
      return { status: 'found', module, entry: leyline.KernelCatalogEntry.create({}), fromCache: true, latencyMs: ms };
    },
  };
}

test('a kernel within budget comes from Urza, with weights of its own per call', (t) => {
  const source = new KernelSource(fakeStore({ BP009: 0.4 }));
  const a = source.provide('BP009', SLOT);
  const b = source.provide('BP009', SLOT);
  t.like(a, { origin: 'urza', blueprintId: 'BP009', latencyMs: 0.4, reason: '' });
  const first = [...a.module.variables.values()];
  const second = [...b.module.variables.values()];
  t.true(first.length > 0);
  t.true(
    first.every((v, i) => v !== second[i]),
    'two seeds never share a variable',
  );
  a.module.dispose();
  b.module.dispose();
});

test('over the latency budget: the fetched module is freed and the fallback (timed on its own) is used', (t) => {
  const source = new KernelSource(fakeStore({ BP009: 25, BP001: 0.2 }));
  const before = tf.memory().numTensors;
  const kernel = source.provide('BP009', SLOT);
  t.like(kernel, { origin: 'fallback', blueprintId: 'BP001', latencyMs: 0.2 });
  t.regex(kernel.reason, /25\.00 ms, over the 10 ms budget/);
  kernel.module.dispose();
  t.is(tf.memory().numTensors, before, 'the over-budget module was disposed');
  t.is(source.counters.budgetExceeded, 1);
});

test('nothing in Urza: the identity module, which passes its input through', (t) => {
  const source = new KernelSource(fakeStore({}));
  const kernel = source.provide('BP009', SLOT);
  t.is(kernel.origin, 'identity');
  t.regex(kernel.reason, /fetch failed: BP009 not_found; fallback BP001 not_found/);
  const x = tf.randomNormal([4, 32]);
  const y = kernel.module.apply(x);
  t.true(tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]! < 1e-6);
  tf.dispose([x, y]);
  kernel.module.dispose();
  t.is(new KernelSource(null).provide('BP009', SLOT).origin, 'identity', 'no library at all');
});

test('three failures open the kernel-fetch breaker: the requested kernel is not even tried until it half-opens', (t) => {
  let now = 0;
  const store = fakeStore({ BP001: 0.1 });
  const source = new KernelSource(store, { clock: () => now });
  for (let i = 0; i < 3; i++) source.provide('BP009', SLOT).module.dispose();
  store.calls.length = 0;
  const denied = source.provide('BP009', SLOT);
  t.regex(denied.reason, /breaker open/);
  t.deepEqual(store.calls, ['BP001'], 'only the fallback was fetched');
  denied.module.dispose();
  now = 60_001;
  store.calls.length = 0;
  source.provide('BP009', SLOT).module.dispose();
  t.deepEqual(store.calls, ['BP009', 'BP001'], 'after the cool-down the requested kernel is tried again');
  t.is(source.counters.denied, 1);
});
