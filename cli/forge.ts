// `esper forge`: compiles the catalog for the configured slot shapes into Urza, with a progress bar. Idempotent:
// kernels Urza already has are not compiled again, and an interrupted forge resumes from its journal.
import { leyline, type v1 } from '../contracts/index.ts';
import { describeError } from '../runtime/errors.ts';
import type { ActorRef } from '../runtime/logic.ts';
import { ActorSystem } from '../runtime/system.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import {
  forgeLogic,
  forgeSettings,
  JobJournal,
  journalPath,
  resolveTezzeretConfig,
  urzaKernelStore,
  type BlueprintSource,
  type TezzeretSettings,
} from '../actors/tezzeret/index.ts';
import { defaultUrzaRoot, importArtifact, openUrzaLibrary, type UrzaLibrary } from '../actors/urza/index.ts';
import { OonaClient, resolveOonaConfig, type OonaConfig } from '../actors/oona/index.ts';
import type { EsperConfig } from '../actors/weatherlight/index.ts';
import { signatureContextFromEnv } from '../contracts/signing.ts';
import { randomUUID } from 'node:crypto';
import { resolveConfig } from './config.ts';
import { ProgressBar } from './progress.ts';

export const FORGE_USAGE = `  forge [config.ts] [--drill] [--only BP001,BP009] [--slots 32,8x8x16] [--bus redis://host:port]
                    compile the blueprint catalog into Urza for the configured slot shapes
                    (--drill includes the quarantine-only stressors; --bus hands the jobs to the
                    Tezzeret workers on that bus, \`esper serve tezzeret\`, and stores what they send)
`;

