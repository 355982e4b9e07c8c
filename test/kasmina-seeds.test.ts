// Seeds in a real training run: the trainer and the seed manager share the graft table; a signed GERMINATE walks a
// seed through every stage to FOSSILIZED with real training (its weights change and it changes the host's output);
// a NaN-injecting seed fails G1 and goes CULLED → EMBARGOED → RESETTING → DORMANT, leaving no tensors behind;
// unsigned and replayed commands change nothing.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leyline } from '../contracts/index.ts';
import { signCommand } from '../contracts/command-signing.ts';
import { spiralsDataset } from '../actors/tolaria/data/synthetic.ts';
import { GraftTable, type TrainingSurface } from '../surface/index.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';
import { catalog, secret, seedCommand, startSeedRun } from './helpers/seed-run.ts';
import { slotDepth } from '../actors/kasmina/seed-actor.ts';
import { buildModule, type BlueprintModule } from '../blueprints/index.ts';
import type { KernelStore } from '../actors/kasmina/kernel-source.ts';
import type { TrainingRun } from '../actors/tolaria/trainer/training-run.ts';
import type { TolariaConfig } from '../actors/tolaria/trainer/settings.ts';

const { CommandType, SeedLifecycleStage: Stage, SeedOperation } = leyline;

test.before(async () => {
  await selectTensorBackend('cpu');
});

const dataset = spiralsDataset({ rngSeed: 5 });
const start = (
  epochs: number,
  store?: Parameters<typeof startSeedRun>[0]['store'],
  tolaria: Partial<TolariaConfig> = {},
  run: { runDir?: string; resume?: boolean } = {},
) =>
  startSeedRun({
    ...(store ? { store } : {}),
    ...run,
    dataset,
    backend: 'cpu',
    tolaria: {
      experiment: 'seeds',
      dataset: { kind: 'spirals' },
      optimizer: { kind: 'adam', learningRate: 0.01 },
      epochs,
      ...tolaria,
    },
    kasmina: {
      timings: {
        trainingSteps: 20,
        blending: { kind: 'linear', totalSteps: 10 },
        shadowingSteps: 10,
        probationSteps: 10,
        embargoMs: 150,
      },
      impactTolerance: 0.25,
      isolationEvery: 2,
    },
  });

