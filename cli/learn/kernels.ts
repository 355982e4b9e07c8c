// The kernels a curriculum's episodes may graft — its blueprints × the slot shapes of every task's host, held-out
// tasks included — compiled once into the learning run's Urza library before any worker starts, as `esper run`
// fills Urza on first use. Each worker then gets a copy of that library (Urza keeps one process per library).
import { cpSync, existsSync, rmSync } from 'node:fs';
import { setUpKarn } from '../../actors/karn/index.ts';
import { resolveTezzeretConfig } from '../../actors/tezzeret/index.ts';
import {
  type EsperConfig,
  episodeExperiment,
  type Curriculum,
  experimentConfig,
} from '../../actors/weatherlight/index.ts';
import { forgeKernels, type ForgeJob, type ForgeTally } from '../forge.ts';
import { missingKernels } from '../urza-prefill.ts';

export async function forgeCurriculum(
  curriculum: Curriculum,
  base: EsperConfig,
  urzaRoot: string,
  out: NodeJS.WritableStream,
  say: (line: string) => void,
): Promise<ForgeTally | null> {
  const { catalog } = setUpKarn(base.karn ?? {}, 'karn');
  const jobs = new Map<string, ForgeJob>();
  let config: EsperConfig = base;
  for (const task of [...curriculum.tasks, ...curriculum.heldOut]) {
    config = experimentConfig(episodeExperiment(curriculum, task, curriculum.rngSeed ?? 1), base);
    config = { ...config, urza: { ...config.urza, root: urzaRoot } };
    for (const job of missingKernels(config, catalog))
      jobs.set(`${job.descriptor.blueprintId}@${job.dims.join('x')}`, job);
  }
  if (jobs.size === 0) return null;
  say(
    `esper learn: forging ${jobs.size} kernel${jobs.size === 1 ? '' : 's'} (the curriculum's blueprints × its hosts' slots)`,
  );
  const tally = await forgeKernels(config, [...jobs.values()], {
    bus: null,
    out,
    catalog,
    tezzeret: resolveTezzeretConfig(config.tezzeret ?? {}, 'tezzeret'),
  });
  say(`esper learn: forge: ${tally.compiled} compiled, ${tally.failed} failed in ${tally.seconds.toFixed(1)} s`);
  for (const failure of tally.failures) say(`  ${failure}`);
  return tally;
}

/** A worker's own copy of the library (replaced, so a worker never starts from a half-written one). */
export function copyLibrary(from: string, to: string): void {
  if (existsSync(to)) rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}
