// The training run without actors, on the synthetic task: it learns, the tensor count stays flat across epochs,
// an injected NaN or loss explosion is rolled back to the snapshot from before the fault, the full tier takes
// over without a snapshot, and a resumed run continues from the newest good checkpoint (falling back past a
// corrupted one).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { buildModule } from '../blueprints/index.ts';
import { spiralsDataset } from '../actors/tolaria/data/synthetic.ts';
import { resolveTolariaConfig, type TolariaConfig } from '../actors/tolaria/trainer/settings.ts';
import { seedGroup, TrainingRun, type SliceResult } from '../actors/tolaria/trainer/training-run.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

const dataset = spiralsDataset({ rngSeed: 5 });
const settings = (extra: TolariaConfig = {}) =>
  resolveTolariaConfig({
    experiment: 'spirals-test',
    dataset: { kind: 'spirals' },
    optimizer: { kind: 'adam', learningRate: 0.01 },
    batchSize: 64,
    epochs: 3,
    ...extra,
  });
const open = (extra: TolariaConfig = {}, runDir = mkdtempSync(join(tmpdir(), 'esper-run-')), resume = false) =>
  TrainingRun.open(settings(extra), { runId: 'run-1', runDir, resume, dataset });

/** Trains until the epoch ends or a fault happens. */
async function untilBoundary(run: TrainingRun): Promise<SliceResult> {
  for (;;) {
    const slice = await run.trainFor(1_000);
    if (slice.kind !== 'progress') return slice;
  }
}

const values = (run: TrainingRun): number[][] => [...run.host.variables.values()].map((v) => [...v.dataSync()]);

test.serial(
  'a run learns the task; the tensor count is flat from epoch to epoch; a checkpoint closes each epoch',
  async (t) => {
    const run = await open();
    const counts: number[] = [];
    const accuracies: number[] = [];
    while (!run.finished) {
      t.is((await untilBoundary(run)).kind, 'epoch_end');
      const result = run.endEpoch();
      accuracies.push(result.validation.accuracy);
      await run.checkpoint({ validation_accuracy: result.validation.accuracy });
      counts.push(tf.memory().numTensors);
      t.true(result.slotStats.has('mlp.0') && result.slotStats.has('mlp.1'), 'slot statistics for every slot');
      t.is(result.train.steps, run.stepsPerEpoch);
    }
    t.true(accuracies[2]! > 0.85, `validation accuracy ${accuracies.join(', ')}`);
    t.true(run.testAccuracy().accuracy > 0.85);
    // Epoch 1 creates the optimizer's moments; from then on nothing accumulates.
    t.is(counts[2], counts[1], `tensor counts ${counts.join(', ')}`);
    t.is(run.globalStep, 3 * run.stepsPerEpoch);
    t.deepEqual(
      run.checkpoints.list().map((c) => c.epoch),
      [0, 1, 2],
    );
    run.dispose();
  },
);

test.serial('a NaN in the weights is caught at the next step and rolled back to the snapshot before it', async (t) => {
  const run = await open({ rollback: { snapshotEverySteps: 5 } });
  while (run.globalStep < 12) await run.trainFor(1_000, 12);
  const before = values(run);
  // The weights at step 12 are good; at step 12 a snapshot is taken, then the poison lands before the step.
  const first = [...run.host.variables.values()][0]!;
  const slice = await (async () => {
    await run.snapshot();
    tf.tidy(() => first.assign(tf.fill(first.shape, Number.NaN)));
    return run.trainFor(1_000);
  })();
  t.is(slice.kind, 'fault');
  if (slice.kind !== 'fault') return;
  t.is(slice.reason, 'nan');
  t.is(slice.rollback.tier, 'fast');
  t.true(slice.rollback.restored);
  t.false(slice.rollback.deadlineMissed);
  t.is(slice.rollback.attempts[0]?.snapshotStep, 10, 'the newest snapshot strictly before the faulty step');
  t.is(run.globalStep, 10);
  t.true(values(run).flat().every(Number.isFinite), 'no NaN left in the weights');
  t.notDeepEqual(values(run), before, 'the state of step 10, not the current one');
  t.true(slice.rollback.latencyMs < 500);
  const next = await run.trainFor(1_000, run.globalStep + 3);
  t.is(next.kind, 'progress', 'training goes on from the restored state');
  t.is(run.counters.faults, 1);
  run.dispose();
});

