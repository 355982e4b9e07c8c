// UrzaLibrary: save/get/query round trips, checksums verified on save and on load, the four kinds of answer, the
// breaker (cache-only serving, slow queries), the LRU (size, TTL), entry TTL and maintenance, and bad input.
import test from 'ava';
import { existsSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leyline } from '../contracts/index.ts';
import { UrzaInputError } from '../actors/urza/errors.ts';
import type { LookupResult } from '../actors/urza/library-api.ts';
import { UrzaLibrary, type UrzaLibraryOptions } from '../actors/urza/library.ts';
import { bytesOf, descriptor, manualClock, saveInput, tempRoot } from './fixtures/urza-fixtures.ts';

const { BlueprintTier, CircuitBreakerState } = leyline;

function open(t: { teardown(fn: () => void): void }, options: UrzaLibraryOptions = {}): UrzaLibrary {
  const { root, cleanup } = tempRoot();
  const library = new UrzaLibrary({ root, ...options });
  t.teardown(() => {
    library.close();
    cleanup();
  });
  return library;
}

function reopen(
  t: { teardown(fn: () => void): void },
  library: UrzaLibrary,
  options: UrzaLibraryOptions = {},
): UrzaLibrary {
  library.close();
  const again = new UrzaLibrary({ root: library.root, ...options });
  t.teardown(() => again.close());
  return again;
}

const artifactFiles = (library: UrzaLibrary): string[] => readdirSync(join(library.root, 'artifacts'));

function found(t: { fail(message: string): void }, result: LookupResult) {
  if (result.status !== 'found') {
    t.fail(`expected found, got ${JSON.stringify(result)}`);
    throw new Error('not found');
  }
  return result.entry;
}

test('save then get: the record survives a reopen, with descriptor, slot, measurements and tags', (t) => {
  const library = open(t);
  const desc = descriptor('BP009', { stage: 1, risk: 0.2 });
  const saved = library.save(saveInput(desc, [32], bytesOf('kernel-32'), { prewarmMs: 4.5, compileMs: 20 }));
  t.true(saved.ok);
  if (!saved.ok) return;
  t.false(saved.replaced);
  t.is(saved.entry.descriptor?.blueprintId, 'BP009');
  t.true(existsSync(saved.entry.artifactRef));

  const again = reopen(t, library);
  const entry = found(t, again.get('BP009', [32]));
  t.is(entry.descriptor?.stage, 1);
  t.is(entry.descriptor?.risk, Math.fround(0.2));
  t.deepEqual(entry.descriptor?.allowedParameters?.alpha?.maxValue, 1);
  t.deepEqual(entry.slot?.dims, [32]);
  t.is(entry.compileMs, 20);
  t.is(entry.prewarmMs, 4.5);
  t.deepEqual(entry.prewarmSamplesMs, [4.5]);
  t.is(entry.guardDigest, 'guard-BP009');
  t.is(entry.guardSummary, 'float32[8x32]');
  t.is(entry.moduleFamily, 'residual_mlp');
  t.is(entry.compileStrategy, 'COMPILE_STRATEGY_STANDARD');
  t.deepEqual(entry.tags, { device: 'GPU' });
  t.is(entry.checksum, saved.entry.checksum);
  t.is(entry.artifactRef, saved.entry.artifactRef);
});

test('one blueprint for several slot shapes: each its own row; no slot means the latest stored', (t) => {
  let wall = 1_000;
  const library = open(t, { wallClock: () => wall });
  const desc = descriptor('BP009');
  t.true(library.save(saveInput(desc, [32], bytesOf('dense'))).ok);
  wall += 1;
  t.true(library.save(saveInput(desc, '8x8x4', bytesOf('conv'))).ok);
  t.deepEqual(found(t, library.get('BP009', [32])).slot?.dims, [32]);
  t.deepEqual(found(t, library.get('BP009', [8, 8, 4])).slot?.dims, [8, 8, 4]);
  t.deepEqual(found(t, library.get('BP009')).slot?.dims, [8, 8, 4]);
  const presence = library.has('BP009');
  t.deepEqual(presence, { status: 'found', slotKeys: ['32', '8x8x4'] });
  t.deepEqual(library.has('BP009', [64]), { status: 'not_found', blueprintId: 'BP009', slotKey: '64' });
  // A fresh process with no cache still resolves "latest" from the catalog.
  const again = reopen(t, library, { wallClock: () => wall });
  t.deepEqual(found(t, again.get('BP009')).slot?.dims, [8, 8, 4]);
});

