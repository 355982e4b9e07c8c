// ActorSystem.request: the answer of an actor whose answering is not known in advance (esper inspect send) —
// the reply of any type, null when the handler ended without one, a kept ask's later reply, the handler's failure.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { ActorFailedError, AskTimeoutError, DeliveryTimeoutError } from '../runtime/errors.ts';
import type { ActorLogic } from '../runtime/logic.ts';
import { EventLog, gate } from './helpers/events.ts';
import { metric, probeLogic, testSystem } from './helpers/actors.ts';

test('request resolves with the reply, whatever its type, or null when the handler answered nothing', async (t) => {
  const system = testSystem();
  t.teardown(() => system.shutdown());
  const ref = system.spawn(null, probeLogic('p', new EventLog()), { name: 'p' });
  const answer = await system.request(ref, metric('get'), 1_000);
  t.true(answer instanceof leyline.MetricPoint);
  t.like(answer, { name: 'count', value: 0 });
  t.is(await system.request(ref, metric('count me'), 1_000), null);
  t.like(
    await system.request(ref, metric('get'), 1_000),
    { name: 'count', value: 2 },
    'the unanswered one was handled',
  );
});

test("request rejects with the handler's failure", async (t) => {
  const system = testSystem();
  t.teardown(() => system.shutdown());
  const ref = system.spawn(null, probeLogic('p', new EventLog()), { name: 'p' });
  await t.throwsAsync(system.request(ref, metric('boom'), 1_000), {
    instanceOf: ActorFailedError,
    message: /p went boom/,
  });
});

test('a kept ask is waited for past the handler; its deadline says whether the message was handled', async (t) => {
  const system = testSystem();
  t.teardown(() => system.shutdown());
  const kept: Array<(message: InstanceType<typeof leyline.MetricPoint>) => boolean> = [];
  const deferring: ActorLogic<null, InstanceType<typeof leyline.MetricPoint>> = {
    kind: 'deferring',
    start: () => null,
    receive(state, _message, ctx) {
      const later = ctx.replyLater();
      if (later) kept.push(later);
      return state;
    },
  };
  const ref = system.spawn(null, deferring, { name: 'd' });
  const pending = system.request(ref, metric('job'), 5_000);
  // Once a later message is handled, the first one's handler has long returned: its ask is still open.
  await system.deliver(ref, metric('marker'), 5_000);
  t.true(kept[0]!(leyline.MetricPoint.create({ name: 'done' })));
  t.like(await pending, { name: 'done' });
  await t.throwsAsync(system.request(ref, metric('never answered'), 50), { instanceOf: AskTimeoutError });

  const held = gate();
  const busy = system.spawn(
    null,
    probeLogic('b', new EventLog(), { holdOn: (m) => (m.name === 'hold' ? held.promise : undefined) }),
    { name: 'b' },
  );
  system.dispatch(busy, metric('hold'));
  await t.throwsAsync(system.request(busy, metric('get'), 50), { instanceOf: DeliveryTimeoutError });
  held.open(undefined);
});