test.serial('a loss explosion (> 15x the running mean) is a fault too', async (t) => {
  const run = await open({ rollback: { snapshotEverySteps: 5 } });
  while (run.globalStep < 30) await run.trainFor(1_000, 30);
  const head = run.host.variables.get('head.kernel')!;
  tf.tidy(() => head.assign(tf.mul(head, 1e4)));
  const slice = await run.trainFor(1_000);
  t.is(slice.kind, 'fault');
  if (slice.kind === 'fault') {
    t.is(slice.reason, 'explosion');
    t.true(slice.rollback.restored);
    t.is(run.globalStep, 25);
  }
  run.dispose();
});

test.serial(
  'without a snapshot before the fault the full tier restores the last checkpoint; without one nothing is restored',
  async (t) => {
    const empty = await open();
    const nothing = await empty.rollback('command');
    t.false(nothing.restored);
    t.is(nothing.tier, 'full');
    t.is(nothing.attempts[0]?.status, 'nothing_to_restore');
    empty.dispose();

    const run = await open({ epochs: 2 });
    await untilBoundary(run);
    run.endEpoch();
    await run.checkpoint({});
    const saved = values(run);
    const step = run.globalStep;
    await run.trainFor(1_000, step + 5);
    run.snapshots.clear();
    const outcome = await run.rollback('command');
    t.is(outcome.tier, 'full');
    t.true(outcome.restored);
    t.deepEqual(values(run), saved);
    t.is(run.globalStep, step);
    run.dispose();
  },
);

test.serial(
  'resume continues after the newest checkpoint; a corrupted newest one falls back to the one before',
  async (t) => {
    const runDir = mkdtempSync(join(tmpdir(), 'esper-resume-'));
    const first = await open({ epochs: 3 }, runDir);
    const afterEpoch: number[][][] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      await untilBoundary(first);
      first.endEpoch();
      await first.checkpoint({});
      afterEpoch.push(values(first));
    }
    const stepAfter1 = first.globalStep;
    first.dispose();

    const resumed = await open({ epochs: 3 }, runDir, true);
    t.is(resumed.epoch, 2);
    t.is(resumed.globalStep, stepAfter1);
    t.deepEqual(values(resumed), afterEpoch[1]);
    t.deepEqual(resumed.resumed?.skipped, []);
    resumed.dispose();

    const newest = resumed.checkpoints.list().at(-1)!;
    const path = resumed.checkpoints.pathOf(newest.file);
    const bytes = readFileSync(path);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(path, bytes);
    const fallback = await open({ epochs: 3 }, runDir, true);
    t.is(fallback.epoch, 1, 'continues after epoch 0');
    t.deepEqual(values(fallback), afterEpoch[0]);
    t.is(fallback.resumed?.skipped.length, 1);
    t.regex(fallback.resumed?.skipped[0]?.message ?? '', /crc|CRC|checksum/);
    fallback.dispose();
  },
);

test('configuration errors name the field', (t) => {
  t.throws(() => resolveTolariaConfig({ batchSize: 0 }), { message: /tolaria\.batchSize must be an integer >= 1/ });
  t.throws(() => resolveTolariaConfig({ dataset: { kind: 'cifar' } as never }), { message: /tolaria\.dataset\.kind/ });
  t.throws(() => resolveTolariaConfig({ dataset: { kind: 'idx' } as never }), { message: /tolaria\.dataset\.dir/ });
  t.throws(() => resolveTolariaConfig({ host: { kind: 'mlp', inputs: 4, hidden: [], classes: 2 } }), {
    message: /tolaria\.host\.hidden/,
  });
  t.throws(() => resolveTolariaConfig({ control: { hookBudgetMs: -1 } }), {
    message: /tolaria\.control\.hookBudgetMs/,
  });
});

