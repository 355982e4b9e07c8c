// Where a command's configuration comes from: the named file (a configuration, or an experiment compiled onto the
// built-in defaults), else ./esper.config.ts, else the default experiment on the built-in defaults.
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { validateConfig, type EsperConfig, experimentConfig, isExperiment } from '../actors/weatherlight/index.ts';
import { loadDefaultExport } from '../runtime/module-loader.ts';
import embeddedDefaults from '../esper.config.ts';
import defaultExperiment from '../experiments/mnist-mlp.ts';

const BUILT_IN = fileURLToPath(new URL('../esper.config.ts', import.meta.url));

export async function resolveConfig(file: string | undefined): Promise<{ config: EsperConfig; source: string }> {
  if (file) {
    const value = await loadDefaultExport(file);
    // An experiment file names what to train; the defaults supply the rest (the tree, the subsystems).
    if (isExperiment(value))
      return { config: validateConfig(experimentConfig(value, validateConfig(embeddedDefaults), file)), source: file };
    return { config: validateConfig(value), source: file };
  }
  // A project's own esper.config.ts; this package's (the built-in defaults, found when run from its folder) is not one.
  const local = resolve('esper.config.ts');
  if (existsSync(local) && realpathSync(local) !== realpathSync(BUILT_IN))
    return { config: validateConfig(await loadDefaultExport(local)), source: local };
  return {
    config: validateConfig(experimentConfig(defaultExperiment, validateConfig(embeddedDefaults))),
    source: 'built-in defaults (experiments/mnist-mlp.ts)',
  };
}
