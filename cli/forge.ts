// `esper forge`: compiles the catalog for the configured slot shapes into Urza, with a progress bar. Idempotent:
// kernels Urza already has are not compiled again, and an interrupted forge resumes from its journal.
import { leyline, type v1 } from '../contracts/index.ts';
import { describeError } from '../runtime/errors.ts';
import type { ActorRef } from '../runtime/logic.ts';
import { ActorSystem } from '../runtime/system.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { forgeLogic, forgeSettings, JobJournal, journalPath, resolveTezzeretConfig, urzaKernelStore } from '../actors/tezzeret/index.ts';
import { defaultUrzaRoot, openUrzaLibrary } from '../actors/urza/index.ts';
import { resolveConfig } from './config.ts';
import { ProgressBar } from './progress.ts';

export const FORGE_USAGE = `  forge [config.ts] [--drill] [--only BP001,BP009] [--slots 32,8x8x16]
                    compile the blueprint catalog into Urza for the configured slot shapes
                    (--drill includes the quarantine-only stressors)`;

interface ForgeArgs {
  file: string | undefined;
  drill: boolean;
  only: string[] | null;
  slots: number[][] | null;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseForgeArgs(argv: readonly string[]): ForgeArgs {
  const args: ForgeArgs = { file: undefined, drill: false, only: null, slots: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      i += 1;
      return next;
    };
    if (arg === '--drill') args.drill = true;
    else if (arg === '--only') args.only = value().split(',').filter(Boolean);
    else if (arg === '--slots') {
      args.slots = value()
        .split(',')
        .map((shape) => shape.split('x').map(Number));
      if (args.slots.some((dims) => (dims.length !== 1 && dims.length !== 3) || dims.some((d) => !Number.isInteger(d) || d < 1))) {
        throw new UsageError('--slots takes shapes like 32 or 8x8x16, separated by commas');
      }
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else if (args.file === undefined) args.file = arg;
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
  }
  return args;
}

export async function forge(argv: readonly string[]): Promise<number> {
  const args = parseForgeArgs(argv);
  const { config, source } = await resolveConfig(args.file);
  const karn = setUpKarn(config.karn ?? {}, 'karn');
  const tezzeret = resolveTezzeretConfig(config.tezzeret ?? {}, 'tezzeret');
  const slots = args.slots ?? tezzeret.slots.map((slot) => [...slot.dims]);
  const unknown = (args.only ?? []).filter((id) => !karn.catalog.has(id));
  if (unknown.length > 0) throw new UsageError(`--only: not in the catalog: ${unknown.join(', ')}`);

  const blueprints = [...karn.catalog.all()].filter(
    (d) => (args.only ? args.only.includes(d.blueprintId) : args.drill || !d.quarantineOnly),
  );
  const jobs = blueprints.flatMap((descriptor) => slots.map((dims) => ({ descriptor, dims })));
  process.stdout.write(
    `esper forge: ${blueprints.length} blueprints × ${slots.length} slot shapes = ${jobs.length} kernels (configuration from ${source})\n`,
  );

  const library = openUrzaLibrary({ root: config.urza?.root ?? defaultUrzaRoot(config.run.varDir) });
  const journal = new JobJournal(journalPath(config.run.varDir));
  const system = new ActorSystem({ name: `${config.run.name}-forge`, ...config.runtime });
  const forgeRef = system.spawn(
    null,
    forgeLogic(forgeSettings({ config: tezzeret, catalog: karn.catalog, store: urzaKernelStore(library), journal, telemetry: null })),
    { name: 'forge' },
  ) as ActorRef<v1.CompileRequest>;

  const tally = { compiled: 0, stored: 0, failed: 0 };
  const failures: string[] = [];
  const progress = new ProgressBar(jobs.length, process.stdout);
  // Enough asks in flight to keep every worker busy, few enough that none waits long in the queue.
  const inFlight = tezzeret.concurrency * 2;
  const retryWaitMs = Array.from({ length: tezzeret.maxRetries }, (_, i) => tezzeret.retryBaseMs * 2 ** i).reduce((a, b) => a + b, 0);
  const deadlineMs = Math.min(config.runtime.maxAskDeadlineMs, 3 * (tezzeret.timeoutMs * (1 + tezzeret.maxRetries) + retryWaitMs) + 30_000);
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const { descriptor, dims } = jobs[next++] as (typeof jobs)[number];
      const label = `${descriptor.blueprintId}@${dims.join('x')}`;
      let result: v1.CompileResult;
      try {
        result = await system.ask(forgeRef, leyline.CompileRequest.create({ blueprintId: descriptor.blueprintId, slot: { dims } }), leyline.CompileResult, deadlineMs);
      } catch (error) {
        result = leyline.CompileResult.create({ blueprintId: descriptor.blueprintId, ok: false, error: describeError(error) });
      }
      let detail: string;
      if (result.ok && result.alreadyStored) {
        tally.stored += 1;
        detail = `${label} already stored`;
      } else if (result.ok) {
        tally.compiled += 1;
        const fallback = result.fallbackFrom ? `, fallback from ${result.fallbackFrom}` : '';
        detail = `${label} ${result.moduleFamily}${fallback} (${(result.update?.compileMs ?? 0).toFixed(1)} ms)`;
      } else {
        tally.failed += 1;
        detail = `${label} FAILED: ${result.error}`;
        failures.push(detail);
      }
      progress.step(`compiled ${tally.compiled}  stored ${tally.stored}  failed ${tally.failed}`, detail);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(inFlight, Math.max(1, jobs.length)) }, worker));
  } finally {
    await system.shutdown(10_000);
    journal.close();
    library.close();
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `esper forge: ${tally.compiled} compiled, ${tally.stored} already stored, ${tally.failed} failed in ${seconds.toFixed(1)} s\n`,
  );
  for (const failure of failures) process.stdout.write(`  ${failure}\n`);
  return tally.failed > 0 ? 1 : 0;
}
