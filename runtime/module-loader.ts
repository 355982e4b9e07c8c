// Loads the default export of a TypeScript or JavaScript module named by the user (config, experiment), with
// errors that say which file and what is wrong with it.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeError } from './errors.ts';

export class ModuleLoadError extends Error {
  override readonly name = 'ModuleLoadError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

export async function loadDefaultExport(file: string): Promise<unknown> {
  const absolute = resolve(file);
  if (!existsSync(absolute)) throw new ModuleLoadError(file, 'no such file');
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
  } catch (error) {
    throw new ModuleLoadError(file, `cannot be loaded: ${describeError(error)}`);
  }
  if (module.default === undefined)
    throw new ModuleLoadError(file, 'has no default export (write `export default defineConfig({...})`)');
  return module.default;
}
