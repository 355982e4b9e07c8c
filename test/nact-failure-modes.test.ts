// One test per unsafe corner of nact 7.6.2 (docs/architecture.md#nact-failure-modes), each showing that our runtime and
// supervision layer make it impossible.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { InvalidActorNameError, NotLeylineError } from '../runtime/errors.ts';
import { statelessLogic, type ActorLogic, type ActorRef } from '../runtime/logic.ts';
import { safeActorName } from '../runtime/names.ts';
import { ActorSystem } from '../runtime/system.ts';
import type { SupervisorSpec } from '../supervision/child-spec.ts';
import { supervisorLogic } from '../supervision/supervisor.ts';
import type { SupervisorEffect } from '../supervision/supervisor-logic.ts';
import { metric, probeLogic, testSystem, type ProbeEvent } from './helpers/actors.ts';
import { EventLog, gate } from './helpers/events.ts';

const {
  SupervisionStrategy: S,
  SupervisorDirective: D,
  ActorStatus,
  TerminationReason: T,
  DeadLetterReason: DL,
} = leyline;
const fast = { baseMs: 10, maxMs: 40, jitter: 0, stableMs: 60_000 };

/** Spawns `spec` as the root; its escalations are recorded instead of ending anything. */
function boot(
  system: ActorSystem,
  spec: SupervisorSpec,
  escalations = new EventLog<v1.ActorFailed>(),
  effects = new EventLog<SupervisorEffect>(),
) {
  const ref = system.spawn(null, supervisorLogic(system, spec, { observe: (_path, effect) => effects.push(effect) }), {
    name: spec.id,
    onFailure: (failure) => escalations.push(failure),
  });
  return { ref, escalations };
}
const at = <M extends v1.MetricPoint>(system: ActorSystem, path: string): ActorRef<M> => ({
  path,
  system: system.name,
});

test('§9 a start-up function that always throws does not loop hot: backoff between tries, then escalation', async (t) => {
  const system = testSystem();
  const log = new EventLog<ProbeEvent | { kind: 'timer' }>();
  setTimeout(() => log.push({ kind: 'timer' }), 0);
  const { escalations } = boot(system, {
    id: 'root',
    // Repeats off: this is about the intensity (supervision-logic.test.ts covers the same error repeated).
    flags: { intensity: 3, periodMs: 60_000, maxRepeats: 0, backoff: fast },
    children: [{ id: 'broken', logic: probeLogic('broken', log as EventLog<ProbeEvent>, { failStart: () => true }) }],
  });
  const escalation = await escalations.waitFor(() => true);
  t.regex(escalation.error, /restart intensity exceeded: more than 3 restarts/);
  const starts = log.seen.filter((e) => e.kind === 'start');
  t.is(starts.length, 4, 'one start and three restarts, not hundreds of thousands');
  const timerAt = log.seen.findIndex((e) => e.kind === 'timer');
  const secondStart = log.seen.findIndex((e) => e.kind === 'start' && e.incarnation === 2);
  t.true(timerAt >= 0 && timerAt < secondStart, 'a timer set before the first start fired before the first restart');
  t.deepEqual(
    system.tree().filter((w) => w.path === '/root/broken'),
    [],
    'the broken child was stopped, not left held',
  );
  await system.shutdown();
});

test('§9 escalation then a "resume" from above leaves no child stuck and no actor running two messages at once', async (t) => {
  const system = testSystem();
  const log = new EventLog<ProbeEvent>();
  let inFlight = 0;
  let maxInFlight = 0;
  const busy = probeLogic('worker', log, {
    holdOn: () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return Promise.resolve().then(() => {
        inFlight -= 1;
      });
    },
  });
  const mid: SupervisorSpec = {
    id: 'mid',
    flags: { backoff: fast },
    children: [{ id: 'worker', logic: busy, decide: () => D.SUPERVISOR_DIRECTIVE_ESCALATE }],
  };
  const { ref } = boot(system, {
    id: 'root',
    flags: { backoff: fast },
    children: [{ ...mid, restart: leyline.RestartPolicy.RESTART_POLICY_PERMANENT }],
  });
  await system.whenStarted(ref);
  const worker = at(system, '/root/mid/worker');
  system.dispatch(worker, metric('boom'));
  for (let i = 0; i < 5; i++) system.dispatch(worker, metric(`m${i}`));
  // The escalation stops the worker; the root restarts mid, which starts a fresh worker.
  await log.waitFor((e) => e.kind === 'start' && e.id === 'worker' && log.count((s) => s.kind === 'start') === 2);
  const reply = await system.ask(worker, metric('get'), leyline.MetricPoint, 2_000);
  t.is(reply.value, 0, 'a fresh worker answers');
  const held = system.tree().filter((w) => w.status === ActorStatus.ACTOR_STATUS_SUSPENDED);
  t.deepEqual(held, [], 'nothing is left held');
  t.is(maxInFlight, 1);
  await system.shutdown();
});

