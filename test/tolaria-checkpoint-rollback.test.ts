// The fast tier (snapshot ring: byte cap, eviction, refusal, latestBefore) and the rollback rules (LossWatch,
// RollbackPlanner tier choice and deadlines, with an injected clock and timer), and the real restore budgets.
import test from 'ava';
import { selectTensorBackend, tf } from '../tensor/index.ts';
import { LossWatch, RollbackPlanner, type SetTimer } from '../actors/tolaria/checkpoint/rollback.ts';
import { SnapshotRing, type SnapshotContent } from '../actors/tolaria/checkpoint/snapshot-ring.ts';
import { captureVariables, type TensorMap } from '../actors/tolaria/checkpoint/training-state.ts';
import { CheckpointStore } from '../actors/tolaria/checkpoint/checkpoint-store.ts';
import { restoreFromCheckpoint } from '../actors/tolaria/checkpoint/full-restore.ts';
import { captureLogger, makeState, tempDir } from './fixtures/tolaria-checkpoint-fixtures.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

/** A snapshot of `floats` float32 values (4 bytes each) in one weight tensor. */
function content(floats: number, fill = 0, epoch = 0): SnapshotContent {
  const weights: TensorMap = { w: { shape: [floats], data: new Float32Array(floats).fill(fill) } };
  return { epoch, weights, optimizer: null };
}

test('snapshot ring: keeps the newest snapshots within the byte cap, evicting the oldest', (t) => {
  const ring = new SnapshotRing({ capBytes: 1000 });
  t.deepEqual(ring.push(0, content(100)), { stored: true, evicted: 0, discarded: 0 });
  ring.push(2, content(100));
  t.deepEqual(ring.steps(), [0, 2]);
  t.is(ring.stats.bytes, 800);
  t.deepEqual(ring.push(4, content(100)), { stored: true, evicted: 1, discarded: 0 });
  t.deepEqual(ring.steps(), [2, 4]);
  t.deepEqual(ring.push(6, content(250)), { stored: true, evicted: 2, discarded: 0 }, 'a cap-sized one evicts all');
  t.is(ring.stats.bytes, 1000);
  t.true(ring.stats.bytes <= ring.capBytes);
  t.is(ring.stats.evicted, 3);
});

test('snapshot ring: a snapshot larger than the cap is refused (counted) and the ring is left as it was', (t) => {
  const ring = new SnapshotRing({ capBytes: 1000 });
  ring.push(0, content(50));
  t.deepEqual(ring.push(1, content(251)), { stored: false, reason: 'oversized', bytes: 1004 });
  t.deepEqual(ring.steps(), [0]);
  t.is(ring.stats.refused.oversized, 1);
  t.is(ring.stats.bytes, 200);
});

test('snapshot ring: optimizer slots count toward the cap', (t) => {
  const ring = new SnapshotRing({ capBytes: 1000 });
  const withSlots: SnapshotContent = {
    ...content(100),
    optimizer: { kind: 'adam', step: 1, slots: { m: { shape: [100], data: new Float32Array(100) } }, hyper: {} },
  };
  ring.push(0, withSlots);
  t.is(ring.stats.bytes, 800);
});

test('latestBefore: the newest snapshot strictly before the step; re-pushing or pushing earlier drops the later ones', (t) => {
  const ring = new SnapshotRing({ capBytes: 10_000 });
  for (const step of [0, 2, 4, 6]) ring.push(step, content(10, step));
  t.is(ring.latestBefore(6)?.step, 4, 'the snapshot at the fault step itself is not used');
  t.is(ring.latestBefore(5)?.step, 4);
  t.is(ring.latestBefore(100)?.step, 6);
  t.is(ring.latestBefore(1)?.step, 0);
  t.is(ring.latestBefore(0), null, 'nothing before the first snapshot');
  // After a rollback to step 2 the run replays from there: snapshots 4 and 6 belong to the abandoned timeline.
  t.deepEqual(ring.push(3, content(10, 33)), { stored: true, evicted: 0, discarded: 2 }, 'steps 4 and 6 dropped');
  t.deepEqual(ring.push(2, content(10, 22)), { stored: true, evicted: 0, discarded: 2 }, 'the old 2 and 3 dropped');
  t.deepEqual(ring.steps(), [0, 2]);
  t.is(ring.latestBefore(3)?.weights.w?.data[0], 22, 're-pushing a step replaces it');
  t.is(ring.stats.bytes, 80, 'and its accounted size');
});

