// Urza pre-filled by the forge on first use: before a run trains, the kernels its seeds may need (each blueprint
// Tamiyo may germinate × each slot of the host) are compiled into Urza, once. Without them Kasmina would graft its
// fallback blueprint, and a seed would add nothing.
import type { EsperConfig } from '../actors/weatherlight/config.ts';
import { pathOfKind } from '../actors/weatherlight/tree.ts';
import { setUpKarn, type KarnCatalogReader } from '../actors/karn/index.ts';
import { resolveTezzeretConfig } from '../actors/tezzeret/index.ts';
import { defaultUrzaRoot, openUrzaLibrary } from '../actors/urza/index.ts';
import { hostSlots, resolveTolariaConfig } from '../actors/tolaria/index.ts';
import { fitForGrafting } from '../policy/index.ts';
import { forgeKernels, type ForgeJob, type ForgeTally } from './forge.ts';

/** The kernels this configuration's run may fetch that Urza does not hold yet (none when the tree has no seeds). */
export function missingKernels(config: EsperConfig, catalog: KarnCatalogReader): ForgeJob[] {
  const tree = config.weatherlight.tree;
  if (!pathOfKind(tree, 'kasmina-manager') || !pathOfKind(tree, 'tolaria-trainer')) return [];
  const allowed = config.tamiyo?.blueprints ? new Set(config.tamiyo.blueprints) : null;
  const blueprints = catalog.all().filter((d) => (allowed ? allowed.has(d.blueprintId) : fitForGrafting(d)));
  // Kernels are stored by slot shape: two slots of one shape share them.
  const shapes = [...new Map(hostSlots(resolveTolariaConfig(config.tolaria ?? {}).host).map((slot) => [slot.dims.join('x'), [...slot.dims]])).values()];
  // Only looks: a process that owns the root (another run, a forge) does not stop this one from reading it.
  const library = openUrzaLibrary({ root: config.urza?.root ?? defaultUrzaRoot(config.run.varDir), ownership: 'on-write' });
  try {
    return blueprints.flatMap((descriptor) =>
      shapes.filter((dims) => library.has(descriptor.blueprintId, dims).status !== 'found').map((dims) => ({ descriptor, dims })),
    );
  } finally {
    library.close();
  }
}

/** Compiles what is missing (nothing, after the first run); `null` when nothing was. */
export async function prefillUrza(config: EsperConfig, out: NodeJS.WritableStream & { isTTY?: boolean }, say: (line: string) => void): Promise<ForgeTally | null> {
  const { catalog } = setUpKarn(config.karn ?? {}, 'karn');
  const jobs = missingKernels(config, catalog);
  if (jobs.length === 0) return null;
  say(`esper: first use: forging ${jobs.length} kernel${jobs.length === 1 ? '' : 's'} into Urza (the blueprints Tamiyo may germinate × the host's slots)`);
  const tally = await forgeKernels(config, jobs, { bus: null, out, catalog, tezzeret: resolveTezzeretConfig(config.tezzeret ?? {}, 'tezzeret') });
  say(`esper: forge: ${tally.compiled} compiled, ${tally.failed} failed in ${tally.seconds.toFixed(1)} s`);
  for (const failure of tally.failures) say(`  ${failure}`);
  return tally;
}
