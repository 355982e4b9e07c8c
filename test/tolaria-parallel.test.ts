// Data-parallel training (actors/tolaria/parallel/): shards and layouts as plain logic; two replicas give the
// weights one gives (within float tolerance); a grafted seed trains on every replica; a replica that dies is
// replaced while the training thread computes its shard, with the very numbers the replica would have given; a
// resumed two-replica run ends where an uninterrupted one does.
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { buildModule, type BlueprintModule } from '../blueprints/index.ts';
import { Batcher } from '../actors/tolaria/data/batches.ts';
import { spiralsDataset } from '../actors/tolaria/data/synthetic.ts';
import { buildHost, type HostConfig, type HostModel } from '../actors/tolaria/host/host-model.ts';
import { GroupedOptimizer, HOST_GROUP_ID } from '../actors/tolaria/optim/grouped-optimizer.ts';
import { planLayout } from '../actors/tolaria/parallel/replica-layout.ts';
import { ReplicaSet, type ReplicaEvent } from '../actors/tolaria/parallel/replica-set.ts';
import { shardBatch } from '../actors/tolaria/parallel/shards.ts';
import { trainStep } from '../actors/tolaria/training/epoch.ts';
import { resolveTolariaConfig, TolariaConfigError, type TolariaConfig } from '../actors/tolaria/trainer/settings.ts';
import { seedGroup, TrainingRun } from '../actors/tolaria/trainer/training-run.ts';
import { GraftTable } from '../surface/index.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

const dataset = spiralsDataset({ rngSeed: 5 });
const HOST: HostConfig = { kind: 'mlp', inputs: 16, hidden: [32, 32], classes: 4 };
const batcher = new Batcher(dataset.train, { batchSize: 64, inputShape: dataset.inputShape, classes: 4, rngSeed: 3 });
const values = (variables: Iterable<tf.Variable>): number[][] => [...variables].map((v) => [...v.dataSync()]);

function maxDifference(a: number[][], b: number[][]): number {
  let max = 0;
  a.forEach((row, i) =>
    row.forEach((x, j) => {
      max = Math.max(max, Math.abs(x - b[i]![j]!));
    }),
  );
  return max;
}

function replicaSet(events: ReplicaEvent[] = [], stepTimeoutMs = 10_000): ReplicaSet {
  return new ReplicaSet({
    replicas: 2,
    host: HOST,
    rngSeed: 1,
    backend: tf.getBackend(),
    inputShape: dataset.inputShape,
    classes: 4,
    batchSize: 64,
    stepTimeoutMs,
    backoff: { baseMs: 10, maxMs: 10, jitter: 0, stableMs: 60_000 },
    onEvent: (event) => events.push(event),
  });
}

const seedModule = (): BlueprintModule =>
  buildModule(
    leyline.BlueprintDescriptor.create({ blueprintId: 'BP009', name: 'residual_block' }),
    { depth: 1 },
    { dims: [32] },
    { rngSeed: 4 },
  );

/** Trains `steps` steps of epoch 0 on a fresh host (the same initial weights every call). */
function train(
  steps: number,
  replicas?: ReplicaSet,
  options: { graft?: BlueprintModule; between?: (step: number) => void } = {},
): { host: HostModel; optimizer: GroupedOptimizer; losses: number[] } {
  const host = buildHost(HOST, 1);
  const optimizer = new GroupedOptimizer({ kind: 'adam', learningRate: 0.01 });
  optimizer.setGroup(HOST_GROUP_ID, host.variables, { step: 0, force: true });
  let grafts: GraftTable | undefined;
  if (options.graft) {
    grafts = new GraftTable();
    grafts.attach({
      seedId: 's1',
      slotId: 'mlp.0',
      module: options.graft,
      stage: leyline.SeedLifecycleStage.SEED_STAGE_BLENDING,
      alpha: 0.5,
    });
    optimizer.setGroup(seedGroup('s1'), options.graft.variables, { step: 0, force: true });
  }
  const batches = batcher.epoch(0);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    options.between?.(step);
    losses.push(trainStep(host, optimizer, batches.next().value!, grafts, replicas).loss);
  }
  batches.return();
  return { host, optimizer, losses };
}

test('a batch is cut into contiguous shards in replica order, weighed by their share', (t) => {
  t.deepEqual(
    shardBatch(64, 2).map(({ replica, start, end, weight }) => [replica, start, end, weight]),
    [
      [0, 0, 32, 0.5],
      [1, 32, 64, 0.5],
    ],
  );
  const uneven = shardBatch(7, 3);
  t.deepEqual(
    uneven.map((s) => s.end - s.start),
    [3, 2, 2],
  );
  t.true(Math.abs(uneven.reduce((sum, s) => sum + s.weight, 0) - 1) < 1e-12);
  t.deepEqual(
    shardBatch(1, 2).map((s) => s.replica),
    [0],
    'a batch smaller than the replicas leaves the last without a shard',
  );
  t.throws(() => shardBatch(8, 0), { instanceOf: RangeError });
});

