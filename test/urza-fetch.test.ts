// fetchKernel with Karn's real modules: every fetch is a fresh module (weights never shared between two seeds),
// cached or not; artifacts the codec cannot read, or that hold another blueprint, are corrupt and evicted.
import test from 'ava';
import { buildModule, serializeModule } from '../blueprints/index.ts';
import { NoKernelCodecError } from '../actors/urza/errors.ts';
import { openUrzaLibrary } from '../actors/urza/index.ts';
import type { KernelFetchResult } from '../actors/urza/library-api.ts';
import { UrzaLibrary } from '../actors/urza/library.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';
import { bytesOf, descriptor, saveInput, tempRoot } from './fixtures/urza-fixtures.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

function library(t: { teardown(fn: () => void): void }, options: { cacheSize?: number } = {}): UrzaLibrary {
  const { root, cleanup } = tempRoot();
  const opened = openUrzaLibrary({ root, ...options });
  t.teardown(() => {
    opened.close();
    cleanup();
  });
  return opened;
}

function moduleBytes(blueprintId: string, dims: number[], rngSeed = 7): Uint8Array {
  const module = buildModule(descriptor(blueprintId, { name: 'residual_block' }), {}, { dims }, { rngSeed });
  // Give the zero-initialised output projection some weight so outputs differ from the input.
  tf.tidy(() => {
    for (const variable of module.variables.values())
      variable.assign(tf.randomNormal(variable.shape, 0, 0.1, 'float32', rngSeed));
  });
  const bytes = serializeModule(module);
  module.dispose();
  return bytes;
}

function expectFound(t: { fail(message: string): void }, result: KernelFetchResult) {
  if (result.status !== 'found') {
    t.fail(`expected a module, got ${JSON.stringify(result)}`);
    throw new Error('no module');
  }
  return result;
}

for (const cacheSize of [128, 1]) {
  test(`two fetches give two modules with their own variables (cache size ${cacheSize})`, (t) => {
    const urza = library(t, { cacheSize });
    t.true(urza.save(saveInput(descriptor('BP009', { name: 'residual_block' }), [32], moduleBytes('BP009', [32]))).ok);
    if (cacheSize === 1)
      t.true(urza.save(saveInput(descriptor('OTHER'), [32], bytesOf('pushes BP009 out of the cache'))).ok);
    const first = expectFound(t, urza.fetchKernel('BP009', [32]));
    const second = expectFound(t, urza.fetchKernel('BP009', [32]));
    t.teardown(() => {
      first.module.dispose();
      second.module.dispose();
    });
    t.not(first.module, second.module);
    t.is(first.module.blueprintId, 'BP009');
    t.is(first.module.family, 'residual_mlp');
    t.deepEqual([...first.module.slot.dims], [32]);
    t.true(first.latencyMs >= 0);
    const names = [...first.module.variables.keys()];
    t.deepEqual(names, [...second.module.variables.keys()]);
    for (const name of names) t.not(first.module.variables.get(name), second.module.variables.get(name));

    const input = tf.randomNormal([8, 32], 0, 1, 'float32', 3);
    const before = second.module.apply(input).arraySync();
    t.deepEqual(first.module.apply(input).arraySync(), before, 'same weights');
    for (const variable of first.module.variables.values()) variable.assign(tf.zerosLike(variable));
    t.deepEqual(second.module.apply(input).arraySync(), before, 'mutating one module leaves the other unchanged');
    const third = expectFound(t, urza.fetchKernel('BP009', [32]));
    t.deepEqual(third.module.apply(input).arraySync(), before, 'nor the stored kernel');
    third.module.dispose();
    input.dispose();
  });
}

test('a conv-slot kernel round-trips for its own slot shape only', (t) => {
  const urza = library(t);
  t.true(
    urza.save(saveInput(descriptor('BP009', { name: 'residual_block' }), [8, 8, 4], moduleBytes('BP009', [8, 8, 4])))
      .ok,
  );
  const fetched = expectFound(t, urza.fetchKernel('BP009', '8x8x4'));
  t.deepEqual([...fetched.module.slot.dims], [8, 8, 4]);
  t.deepEqual(fetched.module.apply(tf.zeros([2, 8, 8, 4])).shape, [2, 8, 8, 4]);
  fetched.module.dispose();
  t.like(urza.fetchKernel('BP009', [32]), { status: 'not_found', slotKey: '32' });
});

test('bytes the codec cannot read are corrupt/undecodable, evicted and counted', (t) => {
  const urza = library(t);
  t.true(urza.save(saveInput(descriptor('JUNK'), [32], bytesOf('not msgpack of a module'))).ok);
  t.like(urza.fetchKernel('JUNK', [32]), { status: 'corrupt', reason: 'undecodable' });
  t.is(urza.metrics.decodeFailures, 1);
  t.is(urza.metrics.evictions, 1);
  t.is(urza.get('JUNK', [32]).status, 'not_found');
});