// Serial (as the budget test): both compare the process-wide tensor count.
test.serial('restore: assigns the snapshot to live variables, measures its latency, leaks no tensors', async (t) => {
  const before = tf.memory().numTensors;
  const weights = new Map([['w', tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3]), true, 'ring-w'))]]);
  const slots = new Map([['w/m', tf.tidy(() => tf.variable(tf.tensor1d([0.1, 0.2, 0.3]), true, 'ring-m'))]]);
  let clock = 1000;
  const ring = new SnapshotRing({ capBytes: 1 << 20, now: () => (clock += 7) });
  ring.push(10, {
    epoch: 1,
    weights: await captureVariables(weights),
    optimizer: { kind: 'adam', step: 10, slots: await captureVariables(slots), hyper: {} },
  });
  tf.tidy(() => weights.get('w')!.assign(tf.tensor1d([NaN, NaN, NaN])));
  tf.tidy(() => slots.get('w/m')!.assign(tf.tensor1d([9, 9, 9])));
  const snapshot = ring.latestBefore(11)!;
  const result = ring.restore(snapshot, { weights, optimizerSlots: slots });
  t.deepEqual(result, { step: 10, latencyMs: 7 });
  t.deepEqual(Array.from(await weights.get('w')!.data()), [1, 2, 3]);
  t.deepEqual(
    Array.from(await slots.get('w/m')!.data()).map((v) => Math.round(v * 10) / 10),
    [0.1, 0.2, 0.3],
  );
  // A mismatched optimizer map is refused before the weights are touched.
  tf.tidy(() => weights.get('w')!.assign(tf.tensor1d([5, 5, 5])));
  t.throws(() => ring.restore(snapshot, { weights, optimizerSlots: new Map() }), { message: /w\/m/ });
  t.deepEqual(Array.from(await weights.get('w')!.data()), [5, 5, 5]);
  for (const variable of [...weights.values(), ...slots.values()]) variable.dispose();
  t.is(tf.memory().numTensors, before);
});

test('LossWatch: NaN and ±Inf are faults, even with no history', (t) => {
  const watch = new LossWatch();
  t.deepEqual(watch.check(NaN), { fault: true, reason: 'nan', loss: NaN, mean: null });
  t.is(watch.observe(Infinity).fault, true);
  t.like(watch.check(-Infinity), { fault: true, reason: 'inf' });
  t.is(watch.mean, null, 'faults never enter the mean');
  t.false(watch.isFault(1e9), 'no history: no explosion can be judged');
});

test('LossWatch: a loss above 15× the running mean is an explosion; faulty values stay out of the mean', (t) => {
  const watch = new LossWatch({ window: 4 });
  for (const loss of [1, 1, 1, 1]) t.false(watch.observe(loss).fault);
  t.is(watch.mean, 1);
  t.false(watch.isFault(15), 'exactly 15× is not above it');
  t.like(watch.observe(15.01), { fault: true, reason: 'explosion', mean: 1 });
  t.is(watch.mean, 1, 'the explosion did not raise the mean');
  t.true(watch.isFault(16), 'so the next explosion is still caught');
  // The window slides: old values leave the mean.
  for (const loss of [2, 2, 2, 2]) watch.observe(loss);
  t.is(watch.mean, 2);
  t.false(watch.isFault(29));
  t.true(watch.isFault(31));
  const strict = new LossWatch({ explosionFactor: 3 });
  strict.observe(1);
  t.true(strict.isFault(3.5), 'the factor is configurable');
  t.throws(() => new LossWatch({ explosionFactor: 1 }), { instanceOf: RangeError });
});

/** A manual timer: fires only when the test says so. */
function manualTimer(): { setTimer: SetTimer; fire(): void; pending(): number } {
  const timers: Array<() => void> = [];
  return {
    setTimer: (_ms, fn) => {
      timers.push(fn);
      return () => {
        const i = timers.indexOf(fn);
        if (i >= 0) timers.splice(i, 1);
      };
    },
    fire: () => timers.splice(0).forEach((fn) => fn()),
    pending: () => timers.length,
  };
}