test.serial(
  'a germinated seed trains through every stage to FOSSILIZED and then changes the host output',
  async (t) => {
    const h = start(8);
    await h.epochs.waitFor((e) => e.epoch === 0);
    const receipt = await h.germinate('grow-1', 'BP009', { depth: 1 });
    t.true(receipt.applied, receipt.reason);
    const graft = await (async () => {
      await h.packets.waitFor((p) => p.events.some((e) => e.attributes?.to === 'TRAINING'));
      return h.surface.grafts.bySeed('grow-1')!;
    })();
    const weightsAtGraft = [...graft.module.variables.values()].map((v) => [...v.dataSync()]);
    await h.packets.waitFor(
      (p) => p.events.some((e) => e.description === 'seed_stage_changed' && e.attributes?.to === 'FOSSILIZED'),
      { timeoutMs: 60_000 },
    );
    t.deepEqual(h.stagesOf('grow-1'), [
      'GERMINATED',
      'TRAINING',
      'BLENDING',
      'SHADOWING',
      'PROBATIONARY',
      'FOSSILIZED',
    ]);
    const fossil = h.surface.grafts.bySeed('grow-1')!;
    t.is(fossil.stage, Stage.SEED_STAGE_FOSSILIZED);
    t.is(fossil.alpha, 1);
    t.notDeepEqual(
      [...fossil.module.variables.values()].map((v) => [...v.dataSync()]),
      weightsAtGraft,
      'the seed trained',
    );
    // Its output is part of the host's now: the host without it computes something else.
    const probe = h.surface.probe!;
    t.not(probe.probeLoss(h.surface.grafts), probe.probeLoss(new GraftTable()));
    const gates = h.packets.seen.flatMap((p) =>
      p.events.filter((e) => e.description === 'gate_event').map((e) => e.attributes?.gate),
    );
    for (const name of ['G0_SANITY', 'G3_INTERFACE', 'G2_STABILITY', 'G4_SYSTEM_IMPACT'])
      t.true(gates.includes(name), name);
    // Fossilized: the seed's weights joined the host's optimizer group (merged at the next slice).
    const run = h.surface.probe as TrainingRun;
    const fossilEpoch = h.epochs.seen.at(-1)?.epoch ?? 0;
    await h.epochs.waitFor((e) => e.epoch > fossilEpoch);
    t.deepEqual(run.optimizer.groups(), ['host']);
    t.true([...fossil.module.variables.values()].every((v) => run.optimizer.groupVariables().get('host')!.includes(v)));
    // The SeedState Kasmina hands Tolaria is filled in full.
    const states = (
      await h.ask(
        leyline.AdaptationCommand.create({
          version: 1,
          commandId: 'look',
          commandType: CommandType.COMMAND_UNKNOWN,
          annotations: { mode: 'no_decision' },
        }),
      )
    ).seedStates;
    t.like(states[0], { seedId: 'grow-1', stage: Stage.SEED_STAGE_FOSSILIZED, layerDepth: 1, learningRate: 0.01 });
    const state = leyline.SeedState.create(states[0]!);
    t.true(Math.abs(state.riskScore - 0.3) < 1e-6, 'BP009 risk from Karn');
    t.true(state.ageEpochs >= 1 && state.gradientNorm > 0);
    t.is(state.metrics.alpha, 1);
    const trainable = [...fossil.module.variables.values()].filter((v) => v.trainable).reduce((n, v) => n + v.size, 0);
    t.true(trainable > 0);
    t.is(state.metrics.parameters, trainable, 'the trainable weights the seed added to the host');
    const result = await h.finished;
    t.is(result.status, 'completed');
    // At every control boundary Tolaria's no-op reaches Kasmina: seed states come back, and Kasmina reports each seed.
    t.deepEqual(h.epochs.seen.at(-1)!.seedsByStage, { fossilized: 1 });
    const seedPacket = await h.packets.waitFor(
      (p) =>
        p.packetId.startsWith('kasmina-seed-grow-1-') &&
        p.metrics.some((m) => m.name === 'kasmina.seed.stage' && m.value === Stage.SEED_STAGE_FOSSILIZED),
    );
    t.is(seedPacket.systemHealth?.summary, 'nominal');
    t.true(
      seedPacket.events.some(
        (e) =>
          e.description === 'seed_stage' && e.attributes?.stage === 'FOSSILIZED' && e.attributes?.alpha === '1.0000',
      ),
    );
    const global = await h.packets.waitFor(
      (p) =>
        p.packetId.startsWith('kasmina-global-') &&
        p.metrics.some((m) => m.name === 'kasmina.seeds.active' && m.value === 1),
    );
    t.truthy(global);
    await h.system.shutdown();
  },
);

test.serial(
  'a NaN-injecting seed fails G1 and goes CULLED → EMBARGOED → RESETTING → DORMANT, freeing its tensors',
  async (t) => {
    const h = start(6);
    await h.epochs.waitFor((e) => e.epoch === 0);
    const before = tf.memory().numTensors;
    t.true((await h.germinate('bad-1', 'BP045', { frequency: 0.1 })).applied);
    await h.packets.waitFor(
      (p) => p.events.some((e) => e.attributes?.seed_id === 'bad-1' && e.attributes?.to === 'DORMANT'),
      { timeoutMs: 30_000 },
    );
    t.deepEqual(h.stagesOf('bad-1'), ['GERMINATED', 'TRAINING', 'CULLED', 'EMBARGOED', 'RESETTING', 'DORMANT']);
    const failure = h.packets.seen
      .flatMap((p) => p.events)
      .find((e) => e.description === 'gate_failure' && e.attributes?.seed_id === 'bad-1');
    t.is(failure?.attributes?.gate, 'G1_GRADIENT_HEALTH');
    t.is(h.surface.grafts.bySeed('bad-1'), undefined, 'out of the forward pass');
    t.true(tf.memory().numTensors <= before + 2, `tensors ${before} → ${tf.memory().numTensors}`);
    await h.system.stop(h.trainer);
    await h.system.shutdown();
  },
);