test('re-saving keeps the last 20 pre-warm samples and deletes the replaced artifact when nothing else uses it', (t) => {
  const library = open(t);
  const desc = descriptor('BP001');
  for (let i = 1; i <= 25; i++) {
    const saved = library.save(saveInput(desc, [32], bytesOf(`v${i}`), { prewarmMs: i }));
    t.true(saved.ok);
    if (saved.ok) t.is(saved.replaced, i > 1);
  }
  const entry = found(t, library.get('BP001', [32]));
  t.deepEqual(
    entry.prewarmSamplesMs,
    Array.from({ length: 20 }, (_, i) => i + 6),
  );
  t.is(artifactFiles(library).length, 1, 'only the current artifact is left');
  // prewarm_ms 0 is "not measured": no sample.
  library.save(saveInput(desc, [32], bytesOf('v26'), { prewarmMs: 0 }));
  t.is(found(t, library.get('BP001', [32])).prewarmSamplesMs.length, 20);
});

test('identical artifacts are stored once and deleted with their last row', (t) => {
  const library = open(t);
  const bytes = bytesOf('shared');
  library.save(saveInput(descriptor('A'), [32], bytes));
  library.save(saveInput(descriptor('B'), [32], bytes));
  t.is(artifactFiles(library).length, 1);
  t.deepEqual(library.evict('A'), { status: 'ok', evicted: 1 });
  t.is(artifactFiles(library).length, 1);
  found(t, library.get('B', [32]));
  t.deepEqual(library.evict('B', [32]), { status: 'ok', evicted: 1 });
  t.is(artifactFiles(library).length, 0);
  t.is(library.metrics.evictions, 2);
});

test('save verifies the checksum: a mismatch is a typed error and stores nothing', (t) => {
  const library = open(t);
  const input = saveInput(descriptor('BP001'), [32], bytesOf('compiled'));
  input.artifact = bytesOf('not what was compiled');
  const result = library.save(input);
  t.false(result.ok);
  if (!result.ok) {
    t.is(result.error.code, 'checksum_mismatch');
    t.is(result.error.name, 'UrzaSaveError');
  }
  t.is(library.get('BP001', [32]).status, 'not_found');
  t.deepEqual(artifactFiles(library), []);
  t.is(library.metrics.savesRejected, 1);
});

test('save refuses bad input with invalid_input, naming the problem', (t) => {
  const library = open(t);
  const good = () => saveInput(descriptor('BP001'), [32], bytesOf('k'));
  const cases: Array<[string, (input: ReturnType<typeof good>) => void, RegExp]> = [
    ['empty id', (i) => (i.descriptor = descriptor('')), /blueprint_id is empty/],
    [
      'unspecified tier',
      (i) => (i.descriptor = descriptor('BP001', { tier: BlueprintTier.BLUEPRINT_TIER_UNSPECIFIED })),
      /UNSPECIFIED/,
    ],
    ['other id in update', (i) => (i.update.blueprintId = 'BP002'), /differs/],
    ['no checksum', (i) => (i.update.checksum = ''), /checksum/],
    ['upper-case checksum', (i) => (i.update.checksum = i.update.checksum.toUpperCase()), /lowercase hex/],
    ['bad slot', (i) => (i.slot = [8, 8]), /slot/],
    ['empty artifact', (i) => (i.artifact = new Uint8Array()), /empty/],
    ['no family', (i) => (i.moduleFamily = ''), /moduleFamily/],
  ];
  for (const [name, spoil, message] of cases) {
    const input = good();
    spoil(input);
    const result = library.save(input);
    t.false(result.ok, name);
    if (!result.ok) {
      t.is(result.error.code, 'invalid_input', name);
      t.regex(result.error.message, message, name);
    }
  }
  t.deepEqual(artifactFiles(library), []);
});

