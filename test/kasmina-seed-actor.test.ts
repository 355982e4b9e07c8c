// A seed actor on its own, against a stand-in training run (a `SeedProbe` of the test's) and a stand-in manager: it
// shares nothing with the manager but messages — it answers each ask with its SeedState, tells the manager unasked
// when its embargo ends and how each isolation measurement came out — and it carries out PAUSE and resume as the
// lifecycle decides them, on the graft table.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { buildModule } from '../blueprints/index.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { KernelSource, type KernelStore } from '../actors/kasmina/kernel-source.ts';
import { createSeedLifecycle } from '../actors/kasmina/lifecycle.ts';
import { ISOLATION_VERDICT, seedLogic, type SeedNotice } from '../actors/kasmina/seed-actor.ts';
import { resolveKasminaConfig } from '../actors/kasmina/settings.ts';
import { statelessLogic } from '../runtime/logic.ts';
import { TrainingSurface, type IsolationMeasurement, type SeedProbe } from '../surface/index.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { testSystem } from './helpers/actors.ts';
import { EventLog } from './helpers/events.ts';

const { CommandType, SeedLifecycleStage: Stage, SeedOperation } = leyline;
const { catalog } = setUpKarn({});

test.before(async () => {
  await selectTensorBackend('cpu');
});

const store: KernelStore = {
  fetchKernel: (blueprintId, slot) => ({
    status: 'found',
    module: buildModule(
      catalog.get(blueprintId)!,
      { depth: 1 },
      { dims: [...(slot as readonly number[])] },
      { rngSeed: 1 },
    ),
    entry: leyline.KernelCatalogEntry.create({}),
    fromCache: true,
    latencyMs: 0.5,
  }),
};

/** A training run as the seed sees it: one dense slot of 8, and an isolation check that leaks when told to. */
class StandInRun implements SeedProbe {
  readonly host = { slots: [{ id: 'mlp.0', dims: [8] }], variables: new Map() };
  readonly epoch = 0;
  readonly learningRate = 0.01;
  leaks = false;
  probeLoss(): number {
    return 1;
  }
  probeIsolation(): IsolationMeasurement {
    return { leakNorm: this.leaks ? 1 : 0, hostNorm: 1, ratio: this.leaks ? 1 : 0, violated: this.leaks, ms: 1 };
  }
}

function start(probe: SeedProbe | null) {
  const system = testSystem();
  const notices = new EventLog<SeedNotice>();
  const manager = system.spawn(
    null,
    statelessLogic<SeedNotice>('manager', (notice) => notices.push(notice)),
    { name: 'manager' },
  );
  const surface = new TrainingSurface();
  surface.probe = probe;
  const settings = resolveKasminaConfig({ timings: { embargoMs: 30 }, isolationEvery: 1 });
  const seed = system.spawn(
    null,
    seedLogic({
      seedId: 's1',
      slotId: 'mlp.0',
      lifecycle: createSeedLifecycle(settings.timings),
      settings,
      kernels: new KernelSource(store),
      catalog,
      surface,
      manager,
      telemetry: null,
    }),
    { name: 'seed-s1' },
  );
  const ask = (message: v1.AdaptationCommand | v1.SeedStepReport) =>
    system.ask(seed, message, leyline.SeedState, 5_000);
  const command = (commandType: v1.CommandType, fields: Partial<v1.AdaptationCommand> = {}) =>
    leyline.AdaptationCommand.create({ version: 1, commandId: 'c', commandType, targetSeedId: 's1', ...fields });
  const germinate = command(CommandType.COMMAND_SEED, {
    seedOperation: leyline.CommandSeedOperation.create({
      operation: SeedOperation.SEED_OP_GERMINATE,
      blueprintId: 'BP009',
      parameters: { depth: 1 },
    }),
  });
  const pause = (action: string) => command(CommandType.COMMAND_PAUSE, { annotations: { action } });
  const steps = (n: number) =>
    leyline.SeedStepReport.create({
      seeds: [leyline.SeedStepStats.create({ seedId: 's1', steps: n, gradNormMax: 1, lossMean: 0.5 })],
    });
  return { system, notices, surface, seed, ask, germinate, pause, steps };
}

test('a seed answers each ask with its SeedState, and tells the manager unasked when its embargo ends', async (t) => {
  const h = start(null);
  // No training run to graft into: G3 fails, the seed is culled and embargoed.
  const culled = await h.ask(h.germinate);
  t.is(culled.stage, Stage.SEED_STAGE_EMBARGOED);
  t.is(culled.seedId, 's1');
  const notice = await h.notices.waitFor((n) => n instanceof leyline.SeedState);
  t.is(
    (notice as v1.SeedState).stage,
    Stage.SEED_STAGE_DORMANT,
    'the embargo timer moved it on: the manager hears of it',
  );
  const checkpoint = await h.system.ask(h.seed, leyline.SeedCheckpointRequest.create(), leyline.SeedCheckpoint, 5_000);
  t.deepEqual(
    [checkpoint.seeds[0]?.stage, checkpoint.states[0]?.stage],
    [Stage.SEED_STAGE_DORMANT, Stage.SEED_STAGE_DORMANT],
  );
  await h.system.shutdown();
});

test('PAUSE takes the module out of the graft table with stage and α kept and its steps not counted; resume puts it back', async (t) => {
  const h = start(new StandInRun());
  const training = await h.ask(h.germinate);
  t.like(training, { stage: Stage.SEED_STAGE_TRAINING, learningRate: 0.01, layerDepth: 1 });
  const module = h.surface.grafts.bySeed('s1')!.module;

  const paused = await h.ask(h.pause('pause'));
  t.like(paused, { stage: Stage.SEED_STAGE_TRAINING, learningRate: 0 });
  t.is(paused.metrics.paused, 1);
  t.is(h.surface.grafts.bySeed('s1'), undefined, 'out of the forward pass');
  const idle = await h.ask(h.steps(3));
  t.is(idle.metrics.steps_in_stage, 0, 'steps while paused do not count');
  t.is(
    h.notices.count((n) => n instanceof leyline.MetricPoint),
    0,
    'nor is a paused seed measured',
  );
  t.is((await h.ask(h.pause('pause'))).metrics.paused, 1, 'pausing again changes nothing');

  const resumed = await h.ask(h.pause('resume'));
  t.is(resumed.metrics.paused, 0);
  t.like(h.surface.grafts.bySeed('s1'), { module, stage: Stage.SEED_STAGE_TRAINING, alpha: 0 });
  t.is((await h.ask(h.steps(2))).metrics.steps_in_stage, 2);
  await h.system.shutdown();
});

test("each isolation measurement's verdict goes to the manager; a violation culls the seed (G1)", async (t) => {
  const run = new StandInRun();
  const h = start(run);
  await h.ask(h.germinate);
  t.is((await h.ask(h.steps(1))).stage, Stage.SEED_STAGE_TRAINING);
  const clean = await h.notices.waitFor((n) => n instanceof leyline.MetricPoint);
  t.like(clean, { name: ISOLATION_VERDICT, value: 0, attributes: { seed_id: 's1' } });
  run.leaks = true;
  const leaked = await h.ask(h.steps(1));
  t.is(leaked.stage, Stage.SEED_STAGE_EMBARGOED);
  t.is(leaked.metrics.isolation_violations, 1);
  const violation = await h.notices.waitFor((n) => n instanceof leyline.MetricPoint && n.value === 1);
  t.like(violation, { name: ISOLATION_VERDICT, attributes: { seed_id: 's1' } });
  t.is(h.surface.grafts.bySeed('s1'), undefined);
  await h.system.shutdown();
});
