// Delay before a restart: exponential from `baseMs`, capped at `maxMs`, plus up to `jitter` of itself at
// random so that siblings that failed together do not restart in lock-step. A child that has run for
// `stableMs` without failing starts again from the base delay.

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay added at random: 0.25 means up to +25 %. */
  jitter: number;
  /** Running this long without a failure resets the delay to `baseMs` and clears the last error. */
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000, jitter: 0.25, stableMs: 60_000 };

/**
 * The delay before restart number `failures` (1 = first failure in a row): base 1 s gives 1, 2, 4, 8, 16,
 * then 30 s, each plus up to 25 % jitter. `random` returns a number in [0, 1).
 */
export function restartDelayMs(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, failures - 1);
  const plain = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exponent, 52));
  return plain + plain * policy.jitter * random();
}
