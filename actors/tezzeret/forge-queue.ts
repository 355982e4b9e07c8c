// The forge's decisions as plain logic: `initialForgeQueue` and `transition(state, event, now) → { state, effects }`,
// with no actors, timers, journal or store inside. The forge actor (forge.ts) checks requests against the catalog and
// the kernel store, feeds the outcomes in as events and carries out the effects in order.
//
// Rules: at most `concurrency` jobs run at once, the others wait in arrival order; a request for a job already
// queued or running waits for that job and is answered when it ends. `breakerThreshold` failed jobs in a row open the
// breaker: queued jobs wait, and after `breakerTimeoutMs` one job runs as a probe (half-open) whose success closes it.
// From the same threshold until a success, jobs run with the conservative strategy.
//
// The breaker is the shared `CircuitBreaker` (runtime/circuit-breaker.ts), not a copy of its rules. It is a mutable
// object, so, as in supervision/supervisor-logic.ts, the state is updated in place and returned; the breaker's clock
// reads the `now` of the event being applied, so its decisions depend only on the events, and a new state (a restart)
// comes with a new breaker.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { EventInput, MetricInput } from '../../contracts/telemetry.ts';
import { CircuitBreaker } from '../../runtime/circuit-breaker.ts';
import { safeActorName } from '../../runtime/names.ts';
import { midpointParameters } from '../karn/index.ts';
import type { CompileJob } from './compile-job.ts';
import { jobIdFor, type JournalJob } from './job-journal.ts';

const { CompileStrategy, TelemetryLevel, CircuitBreakerState } = leyline;

export interface ForgeQueueRules {
  concurrency: number;
  /** Failed jobs in a row that open the breaker and switch to the conservative strategy. */
  breakerThreshold: number;
  breakerTimeoutMs: number;
}

export interface RunningJob {
  job: CompileJob;
  /** The job actor's name. */
  name: string;
}

/** One incarnation of the forge's queue. `A` is how an asker is answered (a reply function in the actor). */
export interface ForgeQueueState<A> {
  readonly rules: ForgeQueueRules;
  /** The time of the event being applied (monotonic ms): the breaker's clock. */
  readonly clock: { now: number };
  readonly breaker: CircuitBreaker;
  /** Jobs waiting for room or for the breaker, in arrival order. */
  queued: CompileJob[];
  running: Map<string, RunningJob>;
  /** Askers by job id, for every job queued or running (a job resumed from the journal has none). */
  waiters: Map<string, A[]>;
  conservative: boolean;
  consecutiveFailures: number;
  metrics: Record<string, number>;
  /** Events kept for the next telemetry packet. */
  events: EventInput[];
  probeScheduled: boolean;
  /** Makes job actor names unique, so a notice about an earlier job never matches a later one with the same id. */
  spawned: number;
}

export type ForgeQueueEvent<A> =
  /** At start: the journal's unfinished jobs, oldest first, each with its blueprint if the catalog still has it. */
  | { type: 'recovered'; jobs: ReadonlyArray<{ entry: JournalJob; descriptor: v1.BlueprintDescriptor | null }> }
  | { type: 'refused'; asker: A; request: v1.CompileRequest; error: string }
  | { type: 'already-stored'; asker: A; job: CompileJob }
  /** A valid request for a kernel the store does not have. */
  | { type: 'requested'; asker: A; job: CompileJob }
  /** A job actor's result (ok, failed or timed out). */
  | { type: 'finished'; result: v1.CompileResult }
  /** Job actor `name` ended without a result (stopped from outside, or given up on by its supervision). */
  | { type: 'job-lost'; name: string; error: string }
  | { type: 'probe-due' }
  | { type: 'telemetry-due' }
  | { type: 'stopping' };

export type ForgeQueueEffect<A> =
  | { type: 'spawn'; name: string; job: CompileJob; strategy: v1.CompileStrategy }
  | { type: 'reply'; to: readonly A[]; result: v1.CompileResult }
  | { type: 'journal-record'; job: CompileJob }
  | { type: 'journal-finished'; jobId: string; ok: boolean; error: string }
  | { type: 'schedule-probe'; delayMs: number }
  | { type: 'telemetry'; level: v1.TelemetryLevel; metrics: MetricInput[]; events: EventInput[] };

