// The decisions of a supervisor, as a pure transition: (state, event) → (state, effects). No timers, no actors:
// the wiring in `supervisor.ts` turns effects into runtime calls, and tests drive this directly.
import { leyline, type v1 } from '../contracts/index.ts';
import { restartDelayMs } from './backoff.ts';
import type { SupervisorFlags } from './child-spec.ts';
import { recordRestart } from './restart-intensity.ts';

const { RestartPolicy, SupervisionStrategy, SupervisorDirective, TerminationReason } = leyline;

export interface ChildRecord {
  readonly id: string;
  readonly restart: v1.RestartPolicy;
  readonly isSupervisor: boolean;
  /** Failures in a row without a stable run in between (drives the backoff). */
  failures: number;
  /** How many of those failures in a row had the same error as the last (`flags.maxRepeats`). */
  repeats: number;
  restarts: number;
  startedAt: number;
  lastError: string;
  lastErrorAt: number;
  /** Set while we are stopping it ourselves, so its Terminated notice is expected. */
  stopping: boolean;
}

export interface PendingRound {
  round: number;
  ids: string[];
  delayMs: number;
}

export interface SupervisorState {
  readonly flags: SupervisorFlags;
  /** Children in start order. */
  children: ChildRecord[];
  restartHistory: number[];
  pending: PendingRound | null;
  nextRound: number;
  decisionErrors: number;
  escalated: boolean;
}

export type SupervisorEvent =
  | { type: 'failed'; id: string; error: string; at: number; duringStart: boolean; directive?: unknown }
  | { type: 'started'; id: string; at: number }
  | { type: 'exited'; id: string; reason: v1.TerminationReason; error: string; at: number }
  | { type: 'restart-due'; round: number };

export type SupervisorEffect =
  | { type: 'resume'; id: string }
  | { type: 'suspend'; ids: string[] }
  | { type: 'schedule'; round: number; delayMs: number; ids: string[] }
  | { type: 'restart'; ids: string[] }
  | { type: 'stop'; id: string; reason: v1.TerminationReason }
  | { type: 'remove'; id: string }
  | { type: 'escalate'; error: string };

type Transition = { state: SupervisorState; effects: SupervisorEffect[] };

export interface ChildDeclaration {
  id: string;
  restart: v1.RestartPolicy;
  isSupervisor: boolean;
}

export function initialSupervisorState(flags: SupervisorFlags, children: readonly ChildDeclaration[]): SupervisorState {
  return {
    flags,
    children: children.map((child) => ({
      ...child,
      failures: 0,
      repeats: 0,
      restarts: 0,
      startedAt: 0,
      lastError: '',
      lastErrorAt: 0,
      stopping: false,
    })),
    restartHistory: [],
    pending: null,
    nextRound: 1,
    decisionErrors: 0,
    escalated: false,
  };
}

const VALID_DIRECTIVES = new Set<unknown>([
  SupervisorDirective.SUPERVISOR_DIRECTIVE_RESUME,
  SupervisorDirective.SUPERVISOR_DIRECTIVE_RESTART,
  SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP,
  SupervisorDirective.SUPERVISOR_DIRECTIVE_ESCALATE,
]);

/**
 * Applies one event. `random` feeds the backoff jitter. The state is updated in place and returned with the
 * effects to carry out, in order.
 */
export function transition(
  state: SupervisorState,
  event: SupervisorEvent,
  random: () => number = Math.random,
): Transition {
  if (state.escalated) return { state, effects: [] };
  switch (event.type) {
    case 'started':
      return onStarted(state, event.id, event.at);
    case 'failed':
      return onFailed(state, event, random);
    case 'exited':
      return onExited(state, event, random);
    case 'restart-due':
      return onRestartDue(state, event.round);
  }
}

function find(state: SupervisorState, id: string): ChildRecord | undefined {
  return state.children.find((child) => child.id === id);
}

function onStarted(state: SupervisorState, id: string, at: number): Transition {
  const child = find(state, id);
  if (child) child.startedAt = at;
  return { state, effects: [] };
}

function onFailed(
  state: SupervisorState,
  event: Extract<SupervisorEvent, { type: 'failed' }>,
  random: () => number,
): Transition {
  const child = find(state, event.id);
  if (!child || child.stopping) return { state, effects: [] };
  noteFailure(state, child, event.error, event.at);

  let directive = SupervisorDirective.SUPERVISOR_DIRECTIVE_RESTART;
  // `directive` is present only when the child has a decider; anything it gave that is not a directive counts.
  if ('directive' in event) {
    if (VALID_DIRECTIVES.has(event.directive)) directive = event.directive as v1.SupervisorDirective;
    else state.decisionErrors += 1;
  }
  // A start-up failure has no state to resume, and a supervisor that gave up has no children to resume with.
  if (directive === SupervisorDirective.SUPERVISOR_DIRECTIVE_RESUME && (event.duringStart || child.isSupervisor)) {
    directive = SupervisorDirective.SUPERVISOR_DIRECTIVE_RESTART;
  }

  switch (directive) {
    case SupervisorDirective.SUPERVISOR_DIRECTIVE_RESUME:
      return { state, effects: [{ type: 'resume', id: child.id }] };
    case SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP:
      return { state, effects: stopAndRemove(state, child, TerminationReason.TERMINATION_REASON_FAILED) };
    case SupervisorDirective.SUPERVISOR_DIRECTIVE_ESCALATE:
      return escalate(state, `${child.id} failed and its decider escalated: ${event.error}`);
    default:
      if (child.restart === RestartPolicy.RESTART_POLICY_TEMPORARY) {
        return { state, effects: stopAndRemove(state, child, TerminationReason.TERMINATION_REASON_FAILED) };
      }
      return planRestart(state, child, event.at, random);
  }
}

