// Every SQLite store opens through runtime/sqlite.ts: a damaged file fails at open, naming the store, its file and
// what to do, and is left as it was.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, StoreOpenError } from '../runtime/sqlite.ts';
import { openUrzaLibrary, CatalogLockedError } from '../actors/urza/index.ts';
import { JobJournal, journalPath } from '../actors/tezzeret/index.ts';
import { FieldReportLog } from '../actors/tamiyo/index.ts';
import { DocumentStore } from '../actors/nissa/index.ts';

const GARBAGE = 'these bytes are not a SQLite database, whatever the file is called\n'.repeat(64);

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'esper-sqlite-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function garbageAt(path: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, GARBAGE);
}

const stores: Array<{ name: string; file: (dir: string) => string; open: (dir: string) => { close(): void } }> = [
  {
    name: "Urza's catalog",
    file: (dir) => join(dir, 'urza', 'catalog.db'),
    open: (dir) => openUrzaLibrary({ root: join(dir, 'urza') }),
  },
  { name: "Tezzeret's job journal", file: (dir) => journalPath(dir), open: (dir) => new JobJournal(journalPath(dir)) },
  {
    name: "Tamiyo's field reports",
    file: (dir) => join(dir, 'tamiyo', 'field_reports.db'),
    open: (dir) => new FieldReportLog(join(dir, 'tamiyo', 'field_reports.db')),
  },
  {
    name: "Nissa's documents",
    file: (dir) => join(dir, 'nissa', 'documents.db'),
    open: (dir) => new DocumentStore(join(dir, 'nissa', 'documents.db'), 60_000),
  },
];

for (const store of stores) {
  test(`${store.name}: a file that is not a database fails at open, naming the store, the file and the remedy; the file is kept`, (t) => {
    const dir = tempDir(t);
    const path = store.file(dir);
    garbageAt(path);
    const error = t.throws(() => store.open(dir), { instanceOf: StoreOpenError });
    t.is(error.path, path);
    t.is(error.code, 'SQLITE_NOTADB');
    t.true(
      error.message.startsWith(`${store.name} (${path}) cannot be opened: file is not a database;`),
      error.message,
    );
    t.regex(error.message, /move it aside to start afresh .*or restore it from a backup/);
    t.is(readFileSync(path, 'utf8'), GARBAGE, 'the damaged file is left as it was');
  });

  test(`${store.name}: a new file opens, and opens again`, (t) => {
    const dir = tempDir(t);
    store.open(dir).close();
    store.open(dir).close();
    t.pass();
  });
}

test('a folder that cannot be made is named with the store', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a-file'), '');
  const path = join(dir, 'a-file', 'x.db');
  const error = t.throws(() => openSqlite(path, { store: 'the test store' }), { instanceOf: StoreOpenError });
  t.true(error.message.startsWith(`the test store (${path}) cannot be opened:`), error.message);
});

test("an error of setup that is not SQLite's passes through; a SQLite one names the store", (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'x.db');
  class Mine extends Error {}
  t.throws(
    () =>
      openSqlite(path, {
        store: 's',
        setup: () => {
          throw new Mine('mine');
        },
      }),
    { instanceOf: Mine },
  );
  const error = t.throws(() => openSqlite(path, { store: 's', setup: (db) => db.exec('NOT SQL') }), {
    instanceOf: StoreOpenError,
  });
  t.regex(error.message, /^s \(.*x\.db\) cannot be opened: near "NOT": syntax error;/);
});

test("Urza's catalog held by another owner is still CatalogLockedError", (t) => {
  const dir = tempDir(t);
  const first = openUrzaLibrary({ root: dir });
  t.teardown(() => first.close());
  t.throws(() => openUrzaLibrary({ root: dir, slowQueryMs: 10 }), { instanceOf: CatalogLockedError });
});