test('§9 one-for-all never restarts a busy sibling while it is still handling a message', async (t) => {
  const system = testSystem();
  const trace = new EventLog<string>();
  const events = trace.seen;
  let inFlight = 0;
  let overlap = false;
  const release = gate();
  const busyStarted = gate();
  const sibling: ActorLogic<null, v1.MetricPoint> = {
    kind: 'sibling',
    start(ctx) {
      if (inFlight > 0) overlap = true;
      trace.push(`start:${ctx.incarnation}`);
      return null;
    },
    async receive(state) {
      inFlight += 1;
      trace.push('receive:begin');
      busyStarted.open();
      await release.promise;
      trace.push('receive:end');
      inFlight -= 1;
      return state;
    },
    stop() {
      if (inFlight > 0) overlap = true;
      trace.push('stop');
    },
  };
  const log = new EventLog<ProbeEvent>();
  const effects = new EventLog<SupervisorEffect>();
  const spec: SupervisorSpec = {
    id: 'root',
    flags: { strategy: S.SUPERVISION_STRATEGY_ONE_FOR_ALL, backoff: fast },
    children: [
      { id: 'failing', logic: probeLogic('failing', log) },
      { id: 'sibling', logic: sibling },
    ],
  };
  const { ref } = boot(system, spec, new EventLog(), effects);
  await system.whenStarted(ref);
  system.dispatch(at(system, '/root/sibling'), metric('long'));
  await busyStarted.promise;
  system.dispatch(at(system, '/root/failing'), metric('boom'));
  const restart = await effects.waitFor((e) => e.type === 'restart');
  t.deepEqual(restart, { type: 'restart', ids: ['failing', 'sibling'] });
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(events, ['start:1', 'receive:begin'], 'the group restart waits for the busy sibling');
  t.is(
    log.count((e) => e.kind === 'start'),
    1,
    'nobody restarted before the sibling is done',
  );
  release.open();
  await trace.waitFor((e) => e === 'start:2');
  t.deepEqual(events, ['start:1', 'receive:begin', 'receive:end', 'stop', 'start:2']);
  t.false(overlap);
  t.is(events.filter((e) => e === 'start:2').length, 1, 'restarted exactly once');
  await system.shutdown();
});

test('§9 an actor with children that fails itself is restarted with fresh children and is not stuck', async (t) => {
  const system = testSystem();
  const log = new EventLog<ProbeEvent>();
  const parent: ActorLogic<null, v1.MetricPoint> = {
    kind: 'parent',
    start(ctx) {
      ctx.spawn(probeLogic('kid', log), { name: 'kid' });
      return null;
    },
    receive(state, message, ctx) {
      if (message.name === 'boom') throw new Error('parent fault');
      ctx.reply(leyline.MetricPoint.create({ name: 'alive', value: ctx.incarnation }));
      return state;
    },
  };
  const { ref } = boot(system, { id: 'root', flags: { backoff: fast }, children: [{ id: 'parent', logic: parent }] });
  await system.whenStarted(ref);
  const parentRef = at(system, '/root/parent');
  system.dispatch(parentRef, metric('boom'));
  const reply = await system.ask(parentRef, metric('ping'), leyline.MetricPoint, 2_000);
  t.is(reply.value, 2, 'the second incarnation answers the message queued behind the fault');
  t.deepEqual(
    log.seen.filter((e) => e.kind !== 'receive').map((e) => `${e.kind}:${e.incarnation}`),
    ['start:1', 'stop:1', 'start:1'],
  );
  t.true(system.isAlive(at(system, '/root/parent/kid')));
  await system.shutdown();
});

test('§9 an unknown decision (undefined or bogus) does not escalate: the default restart applies and is counted', async (t) => {
  const system = testSystem();
  const log = new EventLog<ProbeEvent>();
  const { ref, escalations } = boot(system, {
    id: 'root',
    flags: { backoff: fast },
    children: [
      { id: 'a', logic: probeLogic('a', log), decide: () => undefined as unknown as v1.SupervisorDirective },
      { id: 'b', logic: probeLogic('b', log), decide: () => 'bogus' as unknown as v1.SupervisorDirective },
    ],
  });
  await system.whenStarted(ref);
  system.dispatch(at(system, '/root/a'), metric('boom'));
  system.dispatch(at(system, '/root/b'), metric('boom'));
  await log.waitFor((e) => e.kind === 'start' && e.id === 'a' && e.incarnation === 2);
  await log.waitFor((e) => e.kind === 'start' && e.id === 'b' && e.incarnation === 2);
  t.is(escalations.seen.length, 0);
  t.is(system.inspectState('/root').decision_errors, '2');
  await system.shutdown();
});

