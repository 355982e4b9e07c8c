// A store that cannot be opened stops `esper run` before it trains: exit code 1, the file named on stderr (and the
// file left as it was). Before, a damaged field-report store let the run go on with every decision a timeout and
// exit 0.
import test from 'ava';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { esper, freshDir } from './helpers/esper-cli.ts';

const QUICK = fileURLToPath(new URL('../experiments/quick.ts', import.meta.url));
const GARBAGE = 'not a SQLite database\n'.repeat(100);

const stores = [
  { name: "Tamiyo's field reports", file: join('var', 'tamiyo', 'field_reports.db') },
  { name: "Urza's catalog", file: join('var', 'urza', 'catalog.db') },
  { name: "Tezzeret's job journal", file: join('var', 'tezzeret', 'jobs.db') },
  { name: "Nissa's documents", file: join('var', 'nissa', 'documents.db') },
];

for (const store of stores) {
  test(`esper run with a damaged ${store.name} exits 1 at boot naming the file`, async (t) => {
    const cwd = freshDir();
    const path = join(cwd, store.file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, GARBAGE);
    const run = await esper(['run', QUICK, '--quiet'], cwd);
    t.is(run.code, 1, run.stderr);
    t.true(run.stderr.includes(`esper: ${store.name} (${path}) cannot be opened: file is not a database;`), run.stderr);
    t.regex(run.stderr, /move it aside to start afresh/);
    t.false(run.stdout.includes('training complete'), run.stdout);
    const runs = join(cwd, 'var', 'runs');
    t.deepEqual(existsSync(runs) ? readdirSync(runs) : [], [], 'no run was started');
    t.is(readFileSync(path, 'utf8'), GARBAGE, 'the damaged file is left as it was');
  });
}