test('a host that does not fit the data is refused with both shapes named', async (t) => {
  await t.throwsAsync(open({ host: { kind: 'mlp', inputs: 784, hidden: [8], classes: 10 } }), {
    message: /tolaria\.host takes 784 features.*16 features/,
  });
});

test.serial(
  'a grafted seed gets its own optimizer group when it trains (the host keeps its state), and loses it when detached',
  async (t) => {
    const run = await open();
    await run.trainFor(1_000, 5);
    const hostState = JSON.stringify(
      Object.entries((await run.optimizer.captureState()).slots)
        .filter(([k]) => k.startsWith('host/'))
        .map(([k, r]) => [k, [...r.data]]),
    );
    const module = buildModule(
      leyline.BlueprintDescriptor.create({ blueprintId: 'BP009', name: 'residual_block' }),
      { depth: 1 },
      { dims: [32] },
      { rngSeed: 4 },
    );
    const before = [...module.variables.values()].map((v) => [...v.dataSync()]);
    run.grafts.attach({
      seedId: 's1',
      slotId: 'mlp.0',
      module,
      stage: leyline.SeedLifecycleStage.SEED_STAGE_TRAINING,
      alpha: 0,
    });
    await run.trainFor(1_000, 5);
    t.deepEqual(run.optimizer.groups(), ['host', seedGroup('s1')]);
    const afterHost = JSON.stringify(
      Object.entries((await run.optimizer.captureState()).slots)
        .filter(([k]) => k.startsWith('host/'))
        .map(([k, r]) => [k, [...r.data]]),
    );
    t.is(afterHost, hostState, 'adding the seed group did not touch the host group (no host step was taken since)');
    await run.trainFor(1_000, 10);
    t.notDeepEqual(
      [...module.variables.values()].map((v) => [...v.dataSync()]),
      before,
      'the seed trains',
    );
    run.grafts.detach('s1');
    await run.trainFor(1_000, 11);
    t.deepEqual(run.optimizer.groups(), ['host']);
    module.dispose();
    run.dispose();
  },
);

test.serial(
  'a snapshot keeps the seeds Kasmina recorded with their weights; a rollback hands them back and restoreSeeds puts the weights back',
  async (t) => {
    const run = await open({ rollback: { snapshotEverySteps: 5 } });
    const module = buildModule(
      leyline.BlueprintDescriptor.create({ blueprintId: 'BP009', name: 'residual_block' }),
      { depth: 1 },
      { dims: [32] },
      { rngSeed: 4 },
    );
    run.grafts.attach({
      seedId: 's1',
      slotId: 'mlp.0',
      module,
      stage: leyline.SeedLifecycleStage.SEED_STAGE_TRAINING,
      alpha: 0,
    });
    const record = leyline.SeedRecord.create({
      seedId: 's1',
      slotId: 'mlp.0',
      blueprintId: 'BP009',
      stage: leyline.SeedLifecycleStage.SEED_STAGE_TRAINING,
    });
    let asked = 0;
    const records = async () => {
      asked++;
      return [record];
    };
    while (run.globalStep < 10) await run.trainFor(1_000, 10, records);
    t.is(asked, 2, 'asked once per snapshot (steps 0 and 5), not per slice');
    const atTen = [...module.variables.values()].map((v) => [...v.dataSync()]);
    // A snapshot is taken at the start of the slice that reaches step 10; the seed trains on after it.
    await run.trainFor(1_000, 13, records);
    t.notDeepEqual(
      [...module.variables.values()].map((v) => [...v.dataSync()]),
      atTen,
    );
    const rollback = await run.rollback('command', 11);
    t.is(rollback.attempts[0]?.snapshotStep, 10);
    t.deepEqual(
      rollback.network?.seeds.map((s) => s.record.seedId),
      ['s1'],
    );
    t.deepEqual(await run.restoreSeeds(rollback.network!), []);
    t.deepEqual(
      [...module.variables.values()].map((v) => [...v.dataSync()]),
      atTen,
      'the seed as it was at step 10',
    );
    // Without Kasmina's records a snapshot says nothing of the seeds: a rollback to it leaves them as they are.
    await run.trainFor(1_000, 15);
    t.is((await run.rollback('command', 16)).network, null);
    module.dispose();
    run.dispose();
  },
);