test.serial('unsigned, replayed and malformed commands change nothing and are answered with the reason', async (t) => {
  const h = start(50);
  await h.epochs.waitFor((e) => e.epoch === 0);
  const unsigned = await h.ask(seedCommand(SeedOperation.SEED_OP_GERMINATE, 's', 'BP009', { depth: 1 }));
  t.deepEqual([unsigned.applied, unsigned.reason], [false, 'missing_signature']);
  const signed = signCommand(seedCommand(SeedOperation.SEED_OP_CULL, 'ghost'), secret);
  t.deepEqual(((r) => [r.applied, r.reason])(await h.ask(signed)), [false, 'unknown seed ghost']);
  t.deepEqual(((r) => [r.applied, r.reason])(await h.ask(signed)), [false, 'nonce_replayed']);
  const noSlot = signCommand(
    leyline.AdaptationCommand.create({
      version: 1,
      commandType: CommandType.COMMAND_SEED,
      targetSeedId: 'x',
      seedOperation: leyline.CommandSeedOperation.create({
        operation: SeedOperation.SEED_OP_GERMINATE,
        blueprintId: 'BP009',
      }),
    }),
    secret,
  );
  t.deepEqual(((r) => [r.applied, r.reason])(await h.ask(noSlot)), [false, 'annotation slot_id is empty']);
  t.is(h.surface.grafts.size, 0);
  await h.packets.waitFor((p) =>
    p.events.some(
      (e) => e.description === 'command_rejected' && e.attributes?.reason === 'annotation slot_id is empty',
    ),
  );
  t.is(h.packets.seen.filter((p) => p.events.some((e) => e.description === 'command_rejected')).length, 4);
  await h.system.stop(h.trainer);
  await h.system.shutdown();
});

test.serial(
  '50 full seed lifecycles (germinate → cull → embargo → reset) leave the tensor count at its baseline',
  async (t) => {
    const h = start(400);
    const first = await h.epochs.waitFor((e) => e.epoch === 1);
    for (let i = 0; i < 50; i++) {
      const seedId = `cycle-${i}`;
      t.true((await h.germinate(seedId, 'BP009', { depth: 1 })).applied);
      await h.reached(seedId, 'TRAINING');
      t.true((await h.ask(signCommand(seedCommand(SeedOperation.SEED_OP_CULL, seedId), secret))).applied);
      await h.reached(seedId, 'DORMANT');
    }
    t.is(h.surface.grafts.size, 0);
    // Two epoch boundaries later every slice has seen the table without seeds (optimizer groups removed).
    const last = h.epochs.seen.at(-1)!.epoch;
    const after = await h.epochs.waitFor((e) => e.epoch >= last + 2, { timeoutMs: 30_000 });
    t.is(
      after.liveTensors,
      first.liveTensors,
      `tensors at epoch ${first.epoch}: ${first.liveTensors}, at epoch ${after.epoch}: ${after.liveTensors}`,
    );
    await h.system.stop(h.trainer);
    await h.system.shutdown();
  },
);

test.serial('the exploding-gradient stressor (BP043) is caught by G1 on its gradient norm and culled', async (t) => {
  const h = start(6);
  await h.epochs.waitFor((e) => e.epoch === 0);
  t.true((await h.germinate('boom', 'BP043', { scale: 20 })).applied);
  await h.reached('boom', 'EMBARGOED');
  t.deepEqual(h.stagesOf('boom').slice(0, 4), ['GERMINATED', 'TRAINING', 'CULLED', 'EMBARGOED']);
  const failure = h.packets.seen
    .flatMap((p) => p.events)
    .find((e) => e.description === 'gate_failure' && e.attributes?.seed_id === 'boom');
  t.is(failure?.attributes?.gate, 'G1_GRADIENT_HEALTH');
  t.regex(failure?.attributes?.reason ?? '', /seed gradient norm .* exceeds 1000/);
  await h.system.stop(h.trainer);
  await h.system.shutdown();
});

