// What an actor is, independent of the runtime that runs it: a plain logic object (start, receive, stop), in
// the manner of XState's actor logic. Logic is unit-tested by calling its functions; `ActorSystem` runs it.
import type { AnyLeylineType, LeylineMessage, v1 } from '../contracts/index.ts';

/** A typed handle to an actor. `M` is the union of Leyline messages it accepts. */
export interface ActorRef<M extends LeylineMessage = LeylineMessage> {
  readonly path: string;
  readonly system: string;
  /** Phantom: carries the message type for the checker; never set at run time. */
  readonly __accepts?: (message: M) => void;
}

/** Messages every actor takes, handled by the runtime (a graceful stop, a watch request). */
export type RuntimeControl = v1.StopRequest | v1.Watch;

/** A reference to any actor, whatever it accepts (for stop, watch, inspection). */
export type AnyRef = ActorRef<never>;

export interface ActorContext<M extends LeylineMessage = LeylineMessage> {
  readonly self: ActorRef<M>;
  readonly path: string;
  /** 1 at first start, +1 per restart. */
  readonly incarnation: number;
  /** Sends a message (fire and forget). Returns false when it became a dead letter. */
  dispatch<T extends LeylineMessage>(to: ActorRef<T>, message: T | RuntimeControl): boolean;
  /** Asks another actor; rejects after `deadlineMs`. */
  ask<M extends LeylineMessage, T extends AnyLeylineType>(
    to: ActorRef<M>,
    message: M,
    reply: T | readonly T[],
    deadlineMs: number,
  ): Promise<InstanceType<T>>;
  /** Sends a message; resolves once the recipient's handler has finished with it (see ActorSystem.deliver). */
  deliver<T extends LeylineMessage>(to: ActorRef<T>, message: T, deadlineMs: number): Promise<void>;
  /** Answers the ask that delivered the current message. False when there is none or it has expired. */
  reply(message: LeylineMessage): boolean;
  /**
   * Keeps the ask that delivered the current message open, to be answered after this handler returns (e.g. when
   * a job it started completes). Null when the message came without an ask. The asker's deadline still applies:
   * a late answer is a dead letter.
   */
  replyLater(): ((message: LeylineMessage) => boolean) | null;
  /** Spawns a child actor (stopped when this actor stops or restarts). */
  spawn<S, C extends LeylineMessage>(logic: ActorLogic<S, C>, options: SpawnOptions): ActorRef<C>;
  /** Every `intervalMs`, delivers a TimerFired{timer_id} to this actor. Cleared on stop and restart. */
  every(timerId: string, intervalMs: number): void;
  /**
   * Once after `delayMs`, delivers a TimerFired{timer_id}. Timers do not keep the process alive, unless
   * `keepAlive` is set: for work in progress that must finish (a training run's next slice).
   */
  after(timerId: string, delayMs: number, options?: { keepAlive?: boolean }): void;
  cancelTimer(timerId: string): void;
  /** Ends this actor normally once the current message is handled. */
  stopSelf(): void;
  /** Starts watching another actor: a Terminated message arrives when it ends. */
  watch(target: AnyRef): void;
  readonly log: Logger;
}

export interface ActorLogic<S, M extends LeylineMessage = LeylineMessage> {
  /** A short name of what this actor is ("supervisor", "seed", "health-reporter"). */
  readonly kind: string;
  /**
   * The message types this actor accepts. Dispatching any other Leyline type is refused with an error.
   * Runtime notices (ActorFailed, ActorStarted, Terminated, TimerFired) are always admitted where relevant.
   */
  readonly accepts?: readonly AnyLeylineType[];
  start(ctx: ActorContext<M>): S | Promise<S>;
  receive(state: S, message: M, ctx: ActorContext<M>): S | Promise<S>;
  /** Clean-up when the actor stops or before it restarts. Errors are logged, never rethrown. */
  stop?(state: S, ctx: ActorContext<M>): void | Promise<void>;
  /** Key facts for the inspector (string values). */
  inspect?(state: S): Record<string, string>;
}

export interface SpawnOptions {
  name: string;
  /** Bounded mailbox: messages beyond this depth are refused (dead letter MAILBOX_FULL). 0 = unbounded. */
  mailboxCapacity?: number;
  /**
   * How long the actor gets to finish when its parent stops or restarts it; then it is marked stopped without
   * its clean-up. Unlimited when unset (the system's shutdown deadline still applies).
   */
  shutdownMs?: number;
  /**
   * Called when the actor fails (start-up or handler threw). The actor is suspended until someone calls
   * `system.decide(ref, directive)`. Without a hook the runtime stops a failed actor (reason FAILED).
   */
  onFailure?: (failure: v1.ActorFailed, ref: AnyRef) => void;
}

/** What a supervisor may tell a failed (suspended) actor: resume, restart or stop (escalation is the supervisor's). */
export type Directive = v1.SupervisorDirective;

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Actor logic of any state and message types, for lists that hold many kinds (child specs, worker registries).
 * Any `ActorLogic<S, M>` is assignable to it (its members are methods, checked bivariantly).
 */
export type AnyActorLogic = ActorLogic<unknown, never>;

/** Logic for an actor with no state of its own. Unlike nact's spawnStateless, its crashes are supervised. */
export function statelessLogic<M extends LeylineMessage>(
  kind: string,
  receive: (message: M, ctx: ActorContext<M>) => void | Promise<void>,
): ActorLogic<null, M> {
  return {
    kind,
    start: () => null,
    receive: (state, message, ctx) => {
      const result = receive(message, ctx);
      return result instanceof Promise ? result.then(() => state) : state;
    },
  };
}
