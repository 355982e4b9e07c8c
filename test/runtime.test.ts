// The actor runtime: Leyline-only payloads, asks with deadlines, bounded mailboxes, dead letters, watch,
// timers, shutdown order and deadline.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import {
  AskTimeoutError,
  MailboxFullError,
  NotLeylineError,
  UnacceptedMessageError,
  WrongReplyError,
  ActorFailedError,
} from '../runtime/errors.ts';
import type { ActorLogic } from '../runtime/logic.ts';
import { EventLog, gate } from './helpers/events.ts';
import { metric, probeLogic, testSystem, watcherLogic, type ProbeEvent } from './helpers/actors.ts';

const { DeadLetterReason: DL, TerminationReason: T, ActorStatus } = leyline;

test('a Leyline message is delivered and an ask gets its typed reply', async (t) => {
  const system = testSystem();
  const log = new EventLog<ProbeEvent>();
  const ref = system.spawn(null, probeLogic('p', log), { name: 'p' });
  system.dispatch(ref, metric('one'));
  system.dispatch(ref, metric('two'));
  const reply = await system.ask(ref, metric('get'), leyline.MetricPoint, 1_000);
  t.true(reply instanceof leyline.MetricPoint);
  t.is(reply.value, 2);
  await system.shutdown();
});

test('a payload that is not a Leyline message is refused, counted and never delivered', async (t) => {
  const system = testSystem();
  const log = new EventLog<ProbeEvent>();
  const ref = system.spawn(null, probeLogic('p', log), { name: 'p' });
  const lookalike = { name: 'one', value: 1 };
  const error = t.throws(() => system.dispatch(ref, lookalike as never), { instanceOf: NotLeylineError });
  t.regex(error.message, /refused payload for \/p: a plain object is not a Leyline message/);
  t.throws(() => system.dispatch(ref, 'text' as never), { message: /string is not a Leyline message/ });
  await t.throwsAsync(system.ask(ref, new Map() as never, leyline.MetricPoint, 100), { instanceOf: NotLeylineError });
  t.is(system.counters.refusedPayloads, 3);
  await system.ask(ref, metric('get'), leyline.MetricPoint, 1_000);
  t.is(
    log.count((e) => e.kind === 'receive'),
    1,
    'only the Leyline "get" reached the handler',
  );
  await system.shutdown();
});

test('a Leyline message of a type the actor does not accept is refused with the accepted list', async (t) => {
  const system = testSystem();
  const ref = system.spawn(null, probeLogic('p', new EventLog()), { name: 'p' });
  const error = t.throws(() => system.dispatch(ref, leyline.SystemStatePacket.create({ version: 1 }) as never), {
    instanceOf: UnacceptedMessageError,
  });
  t.regex(
    error.message,
    /does not accept esper\.leyline\.v1\.SystemStatePacket \(accepts esper\.leyline\.v1\.MetricPoint\)/,
  );
  await system.shutdown();
});

test('an ask always has a deadline: no reply rejects with AskTimeoutError and a late reply is a dead letter', async (t) => {
  const system = testSystem();
  const release = gate();
  const replied = gate<boolean>();
  const slow: ActorLogic<null, InstanceType<typeof leyline.MetricPoint>> = {
    kind: 'slow',
    start: () => null,
    async receive(state, _message, ctx) {
      await release.promise;
      replied.open(ctx.reply(leyline.MetricPoint.create({ name: 'late' })));
      return state;
    },
  };
  const ref = system.spawn(null, slow, { name: 'slow' });
  const error = await t.throwsAsync(system.ask(ref, metric('q'), leyline.MetricPoint, 30), {
    instanceOf: AskTimeoutError,
  });
  t.regex(error.message, /ask to \/slow with esper\.leyline\.v1\.MetricPoint got no reply within 30 ms/);
  release.open();
  t.false(await replied.promise, 'the reply found no live ask');
  t.is(system.deadLetters.recent(1)[0]?.reason, DL.DEAD_LETTER_REASON_REPLY_EXPIRED);
  t.is(system.counters.askTimeouts, 1);
  await t.throwsAsync(system.ask(ref, metric('q'), leyline.MetricPoint, 0), { instanceOf: RangeError });
  await t.throwsAsync(system.ask(ref, metric('q'), leyline.MetricPoint, Number.POSITIVE_INFINITY), {
    instanceOf: RangeError,
  });
  await system.shutdown();
});