test('planner: a snapshot before the fault → fast tier within 500 ms, restored from that snapshot', async (t) => {
  const ring = new SnapshotRing({ capBytes: 10_000 });
  for (const step of [0, 5, 10]) ring.push(step, content(4, step));
  let clock = 0;
  const timer = manualTimer();
  const planner = new RollbackPlanner({ snapshots: ring, now: () => clock, setTimer: timer.setTimer });
  t.like(planner.plan(10), { tier: 'fast', deadlineMs: 500 });
  const restored: number[] = [];
  const outcome = await planner.rollback(10, 'nan', {
    fast: (snapshot) => {
      restored.push(snapshot.step);
      clock += 120;
    },
    full: () => t.fail('the full tier is not needed') as never,
  });
  t.deepEqual(restored, [5], 'the snapshot from before the fault, not the one at the fault step');
  t.like(outcome, {
    trigger: 'nan',
    faultStep: 10,
    tier: 'fast',
    restored: true,
    deadlineMissed: false,
    latencyMs: 120,
  });
  t.deepEqual(outcome.attempts, [
    { tier: 'fast', status: 'restored', restored: true, latencyMs: 120, deadlineMs: 500, snapshotStep: 5 },
  ]);
  t.is(timer.pending(), 0, 'the deadline timer is cancelled');
});

test('planner: no snapshot before the fault → full tier (12 s) from the checkpoint', async (t) => {
  const ring = new SnapshotRing({ capBytes: 10_000 });
  ring.push(7, content(4));
  let clock = 0;
  const planner = new RollbackPlanner({ snapshots: ring, now: () => clock, setTimer: manualTimer().setTimer });
  t.like(planner.plan(7), { tier: 'full', deadlineMs: 12_000 });
  const outcome = await planner.rollback(7, 'command', {
    fast: () => t.fail('no snapshot qualifies'),
    full: async () => {
      clock += 3_000;
      return { restored: true, epoch: 4 };
    },
  });
  t.like(outcome, { trigger: 'command', tier: 'full', restored: true, deadlineMissed: false, latencyMs: 3_000 });
  t.like(outcome.attempts[0], { tier: 'full', status: 'restored', checkpointEpoch: 4 });
  const none = await new RollbackPlanner({ snapshots: new SnapshotRing(), setTimer: manualTimer().setTimer }).rollback(
    1,
    'explosion',
    {
      fast: () => undefined,
      full: async () => ({ restored: false }),
    },
  );
  t.like(none, { tier: 'full', restored: false });
  t.is(none.attempts[0]!.status, 'nothing_to_restore');
});

test('planner: a fast restore that overruns 500 ms is kept but reported deadline_missed', async (t) => {
  const ring = new SnapshotRing({ capBytes: 10_000 });
  ring.push(0, content(4));
  let clock = 0;
  const planner = new RollbackPlanner({ snapshots: ring, now: () => clock, setTimer: manualTimer().setTimer });
  const outcome = await planner.rollback(3, 'inf', {
    fast: () => {
      clock += 650; // synchronous: the timer cannot interrupt it
    },
    full: () => t.fail('a late but finished fast restore is not redone') as never,
  });
  t.like(outcome, { tier: 'fast', restored: true, deadlineMissed: true });
  t.like(outcome.attempts[0], { status: 'deadline_missed', latencyMs: 650, deadlineMs: 500 });
});

test('planner: a full restore still running at its deadline is abandoned (signal aborted): deadline_missed', async (t) => {
  let clock = 0;
  const timer = manualTimer();
  const planner = new RollbackPlanner({
    snapshots: new SnapshotRing(),
    fullDeadlineMs: 12_000,
    now: () => clock,
    setTimer: timer.setTimer,
  });
  let seen: AbortSignal | null = null;
  let finish: (value: { restored: boolean }) => void = () => undefined;
  const pending = planner.rollback(9, 'explosion', {
    fast: () => undefined,
    full: (signal) => {
      seen = signal;
      return new Promise((resolve) => (finish = resolve));
    },
  });
  await Promise.resolve();
  clock += 12_001;
  timer.fire();
  const outcome = await pending;
  t.like(outcome, { tier: 'full', restored: false, deadlineMissed: true, latencyMs: 12_001 });
  t.like(outcome.attempts[0], { status: 'deadline_missed', deadlineMs: 12_000 });
  t.true(seen!.aborted, 'the abandoned restore is told to stop');
  finish({ restored: true });
});