function onExited(
  state: SupervisorState,
  event: Extract<SupervisorEvent, { type: 'exited' }>,
  random: () => number,
): Transition {
  const child = find(state, event.id);
  if (!child) return { state, effects: [] };
  if (child.stopping) {
    state.children = state.children.filter((c) => c !== child);
    return { state, effects: [{ type: 'remove', id: child.id }] };
  }
  const normal = event.reason === TerminationReason.TERMINATION_REASON_NORMAL;
  const restart =
    child.restart === RestartPolicy.RESTART_POLICY_PERMANENT ||
    (child.restart === RestartPolicy.RESTART_POLICY_TRANSIENT && !normal);
  if (!restart) {
    state.children = state.children.filter((c) => c !== child);
    return { state, effects: [{ type: 'remove', id: child.id }] };
  }
  noteFailure(state, child, event.error || `exited (${TerminationReason[event.reason] ?? event.reason})`, event.at);
  return planRestart(state, child, event.at, random);
}

function onRestartDue(state: SupervisorState, round: number): Transition {
  if (!state.pending || state.pending.round !== round) return { state, effects: [] };
  const ids = inStartOrder(state, state.pending.ids);
  state.pending = null;
  for (const id of ids) {
    const child = find(state, id);
    if (child) child.restarts += 1;
  }
  return { state, effects: [{ type: 'restart', ids }] };
}

/**
 * Records a failure of the child's current incarnation: after a stable run the backoff and the repeat count start
 * again; the same error as last time adds a repeat.
 */
function noteFailure(state: SupervisorState, child: ChildRecord, error: string, at: number): void {
  if (child.startedAt > 0 && at - child.startedAt >= state.flags.backoff.stableMs) {
    child.failures = 0;
    child.repeats = 0;
  }
  child.repeats = child.repeats > 0 && child.lastError === error ? child.repeats + 1 : 1;
  child.lastError = error;
  child.lastErrorAt = at;
}

function planRestart(state: SupervisorState, child: ChildRecord, at: number, random: () => number): Transition {
  const { flags } = state;
  const intensity = recordRestart(state.restartHistory, at, flags);
  state.restartHistory = intensity.history;
  if (intensity.exceeded) {
    return escalate(
      state,
      `restart intensity exceeded: more than ${flags.intensity} restarts in ${flags.periodMs} ms (last: ${child.id}: ${child.lastError})`,
    );
  }
  if (flags.maxRepeats > 0 && child.repeats >= flags.maxRepeats) {
    // Deterministic text: the same failure below reaches this supervisor's parent as the same error each time.
    return escalate(
      state,
      `${child.id} failed ${child.repeats} times in a row with the same error: ${child.lastError}`,
    );
  }
  child.failures += 1;
  // This incarnation is over: its start no longer counts as a run (a child that ran stably once and now fails at
  // every start must not look stable each time).
  child.startedAt = 0;

  const effects: SupervisorEffect[] = [];
  const affected = affectedBy(state, child);
  // Temporary siblings caught up in a group restart are not restarted: they end here.
  for (const sibling of affected) {
    if (sibling !== child && sibling.restart === RestartPolicy.RESTART_POLICY_TEMPORARY) {
      effects.push(...stopAndRemove(state, sibling, TerminationReason.TERMINATION_REASON_SHUTDOWN));
    }
  }
  const toRestart = affected.filter((c) => !c.stopping).map((c) => c.id);
  const siblings = toRestart.filter((id) => id !== child.id);
  if (siblings.length > 0) effects.push({ type: 'suspend', ids: siblings });

  if (state.pending) {
    // A failure during another restart's backoff joins that round rather than restarting anyone twice.
    state.pending.ids = inStartOrder(state, [...new Set([...state.pending.ids, ...toRestart])]);
    return { state, effects };
  }
  const delayMs = restartDelayMs(flags.backoff, child.failures, random);
  state.pending = { round: state.nextRound, ids: toRestart, delayMs };
  state.nextRound += 1;
  effects.push({ type: 'schedule', round: state.pending.round, delayMs, ids: toRestart });
  return { state, effects };
}

function affectedBy(state: SupervisorState, child: ChildRecord): ChildRecord[] {
  switch (state.flags.strategy) {
    case SupervisionStrategy.SUPERVISION_STRATEGY_ONE_FOR_ALL:
      return state.children.filter((c) => !c.stopping);
    case SupervisionStrategy.SUPERVISION_STRATEGY_REST_FOR_ONE:
      return state.children.slice(state.children.indexOf(child)).filter((c) => !c.stopping);
    default:
      return [child];
  }
}

function inStartOrder(state: SupervisorState, ids: readonly string[]): string[] {
  return state.children.map((c) => c.id).filter((id) => ids.includes(id));
}

function stopAndRemove(state: SupervisorState, child: ChildRecord, reason: v1.TerminationReason): SupervisorEffect[] {
  child.stopping = true;
  if (state.pending) state.pending.ids = state.pending.ids.filter((id) => id !== child.id);
  return [{ type: 'stop', id: child.id, reason }];
}

function escalate(state: SupervisorState, error: string): Transition {
  state.escalated = true;
  state.pending = null;
  for (const child of state.children) child.stopping = true;
  return { state, effects: [{ type: 'escalate', error }] };
}

/** True when the child's last error is older than a stable run (health returns to HEALTHY then). */
export function errorIsStale(child: ChildRecord, now: number, stableMs: number): boolean {
  return child.lastErrorAt === 0 || (child.startedAt > child.lastErrorAt && now - child.startedAt >= stableMs);
}
