// One actor as the runtime runs it: its logic, state, mailbox accounting and life cycle.
//
// Every message reaches `handle` through nact, one at a time. Control requests (stop, suspend, restart, pause) are
// applied only at a message boundary, so an actor never runs its handler and a restart at once, and a failed
// actor is held (its mailbox kept) until its supervisor decides.
import { leyline, leylineClassName, type LeylineMessage, type v1 } from '../contracts/index.ts';
import { ActorFailedError, ActorStoppedError, describeError } from './errors.ts';
import type { KernelRef } from './nact-kernel.ts';
import type { ActorContext, ActorLogic, AnyRef, Directive, Logger, SpawnOptions } from './logic.ts';
import { toTimestamp } from '../contracts/time.ts';

const { ActorStatus, SupervisorDirective, TerminationReason, DeadLetterReason } = leyline;

/** How many handled messages an actor remembers (type and time) for the inspector. */
const RECENT_KEPT = 8;

export interface ReplySlot {
  settled: boolean;
  /** Set when the handler kept the ask to answer after it (`replyLater`). */
  kept?: boolean;
  resolve(message: LeylineMessage): void;
  reject(error: Error): void;
}

/** What travels through nact: a Leyline payload (with an optional reply slot) or a control wake-up. */
export interface Envelope {
  payload?: LeylineMessage;
  reply?: ReplySlot;
  /** Told when the handler has finished with the payload (system.deliver): resolved, or rejected on failure. */
  handled?: { resolve(): void; reject(error: Error): void };
  /** Runtime notice (failure, termination, timer): exempt from the mailbox bound. */
  notice?: boolean;
  /**
   * The recipient's incarnation when a notice was queued. A notice for an earlier incarnation is dropped: it is
   * about children or timers of an incarnation that no longer exists (0: queued before the first start).
   */
  incarnation?: number;
  control?: 'start' | 'wake';
}

/** What a cell needs from the system that runs it. */
export interface CellHost {
  deadLetter(path: string, message: LeylineMessage, reason: v1.DeadLetterReason, detail?: string): void;
  notify(to: ActorCell, message: LeylineMessage): void;
  wake(cell: ActorCell): void;
  /** The actor has ended: take it out of the tree. */
  ended(cell: ActorCell): void;
  /** A Watch message arrived for `target`. */
  watch(watcherPath: string, target: ActorCell, unwatch: boolean): void;
  /** The ended actor's mailbox is drained: free its path and its nact actor. */
  release(cell: ActorCell): void;
  context(cell: ActorCell): ActorContext;
  countInternalError(where: string, error: unknown): void;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const isPromise = (value: unknown): value is Promise<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';

interface StopRequest {
  reason: v1.TerminationReason;
  error: string;
}

/** Facts a supervisor attaches to its children so inspection and health can show them. */
export interface SupervisionFacts {
  restartPolicy?: v1.RestartPolicy;
  strategy?: v1.SupervisionStrategy;
  backoffSeconds?: number;
  restartCount?: number;
  lastError?: string;
  lastErrorAt?: number;
}

export class ActorCell {
  status: v1.ActorStatus = ActorStatus.ACTOR_STATUS_STARTING;
  incarnation = 0;
  depth = 0;
  processed = 0;
  readonly children: ActorCell[] = [];
  readonly watchers = new Set<ActorCell>();
  readonly timers = new Map<string, NodeJS.Timeout>();
  readonly pendingTimers = new Set<string>();
  readonly accepts: ReadonlySet<unknown> | null;
  readonly capacity: number;
  readonly onFailure: SpawnOptions['onFailure'];
  /** How long this actor gets to stop when its parent stops or restarts; unlimited when unset. */
  readonly shutdownMs: number | undefined;
  readonly terminated = deferred<v1.Terminated>();
  supervision: SupervisionFacts = {};
  startedAt = 0;
  lastError = '';
  lastErrorAt = 0;
  kernelRef!: KernelRef;
  /** An operator's pause (`pause()`): the mailbox is held at message boundaries until `resume()`. */
  paused = false;

