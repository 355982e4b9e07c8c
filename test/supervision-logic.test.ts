// The supervisor's decisions as a pure transition: strategies, restart policies, intensity, backoff, deciders.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { restartDelayMs, DEFAULT_BACKOFF } from '../supervision/backoff.ts';
import { recordRestart } from '../supervision/restart-intensity.ts';
import { resolveFlags, validateTree, ChildSpecError, type SupervisorFlags } from '../supervision/child-spec.ts';
import {
  initialSupervisorState,
  transition,
  errorIsStale,
  type SupervisorState,
} from '../supervision/supervisor-logic.ts';
import { statelessLogic } from '../runtime/logic.ts';

const { SupervisionStrategy: S, RestartPolicy: R, SupervisorDirective: D, TerminationReason: T } = leyline;
const noJitter = (): number => 0;

function supervisor(
  strategy: number,
  restart: Partial<Record<string, number>> = {},
  flags: Partial<SupervisorFlags> = {},
): SupervisorState {
  return initialSupervisorState(
    // Repeats off unless a test turns them on: most tests fail one child the same way several times.
    resolveFlags({ strategy, intensity: 3, periodMs: 10_000, maxRepeats: 0, ...flags }),
    ['a', 'b', 'c'].map((id) => ({ id, restart: restart[id] ?? R.RESTART_POLICY_PERMANENT, isSupervisor: false })),
  );
}
const fail = (id: string, at = 1_000, extra: object = {}) => ({
  type: 'failed' as const,
  id,
  error: 'Error: x',
  at,
  duringStart: false,
  ...extra,
});

test('backoff doubles from 1 s to a 30 s cap, with up to 25 % jitter', (t) => {
  const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => restartDelayMs(DEFAULT_BACKOFF, n, noJitter));
  t.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  t.is(
    restartDelayMs(DEFAULT_BACKOFF, 1, () => 0.999_999),
    1_000 + 0.999_999 * 250,
  );
  t.is(restartDelayMs(DEFAULT_BACKOFF, 1000, noJitter), 30_000);
});

test('restart intensity: more than N restarts inside the window is exceeded; old ones fall out', (t) => {
  const limit = { intensity: 2, periodMs: 1_000 };
  let history: number[] = [];
  ({ history } = recordRestart(history, 0, limit));
  ({ history } = recordRestart(history, 500, limit));
  t.true(recordRestart(history, 900, limit).exceeded);
  t.false(recordRestart(history, 1_200, limit).exceeded, 'the restart at 0 has left the window');
});

test('one-for-one restarts only the failed child, after the backoff', (t) => {
  const { effects } = transition(supervisor(S.SUPERVISION_STRATEGY_ONE_FOR_ONE), fail('b'), noJitter);
  t.deepEqual(effects, [{ type: 'schedule', round: 1, delayMs: 1_000, ids: ['b'] }]);
});

test('one-for-all holds every sibling and restarts all in start order', (t) => {
  const state = supervisor(S.SUPERVISION_STRATEGY_ONE_FOR_ALL);
  const { effects } = transition(state, fail('b'), noJitter);
  t.deepEqual(effects, [
    { type: 'suspend', ids: ['a', 'c'] },
    { type: 'schedule', round: 1, delayMs: 1_000, ids: ['a', 'b', 'c'] },
  ]);
  t.deepEqual(transition(state, { type: 'restart-due', round: 1 }).effects, [
    { type: 'restart', ids: ['a', 'b', 'c'] },
  ]);
});

test('rest-for-one restarts the failed child and those started after it', (t) => {
  const { effects } = transition(supervisor(S.SUPERVISION_STRATEGY_REST_FOR_ONE), fail('b'), noJitter);
  t.deepEqual(effects, [
    { type: 'suspend', ids: ['c'] },
    { type: 'schedule', round: 1, delayMs: 1_000, ids: ['b', 'c'] },
  ]);
});

