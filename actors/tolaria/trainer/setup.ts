// What boot prepares for the trainer before any actor starts: settings checked, the dataset loaded (a missing or
// broken dataset stops boot with its path), the run's id and directory. Restarts of the trainer reuse all of it.
import { existsSync, readdirSync, statSync } from 'node:fs';
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
  /** Continue this run: its id (a folder of `<varDir>/runs`) or its directory (a run started with `--run-dir`). */
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

export function setUpTrainer(
  config: unknown,
  varDir: string,
  selection: RunSelection = {},
  field = 'tolaria',
): TrainerSetup {
  const settings = resolveTolariaConfig(config, field);
  if (selection.dir !== undefined) {
    const runDir = resolve(selection.dir);
    const runId = basename(runDir);
    if (!RUN_ID.test(runId))
      throw new TolariaConfigError(
        '--run-dir',
        `the folder's name is the run id: letters, digits, ".", "_", "-", got ${JSON.stringify(runId)}`,
      );
    if (selection.resume !== undefined)
      throw new TolariaConfigError('--run-dir', 'and --resume name the run twice: give one');
    if (existsSync(runDir) && readdirSync(runDir).length > 0)
      throw new TolariaConfigError(
        '--run-dir',
        `${runDir} already holds a run: continue it with --resume ${runDir}, or choose an empty folder`,
      );
    return { settings, runId, runDir, resume: false, dataset: loadDataset(settings.dataset) };
  }
  if (selection.resume !== undefined) {
    const runDir = resumedRunDir(selection.resume, varDir);
    return { settings, runId: basename(runDir), runDir, resume: true, dataset: loadDataset(settings.dataset) };
  }
  const runId = defaultRunId(settings.experiment, selection.now);
  return {
    settings,
    runId,
    runDir: join(runsDir(varDir), runId),
    resume: false,
    dataset: loadDataset(settings.dataset),
  };
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A run id names a folder of `<varDir>/runs`; anything else that is a directory is the run's own folder. */
function resumedRunDir(resume: string, varDir: string): string {
  if (RUN_ID.test(resume) && existsSync(join(runsDir(varDir), resume))) return join(runsDir(varDir), resume);
  const dir = resolve(resume);
  if (existsSync(dir) && statSync(dir).isDirectory() && RUN_ID.test(basename(dir))) return dir;
  throw new TolariaConfigError(
    '--resume',
    `no run ${JSON.stringify(resume)}: neither a run id in ${runsDir(varDir)} nor a run's folder`,
  );
}
