// The forge's queue as plain logic, driven event by event without an actor system: concurrency limit, arrival
// order, one job for duplicate requests, breaker and conservative strategy, the half-open probe, recovery from the
// journal, and a restart that starts clean.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import {
  admitRequest,
  initialForgeQueue,
  transition,
  type ForgeQueueEffect,
  type ForgeQueueEvent,
  type ForgeQueueRules,
  type ForgeQueueState,
} from '../actors/tezzeret/forge-queue.ts';
import type { CompileJob } from '../actors/tezzeret/compile-job.ts';
import type { JournalJob } from '../actors/tezzeret/job-journal.ts';

const { CompileStrategy, CircuitBreakerState } = leyline;
const STANDARD = CompileStrategy.COMPILE_STRATEGY_STANDARD;
const CONSERVATIVE = CompileStrategy.COMPILE_STRATEGY_CONSERVATIVE;

const descriptor = (id: string): v1.BlueprintDescriptor =>
  leyline.BlueprintDescriptor.create({
    blueprintId: id,
    name: `blueprint_${id}`,
    allowedParameters: { scale: leyline.BlueprintParameterBounds.create({ minValue: 0.5, maxValue: 2 }) },
  });
const job = (id: string): CompileJob => ({
  jobId: `${id}@32`,
  descriptor: descriptor(id),
  slotDims: [32],
  parameters: { scale: 1 },
});
const result = (id: string, ok: boolean, extra: Partial<v1.CompileResult> = {}): v1.CompileResult =>
  leyline.CompileResult.create({
    jobId: `${id}@32`,
    blueprintId: id,
    ok,
    attempts: 1,
    ...(ok ? {} : { error: `${id} broke` }),
    ...extra,
  });

/** A queue with askers named by strings, and a clock the test moves. */
function queue(rules: Partial<ForgeQueueRules> = {}) {
  const state: ForgeQueueState<string> = initialForgeQueue({
    concurrency: 2,
    breakerThreshold: 3,
    breakerTimeoutMs: 1_000,
    ...rules,
  });
  let now = 0;
  const apply = (event: ForgeQueueEvent<string>): ForgeQueueEffect<string>[] => transition(state, event, now).effects;
  return {
    state,
    apply,
    advance: (ms: number) => (now += ms),
    request: (id: string, asker = `asker-${id}`) => apply({ type: 'requested', asker, job: job(id) }),
    finish: (id: string, ok: boolean, extra: Partial<v1.CompileResult> = {}) =>
      apply({ type: 'finished', result: result(id, ok, extra) }),
  };
}

const spawned = (effects: ForgeQueueEffect<string>[]) =>
  effects.flatMap((effect) =>
    effect.type === 'spawn' ? [{ blueprint: effect.job.descriptor.blueprintId, strategy: effect.strategy }] : [],
  );
const replies = (effects: ForgeQueueEffect<string>[]) =>
  effects.flatMap((effect) =>
    effect.type === 'reply' ? [{ to: [...effect.to], ok: effect.result.ok, error: effect.result.error }] : [],
  );
const ofType = <T extends ForgeQueueEffect<string>['type']>(effects: ForgeQueueEffect<string>[], type: T) =>
  effects.filter((effect): effect is Extract<ForgeQueueEffect<string>, { type: T }> => effect.type === type);

test('at most `concurrency` jobs run at once; a finished job makes room for exactly one more', (t) => {
  const q = queue({ concurrency: 2 });
  t.deepEqual(
    spawned(q.request('BP001')).map((s) => s.blueprint),
    ['BP001'],
  );
  t.deepEqual(
    spawned(q.request('BP002')).map((s) => s.blueprint),
    ['BP002'],
  );
  t.deepEqual(spawned(q.request('BP003')), [], 'two running: the third waits');
  t.deepEqual(spawned(q.request('BP004')), []);
  t.is(q.state.running.size, 2);
  t.is(q.state.queued.length, 2);
  t.deepEqual(
    spawned(q.finish('BP001', true)).map((s) => s.blueprint),
    ['BP003'],
  );
  t.is(q.state.running.size, 2);
});

