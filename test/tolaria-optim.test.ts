// Learning-rate schedules (the reference vector) and optimizers with parameter groups.
import test from 'ava';
import { learningRate, validateLrSchedule, LrScheduleError } from '../actors/tolaria/optim/lr-schedule.ts';
import { GroupedOptimizer } from '../actors/tolaria/optim/grouped-optimizer.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

test('cosine with warm-up matches the reference vector (base 0.1, W = 2, T = 10)', (t) => {
  const expected = [0.05, 0.1, 0.1, 0.09755, 0.09045, 0.07939, 0.06545, 0.05, 0.03455, 0.02061, 0.00955, 0.00245, 0];
  const got = expected.map((_, step) => learningRate({ kind: 'cosine', totalSteps: 10, warmupSteps: 2 }, 0.1, step));
  got.forEach((lr, step) => t.true(Math.abs(lr - (expected[step] as number)) < 5e-6, `step ${step}: ${lr}`));
  t.is(learningRate({ kind: 'cosine', totalSteps: 10 }, 0.1, 50), 0, 'zero after T, and stays there');
});

test('step decay, constant, the 0.1 warm-up floor, and validation', (t) => {
  const step = { kind: 'step', stepSize: 10, gamma: 0.5 } as const;
  t.deepEqual(
    [0, 9, 10, 25].map((epoch) => learningRate(step, 0.2, 0, epoch)),
    [0.2, 0.2, 0.1, 0.05],
  );
  t.is(learningRate({ kind: 'constant' }, 0.3, 1_000), 0.3);
  t.is(learningRate({ kind: 'constant', warmupSteps: 100 }, 1, 0), 0.1, 'warm-up never starts below 10 %');
  t.throws(() => validateLrSchedule({ kind: 'cosine', totalSteps: 0 }), {
    instanceOf: LrScheduleError,
    message: /tolaria\.lrSchedule\.totalSteps must be an integer > 0/,
  });
  t.throws(() => validateLrSchedule({ kind: 'step', stepSize: 2, gamma: 1.5 }), {
    message: /gamma must be in \(0, 1\]/,
  });
});

/** A quadratic problem: each variable should go to 1. */
function problem(names: string[]) {
  const vars = names.map((name) => tf.variable(tf.zeros([4]), true, `${name}-${Math.random()}`));
  const loss = (): tf.Scalar => tf.addN(vars.map((v) => tf.sum(tf.square(tf.sub(v, 1))))) as tf.Scalar;
  return { vars, loss };
}

test("groups train; adding a seed group keeps the host group's optimizer state", async (t) => {
  const { vars, loss } = problem(['host', 'seed']);
  const [hostVar, seedVar] = vars as [tf.Variable, tf.Variable];
  const optimizer = new GroupedOptimizer({ kind: 'adam', learningRate: 0.05 });
  optimizer.setGroup('host', new Map([['host/h', hostVar]]), { step: 0, force: true });
  const step = (): number => {
    const { value, grads } = tf.variableGrads(loss, optimizer.variables());
    optimizer.apply(grads);
    return value.dataSync()[0] as number;
  };
  const first = step();
  for (let i = 0; i < 20; i++) step();
  const hostSlots = async (): Promise<string> =>
    JSON.stringify(
      Object.entries((await optimizer.captureState()).slots)
        .filter(([key]) => key.startsWith('host/'))
        .map(([key, r]) => [key, [...r.data]]),
    );
  const hostState = await hostSlots();
  t.true(hostState.includes('host/iter') && hostState.length > 40, 'the host group has moments to keep');
  optimizer.setGroup('seed', new Map([['seed/s/w', seedVar]]), { step: 21 });
  t.is(await hostSlots(), hostState, 'host moments untouched');
  for (let i = 0; i < 20; i++) step();
  t.true(step() < first);
  t.true((seedVar.dataSync()[0] as number) > 0.3, 'the seed group learns too');
  t.deepEqual(optimizer.groups(), ['host', 'seed']);
  optimizer.dispose();
});

