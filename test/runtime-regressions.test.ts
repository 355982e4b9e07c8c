// Regressions found in review: each test fails on the code before its fix.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import type { ActorLogic } from '../runtime/logic.ts';
import { supervisorLogic } from '../supervision/supervisor.ts';
import type { SupervisorEffect } from '../supervision/supervisor-logic.ts';
import { metric, testSystem } from './helpers/actors.ts';
import { EventLog, gate } from './helpers/events.ts';

const { ActorStatus, SupervisorDirective, SupervisionStrategy: S } = leyline;

/** Fails on "boom" after `hold` resolves; counts and replies to "get". */
function failing(
  log: EventLog<string>,
  hold: () => Promise<void> = () => Promise.resolve(),
): ActorLogic<number, v1.MetricPoint | v1.TimerFired> {
  return {
    kind: 'failing',
    start(ctx) {
      log.push(`start:${ctx.incarnation}`);
      if (ctx.incarnation === 1) ctx.after('old-timer', 1);
      return 0;
    },
    async receive(count, message, ctx) {
      const name = message instanceof leyline.TimerFired ? `timer:${message.timerId}` : message.name;
      log.push(`${ctx.incarnation}:${name}`);
      if (name === 'boom') {
        await hold();
        throw new Error('boom');
      }
      if (name === 'get') ctx.reply(leyline.MetricPoint.create({ name: 'count', value: count }));
      return count + 1;
    },
  };
}

test('a suspend that overlaps a failure does not hold the restarted actor again', async (t) => {
  const system = testSystem();
  const log = new EventLog<string>();
  const release = gate();
  const failures = new EventLog<v1.ActorFailed>();
  const ref = system.spawn(
    null,
    failing(log, () => release.promise),
    { name: 'a', onFailure: (f) => failures.push(f) },
  );
  await log.waitFor((e) => e === '1:timer:old-timer');
  system.dispatch(ref, metric('boom'));
  await log.waitFor((e) => e === '1:boom');
  system.suspend(ref); // e.g. a sibling failed under one-for-all while this one is busy
  release.open();
  await failures.waitFor(() => true);
  await system.decide(ref, SupervisorDirective.SUPERVISOR_DIRECTIVE_RESTART);
  const reply = await system.ask(ref, metric('get'), leyline.MetricPoint, 2_000);
  t.is(reply.value, 0);
  t.is(system.describe('/a')?.status, ActorStatus.ACTOR_STATUS_RUNNING);
  await system.shutdown();
});

test('notices queued for an earlier incarnation (timer ticks included) are not delivered to the next', async (t) => {
  const system = testSystem();
  const log = new EventLog<string>();
  const release = gate();
  const failures = new EventLog<v1.ActorFailed>();
  const ref = system.spawn(
    null,
    failing(log, () => release.promise),
    { name: 't', onFailure: (f) => failures.push(f) },
  );
  await log.waitFor((e) => e === '1:timer:old-timer');
  system.dispatch(ref, metric('boom'));
  await log.waitFor((e) => e === '1:boom');
  // While incarnation 1 is busy, a tick for it is queued.
  system.notify(ref, leyline.TimerFired.create({ timerId: 'queued-tick', sequence: 1n }));
  release.open();
  await failures.waitFor(() => true);
  await system.decide(ref, SupervisorDirective.SUPERVISOR_DIRECTIVE_RESTART);
  await system.ask(ref, metric('get'), leyline.MetricPoint, 2_000);
  t.false(log.seen.includes('2:timer:queued-tick'), `incarnation 2 saw incarnation 1's tick: ${log.seen.join(' ')}`);
  t.true(log.seen.includes('2:get'));
  await system.shutdown();
});

test('a child that fails during a group restart that already includes it is restarted once, not twice', async (t) => {
  const system = testSystem();
  const effects = new EventLog<SupervisorEffect>();
  const logA = new EventLog<string>();
  const logB = new EventLog<string>();
  const releaseB = gate();
  const handled = new EventLog<v1.ActorFailed | v1.ActorStarted | v1.Terminated | v1.TimerFired>();
  const supervisor = supervisorLogic(
    system,
    {
      id: 'sup',
      flags: {
        strategy: S.SUPERVISION_STRATEGY_ONE_FOR_ALL,
        backoff: { baseMs: 5, maxMs: 5, jitter: 0, stableMs: 60_000 },
      },
      children: [
        { id: 'a', logic: failing(logA) },
        { id: 'b', logic: failing(logB, () => releaseB.promise) },
      ],
    },
    { observe: (_path, effect) => effects.push(effect) },
  );
  // The same supervisor, reporting each message it has finished handling.
  const root = system.spawn(
    null,
    {
      ...supervisor,
      async receive(state, message, ctx) {
        const next = await supervisor.receive(state, message, ctx);
        handled.push(message);
        return next;
      },
    },
    { name: 'sup' },
  );
  await system.whenStarted(root);
  system.dispatch({ path: '/sup/b', system: system.name }, metric('boom')); // b busy, will fail
  await logB.waitFor((e) => e === '1:boom');
  system.dispatch({ path: '/sup/a', system: system.name }, metric('boom')); // a fails: group restart, b held when done
  await effects.waitFor((e) => e.type === 'restart');
  releaseB.open(); // b now fails inside the round that restarts it anyway
  await logB.waitFor((e) => e === 'start:2');
  // Wait until the supervisor has handled b's (now stale) failure notice.
  await handled.waitFor((m) => m instanceof leyline.ActorFailed && m.path === '/sup/b');
  await system.ask({ path: '/sup/b', system: system.name }, metric('get'), leyline.MetricPoint, 2_000);
  t.is(
    effects.count((e) => e.type === 'restart'),
    1,
    'one round',
  );
  t.is(
    logB.count((e) => e.startsWith('start:')),
    2,
  );
  await system.shutdown();
});
