// A circuit breaker, one implementation for every subsystem (Karn, Urza, Tezzeret, Oona, Kasmina).
//
// CLOSED counts consecutive failures; at `failureThreshold` it opens for `timeoutMs`. The first `allow()` after
// that moves to HALF_OPEN, which admits at most `halfOpenTrials` calls at once: `successThreshold` successes close
// it, one failure opens it again at once (the prototype needed a full threshold of new failures; a probe that
// fails is evidence enough). Only real failures should be recorded: bad client input is not the breaker's business.
import { leyline, type v1 } from '../contracts/index.ts';
import { toTimestamp } from '../contracts/time.ts';

const { CircuitBreakerState: State } = leyline;

export interface CircuitBreakerOptions {
  failureThreshold?: number;
  successThreshold?: number;
  timeoutMs?: number;
  halfOpenTrials?: number;
  /** Monotonic milliseconds. */
  clock?: () => number;
}

export type BreakerTransition = { from: v1.CircuitBreakerState; to: v1.CircuitBreakerState; failures: number };

export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly successThreshold: number;
  readonly timeoutMs: number;
  readonly halfOpenTrials: number;
  #state: v1.CircuitBreakerState = State.CIRCUIT_STATE_CLOSED;
  #failures = 0;
  #successes = 0;
  #trials = 0;
  #openUntil = 0;
  #openedTotal = 0;
  #deniedTotal = 0;
  readonly #clock: () => number;
  readonly #listeners = new Set<(transition: BreakerTransition) => void>();

  constructor(
    readonly name: string,
    options: CircuitBreakerOptions = {},
  ) {
    this.failureThreshold = Math.max(1, Math.floor(options.failureThreshold ?? 3));
    this.successThreshold = Math.max(1, Math.floor(options.successThreshold ?? 1));
    this.timeoutMs = Math.max(0, options.timeoutMs ?? 30_000);
    this.halfOpenTrials = Math.max(1, Math.floor(options.halfOpenTrials ?? 1));
    this.#clock = options.clock ?? (() => performance.now());
  }

  get state(): v1.CircuitBreakerState {
    return this.#state;
  }

  get isOpen(): boolean {
    return this.#state === State.CIRCUIT_STATE_OPEN && this.#clock() < this.#openUntil;
  }

  /** May a call go ahead? Denials are counted. */
  allow(): boolean {
    if (this.#state === State.CIRCUIT_STATE_OPEN) {
      if (this.#clock() < this.#openUntil) return this.#deny();
      this.#move(State.CIRCUIT_STATE_HALF_OPEN);
      this.#failures = 0;
      this.#successes = 0;
      this.#trials = 0;
    }
    if (this.#state === State.CIRCUIT_STATE_HALF_OPEN) {
      if (this.#trials >= this.halfOpenTrials) return this.#deny();
      this.#trials += 1;
    }
    return true;
  }

  recordSuccess(): void {
    if (this.#state === State.CIRCUIT_STATE_CLOSED) {
      this.#failures = 0;
    } else if (this.#state === State.CIRCUIT_STATE_HALF_OPEN) {
      this.#successes += 1;
      this.#trials = Math.max(0, this.#trials - 1);
      if (this.#successes >= this.successThreshold) {
        this.#failures = 0;
        this.#successes = 0;
        this.#trials = 0;
        this.#move(State.CIRCUIT_STATE_CLOSED);
      }
    }
  }

  recordFailure(): void {
    this.#failures += 1;
    this.#successes = 0;
    if (this.#state === State.CIRCUIT_STATE_HALF_OPEN || this.#failures >= this.failureThreshold) this.#open();
    else if (this.#state === State.CIRCUIT_STATE_OPEN) this.#openUntil = this.#clock() + this.timeoutMs;
  }

  /** Opens at once (an operator's or a policy's decision). */
  forceOpen(): void {
    this.#open();
  }

  /** Closes at once and forgets the counts (an operator's reset). */
  reset(): void {
    this.#failures = 0;
    this.#successes = 0;
    this.#trials = 0;
    this.#move(State.CIRCUIT_STATE_CLOSED);
  }

  onTransition(listener: (transition: BreakerTransition) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): v1.CircuitBreakerSnapshot {
    const open = this.#state === State.CIRCUIT_STATE_OPEN;
    return leyline.CircuitBreakerSnapshot.create({
      name: this.name,
      state: this.#state,
      failureCount: this.#failures,
      successCount: this.#successes,
      // open_until is a wall-clock instant; the breaker itself runs on the monotonic clock.
      ...(open ? { openUntil: toTimestamp(Date.now() + Math.max(0, this.#openUntil - this.#clock())) } : {}),
      openedTotal: BigInt(this.#openedTotal),
      deniedTotal: BigInt(this.#deniedTotal),
    });
  }

  #deny(): boolean {
    this.#deniedTotal += 1;
    return false;
  }

  #open(): void {
    this.#openUntil = this.#clock() + this.timeoutMs;
    this.#trials = 0;
    if (this.#state !== State.CIRCUIT_STATE_OPEN) {
      this.#openedTotal += 1;
      this.#move(State.CIRCUIT_STATE_OPEN);
    }
  }

  #move(to: v1.CircuitBreakerState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    for (const listener of this.#listeners) listener({ from, to, failures: this.#failures });
  }
}