export interface ForgeQueueTransition<A> {
  state: ForgeQueueState<A>;
  effects: ForgeQueueEffect<A>[];
}

/** Events kept for the next telemetry packet; beyond this the oldest are dropped (e.g. when nobody reads them). */
export const MAX_PENDING_EVENTS = 1_000;

const METRIC_NAMES = [
  'tezzeret.jobs.requested',
  'tezzeret.jobs.started',
  'tezzeret.jobs.completed',
  'tezzeret.jobs.failed',
  'tezzeret.jobs.retried',
  'tezzeret.jobs.timed_out',
  'tezzeret.jobs.already_stored',
  'tezzeret.jobs.rejected',
  'tezzeret.compilation.failed_attempts',
  'tezzeret.compilation.last_compile_ms',
  'tezzeret.compilation.last_prewarm_ms',
  'tezzeret.compile.retry_count',
  'tezzeret.breaker.open_total',
] as const;

export function initialForgeQueue<A>(rules: ForgeQueueRules): ForgeQueueState<A> {
  const clock = { now: 0 };
  return {
    rules,
    clock,
    breaker: new CircuitBreaker('tezzeret.forge', {
      failureThreshold: rules.breakerThreshold,
      timeoutMs: rules.breakerTimeoutMs,
      halfOpenTrials: 1,
      clock: () => clock.now,
    }),
    queued: [],
    running: new Map(),
    waiters: new Map(),
    conservative: false,
    consecutiveFailures: 0,
    metrics: {},
    events: [],
    probeScheduled: false,
    spawned: 0,
  };
}

/**
 * The job a request asks for, or why it is refused: the blueprint must be in the catalog and the slot [D] or
 * [H, W, C] of positive integers. Without parameters the job compiles the catalog's midpoints.
 */
export function admitRequest(
  request: v1.CompileRequest,
  descriptor: v1.BlueprintDescriptor | null,
): { job: CompileJob } | { problem: string } {
  if (!descriptor) return { problem: `unknown blueprint ${JSON.stringify(request.blueprintId)}` };
  const dims = request.slot?.dims ?? [];
  if (dims.length !== 1 && dims.length !== 3)
    return { problem: `slot shape must be [D] or [H, W, C], got [${dims.join(', ')}]` };
  if (dims.some((d) => !Number.isInteger(d) || d < 1))
    return { problem: `slot dimensions must be positive integers, got [${dims.join(', ')}]` };
  const parameters =
    Object.keys(request.parameters ?? {}).length > 0 ? { ...request.parameters } : midpointParameters(descriptor);
  const jobId = request.jobId || jobIdFor(descriptor.blueprintId, dims, parameters);
  return { job: { jobId, descriptor, slotDims: [...dims], parameters } };
}