test('a temporary child is never restarted; a temporary sibling in a group restart is stopped', (t) => {
  const state = supervisor(S.SUPERVISION_STRATEGY_ONE_FOR_ALL, { c: R.RESTART_POLICY_TEMPORARY });
  t.deepEqual(transition(state, fail('c'), noJitter).effects, [
    { type: 'stop', id: 'c', reason: T.TERMINATION_REASON_FAILED },
  ]);
  const other = supervisor(S.SUPERVISION_STRATEGY_ONE_FOR_ALL, { c: R.RESTART_POLICY_TEMPORARY });
  const { effects } = transition(other, fail('a'), noJitter);
  t.deepEqual(effects[0], { type: 'stop', id: 'c', reason: T.TERMINATION_REASON_SHUTDOWN });
  t.deepEqual(effects.at(-1), { type: 'schedule', round: 1, delayMs: 1_000, ids: ['a', 'b'] });
});

test('normal exits: permanent restarts, transient and temporary are removed; a transient failure restarts', (t) => {
  const state = supervisor(S.SUPERVISION_STRATEGY_ONE_FOR_ONE, {
    b: R.RESTART_POLICY_TRANSIENT,
    c: R.RESTART_POLICY_TEMPORARY,
  });
  const exit = (id: string, reason: number) => ({ type: 'exited' as const, id, reason, error: '', at: 1_000 });
  t.is(transition(state, exit('a', T.TERMINATION_REASON_NORMAL), noJitter).effects.at(-1)?.type, 'schedule');
  t.deepEqual(transition(state, exit('b', T.TERMINATION_REASON_NORMAL)).effects, [{ type: 'remove', id: 'b' }]);
  t.deepEqual(transition(state, exit('c', T.TERMINATION_REASON_NORMAL)).effects, [{ type: 'remove', id: 'c' }]);
  const again = supervisor(S.SUPERVISION_STRATEGY_ONE_FOR_ONE, { b: R.RESTART_POLICY_TRANSIENT });
  t.is(transition(again, exit('b', T.TERMINATION_REASON_FAILED), noJitter).effects.at(-1)?.type, 'schedule');
});

test('a decider may resume; resume after a start-up failure becomes a restart', (t) => {
  const state = supervisor(S.SUPERVISION_STRATEGY_ONE_FOR_ONE);
  t.deepEqual(transition(state, fail('a', 1_000, { directive: D.SUPERVISOR_DIRECTIVE_RESUME })).effects, [
    { type: 'resume', id: 'a' },
  ]);
  const effects = transition(
    state,
    fail('a', 1_000, { directive: D.SUPERVISOR_DIRECTIVE_RESUME, duringStart: true }),
    noJitter,
  ).effects;
  t.is(effects.at(-1)?.type, 'schedule');
});

test('an unknown decision (undefined, a bogus value, a thrown decider) falls back to restart and is counted', (t) => {
  const state = supervisor(S.SUPERVISION_STRATEGY_ONE_FOR_ONE, {}, { intensity: 10 });
  for (const directive of [undefined, 'escalate', 99, Symbol('threw')]) {
    const { effects } = transition(state, fail('a', 1_000, directive === undefined ? {} : { directive }), noJitter);
    t.not(effects.at(-1)?.type, 'escalate');
    t.not(effects.length, 0);
    state.pending = null;
  }
  t.is(state.decisionErrors, 3, 'undefined means "no decider", the three others are errors');
});

test('exceeding the restart intensity escalates once and ignores later events', (t) => {
  const state = supervisor(S.SUPERVISION_STRATEGY_ONE_FOR_ONE);
  for (let i = 0; i < 3; i++) {
    transition(state, fail('a', 1_000 + i), noJitter);
    state.pending = null;
  }
  const { effects } = transition(state, fail('b', 1_010), noJitter);
  t.is(effects[0]?.type, 'escalate');
  t.regex((effects[0] as { error: string }).error, /restart intensity exceeded: more than 3 restarts in 10000 ms/);
  t.deepEqual(transition(state, fail('c', 1_020)).effects, []);
});