test('an ask fails at once when the handler throws, or when the reply has the wrong type', async (t) => {
  const system = testSystem();
  const ref = system.spawn(null, probeLogic('p', new EventLog()), { name: 'p' });
  await t.throwsAsync(system.ask(ref, metric('boom'), leyline.MetricPoint, 5_000), {
    instanceOf: ActorFailedError,
    message: /p went boom/,
  });
  const other = system.spawn(null, probeLogic('q', new EventLog()), { name: 'q' });
  await t.throwsAsync(system.ask(other, metric('get'), leyline.TelemetryEvent, 5_000), {
    instanceOf: WrongReplyError,
    message: /replied with esper\.leyline\.v1\.MetricPoint, expected esper\.leyline\.v1\.TelemetryEvent/,
  });
  await system.shutdown();
});

test('a bounded mailbox refuses the newest message when full and records it; depth is observable', async (t) => {
  const system = testSystem();
  const release = gate();
  const log = new EventLog<ProbeEvent>();
  const ref = system.spawn(
    null,
    probeLogic('p', log, { holdOn: (m) => (m.name === 'hold' ? release.promise : undefined) }),
    { name: 'p', mailboxCapacity: 2 },
  );
  t.true(system.dispatch(ref, metric('hold')));
  await log.waitFor((e) => e.kind === 'receive' && e.name === 'hold');
  t.true(system.dispatch(ref, metric('a')));
  t.true(system.dispatch(ref, metric('b')));
  t.is(system.mailboxDepth(ref), 2);
  t.false(system.dispatch(ref, metric('c')), 'third queued message is refused');
  await t.throwsAsync(system.ask(ref, metric('get'), leyline.MetricPoint, 1_000), { instanceOf: MailboxFullError });
  const letters = system.deadLetters.recent();
  t.deepEqual(
    letters.map((l) => l.reason),
    [DL.DEAD_LETTER_REASON_MAILBOX_FULL, DL.DEAD_LETTER_REASON_MAILBOX_FULL],
  );
  t.is(leyline.MetricPoint.decode(letters[0]!.payload).name, 'c', 'the dead letter carries the encoded original');
  t.is(system.describe('/p')?.mailboxDepth, 2);
  t.is(system.describe('/p')?.mailboxCapacity, 2);
  release.open();
  await log.waitFor((e) => e.kind === 'receive' && e.name === 'b');
  const reply = await system.ask(ref, metric('get'), leyline.MetricPoint, 1_000);
  t.is(reply.value, 3, 'hold, a and b were handled');
  await system.shutdown();
});

test('messages to a stopped or unknown actor become dead letters, never vanish', async (t) => {
  const system = testSystem();
  const release = gate();
  const log = new EventLog<ProbeEvent>();
  const letters = new EventLog<InstanceType<typeof leyline.DeadLetter>>();
  system.deadLetters.onLetter((letter) => letters.push(letter));
  const ref = system.spawn(
    null,
    probeLogic('p', log, { holdOn: (m) => (m.name === 'hold' ? release.promise : undefined) }),
    { name: 'p' },
  );
  system.dispatch(ref, metric('hold'));
  await log.waitFor((e) => e.kind === 'receive' && e.name === 'hold');
  system.dispatch(ref, metric('queued-1'));
  system.dispatch(ref, metric('queued-2'));
  const stopped = system.stop(ref);
  release.open();
  const notice = await stopped;
  t.is(notice.reason, T.TERMINATION_REASON_NORMAL);
  t.false(system.dispatch(ref, metric('after')));
  t.false(system.dispatch({ path: '/nobody', system: system.name }, metric('lost?')));
  // Messages still queued at the stop are bounced as the mailbox drains.
  await letters.waitFor(() => letters.seen.length === 4);
  const byName = Object.fromEntries(letters.seen.map((l) => [leyline.MetricPoint.decode(l.payload).name, l.reason]));
  t.deepEqual(byName, {
    'queued-1': DL.DEAD_LETTER_REASON_RECIPIENT_STOPPED,
    'queued-2': DL.DEAD_LETTER_REASON_RECIPIENT_STOPPED,
    after: DL.DEAD_LETTER_REASON_RECIPIENT_STOPPED,
    'lost?': DL.DEAD_LETTER_REASON_RECIPIENT_UNKNOWN,
  });
  t.is(system.deadLetters.stats().total, 4);
  t.is(
    log.count((e) => e.kind === 'receive'),
    1,
    'only "hold" was handled',
  );
  await system.shutdown();
});