/** Applies one event at `now` (monotonic ms). The state is updated in place and returned with the effects, in order. */
export function transition<A>(
  state: ForgeQueueState<A>,
  event: ForgeQueueEvent<A>,
  now: number,
): ForgeQueueTransition<A> {
  state.clock.now = now;
  const effects: ForgeQueueEffect<A>[] = [];
  switch (event.type) {
    case 'recovered':
      for (const { entry, descriptor } of event.jobs) {
        if (!descriptor) {
          effects.push({
            type: 'journal-finished',
            jobId: entry.jobId,
            ok: false,
            error: 'blueprint no longer in the catalog',
          });
          continue;
        }
        state.waiters.set(entry.jobId, []);
        state.queued.push({ jobId: entry.jobId, descriptor, slotDims: entry.slotDims, parameters: entry.parameters });
      }
      pump(state, effects);
      break;
    case 'refused':
      count(state, 'tezzeret.jobs.requested');
      count(state, 'tezzeret.jobs.rejected');
      effects.push({
        type: 'reply',
        to: [event.asker],
        result: leyline.CompileResult.create({
          jobId: event.request.jobId,
          blueprintId: event.request.blueprintId,
          ok: false,
          error: event.error,
        }),
      });
      break;
    case 'already-stored': {
      const { job } = event;
      count(state, 'tezzeret.jobs.requested');
      count(state, 'tezzeret.jobs.already_stored');
      effects.push({
        type: 'reply',
        to: [event.asker],
        result: leyline.CompileResult.create({
          jobId: job.jobId,
          blueprintId: job.descriptor.blueprintId,
          ok: true,
          alreadyStored: true,
          slot: leyline.SlotShape.create({ slotId: job.slotDims.join('x'), dims: job.slotDims }),
        }),
      });
      break;
    }
    case 'requested': {
      count(state, 'tezzeret.jobs.requested');
      const waiting = state.waiters.get(event.job.jobId);
      if (waiting) {
        waiting.push(event.asker);
        break;
      }
      state.waiters.set(event.job.jobId, [event.asker]);
      effects.push({ type: 'journal-record', job: event.job });
      state.queued.push(event.job);
      pump(state, effects);
      break;
    }
    case 'finished':
      finished(state, event.result, effects);
      break;
    case 'job-lost': {
      const entry = [...state.running.values()].find((running) => running.name === event.name);
      if (!entry) break;
      const result = leyline.CompileResult.create({
        jobId: entry.job.jobId,
        blueprintId: entry.job.descriptor.blueprintId,
        ok: false,
        error: event.error,
      });
      finished(state, result, effects);
      break;
    }
    case 'probe-due':
      state.probeScheduled = false;
      pump(state, effects);
      break;
    case 'telemetry-due':
      effects.push(telemetry(state));
      break;
    case 'stopping':
      // Askers get an answer now rather than at their deadline; the journal keeps the jobs for the next start.
      for (const jobId of [...state.waiters.keys()]) {
        answer(
          state,
          jobId,
          leyline.CompileResult.create({ jobId, ok: false, error: 'the forge stopped; the job stays in its journal' }),
          effects,
        );
      }
      break;
  }
  return { state, effects };
}

function count<A>(state: ForgeQueueState<A>, name: string, by = 1): void {
  state.metrics[name] = (state.metrics[name] ?? 0) + by;
}

function note<A>(
  state: ForgeQueueState<A>,
  description: string,
  level: v1.TelemetryLevel,
  attributes: Record<string, string>,
): void {
  state.events.push({ description, level, attributes });
  if (state.events.length > MAX_PENDING_EVENTS) state.events.splice(0, state.events.length - MAX_PENDING_EVENTS);
}

function answer<A>(
  state: ForgeQueueState<A>,
  jobId: string,
  result: v1.CompileResult,
  effects: ForgeQueueEffect<A>[],
): void {
  const askers = state.waiters.get(jobId) ?? [];
  state.waiters.delete(jobId);
  if (askers.length > 0) effects.push({ type: 'reply', to: askers, result });
}

/** Starts queued jobs while there is room and the breaker lets them through. */
function pump<A>(state: ForgeQueueState<A>, effects: ForgeQueueEffect<A>[]): void {
  while (state.queued.length > 0 && state.running.size < state.rules.concurrency) {
    if (!state.breaker.allow()) {
      if (!state.probeScheduled) {
        state.probeScheduled = true;
        effects.push({ type: 'schedule-probe', delayMs: state.rules.breakerTimeoutMs });
      }
      return;
    }
    const job = state.queued.shift() as CompileJob;
    const strategy = state.conservative
      ? CompileStrategy.COMPILE_STRATEGY_CONSERVATIVE
      : CompileStrategy.COMPILE_STRATEGY_STANDARD;
    state.spawned += 1;
    const name = safeActorName(`job-${state.spawned}-${job.jobId}`);
    state.running.set(job.jobId, { job, name });
    effects.push({ type: 'spawn', name, job, strategy });
    count(state, 'tezzeret.jobs.started');
    note(state, 'tezzeret.compile_started', TelemetryLevel.TELEMETRY_LEVEL_INFO, {
      blueprint_id: job.descriptor.blueprintId,
      job_id: job.jobId,
      strategy: CompileStrategy[strategy] ?? '',
    });
  }
}