test.serial(
  'leaky seeds are culled on measured isolation; their slot stays embargoed; three violations open the isolation breaker and stop new grafts',
  async (t) => {
    // A kernel that shares the host's dense1 weights: the host trains through it.
    const leakyStore = (surface: TrainingSurface): KernelStore => ({
      fetchKernel(blueprintId, slot) {
        const honest = buildModule(
          catalog.get('BP009')!,
          { depth: 1 },
          { dims: [...(slot as readonly number[])] },
          { rngSeed: 3 },
        );
        const shared = surface.probe!.host.variables.get('dense1.kernel')!;
        const module: BlueprintModule = {
          ...honest,
          blueprintId,
          variables: honest.variables,
          apply: (x) => tf.add(x, tf.mul(0.1, tf.matMul(x as tf.Tensor2D, shared))),
          dispose: () => honest.dispose(),
        };
        return {
          status: 'found',
          module,
          entry: leyline.KernelCatalogEntry.create({}),
          fromCache: true,
          latencyMs: 0.5,
        };
      },
    });
    const h = start(200, leakyStore);
    await h.epochs.waitFor((e) => e.epoch === 0);
    const germinate = (seedId: string, slotId: string) => h.germinate(seedId, 'BP001', {}, slotId);
    t.true((await germinate('leak-1', 'mlp.0')).applied);
    await h.reached('leak-1', 'EMBARGOED');
    const failure = h.packets.seen
      .flatMap((p) => p.events)
      .find((e) => e.description === 'gate_failure' && e.attributes?.seed_id === 'leak-1');
    t.is(failure?.attributes?.reason, 'gradient isolation violations present');
    t.true(
      h.packets.seen.some((p) =>
        p.events.some((e) => e.description === 'rollback_ready' && e.attributes?.seed_id === 'leak-1'),
      ),
    );
    const refused = await germinate('other', 'mlp.0');
    t.deepEqual(
      [refused.applied, refused.reason],
      [false, 'slot mlp.0 is under embargo (seed leak-1 was culled there)'],
    );
    t.true((await germinate('leak-2', 'mlp.1')).applied);
    await h.reached('leak-2', 'EMBARGOED');
    await h.reached('leak-1', 'DORMANT');
    t.true((await germinate('leak-3', 'mlp.0')).applied, 'the slot is open again once the culled seed is DORMANT');
    await h.reached('leak-3', 'EMBARGOED');
    const blocked = await germinate('good', 'mlp.1');
    t.deepEqual([blocked.applied, blocked.reason], [false, 'isolation breaker open: no new grafts until it closes']);
    await h.system.stop(h.trainer);
    await h.system.shutdown();
  },
);

test.serial(
  'PAUSE takes a seed out of the forward pass without changing its stage; resume puts it back and it goes on',
  async (t) => {
    const h = start(200);
    await h.epochs.waitFor((e) => e.epoch === 0);
    t.true((await h.germinate('p1', 'BP009', { depth: 1 })).applied);
    await h.reached('p1', 'TRAINING');
    const pause = (action: string) =>
      h.ask(
        signCommand(
          leyline.AdaptationCommand.create({
            version: 1,
            commandType: CommandType.COMMAND_PAUSE,
            targetSeedId: 'p1',
            annotations: { action },
          }),
          secret,
        ),
      );
    t.true((await pause('pause')).applied);
    await h.packets.waitFor((p) =>
      p.events.some((e) => e.description === 'seed_paused' && e.attributes?.seed_id === 'p1'),
    );
    t.is(h.surface.grafts.bySeed('p1'), undefined, 'out of the forward pass');
    // Two whole epochs (43 steps each, more than the 20 TRAINING steps) go by without the seed advancing.
    const now = h.epochs.seen.at(-1)!.epoch;
    await h.epochs.waitFor((e) => e.epoch >= now + 2);
    t.deepEqual(h.stagesOf('p1'), ['GERMINATED', 'TRAINING']);
    t.true((await pause('resume')).applied);
    await h.packets.waitFor((p) =>
      p.events.some((e) => e.description === 'seed_resumed' && e.attributes?.seed_id === 'p1'),
    );
    t.is(h.surface.grafts.bySeed('p1')?.stage, Stage.SEED_STAGE_TRAINING);
    await h.reached('p1', 'BLENDING');
    const again = await pause('resume');
    t.true(again.applied, 'routed to the seed, which refuses it');
    await h.packets.waitFor((p) =>
      p.events.some((e) => e.description === 'rejected' && e.attributes?.reason === 'already running'),
    );
    await h.system.stop(h.trainer);
    await h.system.shutdown();
  },
);

test.serial(
  'COMMAND_EMERGENCY culls every seed on trial at once, with a CRITICAL emergency_cleanup event',
  async (t) => {
    const h = start(200);
    await h.epochs.waitFor((e) => e.epoch === 0);
    for (const [seedId, slotId] of [
      ['e1', 'mlp.0'],
      ['e2', 'mlp.1'],
    ] as const) {
      t.true((await h.germinate(seedId, 'BP009', { depth: 1 }, slotId)).applied);
      await h.reached(seedId, 'TRAINING');
    }
    const receipt = await h.ask(
      signCommand(leyline.AdaptationCommand.create({ version: 1, commandType: CommandType.COMMAND_EMERGENCY }), secret),
    );
    t.deepEqual([receipt.applied, receipt.reason], [true, 'culled 2']);
    const packet = await h.packets.waitFor((p) => p.events.some((e) => e.description === 'emergency_cleanup'));
    t.is(packet.level, leyline.TelemetryLevel.TELEMETRY_LEVEL_CRITICAL);
    await h.reached('e1', 'EMBARGOED');
    await h.reached('e2', 'EMBARGOED');
    t.is(h.surface.grafts.size, 0);
    await h.system.stop(h.trainer);
    await h.system.shutdown();
  },
);

