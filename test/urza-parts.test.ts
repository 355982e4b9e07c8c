// The library's parts on their own, without a catalog on disk: what a save must be given and the row it becomes,
// housekeeping's verdict, the breaker guard, and the kernel cache's hold on spare modules.
import test from 'ava';
import type { BlueprintModule } from '../blueprints/index.ts';
import { leyline } from '../contracts/index.ts';
import type { CatalogRow } from '../actors/urza/catalog-db.ts';
import { CatalogGuard } from '../actors/urza/catalog-guard.ts';
import { UrzaSaveError } from '../actors/urza/errors.ts';
import { KernelCache } from '../actors/urza/kernel-cache.ts';
import { auditRows, type ArtifactVerdict } from '../actors/urza/maintenance.ts';
import { LibraryMetrics } from '../actors/urza/metrics.ts';
import { catalogRowFor, checkSaveInput } from '../actors/urza/save-input.ts';
import { bytesOf, descriptor, manualClock, saveInput } from './fixtures/urza-fixtures.ts';

const { BlueprintTier, CircuitBreakerState } = leyline;

function saveError(run: () => unknown): UrzaSaveError {
  try {
    run();
  } catch (error) {
    if (error instanceof UrzaSaveError) return error;
    throw error;
  }
  throw new Error('expected an UrzaSaveError');
}

function rowOf(input: ReturnType<typeof saveInput>, previous: CatalogRow | null = null, maxSamples = 20): CatalogRow {
  const { key, hash } = checkSaveInput(input);
  return catalogRowFor(input, {
    key,
    hash,
    relativePath: `artifacts/${hash}.kernel`,
    mtimeS: 1,
    previous,
    maxSamples,
    storedAtMs: 1000,
  });
}

test('checkSaveInput gives the slot key and content hash, and refuses what must not be stored', (t) => {
  const input = saveInput(descriptor('BP001'), [8, 8, 4], bytesOf('kernel'));
  t.deepEqual(checkSaveInput(input), { key: '8x8x4', hash: input.update.checksum });

  const tampered = saveInput(descriptor('BP001'), [32], bytesOf('kernel'));
  tampered.update.checksum = saveInput(descriptor('BP001'), [32], bytesOf('other')).update.checksum;
  t.is(saveError(() => checkSaveInput(tampered)).code, 'checksum_mismatch');

  const untiered = saveInput(
    descriptor('BP001', { tier: BlueprintTier.BLUEPRINT_TIER_UNSPECIFIED }),
    [32],
    bytesOf('k'),
  );
  t.regex(saveError(() => checkSaveInput(untiered)).message, /UNSPECIFIED/);
  t.is(saveError(() => checkSaveInput(saveInput(descriptor('BP001'), [0], bytesOf('k')))).code, 'invalid_input');
});

test('catalogRowFor carries the replaced row’s pre-warm timings over, keeping the newest', (t) => {
  const first = rowOf(saveInput(descriptor('BP001'), [32], bytesOf('a'), { prewarmMs: 1 }));
  t.deepEqual(first.prewarmSamples, [1]);
  const second = rowOf(saveInput(descriptor('BP001'), [32], bytesOf('b'), { prewarmMs: 2 }), first);
  const third = rowOf(saveInput(descriptor('BP001'), [32], bytesOf('c'), { prewarmMs: 4 }), second, 2);
  t.deepEqual(third.prewarmSamples, [2, 4]);
  t.is(third.checksum, third.contentHash);
  t.is(third.storedAtMs, 1000);
  const notWarmed = rowOf(saveInput(descriptor('BP001'), [32], bytesOf('d'), { prewarmMs: 0 }), third);
  t.deepEqual(notWarmed.prewarmSamples, [2, 4], 'a compile without a pre-warm adds no sample');
});

test('auditRows: expired rows are not inspected, and a file shared by two rows is inspected once', (t) => {
  const a = rowOf(saveInput(descriptor('BP001'), [32], bytesOf('shared')));
  const b = rowOf(saveInput(descriptor('BP002'), [32], bytesOf('shared')));
  const old = rowOf(saveInput(descriptor('BP003'), [32], bytesOf('old')));
  const gone = rowOf(saveInput(descriptor('BP004'), [32], bytesOf('gone')));
  const inspected: string[] = [];
  const verdicts = new Map<string, ArtifactVerdict>([
    [a.artifactPath, 'corrupt'],
    [gone.artifactPath, 'missing'],
  ]);
  const audit = auditRows(
    [a, b, old, gone],
    (row) => row === old,
    (row) => {
      inspected.push(row.blueprintId);
      return verdicts.get(row.artifactPath) ?? 'ok';
    },
  );
  t.deepEqual(inspected, ['BP001', 'BP004']);
  t.deepEqual(
    audit.expired.map((row) => row.blueprintId),
    ['BP003'],
  );
  t.deepEqual(
    audit.corrupt.map((row) => row.blueprintId),
    ['BP001', 'BP002'],
  );
  t.deepEqual(
    audit.missing.map((row) => row.blueprintId),
    ['BP004'],
  );
});

test('CatalogGuard: a slow access answers but counts as a failure; an open breaker refuses without running', (t) => {
  const clock = manualClock();
  const metrics = new LibraryMetrics();
  const guard = new CatalogGuard(metrics, { slowQueryMs: 250, clock: clock.now });
  const slow = () => {
    clock.advance(300);
    return 'rows';
  };
  t.deepEqual(guard.run('BP001', slow), { status: 'ok', value: 'rows' });
  t.is(metrics.slowQueries, 1);
  guard.run('BP001', slow);
  const failing = guard.run('BP001', () => {
    throw new Error('disk I/O error');
  });
  t.like(failing, { status: 'unavailable', cause: 'catalog_error' });
  t.is(metrics.cacheErrors, 1);
  t.is(metrics.breakerState, CircuitBreakerState.CIRCUIT_STATE_OPEN);
  t.is(metrics.conservativeMode, 1);
  let ran = false;
  t.like(
    guard.run('BP001', () => (ran = true)),
    { status: 'unavailable', cause: 'breaker_open' },
  );
  t.false(ran);
  t.is(metrics.breakerDenied, 1);
});

test('KernelCache: re-verified identical bytes keep their spares; forgetting a kernel disposes them', (t) => {
  const cache = new KernelCache({ capacity: 4, ttlMs: null, clock: () => 0 });
  const row = rowOf(saveInput(descriptor('BP001'), [32], bytesOf('kernel')));
  let disposed = 0;
  const spare = { dispose: () => (disposed += 1) } as unknown as BlueprintModule;
  cache.keepSaved(row, bytesOf('kernel'));
  t.is(cache.latestSlot('BP001'), '32');
  cache.peek('BP001', '32')?.spares.push(spare);
  const again = cache.keepVerified({ ...row }, bytesOf('kernel'), false);
  t.deepEqual(again.spares, [spare]);
  t.is(disposed, 0);
  cache.forget(row);
  t.is(disposed, 1);
  t.is(cache.latestSlot('BP001'), undefined);
  t.is(cache.size, 0);
});
