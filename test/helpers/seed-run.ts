// A training run with Kasmina's seed manager beside the trainer, sharing the graft table, for seed tests.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leyline, type v1 } from '../../contracts/index.ts';
import { CommandVerifier, signCommand } from '../../contracts/command-signing.ts';
import { SignatureContext } from '../../contracts/signing.ts';
import { midpointParameters, setUpKarn, type KarnCatalogReader } from '../../actors/karn/index.ts';
import type { DynamicChildSpec } from '../../supervision/child-spec.ts';
import { resolveTamiyoConfig, tamiyoLogic, type TamiyoConfig } from '../../actors/tamiyo/index.ts';
import { buildModule } from '../../blueprints/index.ts';
import { KernelSource, type KernelStore } from '../../actors/kasmina/kernel-source.ts';
import { kasminaLogic } from '../../actors/kasmina/seed-manager-actor.ts';
import { resolveKasminaConfig, type KasminaConfig } from '../../actors/kasmina/settings.ts';
import type { Dataset } from '../../actors/tolaria/data/types.ts';
import { resolveTolariaConfig, type TolariaConfig } from '../../actors/tolaria/trainer/settings.ts';
import { TrainingSurface } from '../../surface/index.ts';
import { trainerLogic, type EpochSummary, type RunResult } from '../../actors/tolaria/trainer/trainer-actor.ts';
import type { KernelFetchResult } from '../../actors/urza/index.ts';
import { statelessLogic } from '../../runtime/logic.ts';
import { testSystem } from './actors.ts';
import { EventLog, gate } from './events.ts';

const { CommandType } = leyline;

export const secret = new SignatureContext('kasmina-seeds-test');
export const { catalog } = setUpKarn({});

/** Parameters the test kernels are built with. */
const PARAMETERS: Record<string, Record<string, number>> = {
  BP043: { scale: 20 },
  BP045: { frequency: 0.1 },
  BP009: { depth: 1 },
};

/** A kernel library that builds what it is asked for (Urza's role, without the forge). */
export const store: KernelStore = {
  fetchKernel(blueprintId, slot): KernelFetchResult {
    const descriptor = catalog.get(blueprintId)!;
    const module = buildModule(
      descriptor,
      PARAMETERS[blueprintId] ?? midpointParameters(descriptor),
      { dims: [...(slot as readonly number[])] },
      { rngSeed: 7 },
    );
    return { status: 'found', module, entry: leyline.KernelCatalogEntry.create({}), fromCache: true, latencyMs: 0.5 };
  },
};

/**
 * An under-sized MLP host (784-64-10) on 8,000 MNIST samples, with seed stages short enough to walk in a few epochs:
 * the MNIST seed tests' setting.
 */
export function mnistSeedSettings(
  experiment: string,
  epochs: number,
): { tolaria: TolariaConfig; kasmina: KasminaConfig } {
  return {
    tolaria: {
      experiment,
      dataset: { kind: 'mnist' },
      limit: { train: 8_000, test: 2_000 },
      host: { kind: 'mlp', inputs: 784, hidden: [64], classes: 10 },
      optimizer: { kind: 'adam', learningRate: 1e-3 },
      epochs,
    },
    kasmina: {
      timings: { trainingSteps: 40, shadowingSteps: 20, probationSteps: 20 },
      impactTolerance: 0.1,
      isolationEvery: 4,
    },
  };
}

export function seedCommand(
  operation: v1.SeedOperation,
  seedId: string,
  blueprintId = '',
  parameters: Record<string, number> = {},
  slotId = 'mlp.0',
): v1.AdaptationCommand {
  return leyline.AdaptationCommand.create({
    version: 1,
    commandType: CommandType.COMMAND_SEED,
    targetSeedId: seedId,
    seedOperation: leyline.CommandSeedOperation.create({ operation, blueprintId, parameters }),
    annotations: { slot_id: slotId },
  });
}