test.serial(
  'a seed whose module throws is contained: the slot bypasses it, the seed is culled, training goes on',
  async (t) => {
    const throwingStore = (): KernelStore => ({
      fetchKernel(blueprintId, slot) {
        const honest = buildModule(
          catalog.get('BP009')!,
          { depth: 1 },
          { dims: [...(slot as readonly number[])] },
          { rngSeed: 3 },
        );
        let calls = 0;
        const module: BlueprintModule = {
          ...honest,
          blueprintId,
          variables: honest.variables,
          apply: (x, options) => {
            calls += 1;
            if (calls > 5) throw new Error('kernel exploded on call 6');
            return honest.apply(x, options);
          },
          dispose: () => honest.dispose(),
        };
        return {
          status: 'found',
          module,
          entry: leyline.KernelCatalogEntry.create({}),
          fromCache: true,
          latencyMs: 0.5,
        };
      },
    });
    const h = start(3, throwingStore);
    await h.epochs.waitFor((e) => e.epoch === 0);
    t.true((await h.germinate('thrower', 'BP001')).applied);
    await h.reached('thrower', 'EMBARGOED');
    const failure = h.packets.seen
      .flatMap((p) => p.events)
      .find((e) => e.description === 'gate_failure' && e.attributes?.seed_id === 'thrower');
    t.is(failure?.attributes?.reason, 'the module threw in the forward pass: kernel exploded on call 6');
    t.is(h.surface.grafts.bySeed('thrower'), undefined);
    const result = await h.finished;
    t.is(result.status, 'completed', 'the trainer never failed');
    t.true(h.epochs.seen.every((e) => e.failedReason === null));
    await h.system.shutdown();
  },
);

test("a seed's layer depth is its slot's place in the host's forward order, so Tamiyo finds its slot in a CNN too", (t) => {
  const cnn = [{ id: 'conv.0' }, { id: 'conv.1' }, { id: 'dense.0' }];
  t.is(slotDepth('dense.0', cnn), 3, 'not 1, which is conv.0');
  t.is(slotDepth('conv.1', cnn), 2);
  t.is(slotDepth('mlp.1'), 2, 'without the host, the id says');
  t.is(slotDepth('odd'), 0);
});

/**
 * A kernel library whose BP001 module gives NaN from its first call, without using its weights: the loss of the first
 * step with it is a fault, while its own gradients are none (no gate culls it).
 */
const nanStore = (): KernelStore => ({
  fetchKernel(blueprintId, slot) {
    const honest = buildModule(
      catalog.get('BP009')!,
      { depth: 1 },
      { dims: [...(slot as readonly number[])] },
      { rngSeed: 3 },
    );
    const module: BlueprintModule =
      blueprintId === 'BP001'
        ? {
            ...honest,
            blueprintId,
            variables: honest.variables,
            apply: (x) => tf.mul(x, Number.NaN),
            dispose: () => honest.dispose(),
          }
        : honest;
    return { status: 'found', module, entry: leyline.KernelCatalogEntry.create({}), fromCache: true, latencyMs: 0.5 };
  },
});

test.serial(
  "a fault's rollback brings the seeds back to the snapshot: a seed germinated after it leaves the host (not culled); training goes on",
  async (t) => {
    const h = start(4, nanStore, { rollback: { snapshotEverySteps: 5 } });
    await h.epochs.waitFor((e) => e.epoch === 0);
    t.true((await h.germinate('late', 'BP001')).applied);
    // The first step with it is a fault: rolled back to a snapshot taken before it (a snapshot is taken before a
    // slice's first step, so none taken strictly before that step has `late`).
    const rollback = await h.packets.waitFor((p) => p.events.some((e) => e.description === 'seeds_restored'), {
      timeoutMs: 30_000,
    });
    const restored = rollback.events.find((e) => e.description === 'seeds_restored')!;
    t.regex(restored.attributes?.why ?? '', /^rollback \(nan\) to step \d+$/);
    t.like(restored.attributes, { seeds: '', removed: 'late', lost: '', misfits: '' });
    t.is(h.surface.grafts.bySeed('late'), undefined, 'out of the forward pass');
    t.false(h.stagesOf('late').includes('CULLED'), 'removed, not culled');
    const result = await h.finished;
    t.is(result.status, 'completed');
    t.deepEqual(h.epochs.seen.at(-1)!.seeds, []);
    t.true(Number.isFinite(h.epochs.seen.at(-1)!.trainLoss));
    await h.system.shutdown();
  },
);

