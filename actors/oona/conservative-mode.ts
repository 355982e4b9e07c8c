// Conservative mode, one per bus client (docs/bus-and-security.md#conservative-mode): entered on signs of a struggling
// bus (an open breaker, a transport error, a message that must be retried, a backlog over the emergency threshold) and
// left after `stableMs` with no new sign — the prototype left it only on a consumer success, so a publish-only client
// stayed conservative for ever. While on, the bus sheds what can be lost (routine telemetry) and keeps the rest.
export class ConservativeMode {
  #lastTrigger = Number.NEGATIVE_INFINITY;
  #entered = 0;
  readonly #reasons = new Map<string, number>();

  constructor(
    readonly stableMs: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  trigger(reason: string): void {
    if (!this.active) this.#entered += 1;
    this.#lastTrigger = this.clock();
    this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
  }

  get active(): boolean {
    return this.clock() - this.#lastTrigger < this.stableMs;
  }

  /** Times the mode was entered (from off). */
  get entered(): number {
    return this.#entered;
  }

  /** Triggers by reason since the start. */
  get reasons(): ReadonlyMap<string, number> {
    return this.#reasons;
  }
}