test('the storm guard refuses group changes that come too fast', (t) => {
  const { vars } = problem(['a', 'b', 'c']);
  const optimizer = new GroupedOptimizer({ kind: 'momentum', learningRate: 0.1, minRebuildIntervalSteps: 50 });
  t.true(optimizer.setGroup('host', new Map([['host/a', vars[0]!]]), { step: 0, force: true }).applied);
  t.deepEqual(optimizer.setGroup('s1', new Map([['seed/1/b', vars[1]!]]), { step: 10 }), {
    applied: false,
    reason: 'storm_guard',
  });
  t.true(optimizer.setGroup('s1', new Map([['seed/1/b', vars[1]!]]), { step: 60 }).applied);
  t.deepEqual(optimizer.counters, { rebuilds: 2, rebuildsSkipped: 1 });
  optimizer.dispose();
});

for (const kind of ['momentum', 'adam'] as const) {
  test.serial(`${kind}: restored state continues exactly as the original would, without leaking tensors`, async (t) => {
    const { vars, loss } = problem(['h', 's']);
    const make = (): GroupedOptimizer => {
      const optimizer = new GroupedOptimizer({ kind, learningRate: 0.1 });
      optimizer.setGroup('host', new Map([['host/h', vars[0]!]]), { step: 0, force: true });
      optimizer.setGroup('seed', new Map([['seed/s/w', vars[1]!]]), { step: 0, force: true, lrScale: 0.5 });
      return optimizer;
    };
    const step = (optimizer: GroupedOptimizer): void => {
      tf.tidy(() => optimizer.apply(tf.variableGrads(loss, optimizer.variables()).grads));
    };
    const optimizer = make();
    for (let i = 0; i < 3; i++) step(optimizer);
    const saved = await optimizer.captureState();
    t.is(saved.step, 3);
    const weightsAt3 = vars.map((v) => v.dataSync().slice());
    step(optimizer);
    const expected = vars.map((v) => [...v.dataSync()]);

    vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weightsAt3[i] as Float32Array, v.shape))));
    const other = make();
    await other.restoreState(saved);
    t.deepEqual(JSON.stringify(await other.captureState()), JSON.stringify(saved));
    step(other);
    t.deepEqual(
      vars.map((v) => [...v.dataSync()]),
      expected,
      'the step after a restore equals the original step',
    );

    const before = tf.memory().numTensors;
    await other.restoreState(saved);
    await other.captureState();
    t.is(tf.memory().numTensors, before, 'restoring and capturing again leaves no tensor behind');
    await t.throwsAsync(new GroupedOptimizer({ kind: 'sgd', learningRate: 0.1 }).restoreState(saved), {
      message: /cannot be restored/,
    });
    other.setLearningRate(0.02);
    t.is(other.learningRate, 0.02);
    optimizer.dispose();
    other.dispose();
  });
}

test('a new learning rate is what the next step uses, scaled per group', (t) => {
  const { vars, loss } = problem(['h', 's']);
  const optimizer = new GroupedOptimizer({ kind: 'sgd', learningRate: 0.1 });
  optimizer.setGroup('host', new Map([['host/h', vars[0]!]]), { step: 0, force: true });
  optimizer.setGroup('seed', new Map([['seed/s/w', vars[1]!]]), { step: 0, force: true, lrScale: 0.5 });
  optimizer.setLearningRate(0.02);
  optimizer.apply(tf.variableGrads(loss, optimizer.variables()).grads);
  // d/dv (v − 1)² at 0 is −2: one step moves by 2·lr.
  t.true(Math.abs((vars[0]?.dataSync()[0] as number) - 0.04) < 1e-6);
  t.true(Math.abs((vars[1]?.dataSync()[0] as number) - 0.02) < 1e-6);
  optimizer.dispose();
});