test('queued jobs start in arrival order', (t) => {
  const q = queue({ concurrency: 1 });
  const order = ['BP001', 'BP004', 'BP002', 'BP003'];
  const started = order.flatMap((id) => spawned(q.request(id)).map((s) => s.blueprint));
  for (const id of order) started.push(...spawned(q.finish(id, true)).map((s) => s.blueprint));
  t.deepEqual(started, order);
});

test('a request for a job already queued or running waits for it: one journal entry, one job, every asker answered', (t) => {
  const q = queue({ concurrency: 1 });
  const first = q.request('BP001', 'alice');
  t.is(ofType(first, 'journal-record').length, 1);
  const second = q.request('BP001', 'bob');
  t.deepEqual(second, [], 'no second journal entry, no second job, no answer yet');
  q.request('BP002', 'carol');
  q.request('BP002', 'dave');
  const done = q.finish('BP001', false);
  t.deepEqual(replies(done), [{ to: ['alice', 'bob'], ok: false, error: 'BP001 broke' }]);
  t.deepEqual(
    ofType(done, 'journal-finished').map((e) => [e.jobId, e.ok]),
    [['BP001@32', false]],
  );
  t.deepEqual(replies(q.finish('BP002', true)), [{ to: ['carol', 'dave'], ok: true, error: '' }]);
  t.deepEqual(replies(q.finish('BP002', true)), [], 'a result for a job no longer running is ignored');
  t.deepEqual(
    spawned(q.request('BP001', 'erin')).map((s) => s.blueprint),
    ['BP001'],
    'once ended, the same job can be asked for again',
  );
});

test('refused and already-stored requests are answered at once and start nothing', (t) => {
  const q = queue();
  const request = leyline.CompileRequest.create({
    blueprintId: 'BP999',
    slot: leyline.SlotShape.create({ dims: [32] }),
  });
  const refused = q.apply({ type: 'refused', asker: 'alice', request, error: 'unknown blueprint "BP999"' });
  t.deepEqual(replies(refused), [{ to: ['alice'], ok: false, error: 'unknown blueprint "BP999"' }]);
  const stored = q.apply({ type: 'already-stored', asker: 'bob', job: job('BP001') });
  const answer = ofType(stored, 'reply')[0]?.result;
  t.true(answer?.alreadyStored);
  t.deepEqual(answer?.slot?.dims, [32]);
  t.deepEqual(
    [...refused, ...stored].filter((e) => e.type !== 'reply'),
    [],
  );
  t.is(q.state.metrics['tezzeret.jobs.requested'], 2);
  t.is(q.state.metrics['tezzeret.jobs.rejected'], 1);
  t.is(q.state.metrics['tezzeret.jobs.already_stored'], 1);
});

test('admitRequest refuses unknown blueprints and bad slots, and fills in midpoint parameters and the job id', (t) => {
  const slot = (dims: number[]) => leyline.SlotShape.create({ dims });
  t.deepEqual(admitRequest(leyline.CompileRequest.create({ blueprintId: 'BP9', slot: slot([32]) }), null), {
    problem: 'unknown blueprint "BP9"',
  });
  t.deepEqual(
    admitRequest(leyline.CompileRequest.create({ blueprintId: 'BP1', slot: slot([4, 4]) }), descriptor('BP1')),
    {
      problem: 'slot shape must be [D] or [H, W, C], got [4, 4]',
    },
  );
  t.deepEqual(admitRequest(leyline.CompileRequest.create({ blueprintId: 'BP1', slot: slot([0]) }), descriptor('BP1')), {
    problem: 'slot dimensions must be positive integers, got [0]',
  });
  const admitted = admitRequest(
    leyline.CompileRequest.create({ blueprintId: 'BP1', slot: slot([8, 8, 16]) }),
    descriptor('BP1'),
  );
  t.true('job' in admitted && admitted.job.jobId === 'BP1@8x8x16?scale=1.25' && admitted.job.parameters.scale === 1.25);
});