test('a layout places every weight and the trained ones’ gradients; an unknown gradient is named', (t) => {
  const layout = planLayout(
    1,
    [
      { key: 'host/a', shape: [2, 3] },
      { key: 'host/b', shape: [3] },
      { key: 'module:1/w', shape: [4] },
    ],
    ['module:1/w', 'host/a'],
  );
  t.deepEqual(
    layout.weights.map((e) => [e.key, e.offset, e.size]),
    [
      ['host/a', 0, 6],
      ['host/b', 6, 3],
      ['module:1/w', 9, 4],
    ],
  );
  t.deepEqual(
    layout.grads.map((e) => [e.key, e.offset, e.size]),
    [
      ['module:1/w', 0, 4],
      ['host/a', 4, 6],
    ],
  );
  t.is(layout.weightFloats, 13);
  t.is(layout.gradFloats, 10);
  t.throws(() => planLayout(2, [{ key: 'host/a', shape: [1] }], ['host/zz']), { message: /host\/zz/ });
});

test('parallel.replicas "auto" (the default) gives a CNN the cores available and an MLP one; a count is taken; a bad value is named', (t) => {
  const cnn: HostConfig = { kind: 'cnn', inputShape: [28, 28, 1], channels: [8], dense: [], classes: 10 };
  t.is(resolveTolariaConfig({ host: cnn }).parallel.replicas, availableParallelism());
  t.is(resolveTolariaConfig({ host: cnn, parallel: { replicas: 'auto' } }).parallel.replicas, availableParallelism());
  t.is(resolveTolariaConfig({}).parallel.replicas, 1, 'the default MNIST MLP');
  t.is(resolveTolariaConfig({ parallel: { replicas: 'auto' } }).parallel.replicas, 1);
  t.is(resolveTolariaConfig({ parallel: { replicas: 3 } }).parallel.replicas, 3);
  const error = t.throws(() => resolveTolariaConfig({ parallel: { replicas: 0 } } as TolariaConfig), {
    instanceOf: TolariaConfigError,
  });
  t.regex(error.message, /tolaria\.parallel\.replicas/);
  t.throws(() => resolveTolariaConfig({ parallel: { replicas: 'many' } } as unknown as TolariaConfig), {
    message: /tolaria\.parallel\.replicas/,
  });
});

test.serial(
  'two replicas give the weights one gives, within float tolerance, and the replica computed its shard',
  async (t) => {
    const one = train(6);
    const replicas = replicaSet();
    await replicas.ready();
    const two = train(6, replicas);
    t.deepEqual(replicas.states(), ['ready']);
    t.is(replicas.counters.localShards, 0, 'every shard 1 came from the worker');
    const difference = maxDifference(values(one.host.variables.values()), values(two.host.variables.values()));
    t.true(difference < 1e-5, `largest weight difference ${difference}`);
    t.true(difference > 0 || one.losses.every((l, i) => l === two.losses[i]), 'compared real runs');
    two.losses.forEach((loss, i) =>
      t.true(Math.abs(loss - one.losses[i]!) < 1e-5, `loss ${i}: ${loss} vs ${one.losses[i]}`),
    );
    // The host really moved: the comparison is not between two untouched hosts.
    t.true(maxDifference(values(buildHost(HOST, 1).variables.values()), values(two.host.variables.values())) > 1e-3);
    await replicas.dispose();
  },
);

test.serial('a grafted seed trains on two replicas as on one', async (t) => {
  const moduleOne = seedModule();
  const initial = values(moduleOne.variables.values());
  const one = train(6, undefined, { graft: moduleOne });
  const replicas = replicaSet();
  t.teardown(() => replicas.dispose());
  await replicas.ready();
  const moduleTwo = seedModule();
  const two = train(6, replicas, { graft: moduleTwo });
  t.is(replicas.counters.localShards, 0);
  const seedOne = values(moduleOne.variables.values());
  const seedTwo = values(moduleTwo.variables.values());
  t.true(maxDifference(initial, seedTwo) > 1e-4, 'the seed trained');
  const difference = maxDifference(seedOne, seedTwo);
  t.true(difference < 1e-5, `largest seed weight difference ${difference}`);
  t.true(maxDifference(values(one.host.variables.values()), values(two.host.variables.values())) < 1e-5);
  await replicas.dispose();
});

