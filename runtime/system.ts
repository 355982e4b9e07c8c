// The actor system: spawns cells, routes Leyline messages to them, runs asks with deadlines, keeps dead
// letters and shuts everything down in reverse start order. The only door to nact is `nact-kernel.ts`.
import {
  describeValue,
  isLeylineMessage,
  leyline,
  leylineTypeName,
  type AnyLeylineType,
  type LeylineMessage,
  type v1,
} from '../contracts/index.ts';
import { leylineShapeProblem } from '../contracts/payload-shape.ts';
import { toTimestamp } from '../contracts/time.ts';
import { ActorCell, type CellHost, type Envelope, type ReplySlot, type SupervisionFacts } from './cell.ts';
import { DeadLetterOffice } from './dead-letters.ts';
import {
  ActorStoppedError,
  AskTimeoutError,
  DeliveryTimeoutError,
  DuplicateActorError,
  MailboxFullError,
  NotLeylineError,
  NotLeylineInsideError,
  UnacceptedMessageError,
  WrongReplyError,
  describeError,
} from './errors.ts';
import { createLogger } from './log.ts';
import type {
  ActorContext,
  ActorLogic,
  ActorRef,
  AnyRef,
  Directive,
  Logger,
  RuntimeControl,
  SpawnOptions,
} from './logic.ts';
import { assertValidActorName } from './names.ts';
import { startKernel, type Kernel } from './nact-kernel.ts';

const { DeadLetterReason, TerminationReason, ActorStatus } = leyline;

export interface ActorSystemOptions {
  /** The system's name (nact's is set with start({name}); start('name') would ignore it). */
  name?: string;
  /** Mailbox bound for actors that do not set their own. 0 = unbounded. Default 10 000. */
  defaultMailboxCapacity?: number;
  /** How many dead letters to keep for inspection. Default 256. */
  deadLetterCapacity?: number;
  /** Longest deadline an ask may have. Default 5 minutes. */
  maxAskDeadlineMs?: number;
  /**
   * Check every payload and reply all the way down (contracts/payload-shape.ts), not just its class: a plain object
   * or a tensor nested in a Leyline message is refused, naming its path. Costs a walk per message, so it is for
   * tests and debugging. Default: on when ESPER_STRICT_PAYLOADS=1 (the test suite sets it).
   */
  strictPayloads?: boolean;
}

export interface RuntimeCounters {
  refusedPayloads: number;
  askTimeouts: number;
  internalErrors: number;
  spawned: number;
}

export interface ShutdownResult {
  /** Actors whose handlers overran the deadline and were marked stopped without their clean-up. */
  forced: string[];
  elapsedMs: number;
}

const ENDED_PATHS_KEPT = 10_000;
const NOTICE_TYPES: readonly unknown[] = [
  leyline.ActorFailed,
  leyline.ActorStarted,
  leyline.Terminated,
  leyline.TimerFired,
];
/** Messages every actor takes, handled by the runtime itself (see ActorCell): a graceful stop and watching. */
const CONTROL_TYPES: readonly unknown[] = [leyline.StopRequest, leyline.Watch];

export class ActorSystem {
  readonly name: string;
  readonly deadLetters: DeadLetterOffice;
  readonly counters: RuntimeCounters = { refusedPayloads: 0, askTimeouts: 0, internalErrors: 0, spawned: 0 };
  readonly log: Logger;
  readonly #kernel: Kernel;
  readonly #cells = new Map<string, ActorCell>();
  readonly #topLevel: ActorCell[] = [];
  readonly #endedPaths = new Set<string>();
  readonly #defaultCapacity: number;
  readonly #maxAskDeadlineMs: number;
  readonly #strictPayloads: boolean;
  readonly #host: CellHost;
  #kernelIds = 0;
  #shutDown = false;

