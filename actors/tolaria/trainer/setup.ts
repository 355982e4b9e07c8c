// What boot prepares for the trainer before any actor starts: settings checked, the dataset loaded (a missing or
// broken dataset stops boot with its path), the run's id and directory. Restarts of the trainer reuse all of it.
import { existsSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Dataset } from '../data/types.ts';
import { resolveTolariaConfig, TolariaConfigError, type TolariaSettings } from './settings.ts';
import { loadDataset } from './training-run.ts';

export interface TrainerSetup {
  settings: TolariaSettings;
  runId: string;
  runDir: string;
  resume: boolean;
  dataset: Dataset;
}

export interface RunSelection {
  /** Continue this run (its directory must exist). */
  resume?: string;
  /** The run's directory instead of `<varDir>/runs/<run-id>` (`--run-dir`); its name is the run id. */
  dir?: string;
  /** Clock for the default run id. */
  now?: Date;
}

/** `<experiment>-<yyyymmdd>-<hhmmss>` (UTC): sortable, and a valid file and actor name. */
export function defaultRunId(experiment: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${experiment}-${stamp}`;
}

export function runsDir(varDir: string): string {
  return resolve(varDir, 'runs');
}

export function setUpTrainer(config: unknown, varDir: string, selection: RunSelection = {}, field = 'tolaria'): TrainerSetup {
  const settings = resolveTolariaConfig(config, field);
  if (selection.dir !== undefined) {
    const runDir = resolve(selection.dir);
    const runId = basename(runDir);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId)) throw new TolariaConfigError('--run-dir', `the folder's name is the run id: letters, digits, ".", "_", "-", got ${JSON.stringify(runId)}`);
    if (selection.resume !== undefined) throw new TolariaConfigError('--run-dir', 'and --resume name the run twice: give one');
    if (existsSync(runDir) && readdirSync(runDir).length > 0) throw new TolariaConfigError('--run-dir', `${runDir} already holds a run: continue it with --resume from its var/runs, or choose an empty folder`);
    return { settings, runId, runDir, resume: false, dataset: loadDataset(settings.dataset) };
  }
  let runId = defaultRunId(settings.experiment, selection.now);
  if (selection.resume !== undefined) {
    runId = selection.resume;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId) || !existsSync(join(runsDir(varDir), runId))) {
      throw new TolariaConfigError('--resume', `no run ${JSON.stringify(runId)} in ${runsDir(varDir)}`);
    }
  }
  return { settings, runId, runDir: join(runsDir(varDir), runId), resume: selection.resume !== undefined, dataset: loadDataset(settings.dataset) };
}