test('the threshold of failed jobs in a row opens the breaker and switches to the conservative strategy', (t) => {
  const q = queue({ concurrency: 1, breakerThreshold: 2 });
  q.request('BP001');
  q.request('BP002');
  const afterOne = q.finish('BP001', false);
  t.deepEqual(
    spawned(afterOne),
    [{ blueprint: 'BP002', strategy: STANDARD }],
    'one failure: still closed and standard',
  );
  t.is(q.state.breaker.state, CircuitBreakerState.CIRCUIT_STATE_CLOSED);
  q.request('BP003');
  const afterTwo = q.finish('BP002', false);
  t.is(q.state.breaker.state, CircuitBreakerState.CIRCUIT_STATE_OPEN);
  t.true(q.state.conservative);
  t.deepEqual(spawned(afterTwo), [], 'open: the queued job waits');
  t.deepEqual(
    ofType(afterTwo, 'schedule-probe').map((e) => e.delayMs),
    [1_000],
  );
  t.deepEqual(spawned(q.request('BP004')), []);
  t.deepEqual(ofType(q.request('BP001'), 'schedule-probe'), [], 'one probe timer at a time');
  const events = q.state.events.map((e) => `${e.description}:${e.attributes?.failures ?? ''}`);
  t.true(events.includes('tezzeret.breaker_open:2'));
  t.true(events.includes('tezzeret.conservative_mode_enabled:2'));
  t.is(q.state.metrics['tezzeret.breaker.open_total'], 1);
});

test('after the breaker timeout one conservative probe runs; its success closes the breaker and ends conservative mode', (t) => {
  const q = queue({ concurrency: 2, breakerThreshold: 1, breakerTimeoutMs: 1_000 });
  q.request('BP001');
  q.finish('BP001', false);
  q.request('BP002');
  q.request('BP003');
  q.advance(999);
  const early = q.apply({ type: 'probe-due' });
  t.deepEqual(spawned(early), [], 'before the timeout nothing runs');
  t.deepEqual(ofType(early, 'schedule-probe').length, 1, 'and the probe is scheduled again');
  q.advance(1);
  const probe = q.apply({ type: 'probe-due' });
  t.deepEqual(spawned(probe), [{ blueprint: 'BP002', strategy: CONSERVATIVE }], 'one probe, though two could run');
  t.is(q.state.breaker.state, CircuitBreakerState.CIRCUIT_STATE_HALF_OPEN);
  const closed = q.finish('BP002', true);
  t.is(q.state.breaker.state, CircuitBreakerState.CIRCUIT_STATE_CLOSED);
  t.false(q.state.conservative);
  t.deepEqual(spawned(closed), [{ blueprint: 'BP003', strategy: STANDARD }]);
});

test('a probe that fails opens the breaker again at once', (t) => {
  const q = queue({ concurrency: 1, breakerThreshold: 1, breakerTimeoutMs: 1_000 });
  q.request('BP001');
  q.finish('BP001', false);
  q.request('BP002');
  q.request('BP003');
  q.advance(1_000);
  q.apply({ type: 'probe-due' });
  const failed = q.finish('BP002', false, { timedOut: true });
  t.is(q.state.breaker.state, CircuitBreakerState.CIRCUIT_STATE_OPEN);
  t.deepEqual(spawned(failed), []);
  t.is(ofType(failed, 'schedule-probe').length, 1);
  t.is(q.state.metrics['tezzeret.jobs.timed_out'], 1);
  t.is(q.state.metrics['tezzeret.breaker.open_total'], 2);
});

