// The forge actor: takes CompileRequests, keeps them in the durable journal, and runs at most `concurrency`
// compile-job actors at once. Its decisions (queue, breaker, conservative strategy, answers, telemetry) are made by
// forge-queue.ts; this file checks requests against the catalog and the kernel store, feeds the outcomes in as
// events and carries out the effects. An interrupted forge resumes the journal's unfinished jobs when it starts again.
import { leyline, type LeylineMessage, type v1 } from '../../contracts/index.ts';
import { buildTelemetryPacket } from '../../contracts/telemetry.ts';
import { describeError } from '../../runtime/errors.ts';
import type { ActorContext, ActorLogic, ActorRef } from '../../runtime/logic.ts';
import type { ActorSystem } from '../../runtime/system.ts';
import { validateDynamicSpec, type DynamicChildSpec } from '../../supervision/child-spec.ts';
import { DynamicChildren, type DynamicNotice } from '../../supervision/dynamic-children.ts';
import { COMPILE_JOB_SPEC, compileJobLogic, type CompileJobSettings } from './compile-job.ts';
import {
  admitRequest,
  initialForgeQueue,
  transition,
  type ForgeQueueEffect,
  type ForgeQueueEvent,
  type ForgeQueueState,
} from './forge-queue.ts';
import type { BlueprintSource } from './ports.ts';
import type { CompileRunner } from './worker-pool.ts';

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

/** Answers one asker (the ask kept open by `replyLater`). */
type Answer = (message: LeylineMessage) => boolean;

/** A compile runner the forge owns for one incarnation. */
export interface ClosableRunner extends CompileRunner {
  close?(): Promise<void>;
}

/** One incarnation's state, all of it built in `start`: a restart begins with an empty queue and a closed breaker. */
interface ForgeState {
  runner: ClosableRunner;
  jobs: DynamicChildren;
  queue: ForgeQueueState<Answer>;
}

const PROBE_TIMER = 'breaker-probe';
const TELEMETRY_TIMER = 'telemetry';
const JOB_RESTART_TIMER = 'job-restart:';

/** The forge actor's logic; each incarnation starts from the journal with a fresh queue and breaker. */
export function forgeLogic(settings: ForgeSettings): ActorLogic<ForgeState, ForgeMessage> {
  const jobSpec = validateDynamicSpec(settings.jobSpec ?? COMPILE_JOB_SPEC, 'tezzeret.jobSpec');

  const perform = (state: ForgeState, ctx: ActorContext<ForgeMessage>, effect: ForgeQueueEffect<Answer>): void => {
    switch (effect.type) {
      case 'spawn':
        state.jobs.spawn(
          ctx,
          effect.name,
          compileJobLogic(
            effect.job,
            effect.strategy,
            { ...settings, pool: state.runner },
            ctx.self as ActorRef<v1.CompileResult>,
          ),
        );
        break;
      case 'reply':
        for (const reply of effect.to) reply(effect.result);
        break;
      case 'journal-record':
        settings.journal.record({
          jobId: effect.job.jobId,
          blueprintId: effect.job.descriptor.blueprintId,
          slotDims: [...effect.job.slotDims],
          parameters: effect.job.parameters,
        });
        break;
      case 'journal-finished':
        settings.journal.finished(effect.jobId, effect.ok, effect.error);
        break;
      case 'schedule-probe':
        ctx.after(PROBE_TIMER, effect.delayMs);
        break;
      case 'telemetry':
        if (settings.telemetry) {
          ctx.dispatch(
            settings.telemetry,
            buildTelemetryPacket({
              packetId: `tezzeret-${Date.now()}`,
              source: 'tezzeret',
              level: effect.level,
              metrics: effect.metrics,
              events: effect.events,
            }),
          );
        }
        break;
    }
  };

  /** Applies an event to the queue now and carries out its effects in order. */
  const apply = (state: ForgeState, ctx: ActorContext<ForgeMessage>, event: ForgeQueueEvent<Answer>): void => {
    for (const effect of transition(state.queue, event, performance.now()).effects) perform(state, ctx, effect);
  };

  const request = async (
    state: ForgeState,
    ctx: ActorContext<ForgeMessage>,
    message: v1.CompileRequest,
  ): Promise<void> => {
    const asker = ctx.replyLater() ?? (() => false);
    const admitted = admitRequest(message, settings.catalog.get(message.blueprintId));
    if ('problem' in admitted) {
      apply(state, ctx, { type: 'refused', asker, request: message, error: admitted.problem });
      return;
    }
    const { job } = admitted;
    let stored: boolean;
    try {
      stored = await settings.store.has(job.descriptor.blueprintId, { dims: job.slotDims });
    } catch (error) {
      apply(state, ctx, {
        type: 'refused',
        asker,
        request: message,
        error: `kernel store unavailable, not compiling blind: ${describeError(error)}`,
      });
      return;
    }
    apply(state, ctx, { type: stored ? 'already-stored' : 'requested', asker, job });
  };

  return {
    kind: 'tezzeret-forge',
    accepts: [leyline.CompileRequest, leyline.CompileResult, leyline.Terminated, leyline.TimerFired],
    start(ctx) {
      const state: ForgeState = {
        runner: settings.openRunner(),
        jobs: new DynamicChildren(settings.system, jobSpec, JOB_RESTART_TIMER),
        queue: initialForgeQueue({
          concurrency: settings.concurrency,
          breakerThreshold: settings.breakerThreshold,
          breakerTimeoutMs: settings.breakerTimeoutMs,
        }),
      };
      if (settings.telemetry) ctx.every(TELEMETRY_TIMER, settings.telemetryIntervalMs);
      const jobs = settings.journal
        .unfinished()
        .map((entry) => ({ entry, descriptor: settings.catalog.get(entry.blueprintId) }));
      apply(state, ctx, { type: 'recovered', jobs });
      return state;
    },
    async receive(state, message, ctx) {
      if (message instanceof leyline.CompileRequest) {
        await request(state, ctx, message);
      } else if (message instanceof leyline.CompileResult) {
        apply(state, ctx, { type: 'finished', result: message });
      } else if (message instanceof leyline.Terminated) {
        await state.jobs.handle(ctx, message);
        // A job actor that ended without reporting (stopped from outside) is a failed job; the others go on.
        const name = message.path.slice(message.path.lastIndexOf('/') + 1);
        apply(state, ctx, {
          type: 'job-lost',
          name,
          error: `compile job ended without a result: ${message.error || 'stopped'}`,
        });
      } else if (state.jobs.owns(message)) {
        // A job that crashed is restarted as its spec says; past its restarts it is stopped and its request fails.
        const gaveUp = await state.jobs.handle(ctx, message);
        if (gaveUp)
          apply(state, ctx, {
            type: 'job-lost',
            name: gaveUp.name,
            error: `compile job crashed (restarted ${gaveUp.restarts} times): ${gaveUp.error}`,
          });
      } else if (!(message instanceof leyline.TimerFired)) {
        return state;
      } else if (message.timerId === PROBE_TIMER) {
        apply(state, ctx, { type: 'probe-due' });
      } else if (message.timerId === TELEMETRY_TIMER && settings.telemetry) {
        apply(state, ctx, { type: 'telemetry-due' });
      }
      return state;
    },
    async stop(state, ctx) {
      apply(state, ctx, { type: 'stopping' });
      await state.runner.close?.();
    },
    inspect: (state) => ({
      queued: String(state.queue.queued.length),
      running: String(state.queue.running.size),
      breaker: leyline.CircuitBreakerState[state.queue.breaker.state] ?? '',
      conservative: String(state.queue.conservative),
    }),
  };
}