test('lookups: unknown id is not_found; empty id and bad slot throw typed input errors', (t) => {
  const library = open(t);
  t.deepEqual(library.get('NOPE'), { status: 'not_found', blueprintId: 'NOPE', slotKey: null });
  t.deepEqual(library.get('NOPE', [32]), { status: 'not_found', blueprintId: 'NOPE', slotKey: '32' });
  t.throws(() => library.get(''), { instanceOf: UrzaInputError });
  t.throws(() => library.get('BP001', [8, 8]), { instanceOf: UrzaInputError, message: /slot/ });
  t.throws(() => library.get('BP001', '8x'), { instanceOf: UrzaInputError });
  t.throws(() => library.has(''), { instanceOf: UrzaInputError });
  t.is(library.metrics.cacheMisses, 2);
});

test('a corrupted artifact on load: corrupt answer, row evicted, integrity_failures counted — never a silent null', (t) => {
  const library = open(t);
  const saved = library.save(saveInput(descriptor('BP001'), [32], bytesOf('good kernel')));
  if (!saved.ok) return t.fail();
  const again = reopen(t, library); // no cache: the next get reads the file
  writeFileSync(saved.entry.artifactRef, 'tampered');
  const result = again.get('BP001', [32]);
  t.is(result.status, 'corrupt');
  if (result.status === 'corrupt') t.is(result.reason, 'checksum_mismatch');
  t.is(again.metrics.integrityFailures, 1);
  t.is(again.metrics.evictions, 1);
  t.false(existsSync(saved.entry.artifactRef), 'the corrupt file is deleted');
  t.is(again.get('BP001', [32]).status, 'not_found');
});

test('a missing artifact on load: corrupt/artifact_not_found, evicted and counted', (t) => {
  const library = open(t);
  const saved = library.save(saveInput(descriptor('BP001'), [32], bytesOf('k')));
  if (!saved.ok) return t.fail();
  unlinkSync(saved.entry.artifactRef);
  // The cache still holds verified bytes; reading from disk (as prefetch does) finds the file gone.
  t.is(library.get('BP001', [32]).status, 'found');
  const result = library.get('BP001', [32], { fromDisk: true });
  t.like(result, { status: 'corrupt', reason: 'artifact_not_found' });
  t.is(library.metrics.missingArtifacts, 1);
  t.is(library.metrics.evictions, 1);
  t.is(library.get('BP001', [32]).status, 'not_found');
});

test('breaker open: a catalog lookup is unavailable (not not_found); cached kernels are still served', (t) => {
  const library = open(t);
  library.save(saveInput(descriptor('CACHED'), [32], bytesOf('c')));
  library.breaker.forceOpen();
  t.is(library.metricsSnapshot()['urza.library.breaker_state'], CircuitBreakerState.CIRCUIT_STATE_OPEN);
  t.is(library.metrics.breakerOpenTotal, 1);
  t.is(library.metrics.conservativeMode, 1);
  t.like(library.get('UNKNOWN'), { status: 'unavailable', cause: 'breaker_open' });
  t.like(library.get('UNKNOWN', [32]), { status: 'unavailable', cause: 'breaker_open' });
  t.like(library.has('UNKNOWN'), { status: 'unavailable' });
  t.like(library.query({ tier: BlueprintTier.BLUEPRINT_TIER_SAFE }), { status: 'unavailable' });
  t.like(library.get('CACHED', [32]), { status: 'found', fromCache: true });
  t.like(library.get('CACHED'), { status: 'found', fromCache: true });
  const refused = library.save(saveInput(descriptor('NEW'), [32], bytesOf('n')));
  t.like(refused, { ok: false });
  if (!refused.ok) t.is(refused.error.code, 'unavailable');
  t.is(library.metrics.breakerDenied, 5);
  library.breaker.reset();
  t.is(library.get('UNKNOWN').status, 'not_found');
  t.is(library.metrics.conservativeMode, 0);
});