  #state: unknown = undefined;
  #hasState = false;
  #currentReply: ReplySlot | undefined;
  #stopRequest: StopRequest | null = null;
  #suspendRequested = false;
  #pendingDirective: Directive | null = null;
  #waiting: Deferred<Directive> | null = null;
  #startObservers: Array<(ok: boolean) => void> = [];
  #heldObservers: Array<() => void> = [];
  #cleanedUp = false;
  #terminating = false;
  #ctx: ActorContext | undefined;
  /** Set while a pause holds the mailbox; resolved to look at the boundary again (resume, stop, restart). */
  #pauseHold: Deferred<void> | null = null;
  #pauseObservers: Array<() => void> = [];
  /**
   * A ring of the last handled messages, written at `#recentNext % RECENT_KEPT`: each one's class (named only when
   * asked, off the hot path; the message itself is not kept) and time (ms).
   */
  readonly #recentTypes: Array<LeylineMessage['constructor']> = [];
  readonly #recentAt: number[] = [];
  #recentNext = 0;

  constructor(
    readonly path: string,
    readonly name: string,
    readonly ref: AnyRef,
    readonly parent: ActorCell | null,
    readonly logic: ActorLogic<unknown, LeylineMessage>,
    options: SpawnOptions,
    readonly log: Logger,
    private readonly host: CellHost,
  ) {
    this.accepts = logic.accepts ? new Set<unknown>(logic.accepts) : null;
    this.capacity = options.mailboxCapacity ?? 0;
    this.onFailure = options.onFailure;
    this.shutdownMs = options.shutdownMs;
  }

  get isStopped(): boolean {
    return this.status === ActorStatus.ACTOR_STATUS_STOPPED;
  }

  get inspectState(): Record<string, string> {
    if (!this.#hasState || !this.logic.inspect) return {};
    try {
      return this.logic.inspect(this.#state);
    } catch (error) {
      return { inspect_error: describeError(error) };
    }
  }

  /** The last handled messages, newest first. */
  get recentMessages(): Array<{ type: string; at: number }> {
    const out: Array<{ type: string; at: number }> = [];
    for (let i = 1; i <= Math.min(this.#recentNext, RECENT_KEPT); i++) {
      const slot = (this.#recentNext - i) % RECENT_KEPT;
      out.push({ type: leylineClassName(this.#recentTypes[slot]!), at: this.#recentAt[slot]! });
    }
    return out;
  }

  /**
   * nact calls this for every envelope, strictly one at a time. It never throws. A running actor with no
   * pending request takes the fast path, which allocates no promise when the handler returns synchronously.
   */
  handle(envelope: Envelope): void | Promise<void> {
    if (envelope.payload) {
      this.depth -= 1;
      if (
        this.status === ActorStatus.ACTOR_STATUS_RUNNING &&
        this.#stopRequest === null &&
        !this.#suspendRequested &&
        !this.paused
      ) {
        return this.#deliver(envelope, envelope.payload);
      }
    }
    return this.#handleWithLifeCycle(envelope);
  }

  /** The actor's context, made once. */
  get ctx(): ActorContext {
    this.#ctx ??= this.host.context(this);
    return this.#ctx;
  }

  async #handleWithLifeCycle(envelope: Envelope): Promise<void> {
    try {
      // A pause holds messages, not a start-up.
      if (!this.isStopped) await this.#boundary(envelope.control !== 'start');
      if (this.isStopped) {
        this.#bounce(envelope);
      } else if (envelope.control === 'start') {
        const error = await this.#tryStart();
        if (error !== undefined) await this.#holdUntilDecided({ error, duringStart: true });
      } else if (envelope.payload) {
        await this.#deliver(envelope, envelope.payload);
      }
    } catch (error) {
      this.#contain(error);
    }
    this.#releaseIfDrained();
  }

  #deliver(envelope: Envelope, message: LeylineMessage): void | Promise<void> {
    if (envelope.incarnation && envelope.incarnation !== this.incarnation) return undefined;
    if (message instanceof leyline.TimerFired) this.pendingTimers.delete(message.timerId);
    // Runtime control messages, taken in mailbox order like any other: the logic never sees them.
    if (message instanceof leyline.StopRequest) {
      void this.requestStop(TerminationReason.TERMINATION_REASON_NORMAL, message.reason);
      return undefined;
    }
    if (message instanceof leyline.Watch) {
      this.host.watch(message.watcherPath, this, message.unwatch);
      return undefined;
    }
    const slot = this.#recentNext++ % RECENT_KEPT;
    this.#recentTypes[slot] = message.constructor;
    this.#recentAt[slot] = Date.now();
    this.#currentReply = envelope.reply;
    let next: unknown;
    try {
      next = this.logic.receive(this.#state, message, this.ctx);
    } catch (error) {
      this.#currentReply = undefined;
      return this.#handlerFailed(envelope, message, error);
    }
    if (isPromise(next)) {
      return next.then(
        (state) => {
          this.#currentReply = undefined;
          this.#state = state;
          this.processed += 1;
          envelope.handled?.resolve();
        },
        (error: unknown) => {
          this.#currentReply = undefined;
          return this.#handlerFailed(envelope, message, error);
        },
      );
    }
    this.#currentReply = undefined;
    this.#state = next;
    this.processed += 1;
    envelope.handled?.resolve();
    return undefined;
  }

  async #handlerFailed(envelope: Envelope, message: LeylineMessage, error: unknown): Promise<void> {
    try {
      this.host.deadLetter(
        this.path,
        message,
        DeadLetterReason.DEAD_LETTER_REASON_HANDLER_FAILED,
        describeError(error),
      );
      if (envelope.reply && !envelope.reply.settled) envelope.reply.reject(new ActorFailedError(this.path, error));
      envelope.handled?.reject(new ActorFailedError(this.path, error));
      await this.#holdUntilDecided({ error, duringStart: false });
    } catch (internal) {
      this.#contain(internal);
    }
    this.#releaseIfDrained();
  }

  #releaseIfDrained(): void {
    if (this.isStopped && this.depth === 0) this.host.release(this);
  }

  #contain(error: unknown): void {
    this.host.countInternalError(`cell ${this.path}`, error);
  }

  // ---- requests from outside (any actor or the system); applied at the next boundary ----------------

  /** Asks the actor to end; resolves once it has. */
  requestStop(reason: v1.TerminationReason, error = ''): Promise<v1.Terminated> {
    if (!this.isStopped && !this.#stopRequest) {
      this.#stopRequest = { reason, error };
      if (this.#waiting) this.#waiting.resolve(SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP);
      else this.host.wake(this);
      this.#pauseHold?.resolve();
    }
    return this.terminated.promise;
  }

  /**
   * Asks the actor to end within `deadlineMs`; after that it is marked stopped without its clean-up (a
   * JavaScript handler cannot be interrupted, but nothing waits for it any longer).
   */
  async requestStopWithin(reason: v1.TerminationReason, deadlineMs: number | undefined): Promise<v1.Terminated> {
    const ended = this.requestStop(reason);
    if (deadlineMs === undefined) return ended;
    let timer: NodeJS.Timeout | undefined;
    const overran = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), deadlineMs);
    });
    const result = await Promise.race([ended, overran]);
    clearTimeout(timer);
    if (result) return result;
    this.log.warn('overran its shutdown deadline; marked stopped', { deadline_ms: deadlineMs });
    this.finalize(reason, `still busy after the ${deadlineMs} ms shutdown deadline`);
    return this.terminated.promise;
  }