test('a failure during a pending restart joins that round; a stale round does nothing', (t) => {
  const state = supervisor(S.SUPERVISION_STRATEGY_ONE_FOR_ONE);
  transition(state, fail('c'), noJitter);
  const second = transition(state, fail('a', 1_100), noJitter);
  t.deepEqual(second.effects, []);
  t.deepEqual(transition(state, { type: 'restart-due', round: 7 }).effects, []);
  t.deepEqual(transition(state, { type: 'restart-due', round: 1 }).effects, [{ type: 'restart', ids: ['a', 'c'] }]);
});

test('a stable run resets the backoff and lets the last error go stale', (t) => {
  const state = supervisor(
    S.SUPERVISION_STRATEGY_ONE_FOR_ONE,
    {},
    { intensity: 10, backoff: { ...DEFAULT_BACKOFF, stableMs: 60_000 } },
  );
  transition(state, fail('a', 1_000), noJitter);
  transition(state, { type: 'restart-due', round: 1 });
  transition(state, { type: 'started', id: 'a', at: 2_000 });
  const quick = transition(state, fail('a', 3_000), noJitter).effects.at(-1) as { delayMs: number };
  t.is(quick.delayMs, 2_000, 'second failure in a row waits twice as long');
  transition(state, { type: 'restart-due', round: 2 });
  transition(state, { type: 'started', id: 'a', at: 5_000 });
  const child = state.children[0]!;
  t.false(errorIsStale(child, 6_000, 60_000));
  t.true(errorIsStale(child, 65_000, 60_000));
  const later = transition(state, fail('a', 70_000), noJitter).effects.at(-1) as { delayMs: number };
  t.is(later.delayMs, 1_000, 'after a stable minute the backoff is back at its base');
});

test('the same error repeated maxRepeats times in a row escalates at once, whatever the period; another error starts the count again', (t) => {
  const state = supervisor(S.SUPERVISION_STRATEGY_ONE_FOR_ONE, {}, { intensity: 100, maxRepeats: 3 });
  const failAndRestart = (error: string, at: number) => {
    const { effects } = transition(state, fail('a', at, { error }), noJitter);
    if (state.pending) transition(state, { type: 'restart-due', round: state.pending.round });
    return effects;
  };
  t.is(failAndRestart('Error: x', 1_000).at(-1)?.type, 'schedule');
  t.is(failAndRestart('Error: y', 2_000).at(-1)?.type, 'schedule', 'a different error: the count starts again');
  t.is(failAndRestart('Error: y', 3_000).at(-1)?.type, 'schedule');
  const effects = failAndRestart('Error: y', 4_000);
  t.deepEqual(effects, [{ type: 'escalate', error: 'a failed 3 times in a row with the same error: Error: y' }]);
});

test('a stable run resets the repeat count; a child that ran stably once and then fails at every start does not', (t) => {
  const state = supervisor(
    S.SUPERVISION_STRATEGY_ONE_FOR_ONE,
    {},
    { intensity: 100, maxRepeats: 2, backoff: { ...DEFAULT_BACKOFF, stableMs: 60_000 } },
  );
  transition(state, { type: 'started', id: 'a', at: 0 });
  transition(state, fail('a', 100_000), noJitter);
  transition(state, { type: 'restart-due', round: 1 });
  transition(state, { type: 'started', id: 'a', at: 101_000 });
  t.is(
    transition(state, fail('a', 200_000), noJitter).effects.at(-1)?.type,
    'schedule',
    'a minute of stable running between: not a repeat',
  );
  transition(state, { type: 'restart-due', round: 2 });
  // From now on every start fails (no ActorStarted), long after the last stable start.
  t.is(transition(state, fail('a', 300_000, { duringStart: true }), noJitter).effects.at(-1)?.type, 'escalate');
});