test('watchers receive Terminated when an actor ends, at once if it already has', async (t) => {
  const system = testSystem();
  const notices = new EventLog<InstanceType<typeof leyline.Terminated>>();
  const watcher = watcherLogic(notices);
  const w = system.spawn(null, watcher, { name: 'w' });
  const target = system.spawn(null, probeLogic('t', new EventLog()), { name: 't' });
  system.watch(w, target);
  system.dispatch(target, metric('boom'));
  const first = await notices.waitFor(() => true);
  t.is(first.path, '/t');
  t.is(first.reason, T.TERMINATION_REASON_FAILED, 'an unsupervised actor that fails is stopped');
  t.regex(first.error, /t went boom/);
  system.watch(w, target);
  const second = await notices.waitFor(() => true, { from: 1 });
  t.is(second.path, '/t');
  await system.shutdown();
});

test('timers deliver TimerFired in order with other messages and stop with the actor', async (t) => {
  const system = testSystem();
  const ticks = new EventLog<number>();
  const ticker: ActorLogic<number, InstanceType<typeof leyline.TimerFired>> = {
    kind: 'ticker',
    start(ctx) {
      ctx.every('tick', 5);
      return 0;
    },
    receive(count, message, ctx) {
      ticks.push(Number(message.sequence));
      if (count + 1 === 3) ctx.stopSelf();
      return count + 1;
    },
  };
  const ref = system.spawn(null, ticker, { name: 'ticker' });
  await system.whenTerminated(ref);
  t.deepEqual(ticks.seen, [1, 2, 3]);
  await system.shutdown();
});

test('shutdown stops children before parents and top-level actors in reverse start order', async (t) => {
  const system = testSystem();
  const order: string[] = [];
  const node = (name: string, children: string[] = []): ActorLogic<null, never> => ({
    kind: 'node',
    start(ctx) {
      for (const child of children) ctx.spawn(node(child), { name: child });
      return null;
    },
    receive: (state) => state,
    stop() {
      order.push(name);
    },
  });
  const first = system.spawn(null, node('first', ['first-a', 'first-b']), { name: 'first' });
  const second = system.spawn(null, node('second'), { name: 'second' });
  await Promise.all([system.whenStarted(first), system.whenStarted(second)]);
  const result = await system.shutdown(1_000);
  t.deepEqual(result.forced, []);
  t.deepEqual(order, ['second', 'first-b', 'first-a', 'first']);
});

test('shutdown has a deadline: an actor still busy is marked stopped and reported', async (t) => {
  const system = testSystem();
  const never = gate();
  const log = new EventLog<ProbeEvent>();
  const ref = system.spawn(null, probeLogic('stuck', log, { holdOn: () => never.promise }), { name: 'stuck' });
  system.dispatch(ref, metric('work'));
  await log.waitFor((e) => e.kind === 'receive');
  const result = await system.shutdown(20);
  t.deepEqual(result.forced, ['/stuck']);
  t.is((await system.whenTerminated(ref)).reason, T.TERMINATION_REASON_SHUTDOWN);
  never.open();
});

test('the tree and describe report status, restarts, mailbox and children', async (t) => {
  const system = testSystem();
  const parent: ActorLogic<null, never> = {
    kind: 'parent',
    start(ctx) {
      ctx.spawn(probeLogic('kid', new EventLog()), { name: 'kid' });
      return null;
    },
    receive: (state) => state,
  };
  const ref = system.spawn(null, parent, { name: 'parent' });
  await system.whenStarted(ref);
  const tree = system.tree();
  t.deepEqual(
    tree.map((w) => w.path),
    ['/parent', '/parent/kid'],
  );
  t.deepEqual(tree[0]?.children, ['/parent/kid']);
  t.is(tree[0]?.status, ActorStatus.ACTOR_STATUS_RUNNING);
  t.true(tree[0]?.running);
  await system.shutdown();
});

test('a StopRequest ends the actor in mailbox order: earlier messages are handled, later ones are dead letters', async (t) => {
  const system = testSystem();
  const log = new EventLog<ProbeEvent>();
  const letters = new EventLog<InstanceType<typeof leyline.DeadLetter>>();
  system.deadLetters.onLetter((letter) => letters.push(letter));
  const ref = system.spawn(null, probeLogic('p', log), { name: 'p' });
  system.dispatch(ref, metric('before'));
  system.dispatch(ref, leyline.StopRequest.create({ reason: 'done' }));
  system.dispatch(ref, metric('after'));
  const ended = await system.whenTerminated(ref);
  t.is(ended.reason, T.TERMINATION_REASON_NORMAL);
  t.is(ended.error, 'done');
  t.deepEqual(
    log.seen.filter((e) => e.kind === 'receive').map((e) => (e.kind === 'receive' ? e.name : '')),
    ['before'],
  );
  const late = await letters.waitFor(() => true);
  t.is(leyline.MetricPoint.decode(late.payload).name, 'after');
  await system.shutdown();
});