  constructor(options: ActorSystemOptions = {}) {
    this.name = options.name ?? 'esper';
    assertValidActorName(this.name);
    this.#defaultCapacity = options.defaultMailboxCapacity ?? 10_000;
    this.#maxAskDeadlineMs = options.maxAskDeadlineMs ?? 300_000;
    this.#strictPayloads = options.strictPayloads ?? process.env.ESPER_STRICT_PAYLOADS === '1';
    this.deadLetters = new DeadLetterOffice(options.deadLetterCapacity ?? 256);
    this.log = createLogger(this.name);
    this.#kernel = startKernel(this.name, (error) => this.#countInternalError('kernel', error));
    this.#host = {
      deadLetter: (path, message, reason, detail) => {
        this.deadLetters.record(path, message, reason, detail);
      },
      notify: (to, message) => this.#enqueue(to, { payload: message, notice: true }),
      wake: (cell) => this.#kernel.dispatch(cell.kernelRef, { control: 'wake' } satisfies Envelope),
      ended: (cell) => this.#ended(cell),
      watch: (watcherPath, target, unwatch) => {
        const ref = { path: watcherPath, system: this.name };
        if (unwatch) this.unwatch(ref, target.ref);
        else this.watch(ref, target.ref);
      },
      release: (cell) => this.#release(cell),
      context: (cell) => this.#context(cell),
      countInternalError: (where, error) => this.#countInternalError(where, error),
    };
  }

  // ---- spawning ------------------------------------------------------------------------------------

  /** Spawns a top-level actor, or a child of `parent`. Its start-up runs before any message it is sent. */
  spawn<S, M extends LeylineMessage>(
    parent: AnyRef | null,
    logic: ActorLogic<S, M>,
    options: SpawnOptions,
  ): ActorRef<M> {
    if (this.#shutDown) throw new ActorStoppedError(`${this.name} (system shut down)`);
    assertValidActorName(options.name);
    const parentCell = parent ? this.#cells.get(parent.path) : null;
    if (parent && (!parentCell || parentCell.isStopped)) throw new ActorStoppedError(parent.path);
    const path = `${parentCell ? parentCell.path : ''}/${options.name}`;
    // An ended actor whose mailbox is still draining gives up its path to a new one.
    if (this.#cells.get(path)?.isStopped === false) throw new DuplicateActorError(path);
    const ref: ActorRef<M> = Object.freeze({ path, system: this.name });
    const cell = new ActorCell(
      path,
      options.name,
      ref,
      parentCell ?? null,
      logic as unknown as ActorLogic<unknown, LeylineMessage>,
      { ...options, mailboxCapacity: options.mailboxCapacity ?? this.#defaultCapacity },
      createLogger(path),
      this.#host,
    );
    this.#kernelIds += 1;
    cell.kernelRef = this.#kernel.spawn(null, `a${this.#kernelIds}`, (message) => cell.handle(message as Envelope));
    this.#cells.set(path, cell);
    this.#endedPaths.delete(path);
    if (parentCell) parentCell.children.push(cell);
    else this.#topLevel.push(cell);
    this.counters.spawned += 1;
    this.#kernel.dispatch(cell.kernelRef, { control: 'start' } satisfies Envelope);
    return ref;
  }

  // ---- messaging -------------------------------------------------------------------------------------

  /**
   * Sends `message` to `to`. Throws NotLeylineError (counted, never delivered) for anything that is not a
   * Leyline message. Returns false when the message became a dead letter (recipient gone, mailbox full).
   */
  dispatch<M extends LeylineMessage>(to: ActorRef<M>, message: M | RuntimeControl): boolean {
    const cell = this.#admit(to, message);
    if (!cell) return false;
    return this.#enqueue(cell, { payload: message });
  }

  /**
   * Sends `message` and waits for a reply of type `replyType` (or of one of several types, when the actor may
   * answer in more than one way, e.g. ready or error). Every ask has a deadline; after it the promise
   * rejects with AskTimeoutError and a late reply becomes a dead letter.
   */
  ask<M extends LeylineMessage, T extends AnyLeylineType>(
    to: ActorRef<M>,
    message: M,
    replyType: T | readonly T[],
    deadlineMs: number,
  ): Promise<InstanceType<T>> {
    type R = InstanceType<T>;
    if (!Number.isFinite(deadlineMs) || deadlineMs <= 0 || deadlineMs > this.#maxAskDeadlineMs) {
      return Promise.reject(
        new RangeError(`ask to ${to.path}: deadline must be in (0, ${this.#maxAskDeadlineMs}] ms, got ${deadlineMs}`),
      );
    }
    const target = this.#admitOrError(to, message);
    if (target instanceof Error) return Promise.reject(target);
    return new Promise<R>((resolve, reject) => {
      const slot: ReplySlot = {
        settled: false,
        resolve: (reply) => {
          if (slot.settled) return;
          slot.settled = true;
          clearTimeout(timer);
          const expected: readonly T[] = Array.isArray(replyType) ? replyType : [replyType as T];
          if (expected.some((type) => reply instanceof type)) resolve(reply as R);
          else
            reject(
              new WrongReplyError(
                to.path,
                leylineTypeName(reply),
                expected.map((type) => leylineTypeName(new type())).join(' or '),
              ),
            );
        },
        reject: (error) => {
          if (slot.settled) return;
          slot.settled = true;
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.counters.askTimeouts += 1;
        slot.reject(new AskTimeoutError(to.path, leylineTypeName(message), deadlineMs));
      }, deadlineMs);
      if (!this.#enqueue(target, { payload: message, reply: slot })) {
        slot.reject(target.isStopped ? new ActorStoppedError(to.path) : new MailboxFullError(to.path, target.capacity));
      }
    });
  }

  /**
   * Sends `message` and resolves once the actor's handler has finished with it (rejects if the handler failed,
   * the actor stopped first, its mailbox was full, or `deadlineMs` passed): for deliveries that are acknowledged
   * only when handled, such as the bus's.
   */
  deliver<M extends LeylineMessage>(to: ActorRef<M>, message: M, deadlineMs: number): Promise<void> {
    const target = this.#admitOrError(to, message);
    if (target instanceof Error) return Promise.reject(target);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new DeliveryTimeoutError(to.path, leylineTypeName(message), deadlineMs)),
        deadlineMs,
      );
      const handled = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      if (!this.#enqueue(target, { payload: message, handled })) {
        handled.reject(
          target.isStopped ? new ActorStoppedError(to.path) : new MailboxFullError(to.path, target.capacity),
        );
      }
    });
  }

  /**
   * Sends `message` and resolves with the recipient's answer, whatever its type, or with null once its handler has
   * finished without answering (and without keeping the ask to answer later): for a caller that does not know
   * whether the actor answers (`esper inspect send`). Rejects as `deliver` does; past `deadlineMs` with
   * DeliveryTimeoutError if the message was not handled yet, AskTimeoutError if it was and the answer is still due.
   */
  request<M extends LeylineMessage>(to: ActorRef<M>, message: M, deadlineMs: number): Promise<LeylineMessage | null> {
    const target = this.#admitOrError(to, message);
    if (target instanceof Error) return Promise.reject(target);
    const type = leylineTypeName(message);
    return new Promise<LeylineMessage | null>((resolve, reject) => {
      let handled = false;
      const settle = (outcome: () => void): void => {
        if (slot.settled) return;
        slot.settled = true;
        clearTimeout(timer);
        outcome();
      };
      const slot: ReplySlot = {
        settled: false,
        resolve: (reply) => settle(() => resolve(reply)),
        reject: (error) => settle(() => reject(error)),
      };
      const timer = setTimeout(() => {
        if (handled) this.counters.askTimeouts += 1;
        slot.reject(
          handled
            ? new AskTimeoutError(to.path, type, deadlineMs)
            : new DeliveryTimeoutError(to.path, type, deadlineMs),
        );
      }, deadlineMs);
      const done = {
        resolve: () => {
          handled = true;
          if (!slot.kept) settle(() => resolve(null));
        },
        reject: (error: Error) => slot.reject(error),
      };
      if (!this.#enqueue(target, { payload: message, reply: slot, handled: done })) {
        slot.reject(target.isStopped ? new ActorStoppedError(to.path) : new MailboxFullError(to.path, target.capacity));
      }
    });
  }

  /** Replies from inside a handler: checked like any payload; a reply after the deadline is a dead letter. */
  #reply(cell: ActorCell, slot: ReplySlot | undefined, message: LeylineMessage): boolean {
    this.#checkPayload(`the reply from ${cell.path}`, message);
    if (slot && !slot.settled) {
      slot.resolve(message);
      return true;
    }
    this.deadLetters.record(
      cell.path,
      message,
      DeadLetterReason.DEAD_LETTER_REASON_REPLY_EXPIRED,
      'no live ask to answer',
    );
    return false;
  }

  /** Refuses (counted, thrown) a payload that is not a Leyline message; in strict mode, one with anything else inside. */
  #checkPayload(recipient: string, message: unknown): asserts message is LeylineMessage {
    if (!isLeylineMessage(message)) {
      this.counters.refusedPayloads += 1;
      throw new NotLeylineError(recipient, describeValue(message));
    }
    if (!this.#strictPayloads) return;
    const problem = leylineShapeProblem(message);
    if (problem !== null) {
      this.counters.refusedPayloads += 1;
      throw new NotLeylineInsideError(recipient, problem);
    }
  }

  /** `#admit` for promise-returning sends: the refusal, or a stopped recipient, as an error to reject with. */
  #admitOrError(to: AnyRef, message: LeylineMessage): ActorCell | Error {
    try {
      return this.#admit(to, message) ?? new ActorStoppedError(to.path);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  #admit(to: AnyRef, message: LeylineMessage): ActorCell | null {
    this.#checkPayload(to.path, message);
    const cell = this.#cells.get(to.path);
    if (!cell || cell.isStopped) {
      const reason =
        this.#endedPaths.has(to.path) || cell
          ? DeadLetterReason.DEAD_LETTER_REASON_RECIPIENT_STOPPED
          : DeadLetterReason.DEAD_LETTER_REASON_RECIPIENT_UNKNOWN;
      this.deadLetters.record(to.path, message, reason);
      return null;
    }
    if (
      cell.accepts &&
      !cell.accepts.has(message.constructor) &&
      !NOTICE_TYPES.includes(message.constructor) &&
      !CONTROL_TYPES.includes(message.constructor)
    ) {
      this.counters.refusedPayloads += 1;
      throw new UnacceptedMessageError(
        to.path,
        leylineTypeName(message),
        [...cell.accepts].map((type) => leylineTypeName(new (type as AnyLeylineType)())),
      );
    }
    return cell;
  }

  #enqueue(cell: ActorCell, envelope: Envelope): boolean {
    const message = envelope.payload as LeylineMessage;
    if (cell.isStopped) {
      if (!envelope.notice)
        this.deadLetters.record(cell.path, message, DeadLetterReason.DEAD_LETTER_REASON_RECIPIENT_STOPPED);
      return false;
    }
    if (!envelope.notice && cell.capacity > 0 && cell.depth >= cell.capacity) {
      this.deadLetters.record(
        cell.path,
        message,
        DeadLetterReason.DEAD_LETTER_REASON_MAILBOX_FULL,
        `capacity ${cell.capacity}`,
      );
      return false;
    }
    cell.depth += 1;
    if (envelope.notice) envelope.incarnation = cell.incarnation;
    this.#kernel.dispatch(cell.kernelRef, envelope);
    return true;
  }

  /**
   * Delivers a runtime notice (ActorFailed, ActorStarted, Terminated, TimerFired). Notices are exempt from the
   * mailbox bound: a supervisor must hear of a failure however busy it is.
   */
  notify(to: AnyRef, notice: v1.ActorFailed | v1.ActorStarted | v1.Terminated | v1.TimerFired): boolean {
    if (!NOTICE_TYPES.includes(notice.constructor)) {
      this.counters.refusedPayloads += 1;
      throw new NotLeylineError(to.path, `${describeValue(notice)} (only runtime notices may be sent as notices)`);
    }
    const cell = this.#cells.get(to.path);
    if (!cell) {
      this.deadLetters.record(to.path, notice, DeadLetterReason.DEAD_LETTER_REASON_RECIPIENT_UNKNOWN);
      return false;
    }
    return this.#enqueue(cell, { payload: notice, notice: true });
  }

  // ---- life cycle ----------------------------------------------------------------------------------------

  /** Stops an actor (and its children first, in reverse start order). Resolves when it has ended. */
  stop(
    ref: AnyRef,
    reason: v1.TerminationReason = TerminationReason.TERMINATION_REASON_NORMAL,
  ): Promise<v1.Terminated> {
    const cell = this.#cells.get(ref.path);
    if (!cell) {
      return Promise.resolve(leyline.Terminated.create({ path: ref.path, reason, at: toTimestamp(Date.now()) }));
    }
    return cell.requestStop(reason);
  }

  /** Stops an actor, giving it `deadlineMs` to finish; after that it is marked stopped without its clean-up. */
  stopWithin(ref: AnyRef, reason: v1.TerminationReason, deadlineMs: number): Promise<v1.Terminated> {
    const cell = this.#cells.get(ref.path);
    return cell ? cell.requestStopWithin(reason, deadlineMs) : this.stop(ref, reason);
  }

  /** A supervisor's decision for a failed (or running) child; resolves when carried out. */
  decide(ref: AnyRef, directive: Directive): Promise<void> {
    const cell = this.#cells.get(ref.path);
    return cell ? cell.decide(directive) : Promise.resolve();
  }

  /** Holds an actor at its next message boundary until `decide` (used by one-for-all and rest-for-one). */
  suspend(ref: AnyRef): void {
    this.#cells.get(ref.path)?.suspend();
  }

  /**
   * An operator's pause (`esper inspect pause`): from the actor's next message boundary its mailbox is held and
   * messages queue, until `resume`. Stop and restart still take effect (shutdown is not held up), and the pause
   * outlasts a restart. Resolves once the mailbox is held, or the actor has ended.
   */
  pause(ref: AnyRef): Promise<void> {
    const cell = this.#cells.get(ref.path);
    return cell ? cell.pause() : Promise.resolve();
  }

  /** Ends a pause: the queued messages are handled in order. */
  resume(ref: AnyRef): void {
    this.#cells.get(ref.path)?.resume();
  }

  /**
   * Once the actor is held (failed or suspended), ends its current incarnation (timers, children, stop hook)
   * without starting the next: the first half of a group restart.
   */
  prepareRestart(ref: AnyRef): Promise<void> {
    const cell = this.#cells.get(ref.path);
    return cell ? cell.cleanUpWhenHeld() : Promise.resolve();
  }

  /** True once the actor's next start-up succeeds; false if it fails or the actor ends. */
  whenStarted(ref: AnyRef): Promise<boolean> {
    const cell = this.#cells.get(ref.path);
    return cell ? cell.whenStarted() : Promise.resolve(false);
  }

  /** Resolves with the Terminated notice once the actor has ended (at once for one that already has). */
  whenTerminated(ref: AnyRef): Promise<v1.Terminated> {
    const cell = this.#cells.get(ref.path);
    if (cell) return cell.terminated.promise;
    return Promise.resolve(
      leyline.Terminated.create({
        path: ref.path,
        reason: TerminationReason.TERMINATION_REASON_NORMAL,
        at: toTimestamp(Date.now()),
      }),
    );
  }

  /** `watcher` receives Terminated when `target` ends; at once if it already has. */
  watch(watcher: AnyRef, target: AnyRef): void {
    const watcherCell = this.#cells.get(watcher.path);
    if (!watcherCell || watcherCell.isStopped) return;
    const targetCell = this.#cells.get(target.path);
    if (targetCell && !targetCell.isStopped) {
      targetCell.watchers.add(watcherCell);
      return;
    }
    this.#enqueue(watcherCell, {
      payload: leyline.Terminated.create({
        path: target.path,
        reason: TerminationReason.TERMINATION_REASON_NORMAL,
        error: 'already ended',
        at: toTimestamp(Date.now()),
      }),
      notice: true,
    });
  }

  unwatch(watcher: AnyRef, target: AnyRef): void {
    const watcherCell = this.#cells.get(watcher.path);
    const targetCell = this.#cells.get(target.path);
    if (watcherCell && targetCell) targetCell.watchers.delete(watcherCell);
  }

  /**
   * Stops every actor, top-level ones in reverse start order (each stops its children first). Actors still
   * busy at the deadline are marked stopped without their clean-up and listed in the result.
   */
  async shutdown(deadlineMs = 10_000): Promise<ShutdownResult> {
    const started = Date.now();
    this.#shutDown = true;
    const orderly = (async () => {
      for (const cell of [...this.#topLevel].reverse())
        await cell.requestStop(TerminationReason.TERMINATION_REASON_SHUTDOWN);
    })();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), deadlineMs);
    });
    const outcome = await Promise.race([orderly.then(() => 'done' as const), expired]);
    clearTimeout(timer);
    const forced: string[] = [];
    if (outcome === 'expired') {
      for (const cell of [...this.#cells.values()].reverse()) {
        if (cell.isStopped) continue;
        forced.push(cell.path);
        cell.finalize(
          TerminationReason.TERMINATION_REASON_SHUTDOWN,
          `still busy after the ${deadlineMs} ms shutdown deadline`,
        );
      }
    }
    this.#kernel.shutdown();
    return { forced, elapsedMs: Date.now() - started };
  }

  // ---- inspection ----------------------------------------------------------------------------------------

  /** The actor at `path`, as a WorkerState with its key facts and last handled messages, or null. */
  describe(path: string): v1.WorkerState | null {
    const cell = this.#cells.get(path);
    if (!cell) return null;
    const state = this.#describe(cell);
    state.facts = cell.inspectState;
    state.recentMessages = cell.recentMessages.map((m) =>
      leyline.HandledMessage.create({ messageType: m.type, at: toTimestamp(m.at) }),
    );
    return state;
  }

  /** Every live actor, depth-first in start order. */
  tree(): v1.WorkerState[] {
    const out: v1.WorkerState[] = [];
    const walk = (cells: readonly ActorCell[]): void => {
      for (const cell of cells) {
        out.push(this.#describe(cell));
        walk(cell.children);
      }
    };
    walk(this.#topLevel);
    return out;
  }

  /** Key facts the actor's logic exposes (`inspect`), for the inspector. */
  inspectState(path: string): Record<string, string> {
    return this.#cells.get(path)?.inspectState ?? {};
  }

  /** Lets a supervisor attach restart policy, backoff and error facts to a child. */
  setSupervisionFacts(ref: AnyRef, facts: SupervisionFacts): void {
    const cell = this.#cells.get(ref.path);
    if (cell) cell.supervision = { ...cell.supervision, ...facts };
  }

  /** The actor's current incarnation (1 at first start, +1 per restart); 0 when there is no such actor. */
  incarnation(ref: AnyRef): number {
    return this.#cells.get(ref.path)?.incarnation ?? 0;
  }

  mailboxDepth(ref: AnyRef): number {
    return this.#cells.get(ref.path)?.depth ?? 0;
  }

  isAlive(ref: AnyRef): boolean {
    const cell = this.#cells.get(ref.path);
    return !!cell && !cell.isStopped;
  }

  #describe(cell: ActorCell): v1.WorkerState {
    const facts = cell.supervision;
    const backingOff = (facts.backoffSeconds ?? 0) > 0 && cell.status === ActorStatus.ACTOR_STATUS_SUSPENDED;
    const lastError = facts.lastError ?? cell.lastError;
    const lastErrorAt = facts.lastErrorAt ?? cell.lastErrorAt;
    return leyline.WorkerState.create({
      name: cell.name,
      path: cell.path,
      status: backingOff ? ActorStatus.ACTOR_STATUS_BACKING_OFF : cell.status,
      running: cell.status === ActorStatus.ACTOR_STATUS_RUNNING,
      restartCount: Math.max(facts.restartCount ?? 0, cell.incarnation - 1),
      backoffSeconds: backingOff ? (facts.backoffSeconds ?? 0) : 0,
      lastError,
      ...(lastErrorAt ? { lastErrorAt: toTimestamp(lastErrorAt) } : {}),
      ...(facts.restartPolicy ? { restartPolicy: facts.restartPolicy } : {}),
      ...(facts.strategy ? { strategy: facts.strategy } : {}),
      paused: cell.paused,
      mailboxDepth: cell.depth,
      mailboxCapacity: cell.capacity,
      messagesProcessed: BigInt(cell.processed),
      children: cell.children.map((child) => child.path),
      ...(cell.startedAt ? { startedAt: toTimestamp(cell.startedAt) } : {}),
    });
  }

  // ---- internals -------------------------------------------------------------------------------------------

  /** Made once per actor (the cell caches it). */
  #context(cell: ActorCell): ActorContext {
    const ctx: ActorContext = {
      self: cell.ref as ActorRef,
      path: cell.path,
      get incarnation() {
        return cell.incarnation;
      },
      dispatch: (to, message) => this.dispatch(to, message),
      ask: (to, message, reply, deadlineMs) => this.ask(to, message, reply, deadlineMs),
      deliver: (to, message, deadlineMs) => this.deliver(to, message, deadlineMs),
      reply: (message) => this.#reply(cell, cell.currentReply, message),
      replyLater: () => {
        const slot = cell.currentReply;
        if (!slot) return null;
        slot.kept = true;
        return (message) => this.#reply(cell, slot, message);
      },
      spawn: (logic, options) => this.spawn(cell.ref, logic, options),
      every: (timerId, intervalMs) => this.#setTimer(cell, timerId, intervalMs, true),
      after: (timerId, delayMs, options) => this.#setTimer(cell, timerId, delayMs, false, options?.keepAlive),
      cancelTimer: (timerId) => {
        clearTimeout(cell.timers.get(timerId));
        cell.timers.delete(timerId);
      },
      stopSelf: () => {
        void cell.requestStop(TerminationReason.TERMINATION_REASON_NORMAL);
      },
      watch: (target) => this.watch(cell.ref, target),
      log: cell.log,
    };
    return ctx;
  }

  #setTimer(cell: ActorCell, timerId: string, ms: number, repeat: boolean, keepAlive = false): void {
    if (!(ms > 0)) throw new RangeError(`timer ${timerId} of ${cell.path}: interval must be > 0 ms, got ${ms}`);
    clearTimeout(cell.timers.get(timerId));
    let sequence = 0;
    const fire = (): void => {
      if (!repeat) cell.timers.delete(timerId);
      // A slow actor gets one pending tick per timer, not a backlog.
      if (cell.pendingTimers.has(timerId)) return;
      sequence += 1;
      cell.pendingTimers.add(timerId);
      const tick = leyline.TimerFired.create({ timerId, sequence: BigInt(sequence), at: toTimestamp(Date.now()) });
      this.#enqueue(cell, { payload: tick, notice: true });
    };
    const timer = repeat ? setInterval(fire, ms) : setTimeout(fire, ms);
    if (!keepAlive) timer.unref();
    cell.timers.set(timerId, timer);
  }

  #ended(cell: ActorCell): void {
    const siblings = cell.parent ? cell.parent.children : this.#topLevel;
    const index = siblings.indexOf(cell);
    if (index >= 0) siblings.splice(index, 1);
    this.#endedPaths.add(cell.path);
    // Remember enough ended paths to tell "stopped" from "unknown" in dead letters, not every seed ever.
    if (this.#endedPaths.size > ENDED_PATHS_KEPT) {
      const oldest = this.#endedPaths.values().next().value;
      if (oldest !== undefined) this.#endedPaths.delete(oldest);
    }
  }

  #release(cell: ActorCell): void {
    if (this.#cells.get(cell.path) === cell) this.#cells.delete(cell.path);
    this.#kernel.stop(cell.kernelRef);
  }

  #countInternalError(where: string, error: unknown): void {
    this.counters.internalErrors += 1;
    this.log.error('internal error (contained)', { where, error: describeError(error) });
  }
}
