// Children an actor starts at run time (seeds, compile jobs, policy instances), supervised by that actor the way a
// supervisor supervises its tree: each child's failures are decided by supervisor-logic.ts — as a supervisor of that
// one child, under its DynamicChildSpec (data) — and carried out here on the runtime. The parent passes every runtime
// notice it receives (ActorFailed, ActorStarted, Terminated, TimerFired) to `handle`.
import { leyline, type LeylineMessage, type v1 } from '../contracts/index.ts';
import { describeError } from '../runtime/errors.ts';
import type { ActorContext, ActorLogic, ActorRef, AnyRef } from '../runtime/logic.ts';
import type { ActorSystem } from '../runtime/system.ts';
import { dynamicFlags, type DynamicChildSpec } from './child-spec.ts';
import {
  initialSupervisorState,
  transition,
  type SupervisorEffect,
  type SupervisorEvent,
  type SupervisorState,
} from './supervisor-logic.ts';
import { EscalationError } from './supervisor.ts';

const { SupervisorDirective, TerminationReason } = leyline;

export type DynamicNotice = v1.ActorFailed | v1.ActorStarted | v1.Terminated | v1.TimerFired;

/** What the parent must act on: a child it gave up on (stopped; `error` says why, after `restarts` restarts). */
export interface GaveUp {
  name: string;
  error: string;
  restarts: number;
}

interface Child {
  ref: AnyRef;
  logic: SupervisorState;
  spawnFresh: () => AnyRef;
}

/** The children of one incarnation of a parent actor, all under one spec. */
export class DynamicChildren {
  readonly #children = new Map<string, Child>();
  /** Paths of children that failed and have not started again since (set at the failure itself, not its notice). */
  readonly #down = new Set<string>();

  /**
   * `timerPrefix` marks the parent's restart timers for these children (unique among the parent's own timers).
   * `observe` sees each decision (telemetry, tests).
   */
  constructor(
    readonly system: ActorSystem,
    readonly spec: DynamicChildSpec,
    readonly timerPrefix: string,
    readonly observe: (name: string, effect: SupervisorEffect) => void = () => {},
    readonly random: () => number = Math.random,
  ) {}