  /**
   * A supervisor's decision. On a suspended actor it applies at once; on a running one at its next boundary
   * (restart or stop). Resolves when carried out: restarted (or failed again), stopped, or resumed.
   */
  decide(directive: Directive): Promise<void> {
    if (this.isStopped) return Promise.resolve();
    if (directive === SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP) {
      return this.requestStop(TerminationReason.TERMINATION_REASON_FAILED, this.lastError).then(() => undefined);
    }
    const done = new Promise<void>((resolve) => {
      if (directive === SupervisorDirective.SUPERVISOR_DIRECTIVE_RESUME) {
        resolve();
        return;
      }
      this.#startObservers.push(() => resolve());
      void this.terminated.promise.then(() => resolve());
    });
    if (this.#waiting) {
      this.#waiting.resolve(directive);
    } else if (directive === SupervisorDirective.SUPERVISOR_DIRECTIVE_RESTART) {
      this.#pendingDirective = directive;
      this.#suspendRequested = true;
      this.host.wake(this);
      this.#pauseHold?.resolve();
    }
    return done;
  }

  /** Stops the actor taking messages at its next boundary; it then waits for `decide`. */
  suspend(): void {
    if (this.isStopped || this.#waiting) return;
    this.#suspendRequested = true;
    this.host.wake(this);
    this.#pauseHold?.resolve();
  }

  /**
   * An operator's pause: from the next message boundary the mailbox is held (messages queue) until `resume`.
   * Stop, suspend and restart requests still take effect, and the pause outlasts a restart. Resolves once the
   * mailbox is held, at once when the actor is already not taking messages (paused, or held for a decision).
   */
  pause(): Promise<void> {
    if (this.isStopped) return Promise.resolve();
    const requested = this.paused;
    this.paused = true;
    if (this.#pauseHold || this.#waiting) return Promise.resolve();
    const held = new Promise<void>((resolve) => {
      this.#pauseObservers.push(resolve);
      void this.terminated.promise.then(() => resolve());
    });
    if (!requested) this.host.wake(this);
    return held;
  }

  /** Ends a pause: the held message and those queued behind it are handled in order. */
  resume(): void {
    this.paused = false;
    this.#pauseHold?.resolve();
  }

  /**
   * Runs the clean-up of the current incarnation (timers, children, stop hook) once the actor is held, so a
   * supervisor can stop a whole group in reverse order before restarting it in start order.
   */
  async cleanUpWhenHeld(): Promise<void> {
    if (this.isStopped) return;
    if (!this.#waiting) {
      await new Promise<void>((resolve) => {
        this.#heldObservers.push(resolve);
        void this.terminated.promise.then(() => resolve());
      });
    }
    if (this.isStopped || this.#cleanedUp) return;
    this.#cleanedUp = true;
    await this.#cleanUpIncarnation();
  }

  /** Resolves with true once the next start attempt succeeds, false if it fails or the actor ends. */
  whenStarted(): Promise<boolean> {
    if (this.status === ActorStatus.ACTOR_STATUS_RUNNING && this.incarnation > 0) return Promise.resolve(true);
    if (this.isStopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.#startObservers.push(resolve);
      void this.terminated.promise.then(() => resolve(false));
    });
  }

  // ---- ask support ---------------------------------------------------------------------------------

  /** The ask that delivered the current message, if any (kept by `replyLater` to answer after the handler). */
  get currentReply(): ReplySlot | undefined {
    return this.#currentReply;
  }

  // ---- the life cycle, run only inside `handle` -----------------------------------------------------

  async #boundary(holdWhenPaused: boolean): Promise<void> {
    // Looked at again after each wait: a stop or a restart requested during a pause goes first, and a pause
    // outlasts a restart.
    while (!this.isStopped) {
      if (this.#stopRequest) {
        await this.#terminate(this.#stopRequest.reason, this.#stopRequest.error);
      } else if (this.#suspendRequested) {
        this.#suspendRequested = false;
        await this.#holdUntilDecided(null);
      } else if (this.paused && holdWhenPaused) {
        await this.#holdPaused();
      } else {
        return;
      }
    }
  }

  /** Holds the mailbox until the pause is resumed or another request needs the boundary. */
  async #holdPaused(): Promise<void> {
    const hold = deferred<void>();
    this.#pauseHold = hold;
    const observers = this.#pauseObservers;
    this.#pauseObservers = [];
    for (const observer of observers) observer();
    await hold.promise;
    this.#pauseHold = null;
  }

