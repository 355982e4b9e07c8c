// Where a command's configuration comes from: the named file, else ./esper.config.ts, else the built-in defaults.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { validateConfig, type EsperConfig } from '../actors/weatherlight/config.ts';
import { loadDefaultExport } from '../runtime/module-loader.ts';
import embeddedDefaults from '../esper.config.ts';

export async function resolveConfig(file: string | undefined): Promise<{ config: EsperConfig; source: string }> {
  if (file) return { config: validateConfig(await loadDefaultExport(file)), source: file };
  const local = resolve('esper.config.ts');
  if (existsSync(local)) return { config: validateConfig(await loadDefaultExport(local)), source: local };
  return { config: validateConfig(embeddedDefaults), source: 'built-in defaults' };
}
