// The emergency stream's rate limit (docs/bus-and-security.md#the-emergency-rate-limit): capacity C per minute,
// starting full, refilled lazily at C/60 per second on a monotonic clock; each emergency publish costs one token. C = 0
// means unlimited.
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    readonly perMinute: number,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.#tokens = perMinute;
    this.#last = clock();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    if (this.perMinute === 0) return true;
    const now = this.clock();
    this.#tokens = Math.min(this.perMinute, this.#tokens + ((now - this.#last) / 60_000) * this.perMinute);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  get tokens(): number {
    return this.#tokens;
  }
}
