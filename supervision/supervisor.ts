// A supervisor actor: starts its children in order, turns their failures into decisions (supervisor-logic.ts)
// and carries the decisions out on the runtime. Nested supervisors are built the same way, so a whole tree
// comes from one declarative SupervisorSpec.
import { leyline, type v1 } from '../contracts/index.ts';
import { describeError } from '../runtime/errors.ts';
import type { ActorContext, ActorLogic, AnyRef } from '../runtime/logic.ts';
import type { ActorSystem } from '../runtime/system.ts';
import {
  DEFAULT_SHUTDOWN_MS,
  isSupervisorSpec,
  resolveFlags,
  type ChildSpec,
  type SupervisorSpec,
} from './child-spec.ts';
import {
  errorIsStale,
  initialSupervisorState,
  transition,
  type SupervisorEffect,
  type SupervisorEvent,
  type SupervisorState,
} from './supervisor-logic.ts';

const { RestartPolicy, SupervisorDirective, TerminationReason } = leyline;

export type SupervisorMessage = v1.ActorFailed | v1.ActorStarted | v1.Terminated | v1.TimerFired;

export class EscalationError extends Error {
  override readonly name = 'EscalationError';
}

interface Running {
  logic: SupervisorState;
  refs: Map<string, AnyRef>;
  specs: Map<string, ChildSpec>;
}

export interface SupervisorOptions {
  /** Jitter source (tests pass a fixed one). */
  random?: () => number;
  /** Sees each decision before it is carried out (telemetry, tests). Must not throw; errors are logged. */
  observe?: (supervisorPath: string, effect: SupervisorEffect) => void;
}

const ROUND_TIMER = 'restart-round-';
/** Re-publishes facts once a child's last error may have gone stale (a stable run clears it). */
const STABLE_TIMER = 'stable-check';