function finished<A>(state: ForgeQueueState<A>, result: v1.CompileResult, effects: ForgeQueueEffect<A>[]): void {
  if (!state.running.delete(result.jobId)) return;
  count(state, 'tezzeret.compilation.failed_attempts', result.ok ? result.attempts - 1 : result.attempts);
  // The last job's retries (Nissa's tezzeret_compile_retry_high watches it).
  state.metrics['tezzeret.compile.retry_count'] = Math.max(0, result.attempts - 1);
  effects.push({ type: 'journal-finished', jobId: result.jobId, ok: result.ok, error: result.error });
  if (result.ok) {
    count(state, 'tezzeret.jobs.completed');
    if (result.attempts > 1) count(state, 'tezzeret.jobs.retried');
    state.metrics['tezzeret.compilation.last_compile_ms'] = result.update?.compileMs ?? 0;
    state.metrics['tezzeret.compilation.last_prewarm_ms'] = result.update?.prewarmMs ?? 0;
    state.breaker.recordSuccess();
    state.consecutiveFailures = 0;
    state.conservative = false;
    note(state, 'tezzeret.compile_succeeded', TelemetryLevel.TELEMETRY_LEVEL_INFO, {
      blueprint_id: result.blueprintId,
      strategy: CompileStrategy[result.strategy] ?? '',
      compile_ms: (result.update?.compileMs ?? 0).toFixed(2),
      prewarm_ms: (result.update?.prewarmMs ?? 0).toFixed(2),
    });
    note(state, 'tezzeret.prewarm_completed', TelemetryLevel.TELEMETRY_LEVEL_INFO, {
      blueprint_id: result.blueprintId,
      prewarm_ms: (result.update?.prewarmMs ?? 0).toFixed(2),
    });
  } else {
    count(state, 'tezzeret.jobs.failed');
    if (result.timedOut) count(state, 'tezzeret.jobs.timed_out');
    const before = state.breaker.state;
    state.breaker.recordFailure();
    const after: v1.CircuitBreakerState = state.breaker.state;
    // Only a failure opens the breaker; its failure count is then the one that opened it.
    if (before !== CircuitBreakerState.CIRCUIT_STATE_OPEN && after === CircuitBreakerState.CIRCUIT_STATE_OPEN) {
      count(state, 'tezzeret.breaker.open_total');
      note(state, 'tezzeret.breaker_open', TelemetryLevel.TELEMETRY_LEVEL_ERROR, {
        failures: String(state.breaker.snapshot().failureCount),
        backoff_ms: String(state.rules.breakerTimeoutMs),
      });
    }
    state.consecutiveFailures += 1;
    note(state, 'tezzeret.compile_failed', TelemetryLevel.TELEMETRY_LEVEL_WARNING, {
      blueprint_id: result.blueprintId,
      reason: result.timedOut ? 'timeout' : result.error,
    });
    if (!state.conservative && state.consecutiveFailures >= state.rules.breakerThreshold) {
      state.conservative = true;
      note(state, 'tezzeret.conservative_mode_enabled', TelemetryLevel.TELEMETRY_LEVEL_WARNING, {
        failures: String(state.consecutiveFailures),
      });
    }
  }
  answer(state, result.jobId, result, effects);
  pump(state, effects);
}

function telemetry<A>(state: ForgeQueueState<A>): ForgeQueueEffect<A> {
  const breakerState = state.breaker.state;
  const metrics: MetricInput[] = [
    ...METRIC_NAMES.map((name) => ({ name, value: state.metrics[name] ?? 0 })),
    { name: 'tezzeret.breaker.state', value: breakerState },
    { name: 'tezzeret.mode.conservative', value: state.conservative ? 1 : 0 },
    { name: 'tezzeret.compile.consecutive_failures', value: state.consecutiveFailures },
    { name: 'tezzeret.jobs.queued', value: state.queued.length },
    { name: 'tezzeret.jobs.running', value: state.running.size },
  ];
  const stressed = breakerState !== CircuitBreakerState.CIRCUIT_STATE_CLOSED || state.conservative;
  return {
    type: 'telemetry',
    level: stressed ? TelemetryLevel.TELEMETRY_LEVEL_WARNING : TelemetryLevel.TELEMETRY_LEVEL_INFO,
    metrics,
    events: state.events.splice(0),
  };
}
