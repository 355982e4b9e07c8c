// Urza's catalog database and artifact store: schema and migrations, rows ↔ KernelCatalogEntry, slot keys,
// content-addressed artifacts and start-up recovery.
import test from 'ava';
import Database from 'better-sqlite3';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leyline } from '../contracts/index.ts';
import { fromTimestamp } from '../contracts/time.ts';
import { ArtifactStore, sha256Hex } from '../actors/urza/artifact-store.ts';
import {
  CATALOG_SCHEMA_VERSION,
  CatalogDb,
  CatalogSchemaError,
  fromCatalogEntry,
  toCatalogEntry,
  type CatalogRow,
} from '../actors/urza/catalog-db.ts';
import { recoverCatalog } from '../actors/urza/recovery.ts';
import { SlotShapeError, slotDims, slotKey, slotShapeOf } from '../actors/urza/slot-key.ts';
import { UrzaInputError } from '../actors/urza/errors.ts';
import { bytesOf, descriptor, tempRoot } from './fixtures/urza-fixtures.ts';
import { encodeLeyline } from '../contracts/codec.ts';

const { BlueprintTier, CompileStrategy } = leyline;

function row(blueprintId: string, slot: string, artifact: Uint8Array, extra: Partial<CatalogRow> = {}): CatalogRow {
  const desc = descriptor(blueprintId, { stage: 2 });
  const hash = sha256Hex(artifact);
  return {
    blueprintId,
    slotKey: slot,
    tier: desc.tier,
    stage: desc.stage,
    name: desc.name,
    moduleFamily: 'residual_mlp',
    contentHash: hash,
    artifactPath: `artifacts/${hash}.kernel`,
    checksum: hash,
    guardDigest: 'g',
    guardSummary: 'float32[8x32]',
    compileMs: Math.fround(1.5),
    prewarmMs: Math.fround(0.75),
    prewarmSamples: [Math.fround(0.5), Math.fround(0.75)],
    compileStrategy: CompileStrategy.COMPILE_STRATEGY_CONSERVATIVE,
    tags: { Device: 'gpu' },
    descriptor: new Uint8Array(encodeLeyline(desc)),
    artifactMtimeS: 1_700_000_000.5,
    storedAtMs: 1_700_000_000_123,
    ...extra,
  };
}

test('slot keys: [32] → "32", [8,8,4] → "8x8x4", from dims, SlotShape or key; bad shapes are typed input errors', (t) => {
  t.is(slotKey([32]), '32');
  t.is(slotKey(leyline.SlotShape.create({ slotId: 'block1', dims: [8, 8, 4] })), '8x8x4');
  t.is(slotKey('8x8x4'), '8x8x4');
  t.deepEqual(slotDims('128'), [128]);
  t.deepEqual(slotShapeOf('8x8x4').dims, [8, 8, 4]);
  for (const bad of [[], [8, 8], [0], [1.5], [-3], '8x', 'x8', '', '8 x 8', [1, 2, 3, 4]] as const) {
    const error = t.throws(() => slotKey(bad as never), { instanceOf: SlotShapeError });
    t.true(error instanceof UrzaInputError);
  }
});

test('a new catalog is migrated to the current version, in WAL mode with synchronous=FULL and its indexes', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const db = new CatalogDb(join(root, 'catalog.db'));
  t.deepEqual(db.appliedMigrations, [1]);
  t.is(db.schemaVersion, CATALOG_SCHEMA_VERSION);
  t.deepEqual(db.durability(), { journalMode: 'wal', synchronous: 2 });
  db.close();
  const raw = new Database(join(root, 'catalog.db'));
  t.is(raw.pragma('journal_mode', { simple: true }), 'wal');
  const indexes = (
    raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'kernel_entries'").all() as Array<{
      name: string;
    }>
  )
    .map((r) => r.name)
    .filter((name) => !name.startsWith('sqlite_autoindex'));
  t.deepEqual(indexes.sort(), [
    'kernel_entries_by_content',
    'kernel_entries_by_slot',
    'kernel_entries_by_stage',
    'kernel_entries_by_tier',
  ]);
  raw.close();
});

