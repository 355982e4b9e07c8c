// Where a command's configuration comes from: the named file (a configuration, or an experiment compiled onto the
// built-in defaults), else ./esper.config.ts, else the default experiment on the built-in defaults.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { validateConfig, type EsperConfig } from '../actors/weatherlight/config.ts';
import { experimentConfig, isExperiment } from '../actors/weatherlight/experiment.ts';
import { loadDefaultExport } from '../runtime/module-loader.ts';
import embeddedDefaults from '../esper.config.ts';
import defaultExperiment from '../experiments/mnist-mlp.ts';

export async function resolveConfig(file: string | undefined): Promise<{ config: EsperConfig; source: string }> {
  if (file) {
    const value = await loadDefaultExport(file);
    // An experiment file names what to train; the defaults supply the rest (the tree, the subsystems).
    if (isExperiment(value)) return { config: validateConfig(experimentConfig(value, validateConfig(embeddedDefaults), file)), source: file };
    return { config: validateConfig(value), source: file };
  }
  const local = resolve('esper.config.ts');
  if (existsSync(local)) return { config: validateConfig(await loadDefaultExport(local)), source: local };
  return { config: validateConfig(experimentConfig(defaultExperiment, validateConfig(embeddedDefaults))), source: 'built-in defaults (experiments/mnist-mlp.ts)' };
}