test('§9 a decider or failure hook that throws never ends the process (no unhandled rejection)', async (t) => {
  const system = testSystem();
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    rejections.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  try {
    const log = new EventLog<ProbeEvent>();
    const { ref } = boot(system, {
      id: 'root',
      flags: { backoff: fast },
      children: [
        {
          id: 'a',
          logic: probeLogic('a', log),
          decide: () => {
            throw new Error('decider bug');
          },
        },
      ],
    });
    await system.whenStarted(ref);
    system.dispatch(at(system, '/root/a'), metric('boom'));
    await log.waitFor((e) => e.kind === 'start' && e.incarnation === 2);
    t.is(system.inspectState('/root').decision_errors, '1');

    const hooked = system.spawn(null, probeLogic('h', log), {
      name: 'hooked',
      onFailure: () => {
        throw new Error('hook bug');
      },
    });
    system.dispatch(hooked, metric('boom'));
    const ended = await system.whenTerminated(hooked);
    t.is(ended.reason, T.TERMINATION_REASON_FAILED, 'a failing hook stops the actor instead of leaving it held');
    t.true(system.counters.internalErrors >= 1);
    await new Promise((resolve) => setImmediate(resolve));
    t.deepEqual(rejections, []);
  } finally {
    process.off('unhandledRejection', onRejection);
    await system.shutdown();
  }
});

test("§9 a stateless actor's crash is supervised (nact's spawnStateless ignored onCrash)", async (t) => {
  const system = testSystem();
  const echo = statelessLogic<v1.MetricPoint>('echo', (message, ctx) => {
    if (message.name === 'boom') throw new Error('stateless fault');
    ctx.reply(leyline.MetricPoint.create({ name: 'incarnation', value: ctx.incarnation }));
  });
  const { ref } = boot(system, { id: 'root', flags: { backoff: fast }, children: [{ id: 'echo', logic: echo }] });
  await system.whenStarted(ref);
  const echoRef = at(system, '/root/echo');
  t.is((await system.ask(echoRef, metric('hi'), leyline.MetricPoint, 1_000)).value, 1);
  system.dispatch(echoRef, metric('boom'));
  t.is((await system.ask(echoRef, metric('hi'), leyline.MetricPoint, 2_000)).value, 2, 'restarted by its supervisor');
  await system.shutdown();
});

test('§9 messages to a stopped actor are dead letters, not silently dropped', async (t) => {
  const system = testSystem();
  const ref = system.spawn(null, probeLogic('p', new EventLog()), { name: 'p' });
  await system.stop(ref);
  t.false(system.dispatch(ref, metric('late')));
  t.is(system.deadLetters.recent(1)[0]?.reason, DL.DEAD_LETTER_REASON_RECIPIENT_STOPPED);
  t.is(system.deadLetters.recent(1)[0]?.recipientPath, '/p');
  await system.shutdown();
});

test('§9 the system name is honoured (nact\'s start("name") ignored it)', async (t) => {
  const system = new ActorSystem({ name: 'named-system' });
  const ref = system.spawn(null, probeLogic('p', new EventLog()), { name: 'p' });
  t.is(ref.system, 'named-system');
  t.is(system.name, 'named-system');
  await system.shutdown();
});

test('§9 an actor name with ":" or "/" is refused with a clear error; safeActorName converts ids', async (t) => {
  const system = testSystem();
  for (const bad of ['slot:fc1', 'a/b', 'with space', '']) {
    const error = t.throws(() => system.spawn(null, probeLogic('p', new EventLog()), { name: bad }), {
      instanceOf: InvalidActorNameError,
    });
    t.true(error.message.startsWith(`invalid actor name ${JSON.stringify(bad)}`));
  }
  const a = safeActorName('slot:fc1');
  const b = safeActorName('slot/fc1');
  t.regex(a, /^slot_fc1\.[0-9a-f]{8}$/);
  t.not(a, b, 'distinct ids stay distinct');
  t.is(safeActorName('seed-1'), 'seed-1');
  t.notThrows(() => system.spawn(null, probeLogic('p', new EventLog()), { name: a }));
  await system.shutdown();
});

test('§9 message safety: refs are typed by message (checked by tsc) and the runtime refuses non-Leyline payloads', async (t) => {
  const system = testSystem();
  const ref = system.spawn(null, probeLogic('p', new EventLog()), { name: 'p' });
  // @ts-expect-error a plain object is not a Leyline message
  t.throws(() => system.dispatch(ref, { name: 'x' }), { instanceOf: NotLeylineError });
  // @ts-expect-error this ref accepts MetricPoint, not SystemStatePacket
  t.throws(() => system.dispatch(ref, leyline.SystemStatePacket.create({ version: 1 })));
  await system.shutdown();
});
