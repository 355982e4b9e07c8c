// Quantiles of latency samples, one definition for every subsystem that reports p50/p95/p99.

/**
 * The p-quantile (q in [0, 1]) of `samples` by linear interpolation between the two nearest ranks of the sorted
 * samples, at position (n − 1)·q. One sample is returned as is; none gives 0.
 */
export function interpolatedQuantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] as number;
  return low + ((sorted[upper] as number) - low) * (position - lower);
}

/** The last `capacity` samples of a latency, for rolling quantiles (a ring: constant memory, O(1) record). */
export class SampleWindow {
  readonly #samples: number[] = [];
  #next = 0;
  #count = 0;

  constructor(readonly capacity = 1_024) {}

  record(value: number): void {
    if (this.#samples.length < this.capacity) this.#samples.push(value);
    else this.#samples[this.#next] = value;
    this.#next = (this.#next + 1) % this.capacity;
    this.#count += 1;
  }

  /** Samples recorded since the start (not only those kept). */
  get count(): number {
    return this.#count;
  }

  quantile(q: number): number {
    return interpolatedQuantile(this.#samples, q);
  }
}
