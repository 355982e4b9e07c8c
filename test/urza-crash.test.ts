// Crash safety, with a real kill -9: a child process saves artifacts in a loop (test/fixtures/urza-save-loop.ts)
// and is SIGKILLed between each pair of durable steps, and at random points. Before any recovery runs, every
// catalog row must point at a complete artifact whose SHA-256 is its checksum, and no committed save may be lost;
// then recovery must find nothing to evict and leave no temp file or orphan behind.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { runTsChild, type ChildRun } from './helpers/child-process.ts';
import { ArtifactStore, sha256Hex, type SaveStep } from '../actors/urza/artifact-store.ts';
import { CatalogDb } from '../actors/urza/catalog-db.ts';
import { CatalogLockedError } from '../actors/urza/owner-lock.ts';
import { UrzaLibrary } from '../actors/urza/library.ts';
import { tempRoot } from './fixtures/urza-fixtures.ts';

const SCRIPT = fileURLToPath(new URL('./fixtures/urza-save-loop.ts', import.meta.url));
const STEPS: readonly SaveStep[] = ['temp_written', 'temp_synced', 'renamed', 'dir_synced', 'committed'];

const runChild = (args: string[]): ChildRun => runTsChild(SCRIPT, args, 30_000);

/**
 * What the child's output allows in the catalog, per row key: the last committed artifact, or one whose save was in
 * flight when a child was killed (it may or may not have committed). `committed` = keys with a completed save.
 */
function expectations(lines: readonly string[]): { allowed: Map<string, Set<string>>; committed: Set<string> } {
  const allowed = new Map<string, Set<string>>();
  const committed = new Set<string>();
  for (const line of lines) {
    const [kind, key, hash] = line.split(' ');
    if (kind === 'begin') allowed.set(key!, new Set([...(allowed.get(key!) ?? []), hash!]));
    if (kind === 'saved') {
      allowed.set(key!, new Set([hash!]));
      committed.add(key!);
    }
  }
  return { allowed, committed };
}

/**
 * The invariant, checked on the raw catalog before recovery can hide anything: every row's artifact exists and
 * hashes to its checksum; every committed save is there; a row differs from the last committed one only by being
 * the save that was in flight.
 */
function checkCatalog(
  t: { is(a: unknown, b: unknown, m?: string): void; true(v: boolean, m?: string): void },
  root: string,
  lines: readonly string[],
): number {
  const store = new ArtifactStore(root);
  const db = new CatalogDb(`${root}/catalog.db`);
  const rows = db.query();
  db.close();
  const { allowed, committed } = expectations(lines);
  for (const row of rows) {
    const key = `${row.blueprintId}@${row.slotKey}`;
    const bytes = store.read(row.artifactPath);
    t.true(bytes !== null, `${key}: its artifact exists`);
    if (bytes) t.is(sha256Hex(bytes), row.checksum, `${key}: its artifact is complete`);
    t.true(allowed.get(key)?.has(row.checksum) ?? false, `${key}: holds the last committed or an in-flight artifact`);
  }
  const present = new Set(rows.map((row) => `${row.blueprintId}@${row.slotKey}`));
  for (const key of committed) t.true(present.has(key), `${key}: a committed save survived`);
  return rows.length;
}

function recoverAndCheck(
  t: { is(a: unknown, b: unknown, m?: string): void; deepEqual(a: unknown, b: unknown, m?: string): void },
  root: string,
): void {
  const library = new UrzaLibrary({ root });
  try {
    t.is(library.recovery.missingEvicted, 0, 'no row lost its artifact');
    t.is(library.recovery.corruptEvicted, 0, 'no row points at a partial artifact');
    const store = new ArtifactStore(root);
    t.deepEqual(store.listTempFiles(), [], 'temp files are gone');
    const all = library.listAll();
    const referenced = all.status === 'ok' ? new Set(all.entries.map((entry) => entry.checksum)) : new Set<string>();
    t.deepEqual(
      store.listArtifacts().filter((path) => !referenced.has(path.slice('artifacts/'.length, -'.kernel'.length))),
      [],
      'no orphan artifacts are left',
    );
  } finally {
    library.close();
  }
}

for (const step of STEPS) {
  test(`kill -9 right after "${step}" of a save: the catalog never points at a missing or partial file`, async (t) => {
    const { root, cleanup } = tempRoot('urza-crash-');
    t.teardown(cleanup);
    // Ten saves complete (five blueprints × two slot shapes); the eleventh stops after `step`. It replaces the row
    // of the first (same blueprint and shape), so a replaced artifact is in play too.
    const run = runChild([root, '12', step, '10']);
    await run.waitFor((line) => line === 'paused');
    t.throws(
      () => new UrzaLibrary({ root }),
      { instanceOf: CatalogLockedError, message: new RegExp(`owned by process ${run.pid}:`) },
      'the child owns the root',
    );
    run.kill();
    t.is((await run.exit).signal, 'SIGKILL');
    const leftTemp = new ArtifactStore(root).listTempFiles().length;
    t.is(
      leftTemp > 0,
      step === 'temp_written' || step === 'temp_synced',
      'a temp file exists exactly until the rename',
    );
    const rows = checkCatalog(t, root, run.lines);
    t.is(rows, 10, 'ten rows: the interrupted save replaces one or nothing');
    const first = run.lines.find((line) => line.startsWith('saved BP000@32 '))!.split(' ')[2];
    const db = new CatalogDb(`${root}/catalog.db`);
    const replaced = db.get('BP000', '32')!.checksum !== first;
    db.close();
    t.is(replaced, step === 'committed', 'the row changes exactly at the commit');
    recoverAndCheck(t, root);
  });
}

test('kill -9 at random points, five times over the same library: every row stays valid, nothing committed is lost', async (t) => {
  const { root, cleanup } = tempRoot('urza-crash-');
  t.teardown(cleanup);
  let seed = 20_241_125;
  const random = (below: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % below;
  };
  const history: string[] = [];
  for (let round = 0; round < 5; round++) {
    const run = runChild([root, '1000']);
    // Kill after a random number of step lines: the kill lands wherever the child has got to by then.
    await run.waitFor((line) => line.startsWith('step '), 3 + random(40));
    run.kill();
    t.is((await run.exit).signal, 'SIGKILL');
    history.push(...run.lines);
    checkCatalog(t, root, history);
    recoverAndCheck(t, root);
  }
});