for (const kind of ['momentum', 'adam'] as const) {
  test.serial(
    `${kind}: merging a seed group into the host group keeps every variable's state; the next step is unchanged`,
    async (t) => {
      const { vars, loss } = problem(['h', 's']);
      const make = (): GroupedOptimizer => {
        const optimizer = new GroupedOptimizer({ kind, learningRate: 0.1 });
        optimizer.setGroup('host', new Map([['host/h', vars[0]!]]), { step: 0, force: true });
        optimizer.setGroup('seed:x', new Map([['seed/x/w', vars[1]!]]), { step: 0, force: true });
        return optimizer;
      };
      const step = (optimizer: GroupedOptimizer): void =>
        tf.tidy(() => optimizer.apply(tf.variableGrads(loss, optimizer.variables()).grads));
      const optimizer = make();
      for (let i = 0; i < 3; i++) step(optimizer);
      const before = await optimizer.captureState();
      const weights = vars.map((v) => v.dataSync().slice());
      const tensors = tf.memory().numTensors;
      await optimizer.mergeGroup('seed:x', 'host');
      t.deepEqual(optimizer.groups(), ['host']);
      // One optimizer fewer: its two scalars (Adam's β powers; Momentum's rate and momentum) go, no accumulator does.
      t.is(tf.memory().numTensors, tensors - 2);
      const after = await optimizer.captureState();
      for (const [key, record] of Object.entries(before.slots)) {
        // Group-level counters (the step, Adam's β powers) go with the group that is merged away.
        if (/\/(iter|accBeta1|accBeta2)$/.test(key)) continue;
        // Accumulators are kept by the variable's stable name, whichever group holds it.
        t.deepEqual(after.slots[key] && [...after.slots[key]!.data], [...record.data], key);
      }
      t.is(after.step, 3);
      step(optimizer);
      const merged = vars.map((v) => [...v.dataSync()]);

      vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i] as Float32Array, v.shape))));
      const separate = make();
      await separate.restoreState(before);
      step(separate);
      t.deepEqual(
        merged,
        vars.map((v) => [...v.dataSync()]),
        'a merged step equals the step of the separate groups',
      );

      // A restored optimizer (a resumed run) merges the same: its accumulators carry the names they were loaded under.
      vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i] as Float32Array, v.shape))));
      const resumed = make();
      await resumed.restoreState(before);
      await resumed.mergeGroup('seed:x', 'host');
      step(resumed);
      t.deepEqual(
        merged,
        vars.map((v) => [...v.dataSync()]),
        'a resumed run merges as the uninterrupted one',
      );
      optimizer.dispose();
      separate.dispose();
      resumed.dispose();
    },
  );
}

test('state captured after a seed joined the host restores by name into groups built in another order (a resumed run)', async (t) => {
  const { vars, loss } = problem(['h', 's']);
  const step = (optimizer: GroupedOptimizer): void =>
    tf.tidy(() => optimizer.apply(tf.variableGrads(loss, optimizer.variables()).grads));
  const running = new GroupedOptimizer({ kind: 'adam', learningRate: 0.1 });
  running.setGroup('host', new Map([['host/h', vars[0]!]]), { step: 0, force: true });
  running.setGroup('seed:x', new Map([['seed/x/w', vars[1]!]]), { step: 0, force: true });
  for (let i = 0; i < 3; i++) step(running);
  await running.mergeGroup('seed:x', 'host');
  step(running);
  const saved = await running.captureState();
  const weights = vars.map((v) => v.dataSync().slice());
  step(running);
  const expected = vars.map((v) => [...v.dataSync()]);

  // The resumed process builds the host group with the seed's variable first: restored by name, not by position.
  vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i]!, v.shape))));
  const resumed = new GroupedOptimizer({ kind: 'adam', learningRate: 0.1 });
  resumed.setGroup(
    'host',
    new Map([
      ['seed/x/w', vars[1]!],
      ['host/h', vars[0]!],
    ]),
    { step: 0, force: true },
  );
  await resumed.restoreState(saved);
  step(resumed);
  t.deepEqual(
    vars.map((v) => [...v.dataSync()]),
    expected,
    'the step after the restore is the step the run would have taken',
  );

  // A stored accumulator of another shape than its variable's is refused, naming it.
  const wrong = { ...saved, slots: { ...saved.slots, 'host/h/m': { shape: [2, 2], data: new Float32Array(4) } } };
  await t.throwsAsync(resumed.restoreState(wrong), {
    message: /optimizer state host\/h\/m has shape \[2, 2\], its variable \[4\]/,
  });
  running.dispose();
  resumed.dispose();
});
