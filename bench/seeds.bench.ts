// Kasmina's cost to training, with 0, 1, 4 and 16 active seeds on a host with 16 slots (MLP 784 → 16 × 64 → 10,
// MNIST, Adam, batch 64, WASM backend):
//
// control_overhead: the per-step work of Kasmina's seed actors outside the seeds' own forward/backward compute —
//   one SeedStepReport (steps = 1) dispatched to each seed actor and handled (lifecycle step, G1, graft-table update,
//   SeedState published), through the actor runtime, per training step; target < 1 ms at 16 seeds.
// throughput: training samples/s with N seeds grafted (TRAINING stage: their modules run and train), against the
//   host alone in the same run.
// isolation: the cost of one isolation measurement (two gradient passes over a 64-sample probe batch), and its share
//   of training time at Kasmina's default cadence: once per `isolationEvery` (5) step reports of a seed, a report per
//   training slice (100 ms), so one measurement per 500 ms of training; target < 8 %. (Measuring every 5 *steps*
//   would cost about a quarter of training time on this host.)
import { leyline, type v1 } from '../contracts/index.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { buildModule } from '../blueprints/index.ts';
import { measureIsolation } from '../actors/kasmina/isolation.ts';
import { KernelSource, type KernelStore } from '../actors/kasmina/kernel-source.ts';
import { createSeedLifecycle } from '../actors/kasmina/lifecycle.ts';
import { seedLogic, type SeedMessage } from '../actors/kasmina/seed-actor.ts';
import { resolveKasminaConfig } from '../actors/kasmina/settings.ts';
import { loadIdxDataset } from '../actors/tolaria/data/dataset.ts';
import { resolveTolariaConfig } from '../actors/tolaria/trainer/settings.ts';
import { TrainingSurface } from '../surface/index.ts';
import { TrainingRun } from '../actors/tolaria/trainer/training-run.ts';
import type { ActorRef } from '../runtime/logic.ts';
import { ActorSystem } from '../runtime/system.ts';
import { CircuitBreaker } from '../runtime/circuit-breaker.ts';
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
    const module = buildModule(catalog.get(blueprintId)!, { depth: 1 }, { dims: [...(slot as readonly number[])] }, { rngSeed: 3 });
    return { status: 'found', module, entry: leyline.KernelCatalogEntry.create({}), fromCache: true, latencyMs: 0.3 };
  },
};

/** A board that resolves a promise once it has seen `target` updates. */
class CountingBoard extends Map<string, v1.SeedState> {
  updates = 0;
  #target = Number.POSITIVE_INFINITY;
  #resolve: (() => void) | null = null;
  override set(key: string, value: v1.SeedState): this {
    super.set(key, value);
    this.updates += 1;
    if (this.updates >= this.#target) this.#resolve?.();
    return this;
  }
  until(target: number): Promise<void> {
    this.#target = target;
    return this.updates >= target ? Promise.resolve() : new Promise((resolve) => (this.#resolve = resolve));
  }
}

export async function run(): Promise<void> {
  await selectTensorBackend('wasm');
  const dataset = loadIdxDataset();
  const settings = resolveTolariaConfig({
    limit: { train: 8_000, test: 500 },
    host: { kind: 'mlp', inputs: 784, hidden: Array.from({ length: 16 }, () => 64), classes: 10 },
    rollback: { snapshotEverySteps: 1_000_000 },
  });
  const surface = new TrainingSurface();
  const training = await TrainingRun.open(settings, { runId: 'bench-seeds', runDir: mkdtempSync(join(tmpdir(), 'esper-bench-seeds-')), dataset, grafts: surface.grafts });
  surface.probe = training;
  const kasmina = resolveKasminaConfig({ isolationEvery: 0, timings: { trainingSteps: 1_000_000 } });
  const lifecycle = createSeedLifecycle(kasmina.timings);
  const kernels = new KernelSource(store);
  const system = new ActorSystem({ name: 'bench-seeds' });
  const isolationBreaker = new CircuitBreaker('bench.isolation');

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
    const board = new CountingBoard();
    const seeds: Array<{ id: string; ref: ActorRef<SeedMessage> }> = [];
    for (let i = 0; i < count; i++) {
      const id = `s${i}`;
      const ref = system.spawn(null, seedLogic({ seedId: id, slotId: `mlp.${i}`, lifecycle, settings: kasmina, kernels, catalog, surface, board, isolationBreaker, telemetry: null }), { name: `seed-${count}-${i}` });
      system.dispatch(ref, leyline.AdaptationCommand.create({ version: 1, commandType: leyline.CommandType.COMMAND_SEED, targetSeedId: id, seedOperation: leyline.CommandSeedOperation.create({ operation: leyline.SeedOperation.SEED_OP_GERMINATE, blueprintId: 'BP009', parameters: { depth: 1 } }) }));
      seeds.push({ id, ref });
    }
    // Each seed publishes its state at start, after GERMINATE and after the attach.
    await board.until(count * 3);
    if (surface.grafts.size !== count) throw new Error(`expected ${count} grafted seeds, found ${surface.grafts.size}`);

    const rounds: number[] = [];
    for (let round = 0; round < 3; round++) {
      const start = board.updates;
      const started = performance.now();
      for (let r = 0; r < REPORTS; r++) {
        const message = leyline.SeedStepReport.create({ trainingRunId: 'bench', globalStep: BigInt(r), seeds: seeds.map(({ id }) => leyline.SeedStepStats.create({ seedId: id, steps: 1, gradNormMax: 1, lossMean: 0.5 })) });
        for (const { ref } of seeds) system.dispatch(ref, message);
      }
      await board.until(start + REPORTS * count);
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
      report(BENCH, 'isolation_overhead_share_default_cadence', (ms / (ISOLATION_EVERY * settings.sliceMs + ms)) * 100, '%', 8);
    }
    for (const { ref } of seeds) await system.stop(ref);
  }
  await system.shutdown();
  training.dispose();
}
