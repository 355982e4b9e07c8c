// `npm run bench -- <name> [<name> ...]` runs bench/<name>.bench.ts; with no name, every benchmark.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort();

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark: ${unknown.join(', ')} (available: ${available.join(', ')})\n`);
  process.exit(2);
}
for (const name of requested.length > 0 ? requested : available) {
  const module = (await import(pathToFileURL(join(here, `${name}.bench.ts`)).href)) as { run(): Promise<void> };
  await module.run();
}