test('migrations are idempotent: reopening applies nothing and keeps the rows', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const path = join(root, 'catalog.db');
  const first = new CatalogDb(path);
  first.upsert(row('BP001', '32', bytesOf('a')));
  first.close();
  for (let i = 0; i < 3; i++) {
    const db = new CatalogDb(path);
    t.deepEqual(db.appliedMigrations, []);
    t.is(db.schemaVersion, CATALOG_SCHEMA_VERSION);
    t.is(db.count(), 1);
    db.close();
  }
  const raw = new Database(path);
  t.is((raw.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n, 1);
  raw.close();
});

test('a catalog from a newer build is refused, untouched', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const path = join(root, 'catalog.db');
  new CatalogDb(path).close();
  const raw = new Database(path);
  raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(99, 'future', 0);
  raw.close();
  t.throws(() => new CatalogDb(path), { instanceOf: CatalogSchemaError, message: /schema version 99/ });
});

test('rows round-trip through SQLite and through KernelCatalogEntry', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const db = new CatalogDb(join(root, 'catalog.db'));
  t.teardown(() => db.close());
  const original = row('BP009', '8x8x4', bytesOf('conv kernel'));
  db.upsert(original);
  const read = db.get('BP009', '8x8x4');
  t.deepEqual(read, original);

  const entry = toCatalogEntry(original, root);
  t.is(entry.descriptor?.blueprintId, 'BP009');
  t.is(entry.descriptor?.stage, 2);
  t.deepEqual(entry.slot?.dims, [8, 8, 4]);
  t.is(entry.artifactRef, join(root, original.artifactPath));
  t.is(entry.checksum, original.checksum);
  t.is(entry.compileStrategy, 'COMPILE_STRATEGY_CONSERVATIVE');
  t.is(entry.moduleFamily, 'residual_mlp');
  t.is(entry.guardSummary, 'float32[8x32]');
  t.deepEqual(entry.tags, { Device: 'gpu' });
  t.is(fromTimestamp(entry.storedAt!), original.storedAtMs);
  // Through the wire and back to a row.
  const decoded = leyline.KernelCatalogEntry.decode(encodeLeyline(entry));
  t.deepEqual(
    fromCatalogEntry(decoded, (hash) => `artifacts/${hash}.kernel`),
    original,
  );
});

test('queries by tier, stage, slot, content and tag (key case-insensitive, value exact)', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const db = new CatalogDb(join(root, 'catalog.db'));
  t.teardown(() => db.close());
  db.upsert(
    row('BP001', '32', bytesOf('1'), { tier: BlueprintTier.BLUEPRINT_TIER_SAFE, stage: 0, tags: { device: 'GPU' } }),
  );
  db.upsert(row('BP002', '32', bytesOf('2'), { tier: BlueprintTier.BLUEPRINT_TIER_EXPERIMENTAL, stage: 1, tags: {} }));
  db.upsert(
    row('BP002', '8x8x4', bytesOf('3'), {
      tier: BlueprintTier.BLUEPRINT_TIER_EXPERIMENTAL,
      stage: 1,
      tags: { family: 'transformer' },
    }),
  );
  const ids = (rows: CatalogRow[]) => rows.map((r) => `${r.blueprintId}@${r.slotKey}`);
  t.deepEqual(ids(db.query({ tier: BlueprintTier.BLUEPRINT_TIER_EXPERIMENTAL })), ['BP002@32', 'BP002@8x8x4']);
  t.deepEqual(ids(db.query({ stage: 0 })), ['BP001@32']);
  t.deepEqual(ids(db.query({ slotKey: '32' })), ['BP001@32', 'BP002@32']);
  t.deepEqual(ids(db.query({ tag: { key: 'DEVICE' } })), ['BP001@32']);
  t.deepEqual(ids(db.query({ tag: { key: 'family', value: 'transformer' } })), ['BP002@8x8x4']);
  t.deepEqual(ids(db.query({ tag: { key: 'family', value: 'Transformer' } })), []);
  t.deepEqual(ids(db.query({ contentHash: sha256Hex(bytesOf('1')) })), ['BP001@32']);
  t.is(db.references(sha256Hex(bytesOf('3'))), 1);
  t.is(db.delete('BP002'), 2);
  t.is(db.count(), 1);
});