test('an artifact holding another blueprint or slot is refused as undecodable', (t) => {
  const urza = library(t);
  t.true(urza.save(saveInput(descriptor('BP010'), [32], moduleBytes('BP009', [32]))).ok);
  const wrongId = urza.fetchKernel('BP010', [32]);
  t.like(wrongId, { status: 'corrupt', reason: 'undecodable' });
  if (wrongId.status === 'corrupt') t.regex(wrongId.message, /holds BP009@32/);
  t.true(urza.save(saveInput(descriptor('BP009'), [64], moduleBytes('BP009', [32]))).ok);
  t.like(urza.fetchKernel('BP009', [64]), { status: 'corrupt', reason: 'undecodable' });
});

test('fetchKernel answers misses with their latency, and needs a codec', (t) => {
  const urza = library(t);
  const miss = urza.fetchKernel('NOPE', [32]);
  t.like(miss, { status: 'not_found' });
  t.true(miss.latencyMs >= 0);
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const bare = new UrzaLibrary({ root });
  t.teardown(() => bare.close());
  t.throws(() => bare.fetchKernel('NOPE', [32]), { instanceOf: NoKernelCodecError });
});

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('after a fetch a spare module is prepared off the hot path; the next fetch takes it, and it is never handed out twice', async (t) => {
  const urza = library(t);
  t.true(urza.save(saveInput(descriptor('BP009', { name: 'residual_block' }), [32], moduleBytes('BP009', [32]))).ok);
  const first = expectFound(t, urza.fetchKernel('BP009', [32]));
  t.is(urza.metrics.spareHits, 0);
  await nextTurn();
  const second = expectFound(t, urza.fetchKernel('BP009', [32]));
  t.is(urza.metrics.spareHits, 1, 'the second fetch took the spare');
  const third = expectFound(t, urza.fetchKernel('BP009', [32]));
  t.is(urza.metrics.spareHits, 1, 'back to back: the spare was taken and not yet replaced, so the third deserialised');
  const modules = [first.module, second.module, third.module];
  t.teardown(() => modules.forEach((m) => m.dispose()));
  t.is(new Set(modules).size, 3);
  const variables = modules.flatMap((m) => [...m.variables.values()]);
  t.is(new Set(variables).size, variables.length, 'no variable is shared');
  const input = tf.randomNormal([4, 32], 0, 1, 'float32', 5);
  const expected = first.module.apply(input).arraySync();
  for (const variable of second.module.variables.values()) variable.assign(tf.onesLike(variable));
  t.deepEqual(third.module.apply(input).arraySync(), expected);
  t.deepEqual(first.module.apply(input).arraySync(), expected);
  input.dispose();
});

test('a prefetch-style lookup (fromDisk + warm) prepares a spare for the fetch that follows', async (t) => {
  const urza = library(t);
  t.true(urza.save(saveInput(descriptor('BP009', { name: 'residual_block' }), [32], moduleBytes('BP009', [32]))).ok);
  t.like(urza.get('BP009', undefined, { fromDisk: true, warm: true }), { status: 'found', fromCache: false });
  await nextTurn();
  const fetched = expectFound(t, urza.fetchKernel('BP009', [32]));
  fetched.module.dispose();
  t.is(urza.metrics.spareHits, 1);
});

// Serial: it counts the process's tensors, which concurrent tests would change.
test.serial('spares are disposed with their cache entry and on close: no tensors leak', async (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const baseline = tf.memory().numTensors;
  const urza = openUrzaLibrary({ root, cacheSize: 1 });
  t.true(urza.save(saveInput(descriptor('BP009', { name: 'residual_block' }), [32], moduleBytes('BP009', [32]))).ok);
  t.true(urza.save(saveInput(descriptor('BP010', { name: 'residual_block' }), [32], moduleBytes('BP010', [32], 8))).ok);
  expectFound(t, urza.fetchKernel('BP010', [32])).module.dispose();
  await nextTurn();
  t.true(tf.memory().numTensors > baseline, 'a spare is held');
  expectFound(t, urza.fetchKernel('BP009', [32])).module.dispose(); // pushes BP010 (and its spare) out
  await nextTurn();
  expectFound(t, urza.fetchKernel('BP009', [32])).module.dispose(); // takes the spare, schedules a refill
  const held = expectFound(t, urza.fetchKernel('BP009', [32]));
  held.module.dispose();
  urza.close(); // cancels the pending refill
  t.is(tf.memory().numTensors, baseline);
  await nextTurn();
  t.is(tf.memory().numTensors, baseline);
});