test("recovery re-queues the journal's unfinished jobs in order and fails those whose blueprint is gone", (t) => {
  const q = queue({ concurrency: 1 });
  const entry = (id: string): JournalJob => ({
    jobId: `${id}@32`,
    blueprintId: id,
    slotDims: [32],
    parameters: { scale: 1 },
    state: 'running',
    attempts: 1,
    lastError: '',
  });
  const effects = q.apply({
    type: 'recovered',
    jobs: [
      { entry: entry('BP001'), descriptor: descriptor('BP001') },
      { entry: entry('BP404'), descriptor: null },
      { entry: entry('BP002'), descriptor: descriptor('BP002') },
    ],
  });
  t.deepEqual(
    ofType(effects, 'journal-finished').map((e) => [e.jobId, e.ok, e.error]),
    [['BP404@32', false, 'blueprint no longer in the catalog']],
  );
  t.deepEqual(
    spawned(effects).map((s) => s.blueprint),
    ['BP001'],
  );
  t.deepEqual(ofType(effects, 'journal-record'), [], 'recovered jobs are already journaled');
  t.deepEqual(q.request('BP002', 'alice'), [], 'a request for a recovered job waits for it');
  t.deepEqual(replies(q.finish('BP001', true)), [], 'nobody asked for BP001 in this incarnation');
  t.deepEqual(replies(q.finish('BP002', true)), [{ to: ['alice'], ok: true, error: '' }]);
});

test('a job actor lost without a result fails its job, answers its askers and makes room', (t) => {
  const q = queue({ concurrency: 1 });
  const name = ofType(q.request('BP001', 'alice'), 'spawn')[0]?.name ?? '';
  q.request('BP002');
  t.deepEqual(
    q.apply({ type: 'job-lost', name: 'job-99-unknown', error: 'stopped' }),
    [],
    'an unknown actor changes nothing',
  );
  const lost = q.apply({ type: 'job-lost', name, error: 'compile job ended without a result: stopped' });
  t.deepEqual(replies(lost), [{ to: ['alice'], ok: false, error: 'compile job ended without a result: stopped' }]);
  t.deepEqual(
    spawned(lost).map((s) => s.blueprint),
    ['BP002'],
  );
});

test('stopping answers every asker of queued and running jobs; telemetry reports and drains the events', (t) => {
  const q = queue({ concurrency: 1 });
  q.request('BP001', 'alice');
  q.request('BP002', 'bob');
  q.request('BP002', 'carol');
  const telemetry = ofType(q.apply({ type: 'telemetry-due' }), 'telemetry')[0];
  const metric = (name: string) => telemetry?.metrics.find((m) => m.name === name)?.value;
  t.is(metric('tezzeret.jobs.requested'), 3);
  t.is(metric('tezzeret.jobs.queued'), 1);
  t.is(metric('tezzeret.jobs.running'), 1);
  t.deepEqual(
    telemetry?.events.map((e) => e.description),
    ['tezzeret.compile_started'],
  );
  t.deepEqual(q.state.events, [], 'events go out once');
  const stopped = replies(q.apply({ type: 'stopping' }));
  t.deepEqual(
    stopped.map((r) => r.to),
    [['alice'], ['bob', 'carol']],
  );
  t.true(stopped.every((r) => !r.ok && /the forge stopped/.test(r.error)));
});

test('a restart starts from a clean state: closed breaker, standard strategy, job names counted from 1', (t) => {
  const rules = { concurrency: 1, breakerThreshold: 1, breakerTimeoutMs: 1_000 };
  const before = queue(rules);
  before.request('BP001');
  before.finish('BP001', false);
  before.request('BP002');
  t.is(before.state.breaker.state, CircuitBreakerState.CIRCUIT_STATE_OPEN);
  t.true(before.state.conservative);

  const after = queue(rules);
  const first = ofType(after.request('BP002'), 'spawn');
  t.deepEqual(
    first.map((e) => e.strategy),
    [STANDARD],
  );
  t.regex(first[0]?.name ?? '', /^job-1-BP002/);
  t.is(after.state.breaker.state, CircuitBreakerState.CIRCUIT_STATE_CLOSED);
  t.not(after.state.breaker, before.state.breaker);
  t.deepEqual(after.state.metrics, { 'tezzeret.jobs.requested': 1, 'tezzeret.jobs.started': 1 });
  t.is(before.state.breaker.state, CircuitBreakerState.CIRCUIT_STATE_OPEN, 'the old incarnation is untouched');
});
