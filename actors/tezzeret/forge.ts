// The forge: takes CompileRequests, keeps them in the durable journal, and runs at most `concurrency` compile-job
// actors at once. A circuit breaker stops new jobs after repeated failures and probes with one job once its
// timeout has passed; while failures repeat, jobs use the conservative strategy. An interrupted forge resumes
// the journal's unfinished jobs when it starts again.
import { leyline, type v1 } from '../../contracts/index.ts';
import { buildTelemetryPacket, type EventInput } from '../../contracts/telemetry.ts';
import { CircuitBreaker } from '../../runtime/circuit-breaker.ts';
import { describeError } from '../../runtime/errors.ts';
import { midpointParameters } from '../karn/index.ts';
import type { ActorContext, ActorLogic, ActorRef } from '../../runtime/logic.ts';
import { safeActorName } from '../../runtime/names.ts';
import type { ActorSystem } from '../../runtime/system.ts';
import { validateDynamicSpec, type DynamicChildSpec } from '../../supervision/child-spec.ts';
import { DynamicChildren, type DynamicNotice } from '../../supervision/dynamic-children.ts';
import { COMPILE_JOB_SPEC, compileJobLogic, type CompileJob, type CompileJobSettings } from './compile-job.ts';
import { jobIdFor, type JournalJob } from './job-journal.ts';
import type { BlueprintSource } from './ports.ts';
import type { CompileRunner } from './worker-pool.ts';

const { CompileStrategy, TelemetryLevel, CircuitBreakerState } = leyline;

export interface ForgeSettings extends Omit<CompileJobSettings, 'pool'> {
  /** The system the forge runs in: it supervises its job actors. */
  system: ActorSystem;
  /** How its job actors are supervised. Default COMPILE_JOB_SPEC. */
  jobSpec?: DynamicChildSpec;
  catalog: BlueprintSource;
  /** Opens the compile runner when the forge starts (closed when it stops): the worker pool, or a test's. */
  openRunner: () => ClosableRunner;
  concurrency: number;
  /** Failed jobs in a row that open the breaker and switch to the conservative strategy. */
  breakerThreshold: number;
  breakerTimeoutMs: number;
  telemetry: ActorRef<v1.TelemetryPacket> | null;
  telemetryIntervalMs: number;
}

export type ForgeMessage = v1.CompileRequest | v1.CompileResult | DynamicNotice;

type Answer = (message: v1.CompileResult) => boolean;

/** A compile runner the forge owns for one incarnation. */
export interface ClosableRunner extends CompileRunner {
  close?(): Promise<void>;
}

interface ForgeState {
  runner: ClosableRunner;
  queue: CompileJob[];
  running: Map<string, { job: CompileJob; name: string }>;
  jobs: DynamicChildren;
  waiters: Map<string, Answer[]>;
  breaker: CircuitBreaker;
  conservative: boolean;
  consecutiveFailures: number;
  metrics: Record<string, number>;
  events: EventInput[];
  probeScheduled: boolean;
  /** Makes job actor names unique, so a notice about an earlier job never matches a later one with the same id. */
  spawned: number;
}

/** Events kept for the next telemetry packet; beyond this the oldest are dropped (e.g. when nobody reads them). */
const MAX_PENDING_EVENTS = 1_000;

const PROBE_TIMER = 'breaker-probe';
const TELEMETRY_TIMER = 'telemetry';
const JOB_RESTART_TIMER = 'job-restart:';

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