test('planner: a fast tier that fails or times out falls back to the full tier', async (t) => {
  const ring = new SnapshotRing({ capBytes: 10_000 });
  ring.push(0, content(4));
  const failing = new RollbackPlanner({ snapshots: ring, setTimer: manualTimer().setTimer });
  const outcome = await failing.rollback(2, 'nan', {
    fast: () => {
      throw new Error('shape changed (a seed was grafted)');
    },
    full: async () => ({ restored: true, epoch: 0 }),
  });
  t.like(outcome, { tier: 'full', restored: true, deadlineMissed: false });
  t.deepEqual(
    outcome.attempts.map((a) => [a.tier, a.status]),
    [
      ['fast', 'failed'],
      ['full', 'restored'],
    ],
  );
  t.regex(outcome.attempts[0]!.error ?? '', /grafted/);

  // Real timers: a fast restore that hangs past a 20 ms deadline is abandoned, then the full tier runs.
  const slow = new RollbackPlanner({ snapshots: ring, fastDeadlineMs: 20, fullDeadlineMs: 2_000 });
  const timedOut = await slow.rollback(2, 'command', {
    fast: (_snapshot, signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())),
    full: async () => ({ restored: true, epoch: 0 }),
  });
  t.deepEqual(
    timedOut.attempts.map((a) => [a.tier, a.status]),
    [
      ['fast', 'deadline_missed'],
      ['full', 'restored'],
    ],
  );
  t.like(timedOut, { tier: 'full', restored: true, deadlineMissed: true });
});

test.serial(
  'budgets, for real: fast restore of ~2M parameters within 500 ms, full restore from disk within 12 s',
  async (t) => {
    const { dir, cleanup } = tempDir();
    t.teardown(cleanup);
    const before = tf.memory().numTensors;
    const weights = new Map([
      ['big/kernel', tf.tidy(() => tf.variable(tf.randomUniform([1024, 1024]), true, 'budget-k'))],
      ['big/bias', tf.tidy(() => tf.variable(tf.randomUniform([1024]), true, 'budget-b'))],
    ]);
    const slots = new Map([['big/kernel/m', tf.tidy(() => tf.variable(tf.zeros([1024, 1024]), true, 'budget-m'))]]);
    const captured = await captureVariables(weights);
    const capturedSlots = await captureVariables(slots);
    const ring = new SnapshotRing({ capBytes: 64 * 1024 * 1024 });
    ring.push(0, {
      epoch: 0,
      weights: captured,
      optimizer: { kind: 'adam', step: 0, slots: capturedSlots, hyper: {} },
    });
    const store = new CheckpointStore(dir, { logger: captureLogger().logger });
    await store.save({
      ...makeState(0),
      weights: captured,
      optimizer: { kind: 'adam', step: 0, slots: capturedSlots, hyper: {} },
    });

    const planner = new RollbackPlanner({ snapshots: ring });
    const fast = await planner.rollback(1, 'nan', {
      fast: (snapshot) => void ring.restore(snapshot, { weights, optimizerSlots: slots }),
      full: (signal) => restoreFromCheckpoint(store, { weights, optimizerSlots: slots }, signal),
    });
    t.like(fast, { tier: 'fast', restored: true, deadlineMissed: false });
    const full = await new RollbackPlanner({ snapshots: new SnapshotRing() }).rollback(1, 'command', {
      fast: () => undefined,
      full: (signal) => restoreFromCheckpoint(store, { weights, optimizerSlots: slots }, signal),
    });
    t.like(full, { tier: 'full', restored: true, deadlineMissed: false });
    t.like(full.attempts[0], { checkpointEpoch: 0 });
    t.log(`fast ${fast.latencyMs.toFixed(1)} ms, full ${full.latencyMs.toFixed(1)} ms`);
    t.deepEqual(
      Array.from((await weights.get('big/bias')!.data()).subarray(0, 8)),
      Array.from(captured['big/bias']!.data.subarray(0, 8)),
    );
    for (const variable of [...weights.values(), ...slots.values()]) variable.dispose();
    t.is(tf.memory().numTensors, before);
  },
);
