// The committed generated code must be exactly what `npm run contracts` produces from leyline.proto: an edit to
// the schema without regenerating (or a hand edit to the generated files) fails here.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));

test('contracts/generated is current with contracts/leyline/leyline.proto', async (t) => {
  t.timeout(120_000);
  const out = mkdtempSync(join(tmpdir(), 'leyline-check-'));
  try {
    await promisify(execFile)(process.execPath, [join(root, 'contracts', 'generate.mjs'), out], { cwd: root });
    for (const file of ['leyline.js', 'leyline.d.ts']) {
      const fresh = readFileSync(join(out, file));
      const committed = readFileSync(join(root, 'contracts', 'generated', file));
      t.true(fresh.equals(committed), `contracts/generated/${file} is stale: run \`npm run contracts\``);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