/** The catalog's midpoint parameters for a blueprint (what the forge compiles when none are given). */
export function forgeLogic(settings: ForgeSettings): ActorLogic<ForgeState, ForgeMessage> {
  const jobSpec = validateDynamicSpec(settings.jobSpec ?? COMPILE_JOB_SPEC, 'tezzeret.jobSpec');
  const reject = (request: v1.CompileRequest, error: string): v1.CompileResult =>
    leyline.CompileResult.create({ jobId: request.jobId, blueprintId: request.blueprintId, ok: false, error });

  const answer = (state: ForgeState, jobId: string, result: v1.CompileResult): void => {
    for (const reply of state.waiters.get(jobId) ?? []) reply(result);
    state.waiters.delete(jobId);
  };

  const event = (state: ForgeState, description: string, level: v1.TelemetryLevel, attributes: Record<string, string>): void => {
    state.events.push({ description, level, attributes });
    if (state.events.length > MAX_PENDING_EVENTS) state.events.splice(0, state.events.length - MAX_PENDING_EVENTS);
  };

  /** Starts queued jobs while there is room and the breaker lets them through. */
  const pump = (state: ForgeState, ctx: ActorContext<ForgeMessage>): void => {
    while (state.queue.length > 0 && state.running.size < settings.concurrency) {
      if (!state.breaker.allow()) {
        if (!state.probeScheduled) {
          state.probeScheduled = true;
          ctx.after(PROBE_TIMER, settings.breakerTimeoutMs);
        }
        return;
      }
      const job = state.queue.shift() as CompileJob;
      const strategy = state.conservative ? CompileStrategy.COMPILE_STRATEGY_CONSERVATIVE : CompileStrategy.COMPILE_STRATEGY_STANDARD;
      const name = safeActorName(`job-${(state.spawned += 1)}-${job.jobId}`);
      state.jobs.spawn(ctx, name, compileJobLogic(job, strategy, { ...settings, pool: state.runner }, ctx.self as ActorRef<v1.CompileResult>));
      state.running.set(job.jobId, { job, name });
      state.metrics['tezzeret.jobs.started'] = (state.metrics['tezzeret.jobs.started'] ?? 0) + 1;
      event(state, 'tezzeret.compile_started', TelemetryLevel.TELEMETRY_LEVEL_INFO, {
        blueprint_id: job.descriptor.blueprintId,
        job_id: job.jobId,
        strategy: CompileStrategy[strategy] ?? '',
      });
    }
  };

  const finished = (state: ForgeState, ctx: ActorContext<ForgeMessage>, result: v1.CompileResult): void => {
    const entry = state.running.get(result.jobId);
    if (!entry) return;
    state.running.delete(result.jobId);
    const count = (name: string, by = 1): void => {
      state.metrics[name] = (state.metrics[name] ?? 0) + by;
    };
    count('tezzeret.compilation.failed_attempts', result.ok ? result.attempts - 1 : result.attempts);
    // The last job's retries (Nissa's tezzeret_compile_retry_high watches it).
    state.metrics['tezzeret.compile.retry_count'] = Math.max(0, result.attempts - 1);
    settings.journal.finished(result.jobId, result.ok, result.error);
    if (result.ok) {
      count('tezzeret.jobs.completed');
      if (result.attempts > 1) count('tezzeret.jobs.retried');
      state.metrics['tezzeret.compilation.last_compile_ms'] = result.update?.compileMs ?? 0;
      state.metrics['tezzeret.compilation.last_prewarm_ms'] = result.update?.prewarmMs ?? 0;
      state.breaker.recordSuccess();
      state.consecutiveFailures = 0;
      state.conservative = false;
      event(state, 'tezzeret.compile_succeeded', TelemetryLevel.TELEMETRY_LEVEL_INFO, {
        blueprint_id: result.blueprintId,
        strategy: CompileStrategy[result.strategy] ?? '',
        compile_ms: (result.update?.compileMs ?? 0).toFixed(2),
        prewarm_ms: (result.update?.prewarmMs ?? 0).toFixed(2),
      });
      event(state, 'tezzeret.prewarm_completed', TelemetryLevel.TELEMETRY_LEVEL_INFO, {
        blueprint_id: result.blueprintId,
        prewarm_ms: (result.update?.prewarmMs ?? 0).toFixed(2),
      });
    } else {
      count('tezzeret.jobs.failed');
      if (result.timedOut) count('tezzeret.jobs.timed_out');
      state.breaker.recordFailure();
      state.consecutiveFailures += 1;
      event(state, 'tezzeret.compile_failed', TelemetryLevel.TELEMETRY_LEVEL_WARNING, {
        blueprint_id: result.blueprintId,
        reason: result.timedOut ? 'timeout' : result.error,
      });
      if (!state.conservative && state.consecutiveFailures >= settings.breakerThreshold) {
        state.conservative = true;
        event(state, 'tezzeret.conservative_mode_enabled', TelemetryLevel.TELEMETRY_LEVEL_WARNING, {
          failures: String(state.consecutiveFailures),
        });
      }
    }
    answer(state, result.jobId, result);
    pump(state, ctx);
  };

  /** The job run by actor `name`, if it is still running, ends as failed. */
  const failJob = (state: ForgeState, ctx: ActorContext<ForgeMessage>, name: string, error: string): void => {
    const entry = [...state.running.values()].find((running) => running.name === name);
    if (!entry) return;
    finished(state, ctx, leyline.CompileResult.create({ jobId: entry.job.jobId, blueprintId: entry.job.descriptor.blueprintId, ok: false, error }));
  };

  const request = async (state: ForgeState, ctx: ActorContext<ForgeMessage>, message: v1.CompileRequest): Promise<void> => {
    const reply = ctx.replyLater() ?? (() => false);
    state.metrics['tezzeret.jobs.requested'] = (state.metrics['tezzeret.jobs.requested'] ?? 0) + 1;
    const descriptor = settings.catalog.get(message.blueprintId);
    const dims = message.slot?.dims ?? [];
    const problem = !descriptor
      ? `unknown blueprint ${JSON.stringify(message.blueprintId)}`
      : dims.length !== 1 && dims.length !== 3
        ? `slot shape must be [D] or [H, W, C], got [${dims.join(', ')}]`
        : dims.some((d) => !Number.isInteger(d) || d < 1)
          ? `slot dimensions must be positive integers, got [${dims.join(', ')}]`
          : null;
    if (!descriptor || problem) {
      state.metrics['tezzeret.jobs.rejected'] = (state.metrics['tezzeret.jobs.rejected'] ?? 0) + 1;
      reply(reject(message, problem ?? 'invalid request'));
      return;
    }
    const parameters = Object.keys(message.parameters ?? {}).length > 0 ? { ...message.parameters } : midpointParameters(descriptor);
    const jobId = message.jobId || jobIdFor(descriptor.blueprintId, dims, parameters);
    let stored: boolean;
    try {
      stored = await settings.store.has(descriptor.blueprintId, { dims });
    } catch (error) {
      state.metrics['tezzeret.jobs.rejected'] = (state.metrics['tezzeret.jobs.rejected'] ?? 0) + 1;
      reply(reject(message, `kernel store unavailable, not compiling blind: ${describeError(error)}`));
      return;
    }
    if (stored) {
      state.metrics['tezzeret.jobs.already_stored'] = (state.metrics['tezzeret.jobs.already_stored'] ?? 0) + 1;
      reply(
        leyline.CompileResult.create({
          jobId,
          blueprintId: descriptor.blueprintId,
          ok: true,
          alreadyStored: true,
          slot: leyline.SlotShape.create({ slotId: dims.join('x'), dims }),
        }),
      );
      return;
    }
    const waiting = state.waiters.get(jobId);
    if (waiting) {
      waiting.push(reply);
      return;
    }
    state.waiters.set(jobId, [reply]);
    settings.journal.record({ jobId, blueprintId: descriptor.blueprintId, slotDims: [...dims], parameters });
    state.queue.push({ jobId, descriptor, slotDims: [...dims], parameters });
    pump(state, ctx);
  };

  const resume = (state: ForgeState, journalJob: JournalJob): void => {
    const descriptor = settings.catalog.get(journalJob.blueprintId);
    if (!descriptor) {
      settings.journal.finished(journalJob.jobId, false, 'blueprint no longer in the catalog');
      return;
    }
    state.waiters.set(journalJob.jobId, []);
    state.queue.push({ jobId: journalJob.jobId, descriptor, slotDims: journalJob.slotDims, parameters: journalJob.parameters });
  };

  const telemetry = (state: ForgeState): v1.TelemetryPacket => {
    const snapshot = state.breaker.snapshot();
    const metrics = [
      ...METRIC_NAMES.map((name) => ({ name, value: state.metrics[name] ?? 0 })),
      { name: 'tezzeret.breaker.state', value: snapshot.state },
      { name: 'tezzeret.mode.conservative', value: state.conservative ? 1 : 0 },
      { name: 'tezzeret.compile.consecutive_failures', value: state.consecutiveFailures },
      { name: 'tezzeret.jobs.queued', value: state.queue.length },
      { name: 'tezzeret.jobs.running', value: state.running.size },
    ];
    const events = state.events.splice(0);
    const stressed = snapshot.state !== CircuitBreakerState.CIRCUIT_STATE_CLOSED || state.conservative;
    return buildTelemetryPacket({
      packetId: `tezzeret-${Date.now()}`,
      source: 'tezzeret',
      level: stressed ? TelemetryLevel.TELEMETRY_LEVEL_WARNING : TelemetryLevel.TELEMETRY_LEVEL_INFO,
      metrics,
      events,
    });
  };

  return {
    kind: 'tezzeret-forge',
    accepts: [leyline.CompileRequest, leyline.CompileResult, leyline.Terminated, leyline.TimerFired],
    start(ctx) {
      const state: ForgeState = {
        runner: settings.openRunner(),
        queue: [],
        running: new Map(),
        waiters: new Map(),
        breaker: new CircuitBreaker('tezzeret.forge', {
          failureThreshold: settings.breakerThreshold,
          timeoutMs: settings.breakerTimeoutMs,
          halfOpenTrials: 1,
        }),
        conservative: false,
        consecutiveFailures: 0,
        metrics: {},
        events: [],
        probeScheduled: false,
        spawned: 0,
        jobs: new DynamicChildren(settings.system, jobSpec, JOB_RESTART_TIMER),
      };
      state.breaker.onTransition((transition) => {
        if (transition.to === CircuitBreakerState.CIRCUIT_STATE_OPEN) {
          state.metrics['tezzeret.breaker.open_total'] = (state.metrics['tezzeret.breaker.open_total'] ?? 0) + 1;
          event(state, 'tezzeret.breaker_open', TelemetryLevel.TELEMETRY_LEVEL_ERROR, {
            failures: String(transition.failures),
            backoff_ms: String(settings.breakerTimeoutMs),
          });
        }
      });
      for (const job of settings.journal.unfinished()) resume(state, job);
      if (settings.telemetry) ctx.every(TELEMETRY_TIMER, settings.telemetryIntervalMs);
      pump(state, ctx);
      return state;
    },
    async receive(state, message, ctx) {
      if (message instanceof leyline.CompileRequest) {
        await request(state, ctx, message);
      } else if (message instanceof leyline.CompileResult) {
        finished(state, ctx, message);
      } else if (message instanceof leyline.Terminated) {
        await state.jobs.handle(ctx, message);
        // A job actor that ended without reporting (stopped from outside) is a failed job; the others go on.
        failJob(state, ctx, message.path.slice(message.path.lastIndexOf('/') + 1), `compile job ended without a result: ${message.error || 'stopped'}`);
      } else if (state.jobs.owns(message)) {
        // A job that crashed is restarted as its spec says; past its restarts it is stopped and its request fails.
        const gaveUp = await state.jobs.handle(ctx, message);
        if (gaveUp) failJob(state, ctx, gaveUp.name, `compile job crashed (restarted ${gaveUp.restarts} times): ${gaveUp.error}`);
      } else if (!(message instanceof leyline.TimerFired)) {
        return state;
      } else if (message.timerId === PROBE_TIMER) {
        state.probeScheduled = false;
        pump(state, ctx);
      } else if (message.timerId === TELEMETRY_TIMER && settings.telemetry) {
        ctx.dispatch(settings.telemetry, telemetry(state));
      }
      return state;
    },
    async stop(state) {
      // Askers get an answer now rather than at their deadline; the journal keeps the jobs for the next start.
      for (const jobId of state.waiters.keys()) {
        answer(state, jobId, leyline.CompileResult.create({ jobId, ok: false, error: 'the forge stopped; the job stays in its journal' }));
      }
      await state.runner.close?.();
    },
    inspect: (state) => ({
      queued: String(state.queue.length),
      running: String(state.running.size),
      breaker: leyline.CircuitBreakerState[state.breaker.state] ?? '',
      conservative: String(state.conservative),
    }),
  };
}