interface ForgeArgs {
  file: string | undefined;
  drill: boolean;
  only: string[] | null;
  slots: number[][] | null;
  bus: string | null;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A flag of the random seed under its old name (`--seed`): refused, naming the new one (`--rng-seed`). */
export const renamedSeedFlag = (command: string, flag: string, now: string): UsageError =>
  new UsageError(`${command}: ${flag} is now ${now} (the random seed; a seed is a module grown in the host)`);

export function parseForgeArgs(argv: readonly string[]): ForgeArgs {
  const args: ForgeArgs = { file: undefined, drill: false, only: null, slots: null, bus: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      i += 1;
      return next;
    };
    if (arg === '--drill') args.drill = true;
    else if (arg === '--bus') args.bus = value();
    else if (arg === '--only') args.only = value().split(',').filter(Boolean);
    else if (arg === '--slots') {
      args.slots = value()
        .split(',')
        .map((shape) => shape.split('x').map(Number));
      if (
        args.slots.some(
          (dims) => (dims.length !== 1 && dims.length !== 3) || dims.some((d) => !Number.isInteger(d) || d < 1),
        )
      ) {
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

  const blueprints = [...karn.catalog.all()].filter((d) =>
    args.only ? args.only.includes(d.blueprintId) : args.drill || !d.quarantineOnly,
  );
  const jobs = blueprints.flatMap((descriptor) => slots.map((dims) => ({ descriptor, dims })));
  process.stdout.write(
    `esper forge: ${blueprints.length} blueprints × ${slots.length} slot shapes = ${jobs.length} kernels (configuration from ${source})\n`,
  );
  const tally = await forgeKernels(config, jobs, {
    bus: args.bus,
    out: process.stdout,
    catalog: karn.catalog,
    tezzeret,
  });
  process.stdout.write(
    `esper forge: ${tally.compiled} compiled, ${tally.stored} already stored, ${tally.failed} failed in ${tally.seconds.toFixed(1)} s\n`,
  );
  for (const failure of tally.failures) process.stdout.write(`  ${failure}\n`);
  return tally.failed > 0 ? 1 : 0;
}

export interface ForgeJob {
  descriptor: v1.BlueprintDescriptor;
  dims: number[];
}

export interface ForgeTally {
  compiled: number;
  stored: number;
  failed: number;
  failures: string[];
  seconds: number;
}

/** How long one kernel may take through the forge: every attempt timing out, with its retries' waits, thrice over. */
export function forgeDeadlineMs(config: EsperConfig, tezzeret: TezzeretSettings): number {
  const retryWaitMs = Array.from({ length: tezzeret.maxRetries }, (_, i) => tezzeret.retryBaseMs * 2 ** i).reduce(
    (a, b) => a + b,
    0,
  );
  return Math.min(
    config.runtime.maxAskDeadlineMs,
    3 * (tezzeret.timeoutMs * (1 + tezzeret.maxRetries) + retryWaitMs) + 30_000,
  );
}

/** Compiles `jobs` into the configured Urza library (here, or by the Tezzeret workers on `bus`), a progress line each. */
export async function forgeKernels(
  config: EsperConfig,
  jobs: readonly ForgeJob[],
  options: {
    bus: string | null;
    out: NodeJS.WritableStream & { isTTY?: boolean };
    catalog: BlueprintSource;
    tezzeret: TezzeretSettings;
  },
): Promise<ForgeTally> {
  const { catalog, tezzeret } = options;
  const library = openUrzaLibrary({ root: config.urza?.root ?? defaultUrzaRoot(config.run.varDir) });
  const deadlineMs = forgeDeadlineMs(config, tezzeret);
  let compiler: Compiler;
  try {
    compiler = options.bus
      ? await remoteCompiler({ url: options.bus, library, oona: config.oona ?? {}, deadlineMs })
      : localCompiler({
          library,
          tezzeret,
          catalog,
          varDir: config.run.varDir,
          name: config.run.name,
          runtime: config.runtime,
          deadlineMs,
        });
  } catch (error) {
    library.close();
    throw error;
  }
  try {
    // Enough asks in flight to keep every worker busy, few enough that none waits long in the queue.
    return await compileAll(jobs, compiler, {
      out: options.out,
      inFlight: options.bus ? jobs.length : tezzeret.concurrency * 2,
    });
  } finally {
    await compiler.close();
    library.close();
  }
}

/** Runs `jobs` through `compiler`, `inFlight` at a time, with a progress line per kernel; never throws for a job. */
export async function compileAll(
  jobs: readonly ForgeJob[],
  compiler: Pick<Compiler, 'compile'>,
  options: { out: NodeJS.WritableStream & { isTTY?: boolean }; inFlight: number },
): Promise<ForgeTally> {
  const tally: ForgeTally = { compiled: 0, stored: 0, failed: 0, failures: [], seconds: 0 };
  const progress = new ProgressBar(jobs.length, options.out);
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const { descriptor, dims } = jobs[next++] as ForgeJob;
      const label = `${descriptor.blueprintId}@${dims.join('x')}`;
      let result: v1.CompileResult;
      try {
        result = await compiler.compile(descriptor.blueprintId, dims);
      } catch (error) {
        result = leyline.CompileResult.create({
          blueprintId: descriptor.blueprintId,
          ok: false,
          error: describeError(error),
        });
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
        tally.failures.push(detail);
      }
      progress.step(`compiled ${tally.compiled}  stored ${tally.stored}  failed ${tally.failed}`, detail);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.inFlight, Math.max(1, jobs.length)) }, worker));
  tally.seconds = (performance.now() - started) / 1000;
  return tally;
}

/** Compiles one kernel into the library: here (the forge actor) or by the Tezzeret workers on a bus. */
export interface Compiler {
  compile(blueprintId: string, dims: number[]): Promise<v1.CompileResult>;
  close(): Promise<void>;
}

function localCompiler(options: {
  library: UrzaLibrary;
  tezzeret: TezzeretSettings;
  catalog: BlueprintSource;
  varDir: string;
  name: string;
  runtime: EsperConfig['runtime'];
  deadlineMs: number;
}): Compiler {
  const journal = new JobJournal(journalPath(options.varDir));
  const system = new ActorSystem({ name: `${options.name}-forge`, ...options.runtime });
  const forgeRef = system.spawn(
    null,
    forgeLogic(
      forgeSettings({
        system,
        config: options.tezzeret,
        catalog: options.catalog,
        store: urzaKernelStore(options.library),
        journal,
        telemetry: null,
      }),
    ),
    { name: 'forge' },
  ) as ActorRef<v1.CompileRequest>;
  return {
    compile: (blueprintId, dims) =>
      system.ask(
        forgeRef,
        leyline.CompileRequest.create({ blueprintId, slot: leyline.SlotShape.create({ dims }) }),
        leyline.CompileResult,
        options.deadlineMs,
      ),
    close: async () => {
      await system.shutdown(10_000);
      journal.close();
    },
  };
}