test('a Watch message registers its sender as a watcher of the recipient', async (t) => {
  const system = testSystem();
  const notices = new EventLog<InstanceType<typeof leyline.Terminated>>();
  const watcher = watcherLogic(notices);
  system.spawn(null, watcher, { name: 'w' });
  const target = system.spawn(null, probeLogic('t', new EventLog()), { name: 't' });
  system.dispatch(target, leyline.Watch.create({ watcherPath: '/w', targetPath: '/t' }));
  system.dispatch(target, leyline.StopRequest.create({ reason: 'bye' }));
  const notice = await notices.waitFor(() => true);
  t.is(notice.path, '/t');
  t.is(notice.error, 'bye');
  await system.shutdown();
});

test('replyLater answers an ask after the handler has returned; a late answer is a dead letter', async (t) => {
  const system = testSystem();
  const answers: Array<(message: InstanceType<typeof leyline.MetricPoint>) => boolean> = [];
  const received = new EventLog<string>();
  const deferring: ActorLogic<null, InstanceType<typeof leyline.MetricPoint>> = {
    kind: 'deferring',
    start: () => null,
    receive(state, message, ctx) {
      const later = ctx.replyLater();
      if (later) answers.push(later);
      received.push(message.name);
      return state;
    },
  };
  const ref = system.spawn(null, deferring, { name: 'd' });
  const pending = system.ask(ref, metric('job'), leyline.MetricPoint, 5_000);
  const expiring = system.ask(ref, metric('slow job'), leyline.MetricPoint, 20);
  await received.waitFor((name) => name === 'slow job');
  await t.throwsAsync(expiring, { instanceOf: AskTimeoutError });
  t.is(answers.length, 2);
  t.true(answers[0]!(leyline.MetricPoint.create({ name: 'done', value: 1 })));
  t.is((await pending).name, 'done');
  t.false(answers[1]!(leyline.MetricPoint.create({ name: 'too late' })));
  t.is(system.deadLetters.recent(1)[0]?.reason, DL.DEAD_LETTER_REASON_REPLY_EXPIRED);
  system.dispatch(ref, metric('no ask'));
  await system.stop(ref);
  t.is(answers.length, 2, 'a plain dispatch has nothing to answer later');
  await system.shutdown();
});

test('an ask may accept one of several reply types', async (t) => {
  const system = testSystem();
  const either: ActorLogic<null, InstanceType<typeof leyline.MetricPoint>> = {
    kind: 'either',
    start: () => null,
    receive(state, message, ctx) {
      ctx.reply(
        message.name === 'event'
          ? leyline.TelemetryEvent.create({ description: 'e' })
          : leyline.MetricPoint.create({ name: 'm' }),
      );
      return state;
    },
  };
  const ref = system.spawn(null, either, { name: 'either' });
  const types = [leyline.MetricPoint, leyline.TelemetryEvent] as const;
  const first = await system.ask(ref, metric('metric'), types, 1_000);
  const second = await system.ask(ref, metric('event'), types, 1_000);
  t.true(first instanceof leyline.MetricPoint);
  t.true(second instanceof leyline.TelemetryEvent);
  await t.throwsAsync(system.ask(ref, metric('event'), [leyline.MetricPoint, leyline.DeadLetter], 1_000), {
    message:
      /replied with esper\.leyline\.v1\.TelemetryEvent, expected esper\.leyline\.v1\.MetricPoint or esper\.leyline\.v1\.DeadLetter/,
  });
  await system.shutdown();
});

test('deliver resolves once the handler has finished, and rejects when it fails or the actor is gone', async (t) => {
  const system = testSystem();
  const log = new EventLog<ProbeEvent>();
  const release = gate();
  const ref = system.spawn(
    null,
    probeLogic('p', log, { holdOn: (m) => (m.name === 'slow' ? release.promise : undefined) }),
    { name: 'p' },
  );
  let done = false;
  const slow = system.deliver(ref, metric('slow'), 5_000).then(() => (done = true));
  await log.waitFor((e) => e.kind === 'receive' && e.name === 'slow');
  t.false(done, 'not resolved while the handler is still running');
  release.open(undefined);
  await slow;
  t.true(done);
  await t.throwsAsync(system.deliver(ref, metric('boom'), 5_000), { instanceOf: ActorFailedError });
  await system.stop(ref);
  await t.throwsAsync(system.deliver(ref, metric('late'), 5_000), { message: /stopped/ });
  await system.shutdown();
});