/** The grown network's logits on a fixed batch of validation samples (the live graft table). */
function predictions(surface: TrainingSurface): number[][] {
  const run = surface.probe as TrainingRun;
  const batch = run.probeBatch(32);
  try {
    return tf.tidy(() => run.host.apply(batch.x, { grafts: run.grafts }).arraySync() as number[][]);
  } finally {
    tf.dispose([batch.x, batch.y]);
  }
}

test.serial(
  'a run resumed from its checkpoint predicts on a fixed batch exactly as the network that saved it (host and seed on trial)',
  async (t) => {
    const runDir = mkdtempSync(join(tmpdir(), 'esper-seeds-resume-'));
    const first = start(2, undefined, {}, { runDir });
    await first.epochs.waitFor((e) => e.epoch === 0);
    t.true((await first.germinate('kept', 'BP009', { depth: 1 })).applied);
    t.is((await first.finished).status, 'completed');
    const stage = first.surface.grafts.bySeed('kept')?.stage;
    t.true(stage !== undefined && stage !== Stage.SEED_STAGE_GERMINATED, 'the seed trained before the checkpoint');
    const saved = predictions(first.surface);
    await first.system.shutdown();

    // The same number of epochs: the resumed run restores the network and has nothing left to train.
    const resumed = start(2, undefined, {}, { runDir, resume: true });
    t.is((await resumed.finished).status, 'completed');
    t.like(resumed.surface.grafts.bySeed('kept'), { stage });
    t.deepEqual(predictions(resumed.surface), saved);
    await resumed.system.shutdown();
  },
);

test.serial(
  'SeedRestore brings Kasmina to the records given: a listed seed takes its record (stage, α), an unlisted one leaves the host, a missing one comes back',
  async (t) => {
    const h = start(30);
    await h.epochs.waitFor((e) => e.epoch === 0);
    t.true((await h.germinate('a', 'BP009', { depth: 1 })).applied);
    t.true((await h.germinate('b', 'BP009', { depth: 1 }, 'mlp.1')).applied);
    const records = await h.system.ask(
      h.kasmina,
      leyline.SeedCheckpointRequest.create({}),
      leyline.SeedCheckpoint,
      5_000,
    );
    t.deepEqual(
      records.seeds.map((s) => s.seedId),
      ['a', 'b'],
    );
    const a = leyline.SeedRecord.create({ ...records.seeds[0]!, stage: Stage.SEED_STAGE_BLENDING, alpha: 0.25 });
    const c = leyline.SeedRecord.create({
      ...records.seeds[0]!,
      seedId: 'c',
      slotId: 'mlp.1',
      stage: Stage.SEED_STAGE_TRAINING,
      alpha: 0,
    });
    const answer = await h.system.ask(
      h.kasmina,
      leyline.SeedRestore.create({ seeds: [a, c] }),
      leyline.SeedCheckpoint,
      5_000,
    );
    t.deepEqual(
      answer.seeds.map((s) => [s.seedId, s.stage]),
      [
        ['a', Stage.SEED_STAGE_BLENDING],
        ['c', Stage.SEED_STAGE_TRAINING],
      ],
    );
    t.deepEqual(answer.states.map((s) => s.seedId).sort(), ['a', 'c']);
    t.like(h.surface.grafts.bySeed('a'), { stage: Stage.SEED_STAGE_BLENDING, alpha: 0.25 });
    t.is(h.surface.grafts.bySeed('b'), undefined, 'b left the host');
    t.like(h.surface.grafts.bySeed('c'), { stage: Stage.SEED_STAGE_TRAINING, slotId: 'mlp.1' });
    await h.system.stop(h.trainer);
    await h.system.shutdown();
  },
);