test('the artifact store names files by content and leaves no temp file behind', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const steps: string[] = [];
  const store = new ArtifactStore(root, { onStep: (step) => steps.push(step) });
  const bytes = bytesOf('kernel bytes');
  const stored = store.put(bytes);
  t.is(stored.hash, sha256Hex(bytes));
  t.is(stored.relativePath, `artifacts/${stored.hash}.kernel`);
  t.deepEqual(steps, ['temp_written', 'temp_synced', 'renamed', 'dir_synced']);
  t.deepEqual(store.read(stored.relativePath), Buffer.from(bytes));
  t.deepEqual(readdirSync(store.dir), [`${stored.hash}.kernel`]);
  // The same bytes again: one file.
  store.put(bytes);
  t.deepEqual(store.listArtifacts(), [stored.relativePath]);
  t.is(store.read('artifacts/none.kernel'), null);
  t.true(store.remove(stored.relativePath));
  t.false(store.remove(stored.relativePath));
});

test('recovery removes temp files, evicts rows with missing or altered artifacts, and removes unreferenced files', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const store = new ArtifactStore(root);
  const db = new CatalogDb(join(root, 'catalog.db'));
  t.teardown(() => db.close());
  const good = store.put(bytesOf('good'));
  const altered = store.put(bytesOf('altered'));
  const gone = store.put(bytesOf('gone'));
  const orphan = store.put(bytesOf('orphan'));
  db.upsert(row('GOOD', '32', bytesOf('good')));
  db.upsert(row('GOOD', '64', bytesOf('good')));
  db.upsert(row('ALTERED', '32', bytesOf('altered')));
  db.upsert(row('GONE', '32', bytesOf('gone')));
  db.upsert(row('BADDESC', '32', bytesOf('good'), { descriptor: new Uint8Array([0xff, 0xff, 0xff]) }));
  writeFileSync(store.absolutePathOf(altered.relativePath), 'tampered');
  store.remove(gone.relativePath);
  writeFileSync(join(store.dir, '.abc.123.dead.tmp'), 'partial');

  const report = recoverCatalog(db, store);
  t.is(report.rowsChecked, 5);
  t.is(report.tempFilesRemoved, 1);
  t.is(report.missingEvicted, 1);
  t.is(report.corruptEvicted, 2, 'the altered artifact and the undecodable descriptor');
  t.is(report.unreferencedRemoved, 2, 'the orphan and the altered file');
  t.deepEqual(
    db.query().map((r) => `${r.blueprintId}@${r.slotKey}`),
    ['GOOD@32', 'GOOD@64'],
  );
  t.deepEqual(store.listArtifacts(), [good.relativePath]);
  t.false(existsSync(store.absolutePathOf(orphan.relativePath)));
  t.deepEqual(store.listTempFiles(), []);
});

test('recovery can keep unreferenced artifacts, but never corrupt ones', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const store = new ArtifactStore(root);
  const db = new CatalogDb(join(root, 'catalog.db'));
  t.teardown(() => db.close());
  const orphan = store.put(bytesOf('orphan'));
  const altered = store.put(bytesOf('altered'));
  db.upsert(row('ALTERED', '32', bytesOf('altered')));
  writeFileSync(store.absolutePathOf(altered.relativePath), 'tampered');
  const report = recoverCatalog(db, store, { removeUnreferenced: false });
  t.is(report.corruptEvicted, 1);
  t.deepEqual(store.listArtifacts(), [orphan.relativePath]);
});

test('two connections share one catalog: a row committed by one is read by the other (WAL readers beside the writer)', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const path = join(root, 'catalog.db');
  const writer = new CatalogDb(path, { busyTimeoutMs: 10 });
  const reader = new CatalogDb(path, { busyTimeoutMs: 10 });
  t.deepEqual(reader.appliedMigrations, [], 'the schema was applied once, by the first open');
  writer.upsert(row('BP001', '32', bytesOf('kernel')));
  t.is(reader.get('BP001', '32')?.blueprintId, 'BP001');
  t.is(reader.durability().journalMode, 'wal');
  writer.close();
  reader.close();
});