/**
 * Hands each job to the Tezzeret workers on the bus (oona.kernels.compile, shared group "tezzeret") and stores the
 * KernelArtifact that comes back (oona.kernels.artifacts); a failure comes back on oona.kernels.errors. This forge
 * reads both in a group of its own, so it sees every answer, and keeps only the answers to its own jobs.
 */
async function remoteCompiler(options: {
  url: string;
  library: UrzaLibrary;
  oona: OonaConfig;
  deadlineMs: number;
}): Promise<Compiler> {
  const settings = resolveOonaConfig({ ...options.oona, url: options.url }, '--bus');
  const client = new OonaClient({ settings, signing: signatureContextFromEnv(), source: 'forge' });
  if (!(await client.connect(5_000))) {
    await client.close();
    throw new Error(`esper forge: the bus at ${options.url} does not answer`);
  }
  const group = `forge-${randomUUID()}`;
  const waiting = new Map<string, (result: v1.CompileResult) => void>();
  const { kernelArtifacts, kernelErrors } = settings.streams;
  for (const stream of [kernelArtifacts, kernelErrors]) await client.store.ensureGroup(stream, group);
  client.subscribe({
    stream: kernelArtifacts,
    group,
    types: [leyline.BusMessageType.BUS_MESSAGE_TYPE_KERNEL_ARTIFACT],
    handler: (message) => {
      const artifact = message as v1.KernelArtifact;
      const done = waiting.get(artifact.jobId);
      if (!done) return;
      const saved = importArtifact(options.library, artifact);
      done(
        saved.ok
          ? leyline.CompileResult.create({
              jobId: artifact.jobId,
              blueprintId: artifact.descriptor?.blueprintId ?? '',
              ok: true,
              ...(artifact.update ? { update: artifact.update } : {}),
              moduleFamily: artifact.moduleFamily,
              fallbackFrom: artifact.tags.fallback_from ?? '',
            })
          : leyline.CompileResult.create({
              jobId: artifact.jobId,
              ok: false,
              error: `received, not stored: ${saved.error.message}`,
            }),
      );
    },
  });
  client.subscribe({
    stream: kernelErrors,
    group,
    types: [leyline.BusMessageType.BUS_MESSAGE_TYPE_KERNEL_PREFETCH_ERROR],
    handler: (message) => {
      const failure = message as v1.KernelArtifactError;
      waiting.get(failure.requestId)?.(
        leyline.CompileResult.create({
          jobId: failure.requestId,
          blueprintId: failure.blueprintId,
          ok: false,
          error: failure.reason,
        }),
      );
    },
  });
  return {
    compile(blueprintId, dims) {
      const jobId = `forge-${randomUUID()}`;
      return new Promise<v1.CompileResult>((resolvePromise, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(jobId);
          reject(
            new Error(
              `no answer from the Tezzeret workers within ${options.deadlineMs} ms (is \`esper serve tezzeret\` running?)`,
            ),
          );
        }, options.deadlineMs);
        waiting.set(jobId, (result) => {
          clearTimeout(timer);
          waiting.delete(jobId);
          resolvePromise(result);
        });
        const sent = client.publish(
          leyline.CompileRequest.create({ jobId, blueprintId, slot: leyline.SlotShape.create({ dims }) }),
        );
        if (!sent.ok)
          waiting.get(jobId)?.(
            leyline.CompileResult.create({ jobId, blueprintId, ok: false, error: `not sent: ${sent.detail}` }),
          );
      });
    },
    close: () => client.close(),
  };
}
