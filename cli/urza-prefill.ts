// Urza pre-filled by the forge on first use: before a run trains, the kernels its seeds may need (each blueprint
// Tamiyo may germinate × each slot of the host) are compiled into Urza, once, by the forge in the run's own tree.
// Without them Kasmina would graft its fallback blueprint, and a seed would add nothing.
import { type EsperConfig, pathOfKind, type Weatherlight } from '../actors/weatherlight/index.ts';
import type { KarnCatalogReader } from '../actors/karn/index.ts';
import { resolveTezzeretConfig } from '../actors/tezzeret/index.ts';
import { leyline, type v1 } from '../contracts/index.ts';
import type { ActorRef, AnyRef } from '../runtime/logic.ts';
import { defaultUrzaRoot, openUrzaLibrary } from '../actors/urza/index.ts';
import { hostSlots, resolveTolariaConfig } from '../actors/tolaria/index.ts';
import { fitForGrafting } from '../policy/index.ts';
import { compileAll, forgeDeadlineMs, type ForgeJob, type ForgeTally } from './forge.ts';

/** The kernels this configuration's run may fetch that Urza does not hold yet (none when the tree has no seeds). */
export function missingKernels(config: EsperConfig, catalog: KarnCatalogReader): ForgeJob[] {
  const tree = config.weatherlight.tree;
  if (!pathOfKind(tree, 'kasmina-manager') || !pathOfKind(tree, 'tolaria-trainer')) return [];
  const allowed = config.tamiyo?.blueprints ? new Set(config.tamiyo.blueprints) : null;
  const blueprints = catalog.all().filter((d) => (allowed ? allowed.has(d.blueprintId) : fitForGrafting(d)));
  // Kernels are stored by slot shape: two slots of one shape share them.
  const shapes = [
    ...new Map(
      hostSlots(resolveTolariaConfig(config.tolaria ?? {}).host).map((slot) => [slot.dims.join('x'), [...slot.dims]]),
    ).values(),
  ];
  // Only looks: a process that owns the root (another run, a forge) does not stop this one from reading it.
  const library = openUrzaLibrary({
    root: config.urza?.root ?? defaultUrzaRoot(config.run.varDir),
    ownership: 'on-write',
  });
  try {
    return blueprints.flatMap((descriptor) =>
      shapes
        .filter((dims) => library.has(descriptor.blueprintId, dims).status !== 'found')
        .map((dims) => ({ descriptor, dims })),
    );
  } finally {
    library.close();
  }
}

/**
 * Compiles what is missing (`missingKernels`, found before boot: Urza is then open in the tree) through the forge in
 * Weatherlight's tree (`tezzeret/forge`, supervised as every actor is: a crash is restarted, a compile job's crash
 * retried), with training held meanwhile (the trainer's mailbox paused) so that no seed is germinated before its
 * kernel is stored. `null` when nothing was missing or the tree has no forge (Tezzeret served elsewhere).
 */
export async function prefillUrza(
  weatherlight: Pick<Weatherlight, 'system'>,
  config: EsperConfig,
  jobs: readonly ForgeJob[],
  out: NodeJS.WritableStream & { isTTY?: boolean },
  say: (line: string) => void,
): Promise<ForgeTally | null> {
  if (jobs.length === 0) return null;
  const { system } = weatherlight;
  const tree = config.weatherlight.tree;
  const forgePath = pathOfKind(tree, 'tezzeret-forge');
  if (!forgePath || !system.describe(forgePath)) {
    say(
      `esper: first use: ${jobs.length} kernel${jobs.length === 1 ? '' : 's'} missing and no forge in this process (Tezzeret is served elsewhere): seeds get the fallback blueprint until they are forged`,
    );
    return null;
  }
  const forge: ActorRef<v1.CompileRequest> = { path: forgePath, system: system.name };
  const trainerPath = pathOfKind(tree, 'tolaria-trainer');
  const trainer: AnyRef | null =
    trainerPath && system.describe(trainerPath) ? { path: trainerPath, system: system.name } : null;
  const tezzeret = resolveTezzeretConfig(config.tezzeret ?? {}, 'tezzeret');
  const deadlineMs = forgeDeadlineMs(config, tezzeret);
  say(
    `esper: first use: forging ${jobs.length} kernel${jobs.length === 1 ? '' : 's'} into Urza with ${forgePath} (the blueprints Tamiyo may germinate × the host's slots)`,
  );
  if (trainer) await system.pause(trainer);
  try {
    const tally = await compileAll(
      jobs,
      {
        compile: (blueprintId, dims) =>
          system.ask(
            forge,
            leyline.CompileRequest.create({ blueprintId, slot: leyline.SlotShape.create({ dims }) }),
            leyline.CompileResult,
            deadlineMs,
          ),
      },
      // Enough asks in flight to keep every compile worker busy.
      { out, inFlight: tezzeret.concurrency * 2 },
    );
    // A job actor ends just after it reports: the run starts (and shows its tree) once they all have.
    await Promise.all(
      system
        .tree()
        .filter((w) => w.path.startsWith(`${forgePath}/`))
        .map((w) => system.whenTerminated({ path: w.path, system: system.name })),
    );
    say(`esper: forge: ${tally.compiled} compiled, ${tally.failed} failed in ${tally.seconds.toFixed(1)} s`);
    for (const failure of tally.failures) say(`  ${failure}`);
    return tally;
  } finally {
    if (trainer) system.resume(trainer);
  }
}