test.serial('a killed replica is replaced; meanwhile its shard is computed here, with the same numbers', async (t) => {
  const steady = replicaSet();
  t.teardown(() => steady.dispose());
  await steady.ready();
  const uninterrupted = train(8, steady);
  await steady.dispose();

  const events: ReplicaEvent[] = [];
  // A dead worker is noticed at its exit event or when it has not answered for this long, whichever comes first.
  const replicas = replicaSet(events, 2_000);
  t.teardown(() => replicas.dispose());
  await replicas.ready();
  let killed: Promise<number> | null = null;
  const interrupted = train(8, replicas, {
    between: (step) => {
      // Killed between steps 2 and 3: the next steps find it dead or unanswering, and compute shard 1 here.
      if (step === 3) killed = replicas.kill(1);
    },
  });
  await killed;
  await replicas.ready();
  t.true(replicas.counters.failures >= 1);
  t.true(replicas.counters.restarts >= 1);
  t.true(
    events.some((e) => e.kind === 'started' && e.incarnation === 2),
    `events: ${JSON.stringify(events)}`,
  );
  t.deepEqual(replicas.states(), ['ready']);
  t.deepEqual(
    values(interrupted.host.variables.values()),
    values(uninterrupted.host.variables.values()),
    'bit for bit the weights of the run whose replica never died',
  );
  // The replacement takes shards again.
  const before = replicas.counters.localShards;
  train(2, replicas);
  t.is(replicas.counters.localShards, before);
  await replicas.dispose();
});

test.serial(
  'a two-replica run survives a killed replica, checkpoints one copy of the weights, and resumes to where it ends',
  async (t) => {
    const settings = resolveTolariaConfig({
      experiment: 'spirals-parallel',
      dataset: { kind: 'spirals' },
      optimizer: { kind: 'adam', learningRate: 0.01 },
      batchSize: 64,
      epochs: 2,
      parallel: { replicas: 2 },
    });
    const epoch = async (run: TrainingRun, kill = false): Promise<void> => {
      for (;;) {
        const slice = await run.trainFor(1_000, run.globalStep + 3);
        if (kill && run.replicas!.counters.failures === 0) await run.replicas!.kill(1);
        if (slice.kind === 'epoch_end') break;
        t.is(slice.kind, 'progress');
      }
      const result = run.endEpoch();
      await run.checkpoint({ validation_accuracy: result.validation.accuracy });
    };
    const events: ReplicaEvent[] = [];
    const straight = await TrainingRun.open(settings, {
      runId: 'p',
      runDir: mkdtempSync(join(tmpdir(), 'esper-par-')),
      dataset,
      onReplicaEvent: (event) => events.push(event),
    });
    await straight.replicas!.ready();
    await epoch(straight, true);
    await epoch(straight);
    t.true(straight.finished, 'the run completed');
    await straight.replicas!.ready();
    t.true(straight.replicas!.counters.restarts >= 1, `events: ${JSON.stringify(events)}`);
    t.deepEqual(straight.replicas!.states(), ['ready'], 'the killed replica was replaced');
    const runDir = mkdtempSync(join(tmpdir(), 'esper-par-'));
    const first = await TrainingRun.open(settings, { runId: 'p', runDir, dataset });
    t.not(first.replicas, null);
    await first.replicas!.ready();
    await epoch(first);
    const saved = await first.checkpoints.loadLatest();
    t.deepEqual(
      Object.keys(saved!.state.weights).sort(),
      [...first.host.variables.keys()].sort(),
      'the host once, no replica copies',
    );
    first.dispose();
    const resumed = await TrainingRun.open(settings, { runId: 'p', runDir, dataset, resume: true });
    await resumed.replicas!.ready();
    await epoch(resumed);
    t.is(resumed.replicas!.counters.localShards, 0);
    t.deepEqual(
      values(resumed.host.variables.values()),
      values(straight.host.variables.values()),
      'the interrupted-and-resumed run ends bit for bit where the run with the killed replica did',
    );
    straight.dispose();
    resumed.dispose();
  },
);

test.serial(
  'a fault on two replicas rolls back the one copy of the weights; the replica trains on from the restored state',
  async (t) => {
    const run = await TrainingRun.open(
      resolveTolariaConfig({
        experiment: 'spirals-parallel',
        dataset: { kind: 'spirals' },
        optimizer: { kind: 'adam', learningRate: 0.01 },
        batchSize: 64,
        rollback: { snapshotEverySteps: 5 },
        parallel: { replicas: 2 },
      }),
      { runId: 'p', runDir: mkdtempSync(join(tmpdir(), 'esper-par-')), dataset },
    );
    t.teardown(() => run.dispose());
    await run.replicas!.ready();
    while (run.globalStep < 12) await run.trainFor(1_000, 12);
    await run.snapshot();
    const first = [...run.host.variables.values()][0]!;
    // Poisoned weights reach the replica with the next step: both shards' losses are NaN.
    tf.tidy(() => first.assign(tf.fill(first.shape, Number.NaN)));
    const slice = await run.trainFor(1_000);
    t.is(slice.kind, 'fault');
    if (slice.kind !== 'fault') return;
    t.is(slice.reason, 'nan');
    t.true(slice.rollback.restored);
    t.is(run.globalStep, 10);
    t.true(values(run.host.variables.values()).flat().every(Number.isFinite), 'no NaN left in the weights');
    const next = await run.trainFor(1_000, run.globalStep + 3);
    t.is(next.kind, 'progress', 'training goes on from the restored state');
    t.true(values(run.host.variables.values()).flat().every(Number.isFinite));
    t.is(run.replicas!.counters.localShards, 0, 'the replica computed its shards throughout');
    t.deepEqual(run.replicas!.states(), ['ready']);
  },
);