  /** Spawns a supervised child named `name` (unique among the parent's children), watched by the parent. */
  spawn<S, M extends LeylineMessage, P extends LeylineMessage>(
    ctx: ActorContext<P>,
    name: string,
    logic: ActorLogic<S, M>,
  ): ActorRef<M> {
    const spawnFresh = (): AnyRef => {
      const ref = ctx.spawn(logic, {
        name,
        shutdownMs: this.spec.shutdownMs,
        // Failures reach the parent as messages, so its decisions are taken one at a time, in order.
        onFailure: (failure) => {
          this.#down.add(failure.path);
          this.system.notify(ctx.self, failure);
        },
      }) as AnyRef;
      this.system.setSupervisionFacts(ref, { restartPolicy: this.spec.restart });
      ctx.watch(ref);
      return ref;
    };
    const ref = spawnFresh();
    this.#children.set(name, {
      ref,
      logic: initialSupervisorState(dynamicFlags(this.spec), [
        { id: name, restart: this.spec.restart, isSupervisor: false },
      ]),
      spawnFresh,
    });
    return ref as ActorRef<M>;
  }

  /**
   * Stops supervising a child its parent is about to stop on purpose (a policy replaced): its end is then not a
   * failure to restart.
   */
  release(ref: AnyRef): void {
    for (const [name, child] of this.#children) if (child.ref.path === ref.path) this.#children.delete(name);
    this.#down.delete(ref.path);
  }

  /**
   * True while the child is failed and not yet running again: a parent that waits on its children (a delivery) must
   * not wait on one that cannot take the message before its restart, or its own mailbox — where the failure's notice
   * waits — stalls.
   */
  isDown(ref: AnyRef): boolean {
    return this.#down.has(ref.path);
  }

  /** True when `notice` is about one of these children (or is one of their restart timers). */
  owns(notice: DynamicNotice): boolean {
    return this.#find(notice) !== null;
  }

  /**
   * Applies a notice about one of these children. Returns the child it gave up on (stopped) when the spec says
   * `stop`; throws EscalationError (failing the parent) when it says `escalate`; null otherwise. A Terminated notice
   * is left for the parent to handle as well (it learns its child ended).
   */
  async handle<P extends LeylineMessage>(ctx: ActorContext<P>, notice: DynamicNotice): Promise<GaveUp | null> {
    const found = this.#find(notice);
    if (!found) return null;
    const [name, child] = found;
    const event = this.#event(notice, name, child);
    if (!event) return null;
    const { effects } = transition(child.logic, event, this.random);
    for (const effect of effects) {
      try {
        this.observe(name, effect);
      } catch (error) {
        ctx.log.error('dynamic supervision observer threw', { error: describeError(error) });
      }
      switch (effect.type) {
        case 'schedule':
          ctx.after(`${this.timerPrefix}${name}#${effect.round}`, Math.max(1, effect.delayMs));
          ctx.log.warn('child restart scheduled', {
            child: name,
            delay_ms: Math.round(effect.delayMs),
            error: child.logic.children[0]?.lastError ?? '',
          });
          break;
        case 'restart':
          if (this.system.isAlive(child.ref))
            void this.system.decide(child.ref, SupervisorDirective.SUPERVISOR_DIRECTIVE_RESTART);
          else child.ref = child.spawnFresh();
          this.system.setSupervisionFacts(child.ref, {
            restartCount: child.logic.children[0]?.restarts ?? 0,
            lastError: child.logic.children[0]?.lastError ?? '',
          });
          break;
        case 'resume':
          void this.system.decide(child.ref, SupervisorDirective.SUPERVISOR_DIRECTIVE_RESUME);
          break;
        case 'stop':
          await this.system.stopWithin(child.ref, effect.reason, this.spec.shutdownMs);
          break;
        case 'remove':
          this.#children.delete(name);
          this.#down.delete(child.ref.path);
          break;
        case 'suspend':
          // One child per decision: nothing else to hold.
          break;
        case 'escalate': {
          const restarts = child.logic.children[0]?.restarts ?? 0;
          this.#children.delete(name);
          this.#down.delete(child.ref.path);
          await this.system.stopWithin(child.ref, TerminationReason.TERMINATION_REASON_FAILED, this.spec.shutdownMs);
          if (this.spec.giveUp === leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_ESCALATE)
            throw new EscalationError(`${name}: ${effect.error}`);
          return { name, error: effect.error, restarts };
        }
      }
    }
    return null;
  }

  #find(notice: DynamicNotice): [string, Child] | null {
    if (notice instanceof leyline.TimerFired) {
      if (!notice.timerId.startsWith(this.timerPrefix)) return null;
      const name = notice.timerId.slice(this.timerPrefix.length, notice.timerId.lastIndexOf('#'));
      const child = this.#children.get(name);
      return child ? [name, child] : null;
    }
    for (const entry of this.#children) if (entry[1].ref.path === notice.path) return entry;
    return null;
  }

  #event(notice: DynamicNotice, name: string, child: Child): SupervisorEvent | null {
    const at = Date.now();
    if (notice instanceof leyline.TimerFired)
      return { type: 'restart-due', round: Number(notice.timerId.slice(notice.timerId.lastIndexOf('#') + 1)) };
    if (notice instanceof leyline.ActorStarted) {
      if (notice.incarnation >= this.system.incarnation(child.ref)) this.#down.delete(child.ref.path);
      return { type: 'started', id: name, at };
    }
    if (notice instanceof leyline.Terminated)
      return { type: 'exited', id: name, reason: notice.reason, error: notice.error, at };
    // A failure of an incarnation restarted since has been dealt with.
    if (notice.incarnation < this.system.incarnation(child.ref)) return null;
    return { type: 'failed', id: name, error: notice.error, at, duringStart: notice.duringStart };
  }
}