/** The actor logic of the supervisor that `spec` declares. */
export function supervisorLogic(
  system: ActorSystem,
  spec: SupervisorSpec,
  options: SupervisorOptions = {},
): ActorLogic<Running, SupervisorMessage> {
  const flags = resolveFlags(spec.flags);
  const random = options.random ?? Math.random;

  const spawnChild = (ctx: ActorContext<SupervisorMessage>, child: ChildSpec): AnyRef => {
    const logic = isSupervisorSpec(child) ? supervisorLogic(system, child, options) : child.logic;
    const ref = ctx.spawn(logic, {
      name: child.id,
      shutdownMs: child.shutdownMs ?? DEFAULT_SHUTDOWN_MS,
      ...(!isSupervisorSpec(child) && child.mailboxCapacity !== undefined
        ? { mailboxCapacity: child.mailboxCapacity }
        : {}),
      // Failures reach the supervisor as messages, so decisions are taken one at a time, in order.
      onFailure: (failure) => system.notify(ctx.self, failure),
    }) as AnyRef;
    system.setSupervisionFacts(ref, {
      restartPolicy: child.restart ?? RestartPolicy.RESTART_POLICY_PERMANENT,
      ...(isSupervisorSpec(child) ? { strategy: resolveFlags(child.flags).strategy } : {}),
    });
    ctx.watch(ref);
    return ref;
  };

  const idOf = (running: Running, path: string): string | undefined => {
    for (const [id, ref] of running.refs) if (ref.path === path) return id;
    return undefined;
  };

  const stopChild = async (running: Running, id: string, reason: v1.TerminationReason): Promise<void> => {
    const ref = running.refs.get(id);
    const spec = running.specs.get(id);
    if (!ref) return;
    await system.stopWithin(ref, reason, spec?.shutdownMs ?? DEFAULT_SHUTDOWN_MS);
  };

  const publishFacts = (ctx: ActorContext<SupervisorMessage>, running: Running): void => {
    const now = Date.now();
    let recheck = false;
    for (const child of running.logic.children) {
      const ref = running.refs.get(child.id);
      if (!ref) continue;
      const stale = errorIsStale(child, now, flags.backoff.stableMs);
      if (!stale && child.startedAt > child.lastErrorAt) recheck = true;
      const pending = running.logic.pending?.ids.includes(child.id) ? running.logic.pending.delayMs : 0;
      system.setSupervisionFacts(ref, {
        restartCount: child.restarts,
        backoffSeconds: pending / 1000,
        lastError: stale ? '' : child.lastError,
        lastErrorAt: stale ? 0 : child.lastErrorAt,
      });
    }
    if (recheck) ctx.after(STABLE_TIMER, flags.backoff.stableMs);
  };

  const carryOut = async (
    ctx: ActorContext<SupervisorMessage>,
    running: Running,
    effects: readonly SupervisorEffect[],
  ): Promise<void> => {
    for (const effect of effects) {
      try {
        options.observe?.(ctx.path, effect);
      } catch (error) {
        ctx.log.error('supervisor observer threw', { error: describeError(error) });
      }
      switch (effect.type) {
        case 'resume': {
          const ref = running.refs.get(effect.id);
          if (ref) await system.decide(ref, SupervisorDirective.SUPERVISOR_DIRECTIVE_RESUME);
          break;
        }
        case 'suspend':
          for (const id of effect.ids) {
            const ref = running.refs.get(id);
            if (ref) system.suspend(ref);
          }
          break;
        case 'schedule':
          ctx.after(`${ROUND_TIMER}${effect.round}`, Math.max(1, effect.delayMs));
          ctx.log.warn('restart scheduled', { children: effect.ids, delay_ms: Math.round(effect.delayMs) });
          break;
        case 'restart':
          // As OTP restarts a group: every member ends, in reverse start order, then each starts again, in
          // start order, waiting for the one before. Held members keep their mailboxes.
          for (const id of [...effect.ids].reverse()) {
            const ref = running.refs.get(id);
            if (!ref || !system.isAlive(ref)) continue;
            system.suspend(ref);
            await system.prepareRestart(ref);
          }
          for (const id of effect.ids) {
            const ref = running.refs.get(id);
            const spec = running.specs.get(id);
            if (ref && system.isAlive(ref)) {
              await system.decide(ref, SupervisorDirective.SUPERVISOR_DIRECTIVE_RESTART);
            } else if (spec) {
              const fresh = spawnChild(ctx, spec);
              running.refs.set(id, fresh);
              await system.whenStarted(fresh);
            }
          }
          break;
        case 'stop':
          await stopChild(running, effect.id, effect.reason);
          break;
        case 'remove':
          running.refs.delete(effect.id);
          running.specs.delete(effect.id);
          break;
        case 'escalate':
          // Never leave a child held: every child ends before the failure goes up.
          for (const id of [...running.refs.keys()].reverse()) {
            await stopChild(running, id, TerminationReason.TERMINATION_REASON_SHUTDOWN);
          }
          running.refs.clear();
          throw new EscalationError(effect.error);
      }
    }
    publishFacts(ctx, running);
  };

  const toEvent = (
    ctx: ActorContext<SupervisorMessage>,
    running: Running,
    message: SupervisorMessage,
  ): SupervisorEvent | null => {
    if (message instanceof leyline.TimerFired) {
      if (!message.timerId.startsWith(ROUND_TIMER)) return null;
      return { type: 'restart-due', round: Number(message.timerId.slice(ROUND_TIMER.length)) };
    }
    const id = idOf(running, message.path);
    if (id === undefined) return null;
    const at = Date.now();
    if (message instanceof leyline.ActorStarted) return { type: 'started', id, at };
    if (message instanceof leyline.Terminated) {
      return { type: 'exited', id, reason: message.reason, error: message.error, at };
    }
    // A failure of an incarnation that has been restarted since (e.g. by a group restart under way when it
    // failed) has been dealt with.
    const ref = running.refs.get(id);
    if (ref && message.incarnation < system.incarnation(ref)) return null;
    const spec = running.specs.get(id);
    const event: SupervisorEvent = { type: 'failed', id, error: message.error, at, duringStart: message.duringStart };
    if (spec && !isSupervisorSpec(spec) && spec.decide) {
      try {
        // Whatever the decider returns (even undefined) is its decision, checked by the logic.
        event.directive = spec.decide(message.error, message) ?? Symbol('decider returned nothing');
      } catch (error) {
        // A decider that throws is counted and ignored: the default decision applies.
        event.directive = Symbol('decider threw');
        ctx.log.error('decider threw; applying the default', { child: id, error: describeError(error) });
      }
    }
    return event;
  };
  return {
    kind: 'supervisor',
    accepts: [leyline.ActorFailed, leyline.ActorStarted, leyline.Terminated, leyline.TimerFired],
    async start(ctx) {
      const running: Running = {
        logic: initialSupervisorState(
          flags,
          spec.children.map((child) => ({
            id: child.id,
            restart: child.restart ?? RestartPolicy.RESTART_POLICY_PERMANENT,
            isSupervisor: isSupervisorSpec(child),
          })),
        ),
        refs: new Map(),
        specs: new Map(spec.children.map((child) => [child.id, child])),
      };
      // Children start one after another, in declaration order; a child that fails to start is handled by the
      // usual restart rules once this start-up is done.
      for (const child of spec.children) {
        const ref = spawnChild(ctx, child);
        running.refs.set(child.id, ref);
        await system.whenStarted(ref);
      }
      return running;
    },
    async receive(running, message, ctx) {
      if (message instanceof leyline.TimerFired && message.timerId === STABLE_TIMER) {
        publishFacts(ctx, running);
        return running;
      }
      const event = toEvent(ctx, running, message);
      if (!event) return running;
      const { effects } = transition(running.logic, event, random);
      await carryOut(ctx, running, effects);
      return running;
    },
    inspect(running) {
      return {
        strategy: leyline.SupervisionStrategy[flags.strategy] ?? String(flags.strategy),
        intensity: `${flags.intensity} per ${flags.periodMs} ms`,
        children: String(running.logic.children.length),
        pending_restart: running.logic.pending ? running.logic.pending.ids.join(',') : '',
        decision_errors: String(running.logic.decisionErrors),
      };
    },
  };
}