test('a lookup slower than the threshold is answered but counts as a breaker failure (slow_queries)', (t) => {
  // Every clock reading advances 300 ms, so each catalog access "takes" 300 ms > 250 ms.
  let now = 0;
  const library = open(t, { clock: () => (now += 300), breaker: { failureThreshold: 2, timeoutMs: 1e12 } });
  t.is(library.get('A').status, 'not_found');
  t.is(library.metrics.slowQueries, 1);
  t.is(library.breaker.state, CircuitBreakerState.CIRCUIT_STATE_CLOSED);
  t.is(library.get('B').status, 'not_found');
  t.is(library.breaker.state, CircuitBreakerState.CIRCUIT_STATE_OPEN);
  t.like(library.get('C'), { status: 'unavailable', cause: 'breaker_open' });
  t.is(library.metrics.breakerOpenTotal, 1);
  t.true(library.metrics.lookupLatencyMs > 0);
});

test('a catalog failure is unavailable/catalog_error and counted in cache_errors', (t) => {
  const library = open(t);
  library.close();
  t.like(library.get('A'), { status: 'unavailable', cause: 'catalog_error' });
  t.is(library.metrics.cacheErrors, 1);
});

test('LRU: capacity drops the least recently used silently (the catalog keeps it); a hit touches', (t) => {
  const library = open(t, { cacheSize: 2 });
  for (const id of ['A', 'B', 'C']) library.save(saveInput(descriptor(id), [32], bytesOf(id)));
  t.is(library.metricsSnapshot()['urza.library.cache_size'], 2);
  t.like(library.get('A', [32]), { status: 'found', fromCache: false }, 'A was dropped, read again from disk');
  t.like(library.get('C', [32]), { status: 'found', fromCache: true });
  t.like(library.get('B', [32]), { status: 'found', fromCache: false });
  t.is(library.metrics.evictions, 0, 'capacity drops are not evictions');
  t.is(library.metrics.cacheHits, 1);
  t.is(library.metrics.cacheMisses, 2);
});

test('cache TTL: an old cached kernel is re-read and re-verified from disk', (t) => {
  const clock = manualClock();
  const library = open(t, { cacheTtlMs: 1_000, clock: clock.now });
  library.save(saveInput(descriptor('A'), [32], bytesOf('a')));
  clock.advance(1_000);
  t.like(library.get('A', [32]), { status: 'found', fromCache: true });
  clock.advance(1_001);
  t.like(library.get('A', [32]), { status: 'found', fromCache: false });
  t.is(library.metrics.cacheExpired, 1);
  t.like(library.get('A', [32]), { status: 'found', fromCache: true });
  clock.advance(5_000);
  t.like(library.maintenance(), { status: 'ok', cachePurged: 1 });
  t.is(library.metricsSnapshot()['urza.library.cache_size'], 0);
});

test('entry TTL: a row older than the TTL is evicted on lookup and in maintenance', (t) => {
  let wall = 10_000;
  const library = open(t, { entryTtlMs: 60_000, wallClock: () => wall });
  library.save(saveInput(descriptor('OLD'), [32], bytesOf('old')));
  library.save(saveInput(descriptor('OLDER'), [32], bytesOf('older')));
  wall += 60_001;
  library.save(saveInput(descriptor('NEW'), [32], bytesOf('new')));
  t.is(library.get('OLD', [32]).status, 'not_found');
  t.is(library.metrics.cacheExpired, 1);
  const report = library.maintenance();
  t.like(report, { status: 'ok', expired: 1, missing: 0, corrupt: 0 });
  t.is(library.metrics.evictions, 2);
  t.like(library.get('NEW', [32]), { status: 'found' });
  t.is(artifactFiles(library).length, 1);
});