  /** Runs the logic's start; returns the error when it throws. */
  async #tryStart(): Promise<unknown> {
    this.status = ActorStatus.ACTOR_STATUS_STARTING;
    this.incarnation += 1;
    this.#hasState = false;
    try {
      const initial = this.logic.start(this.ctx);
      this.#state = isPromise(initial) ? await initial : initial;
      this.#hasState = true;
      this.status = ActorStatus.ACTOR_STATUS_RUNNING;
      this.startedAt = Date.now();
      this.#settleStartObservers(true);
      // Only a supervised actor (one with a failure hook) reports its starts to its parent.
      if (this.parent && this.onFailure) {
        this.host.notify(
          this.parent,
          leyline.ActorStarted.create({ path: this.path, incarnation: this.incarnation, at: toTimestamp(Date.now()) }),
        );
      }
      return undefined;
    } catch (error) {
      this.#settleStartObservers(false);
      return error ?? new Error('start-up threw a nullish value');
    }
  }

  #settleStartObservers(ok: boolean): void {
    const observers = this.#startObservers;
    this.#startObservers = [];
    for (const observer of observers) observer(ok);
  }

  /**
   * Holds the actor (mailbox kept) until a decision arrives, then carries it out. A restart whose start-up
   * fails comes back here, as a new failure, in a loop rather than by recursion.
   */
  async #holdUntilDecided(failure: { error: unknown; duringStart: boolean } | null): Promise<void> {
    let current = failure;
    // Any hold satisfies a pending suspend request; left set, it would hold the next incarnation with no one to decide.
    this.#suspendRequested = false;
    for (;;) {
      this.status = ActorStatus.ACTOR_STATUS_SUSPENDED;
      const directive = await this.#awaitDecision(current);
      if (this.#stopRequest || directive === SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP) {
        const request = this.#stopRequest ?? {
          reason: TerminationReason.TERMINATION_REASON_FAILED,
          error: this.lastError,
        };
        await this.#terminate(request.reason, request.error);
        return;
      }
      if (directive === SupervisorDirective.SUPERVISOR_DIRECTIVE_RESUME && this.#hasState) {
        this.status = ActorStatus.ACTOR_STATUS_RUNNING;
        return;
      }
      if (!this.#cleanedUp) await this.#cleanUpIncarnation();
      this.#cleanedUp = false;
      const error = await this.#tryStart();
      if (error === undefined) return;
      current = { error, duringStart: true };
    }
  }

  #awaitDecision(failure: { error: unknown; duringStart: boolean } | null): Promise<Directive> {
    if (failure) {
      this.lastError = describeError(failure.error);
      this.lastErrorAt = Date.now();
      this.log.warn(failure.duringStart ? 'start-up failed' : 'handler failed', { error: this.lastError });
    }
    if (!failure && this.#pendingDirective !== null) {
      const directive = this.#pendingDirective;
      this.#pendingDirective = null;
      return Promise.resolve(directive);
    }
    this.#pendingDirective = null;
    const waiting = deferred<Directive>();
    this.#waiting = waiting;
    const held = this.#heldObservers;
    this.#heldObservers = [];
    for (const observer of held) observer();
    if (failure) {
      const notice = leyline.ActorFailed.create({
        path: this.path,
        error: this.lastError,
        duringStart: failure.duringStart,
        incarnation: this.incarnation,
        at: toTimestamp(Date.now()),
      });
      if (!this.onFailure) {
        waiting.resolve(SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP);
      } else {
        try {
          this.onFailure(notice, this.ref);
        } catch (hookError) {
          // A failing failure hook must not leave the actor held forever, nor end the process.
          this.host.countInternalError(`failure hook of ${this.path}`, hookError);
          waiting.resolve(SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP);
        }
      }
    }
    return waiting.promise.then((directive) => {
      this.#waiting = null;
      return directive;
    });
  }

  /** Ends this incarnation before a restart: its timers, its children and its own clean-up. */
  async #cleanUpIncarnation(): Promise<void> {
    this.#clearTimers();
    await this.#stopChildren();
    await this.#runStopHook();
  }

  async #stopChildren(): Promise<void> {
    for (const child of [...this.children].reverse()) {
      await child.requestStopWithin(TerminationReason.TERMINATION_REASON_SHUTDOWN, child.shutdownMs);
    }
  }

  async #runStopHook(): Promise<void> {
    if (!this.#hasState || !this.logic.stop) return;
    this.#hasState = false;
    try {
      await this.logic.stop(this.#state, this.ctx);
    } catch (error) {
      this.log.warn('stop hook failed', { error: describeError(error) });
    }
  }

  #clearTimers(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pendingTimers.clear();
  }

  async #terminate(reason: v1.TerminationReason, error: string): Promise<void> {
    if (this.#terminating) return;
    this.#terminating = true;
    await this.#cleanUpIncarnation();
    this.finalize(reason, error);
  }

  /**
   * Marks the actor ended and tells its watchers. Also used by a forced shutdown for an actor whose handler
   * overran the deadline (its hooks are then skipped).
   */
  finalize(reason: v1.TerminationReason, error: string): void {
    if (this.isStopped) return;
    this.#terminating = true;
    this.#clearTimers();
    this.status = ActorStatus.ACTOR_STATUS_STOPPED;
    this.#pauseHold?.resolve();
    this.#settleStartObservers(false);
    if (this.#currentReply && !this.#currentReply.settled) this.#currentReply.reject(new ActorStoppedError(this.path));
    const notice = leyline.Terminated.create({ path: this.path, reason, error, at: toTimestamp(Date.now()) });
    for (const watcher of this.watchers) this.host.notify(watcher, notice);
    this.watchers.clear();
    this.host.ended(this);
    this.terminated.resolve(notice);
  }

  #bounce(envelope: Envelope): void {
    if (!envelope.payload) return;
    if (envelope.reply && !envelope.reply.settled) envelope.reply.reject(new ActorStoppedError(this.path));
    envelope.handled?.reject(new ActorStoppedError(this.path));
    if (!envelope.notice) {
      this.host.deadLetter(
        this.path,
        envelope.payload,
        DeadLetterReason.DEAD_LETTER_REASON_RECIPIENT_STOPPED,
        'queued when the actor stopped',
      );
    }
  }
}
