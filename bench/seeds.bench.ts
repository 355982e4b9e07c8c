// Kasmina's cost to training, with 0, 1, 4 and 16 active seeds on a host with 16 slots (MLP 784 → 16 × 64 → 10,
// MNIST, Adam, batch 64, WASM backend):
//
// control_overhead: the per-step work of Kasmina's seed actors outside the seeds' own forward/backward compute —
//   one SeedStepReport (steps = 1) handed to each seed actor and handled (lifecycle step, G1, graft-table update,
//   SeedState published and answered), through the actor runtime, per training step; target < 1 ms at 16 seeds.
// throughput: training samples/s with N seeds grafted (TRAINING stage: their modules run and train), against the
//   host alone in the same run.
// isolation: the cost of one isolation measurement (two gradient passes over a 64-sample probe batch), and its share
//   of training time at Kasmina's default cadence: once per `isolationEvery` (5) step reports of a seed, a report per
//   training slice (100 ms), so one measurement per 500 ms of training; target < 8 %. (Measuring every 5 *steps*
//   would cost about a quarter of training time on this host.)
import { leyline } from '../contracts/index.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { buildModule } from '../blueprints/index.ts';
import { KernelSource, resolveKasminaConfig, type KernelStore } from '../actors/kasmina/index.ts';
import { createSeedLifecycle } from '../actors/kasmina/lifecycle.ts';
import { seedLogic, type SeedMessage } from '../actors/kasmina/seed-actor.ts';
import { loadIdxDataset, resolveTolariaConfig } from '../actors/tolaria/index.ts';
import { measureIsolation, TrainingSurface } from '../surface/index.ts';
import { TrainingRun } from '../actors/tolaria/trainer/training-run.ts';
import type { ActorRef } from '../runtime/logic.ts';
import { ActorSystem } from '../runtime/system.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, report } from './report.ts';

const BENCH = 'seeds';
const SEED_COUNTS = [0, 1, 4, 16];
const REPORTS = 400;
const STEPS = 120;
const ISOLATION_EVERY = 5;

const { catalog } = setUpKarn({});
const store: KernelStore = {
  fetchKernel(blueprintId, slot) {
    const module = buildModule(
      catalog.get(blueprintId)!,
      { depth: 1 },
      { dims: [...(slot as readonly number[])] },
      { rngSeed: 3 },
    );
    return { status: 'found', module, entry: leyline.KernelCatalogEntry.create({}), fromCache: true, latencyMs: 0.3 };
  },
};

/** How long the bench waits on a seed's answer. */
const ANSWER_MS = 60_000;

export async function run(): Promise<void> {
  await selectTensorBackend('wasm');
  const dataset = loadIdxDataset();
  const settings = resolveTolariaConfig({
    limit: { train: 8_000, test: 500 },
    host: { kind: 'mlp', inputs: 784, hidden: Array.from({ length: 16 }, () => 64), classes: 10 },
    rollback: { snapshotEverySteps: 1_000_000 },
  });
  const surface = new TrainingSurface();
  const training = await TrainingRun.open(settings, {
    runId: 'bench-seeds',
    runDir: mkdtempSync(join(tmpdir(), 'esper-bench-seeds-')),
    dataset,
    grafts: surface.grafts,
  });
  surface.probe = training;
  const kasmina = resolveKasminaConfig({ isolationEvery: 0, timings: { trainingSteps: 1_000_000 } });
  const lifecycle = createSeedLifecycle(kasmina.timings);
  const kernels = new KernelSource(store);
  const system = new ActorSystem({ name: 'bench-seeds' });

  const throughput = async (): Promise<number> => {
    await training.trainFor(10_000, training.globalStep + 5);
    const started = performance.now();
    const target = training.globalStep + STEPS;
    while (training.globalStep < target) {
      const slice = await training.trainFor(10_000, target);
      if (slice.kind === 'epoch_end') training.endEpoch();
    }
    return (STEPS * settings.batchSize) / ((performance.now() - started) / 1000);
  };

  await throughput(); // warm-up: kernels, optimizer slots
  const hostOnly = median([await throughput(), await throughput(), await throughput()]);
  for (const count of SEED_COUNTS) {
    const seeds: Array<{ id: string; ref: ActorRef<SeedMessage> }> = [];
    const germinated: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const id = `s${i}`;
      const ref = system.spawn(
        null,
        seedLogic({
          seedId: id,
          slotId: `mlp.${i}`,
          lifecycle,
          settings: kasmina,
          kernels,
          catalog,
          surface,
          manager: null,
          telemetry: null,
        }),
        { name: `seed-${count}-${i}` },
      );
      const germinate = leyline.AdaptationCommand.create({
        version: 1,
        commandType: leyline.CommandType.COMMAND_SEED,
        targetSeedId: id,
        seedOperation: leyline.CommandSeedOperation.create({
          operation: leyline.SeedOperation.SEED_OP_GERMINATE,
          blueprintId: 'BP009',
          parameters: { depth: 1 },
        }),
      });
      germinated.push(system.ask(ref, germinate, leyline.SeedState, ANSWER_MS));
      seeds.push({ id, ref });
    }
    await Promise.all(germinated);
    if (surface.grafts.size !== count) throw new Error(`expected ${count} grafted seeds, found ${surface.grafts.size}`);

    const rounds: number[] = [];
    for (let round = 0; round < 3; round++) {
      const answers: Promise<unknown>[] = [];
      const started = performance.now();
      for (let r = 0; r < REPORTS; r++) {
        const message = leyline.SeedStepReport.create({
          trainingRunId: 'bench',
          globalStep: BigInt(r),
          seeds: seeds.map(({ id }) =>
            leyline.SeedStepStats.create({ seedId: id, steps: 1, gradNormMax: 1, lossMean: 0.5 }),
          ),
        });
        for (const { ref } of seeds) answers.push(system.ask(ref, message, leyline.SeedState, ANSWER_MS));
      }
      await Promise.all(answers);
      rounds.push((performance.now() - started) / REPORTS);
    }
    report(BENCH, `control_overhead_per_step_${count}_seeds`, count === 0 ? 0 : median(rounds), 'ms', 1);

    const withSeeds = await throughput();
    report(BENCH, `train_throughput_${count}_seeds_vs_host_only`, withSeeds, 'samples/s', hostOnly);
    if (count === 1) {
      const costs: number[] = [];
      for (let i = 0; i < 15; i++) {
        const batch = training.probeBatch();
        costs.push(measureIsolation({ host: training.host, grafts: surface.grafts, seedId: 's0', batch }).ms);
        batch.x.dispose();
        batch.y.dispose();
      }
      const ms = median(costs.slice(3));
      report(BENCH, 'isolation_measurement_ms', ms, 'ms');
      report(
        BENCH,
        'isolation_overhead_share_default_cadence',
        (ms / (ISOLATION_EVERY * settings.sliceMs + ms)) * 100,
        '%',
        8,
      );
    }
    for (const { ref } of seeds) await system.stop(ref);
  }
  await system.shutdown();
  training.dispose();
}
