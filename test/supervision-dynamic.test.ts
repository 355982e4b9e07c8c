// Children started at run time under a DynamicChildSpec (supervision/dynamic-children.ts), with real actors: a
// crashed child is restarted after its backoff; past its intensity it is stopped and its parent told (`stop`) or
// the parent fails in turn (`escalate`); a spec with a bad field is refused naming it.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import type { ActorLogic, ActorRef } from '../runtime/logic.ts';
import { ChildSpecError, validateDynamicSpec, type DynamicChildSpec } from '../supervision/child-spec.ts';
import { DynamicChildren, type GaveUp } from '../supervision/dynamic-children.ts';
import { probeLogic, testSystem, type ProbeEvent } from './helpers/actors.ts';
import { EventLog } from './helpers/events.ts';

const spec = (giveUp: DynamicChildSpec['giveUp']): DynamicChildSpec => ({
  restart: leyline.RestartPolicy.RESTART_POLICY_TRANSIENT,
  intensity: 2,
  periodMs: 60_000,
  maxRepeats: 0,
  backoff: { baseMs: 5, maxMs: 20, jitter: 0, stableMs: 60_000 },
  giveUp,
  shutdownMs: 1_000,
});

type ParentMessage = v1.MetricPoint | v1.ActorFailed | v1.ActorStarted | v1.Terminated | v1.TimerFired;

/** A parent that starts one probe child and forwards "boom"/"get" MetricPoints to it; reports what it gave up on. */
function parentLogic(
  children: () => DynamicChildren,
  probes: EventLog<ProbeEvent>,
  gaveUp: EventLog<GaveUp>,
): ActorLogic<{ child: ActorRef<v1.MetricPoint>; supervised: DynamicChildren }, ParentMessage> {
  return {
    kind: 'parent',
    accepts: [leyline.MetricPoint],
    start(ctx) {
      const supervised = children();
      return { child: supervised.spawn(ctx, 'child', probeLogic('child', probes)), supervised };
    },
    async receive(state, message, ctx) {
      if (message instanceof leyline.MetricPoint) {
        ctx.dispatch(state.child, message);
        return state;
      }
      const given = await state.supervised.handle(ctx, message);
      if (given) gaveUp.push(given);
      return state;
    },
  };
}

test('a crashed child is restarted; past its intensity it is stopped and the parent told why (giveUp: stop)', async (t) => {
  const system = testSystem();
  const probes = new EventLog<ProbeEvent>();
  const gaveUp = new EventLog<GaveUp>();
  const parent = system.spawn(
    null,
    parentLogic(
      () => new DynamicChildren(system, spec(leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP), 'restart:'),
      probes,
      gaveUp,
    ),
    { name: 'parent' },
  ) as ActorRef<v1.MetricPoint>;
  system.dispatch(parent, leyline.MetricPoint.create({ name: 'boom' }));
  await probes.waitFor((e) => e.kind === 'start' && e.incarnation === 2);
  t.is(system.tree().find((w) => w.path === '/parent/child')?.restartCount, 1);
  system.dispatch(parent, leyline.MetricPoint.create({ name: 'boom' }));
  await probes.waitFor((e) => e.kind === 'start' && e.incarnation === 3);
  system.dispatch(parent, leyline.MetricPoint.create({ name: 'boom' }));
  const given = await gaveUp.waitFor(() => true);
  t.is(given.name, 'child');
  t.is(given.restarts, 2);
  t.regex(given.error, /restart intensity exceeded: more than 2 restarts .*child went boom/);
  t.false(system.isAlive({ path: '/parent/child', system: system.name }), 'the child was stopped');
  t.true(system.isAlive(parent), 'the parent goes on');
  await system.shutdown();
});

test('past its intensity, giveUp: escalate fails the parent with the child named', async (t) => {
  const system = testSystem();
  const probes = new EventLog<ProbeEvent>();
  const failures = new EventLog<v1.ActorFailed>();
  const parent = system.spawn(
    null,
    parentLogic(
      () => new DynamicChildren(system, spec(leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_ESCALATE), 'restart:'),
      probes,
      new EventLog<GaveUp>(),
    ),
    {
      name: 'parent',
      onFailure: (failure) => failures.push(failure),
    },
  ) as ActorRef<v1.MetricPoint>;
  for (let incarnation = 2; incarnation <= 3; incarnation += 1) {
    system.dispatch(parent, leyline.MetricPoint.create({ name: 'boom' }));
    await probes.waitFor((e) => e.kind === 'start' && e.incarnation === incarnation);
  }
  system.dispatch(parent, leyline.MetricPoint.create({ name: 'boom' }));
  const failure = await failures.waitFor(() => true);
  t.regex(failure.error, /^EscalationError: child: restart intensity exceeded/);
  await system.shutdown();
});

test('a dynamic child spec with a bad field is refused, naming it', (t) => {
  t.throws(
    () =>
      validateDynamicSpec(
        { ...spec(leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP), intensity: -1 },
        'kasmina.seedSpec',
      ),
    { instanceOf: ChildSpecError, message: /kasmina\.seedSpec\.intensity must be an integer >= 0/ },
  );
  t.throws(
    () =>
      validateDynamicSpec({ ...spec(leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP), giveUp: 9 as never }, 'x'),
    { message: /x\.giveUp must be SUPERVISOR_DIRECTIVE_STOP or SUPERVISOR_DIRECTIVE_ESCALATE/ },
  );
  t.throws(
    () =>
      validateDynamicSpec(
        {
          ...spec(leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP),
          backoff: { ...spec(leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP).backoff, maxMs: 1 },
        },
        'x',
      ),
    { message: /x\.backoff\.maxMs must be >= baseMs/ },
  );
  t.notThrows(() => validateDynamicSpec(spec(leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_ESCALATE), 'x'));
});