test('a failure that repeats at every start reaches the root, which gives up, in a bounded number of restarts', (t) => {
  // The tree of `esper run`, cut down: root → tolaria (a supervisor) → trainer, whose start throws the same error each
  // time (a checkpoint that does not fit the host). A restarted supervisor starts with a fresh state, as supervisor.ts's does.
  const flags = resolveFlags({});
  const root = initialSupervisorState(flags, [
    { id: 'tolaria', restart: R.RESTART_POLICY_PERMANENT, isSupervisor: true },
  ]);
  const shapeError = "StateMismatchError: dense_1/kernel: stored shape [2, 8] differs from the variable's [2, 16]";
  let at = 0;
  let trainerFailures = 0;
  let gaveUp: string | null = null;
  while (gaveUp === null && trainerFailures < 100) {
    const tolaria = initialSupervisorState(flags, [
      { id: 'trainer', restart: R.RESTART_POLICY_TRANSIENT, isSupervisor: false },
    ]);
    let escalation: string | null = null;
    while (escalation === null) {
      trainerFailures += 1;
      at += 500;
      const { effects } = transition(
        tolaria,
        { type: 'failed', id: 'trainer', error: shapeError, at, duringStart: true },
        noJitter,
      );
      const last = effects.at(-1);
      if (last?.type === 'escalate') escalation = last.error;
      else if (last?.type === 'schedule') {
        at += last.delayMs;
        transition(tolaria, { type: 'restart-due', round: last.round });
      } else t.fail(`unexpected effects ${JSON.stringify(effects)}`);
    }
    // The supervisor's escalation reaches its parent as its ActorFailed error (runtime/errors.ts describeError).
    const { effects } = transition(
      root,
      { type: 'failed', id: 'tolaria', error: `EscalationError: ${escalation}`, at, duringStart: false },
      noJitter,
    );
    const last = effects.at(-1);
    if (last?.type === 'escalate') gaveUp = last.error;
    else if (last?.type === 'schedule') {
      at += last.delayMs;
      transition(root, { type: 'restart-due', round: last.round });
    }
  }
  t.is(
    trainerFailures,
    flags.maxRepeats * flags.maxRepeats,
    'three failures per tolaria incarnation, three incarnations',
  );
  t.not(gaveUp, null);
  t.true(
    gaveUp!.startsWith(
      'tolaria failed 3 times in a row with the same error: EscalationError: trainer failed 3 times in a row',
    ),
  );
  t.true(gaveUp!.endsWith(shapeError), 'the root names the error');
  t.true(at < flags.periodMs, `the root gave up after ${at} ms of failures and backoffs`);
});

test('tree validation names the bad field', (t) => {
  const worker = statelessLogic('noop', () => undefined);
  const error = t.throws(
    () =>
      validateTree({
        id: 'root',
        children: [
          { id: 'k', flags: { intensity: -1 }, children: [] },
          { id: 'w', logic: worker },
        ],
      }),
    { instanceOf: ChildSpecError },
  );
  t.regex(error.message, /root\.k\.flags\.intensity must be an integer >= 0/);
  t.throws(
    () =>
      validateTree({
        id: 'root',
        children: [
          { id: 'w', logic: worker },
          { id: 'w', logic: worker },
        ],
      }),
    { message: /root\.w is declared twice/ },
  );
  t.throws(() => validateTree({ id: 'root', children: [{ id: 'bad:name', logic: worker }] }), {
    message: /root\.bad:name\.id .*":" is not allowed/,
  });
  t.throws(() => validateTree({ id: 'root', flags: { maxRepeats: 1.5 }, children: [] }), {
    message: /root\.flags\.maxRepeats must be an integer >= 0/,
  });
  t.notThrows(() => validateTree({ id: 'root', children: [{ id: 'w', logic: worker }] }));
});