test('maintenance evicts rows whose artifact is gone, and with verifyChecksums those that no longer match', (t) => {
  const library = open(t);
  const gone = library.save(saveInput(descriptor('GONE'), [32], bytesOf('gone')));
  const bad = library.save(saveInput(descriptor('BAD'), [32], bytesOf('bad')));
  library.save(saveInput(descriptor('OK'), [32], bytesOf('ok')));
  if (!gone.ok || !bad.ok) return t.fail();
  unlinkSync(gone.entry.artifactRef);
  writeFileSync(bad.entry.artifactRef, 'tampered');
  t.like(library.maintenance(), { status: 'ok', missing: 1, corrupt: 0 });
  t.like(library.maintenance({ verifyChecksums: true }), { status: 'ok', missing: 0, corrupt: 1 });
  t.is(library.metrics.integrityFailures, 1);
  t.is(library.metrics.missingArtifacts, 1);
  const all = library.listAll();
  t.like(all, { status: 'ok' });
  if (all.status === 'ok')
    t.deepEqual(
      all.entries.map((e) => e.descriptor?.blueprintId),
      ['OK'],
    );
});

test('queries by tier, stage, tag (case-insensitive key) and slot shape', (t) => {
  const library = open(t);
  library.save(saveInput(descriptor('BPSTAGE1', { stage: 1 }), [32], bytesOf('1'), { tags: { GPU: 'yes' } }));
  library.save(
    saveInput(
      descriptor('BPSTAGE2', { stage: 2, tier: BlueprintTier.BLUEPRINT_TIER_EXPERIMENTAL }),
      [32],
      bytesOf('2'),
      { tags: { transformer: 'true' } },
    ),
  );
  library.save(
    saveInput(
      descriptor('BPSTAGE2', { stage: 2, tier: BlueprintTier.BLUEPRINT_TIER_EXPERIMENTAL }),
      [8, 8, 4],
      bytesOf('3'),
      { tags: {} },
    ),
  );
  const ids = (result: ReturnType<UrzaLibrary['query']>) =>
    result.status === 'ok'
      ? result.entries.map((e) => `${e.descriptor?.blueprintId}@${e.slot?.dims?.join('x')}`)
      : result.status;
  t.deepEqual(ids(library.byStage(1)), ['BPSTAGE1@32']);
  t.deepEqual(ids(library.byTier(BlueprintTier.BLUEPRINT_TIER_EXPERIMENTAL)), ['BPSTAGE2@32', 'BPSTAGE2@8x8x4']);
  t.deepEqual(ids(library.byTag('gpu')), ['BPSTAGE1@32']);
  t.deepEqual(ids(library.byTag('transformer', 'true')), ['BPSTAGE2@32']);
  t.deepEqual(ids(library.bySlot([8, 8, 4])), ['BPSTAGE2@8x8x4']);
  t.deepEqual(ids(library.query({ tier: BlueprintTier.BLUEPRINT_TIER_EXPERIMENTAL, slot: '32' })), ['BPSTAGE2@32']);
  t.deepEqual(ids(library.listAll()).length, 3);
});

test('metrics use the urza.library.* names', (t) => {
  const library = open(t);
  const names = Object.keys(library.metricsSnapshot());
  for (const name of [
    'cache_hits',
    'cache_misses',
    'cache_errors',
    'cache_expired',
    'lookup_latency_ms',
    'evictions',
    'integrity_failures',
    'slow_queries',
    'breaker_open_total',
    'breaker_denied',
    'breaker_state',
    'conservative_mode',
    'cache_size',
  ]) {
    t.true(names.includes(`urza.library.${name}`), name);
  }
  t.is(library.metricsSnapshot()['urza.library.breaker_state'], CircuitBreakerState.CIRCUIT_STATE_CLOSED);
});