test('pause holds the mailbox from the next boundary: messages queue, the tree shows it, resume handles them in order', async (t) => {
  const system = testSystem();
  const log = new EventLog<ProbeEvent>();
  const release = gate();
  const ref = system.spawn(
    null,
    probeLogic('p', log, { holdOn: (m) => (m.name === 'slow' ? release.promise : undefined) }),
    { name: 'p' },
  );
  system.dispatch(ref, metric('slow'));
  await log.waitFor((e) => e.kind === 'receive' && e.name === 'slow');
  let held = false;
  const pausing = system.pause(ref).then(() => (held = true));
  system.dispatch(ref, metric('a'));
  system.dispatch(ref, metric('b'));
  t.false(held, 'not held while a handler runs');
  release.open();
  await pausing;
  t.deepEqual(
    log.seen.filter((e) => e.kind === 'receive').map((e) => e.kind === 'receive' && e.name),
    ['slow'],
    'a and b wait',
  );
  t.like(system.describe('/p'), { paused: true, mailboxDepth: 2, running: true });
  t.true(system.tree()[0]?.paused);
  system.resume(ref);
  const count = await system.ask(ref, metric('get'), leyline.MetricPoint, 1_000);
  t.is(count.value, 3, 'slow, a and b were handled before get');
  t.deepEqual(
    log.seen.filter((e) => e.kind === 'receive').map((e) => e.kind === 'receive' && e.name),
    ['slow', 'a', 'b', 'get'],
  );
  t.false(system.describe('/p')?.paused);
  await system.shutdown();
});

test('a paused actor starts, restarts (and stays paused) and stops: shutdown is not held up', async (t) => {
  const system = testSystem();
  const log = new EventLog<ProbeEvent>();
  const ref = system.spawn(null, probeLogic('p', log), { name: 'p' });
  await system.pause(ref);
  t.is(
    log.count((e) => e.kind === 'start'),
    1,
    'a pause holds messages, not the start-up',
  );
  system.dispatch(ref, metric('queued'));
  await system.decide(ref, leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_RESTART);
  t.truthy(log.seen.find((e) => e.kind === 'start' && e.incarnation === 2));
  t.like(system.describe('/p'), { paused: true, restartCount: 1, mailboxDepth: 1 });
  t.is(
    log.count((e) => e.kind === 'receive'),
    0,
    'the pause outlasts the restart',
  );
  system.resume(ref);
  await log.waitFor((e) => e.kind === 'receive' && e.name === 'queued' && e.incarnation === 2);
  await system.pause(ref);
  system.dispatch(ref, metric('never'));
  const result = await system.shutdown(5_000);
  t.deepEqual(result.forced, []);
  t.is((await system.whenTerminated(ref)).reason, T.TERMINATION_REASON_SHUTDOWN);
  t.is(
    log.count((e) => e.kind === 'receive' && e.name === 'never'),
    0,
  );
  t.is(
    log.count((e) => e.kind === 'stop'),
    2,
    'its stop hook ran (once per incarnation)',
  );
});

test('describe gives an actor its key facts and last handled messages, newest first', async (t) => {
  const system = testSystem();
  const counter: ActorLogic<
    { count: number },
    InstanceType<typeof leyline.MetricPoint> | InstanceType<typeof leyline.TelemetryEvent>
  > = {
    kind: 'counter',
    start: () => ({ count: 0 }),
    receive: (state) => ({ count: state.count + 1 }),
    inspect: (state) => ({ count: String(state.count) }),
  };
  const ref = system.spawn(null, counter, { name: 'counter' });
  for (let i = 0; i < 9; i++) system.dispatch(ref, metric(`m${i}`));
  await system.deliver(ref, leyline.TelemetryEvent.create({ description: 'last' }), 1_000);
  const state = system.describe('/counter');
  t.deepEqual(state?.facts, { count: '10' });
  t.deepEqual(
    state?.recentMessages.map((m) => m.messageType),
    ['esper.leyline.v1.TelemetryEvent', ...Array<string>(7).fill('esper.leyline.v1.MetricPoint')],
    'the last 8, newest first',
  );
  t.true((state?.recentMessages[0]?.at?.seconds ?? 0) > 0);
  t.deepEqual(system.tree()[0]?.facts, {}, 'the tree leaves them out');
  await system.shutdown();
});