export function startSeedRun(options: {
  dataset: Dataset;
  tolaria: TolariaConfig;
  kasmina: KasminaConfig;
  backend: string;
  store?: (surface: TrainingSurface) => KernelStore;
  /** With Tamiyo's controller deciding at each boundary (its state in a temporary directory). */
  tamiyo?: TamiyoConfig;
  /** The run's folder (default: a new temporary one) and whether to continue the run saved there. */
  runDir?: string;
  resume?: boolean;
  /** The catalog Kasmina reads (default Karn's; a test's may fail). */
  catalog?: KarnCatalogReader;
  seedSpec?: DynamicChildSpec;
}) {
  const system = testSystem();
  const packets = new EventLog<v1.TelemetryPacket>();
  const telemetry = system.spawn(
    null,
    statelessLogic<v1.TelemetryPacket>('recorder', (p) => packets.push(p)),
    { name: 'telemetry' },
  );
  const surface = new TrainingSurface();
  const kasmina = system.spawn(
    null,
    kasminaLogic({
      system,
      settings: resolveKasminaConfig(options.kasmina),
      verifier: new CommandVerifier(secret),
      kernels: new KernelSource(options.store?.(surface) ?? store),
      catalog: options.catalog ?? catalog,
      surface,
      telemetry,
      ...(options.seedSpec ? { seedSpec: options.seedSpec } : {}),
    }),
    { name: 'kasmina' },
  );
  const tamiyoDir = mkdtempSync(join(tmpdir(), 'esper-tamiyo-'));
  const tamiyo = options.tamiyo
    ? system.spawn(
        null,
        tamiyoLogic({
          system,
          settings: resolveTamiyoConfig(options.tamiyo, {}),
          signing: secret,
          catalog,
          slots: () => surface.probe?.host.slots ?? [],
          stateDir: tamiyoDir,
          telemetry,
          backend: options.backend,
        }),
        { name: 'tamiyo' },
      )
    : null;
  const done = gate<RunResult>();
  const epochs = new EventLog<EpochSummary>();
  const trainer = system.spawn(
    null,
    trainerLogic({
      settings: resolveTolariaConfig({
        control: { hookBudgetMs: 10_000 },
        sliceMs: 20,
        seedReportEverySteps: 2,
        ...options.tolaria,
      }),
      runId: 'seeds',
      runDir: options.runDir ?? mkdtempSync(join(tmpdir(), 'esper-seeds-')),
      resume: options.resume ?? false,
      dataset: options.dataset,
      backend: options.backend,
      telemetry,
      tamiyo,
      kasmina,
      surface,
      monitor: { epoch: (s) => epochs.push(s), finished: done.open },
    }),
    { name: 'trainer' },
  );
  const ask = (command: v1.AdaptationCommand) => system.ask(kasmina, command, leyline.AdaptationReceipt, 5_000);
  /** A signed GERMINATE for `seedId`, answered by the manager. */
  const germinate = (seedId: string, blueprintId: string, parameters: Record<string, number> = {}, slotId = 'mlp.0') =>
    ask(
      signCommand(
        seedCommand(leyline.SeedOperation.SEED_OP_GERMINATE, seedId, blueprintId, parameters, slotId),
        secret,
      ),
    );
  const stagesOf = (seedId: string) =>
    packets.seen.flatMap((p) =>
      p.events
        .filter((e) => e.description === 'seed_stage_changed' && e.attributes?.seed_id === seedId)
        .map((e) => e.attributes?.to),
    );
  const reached = (seedId: string, stage: string, timeoutMs = 30_000) =>
    packets.waitFor(
      (p) =>
        p.events.some(
          (e) =>
            e.description === 'seed_stage_changed' && e.attributes?.seed_id === seedId && e.attributes?.to === stage,
        ),
      { timeoutMs },
    );
  return {
    system,
    packets,
    surface,
    kasmina,
    tamiyo,
    tamiyoDir,
    trainer,
    finished: done.promise,
    epochs,
    ask,
    germinate,
    stagesOf,
    reached,
  };
}
