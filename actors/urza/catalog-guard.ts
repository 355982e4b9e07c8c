// Every catalog access goes through one circuit breaker. An exception is a failure, and so is an access slower than
// `slowQueryMs` (its answer is still used): better-sqlite3 cannot be interrupted, so a slow disk is detected after
// the fact and the breaker then stops the next accesses. Open → callers get `unavailable` (never `not_found`, so
// nobody recompiles or reports a missing artifact because the disk is slow) and serve from cache only.
import { leyline } from '../../contracts/index.ts';
import { CircuitBreaker, type CircuitBreakerOptions } from '../../runtime/circuit-breaker.ts';
import { errorText } from './errors.ts';
import type { Unavailable } from './library-api.ts';
import type { LibraryMetrics } from './metrics.ts';

const { CircuitBreakerState } = leyline;

export interface CatalogGuardOptions {
  /** A breaker to share, or options for Urza's own ("urza.library": 3 failures, 2 successes, 30 s open). */
  breaker?: CircuitBreaker | CircuitBreakerOptions;
  /** An access slower than this counts as a breaker failure (`slow_queries`). */
  slowQueryMs: number;
  /** Monotonic ms (access durations, Urza's own breaker). */
  clock: () => number;
}

export type Guarded<T> = { status: 'ok'; value: T } | Unavailable;

export class CatalogGuard {
  readonly breaker: CircuitBreaker;
  readonly #metrics: LibraryMetrics;
  readonly #slowQueryMs: number;
  readonly #clock: () => number;

  constructor(metrics: LibraryMetrics, options: CatalogGuardOptions) {
    this.#metrics = metrics;
    this.#slowQueryMs = options.slowQueryMs;
    this.#clock = options.clock;
    this.breaker =
      options.breaker instanceof CircuitBreaker
        ? options.breaker
        : new CircuitBreaker('urza.library', {
            failureThreshold: 3,
            successThreshold: 2,
            timeoutMs: 30_000,
            clock: this.#clock,
            ...options.breaker,
          });
    metrics.breakerState = this.breaker.state;
    this.breaker.onTransition(({ to }) => {
      metrics.breakerState = to;
      if (to === CircuitBreakerState.CIRCUIT_STATE_OPEN) {
        metrics.breakerOpenTotal += 1;
        metrics.conservativeMode = 1;
      } else if (to === CircuitBreakerState.CIRCUIT_STATE_CLOSED) {
        metrics.conservativeMode = 0;
      }
    });
  }

  /**
   * Runs one catalog access under the breaker: denied → unavailable; a throw → unavailable, counted as a failure;
   * slower than the threshold → the value, but counted as a failure (slow_queries).
   */
  run<T>(blueprintId: string, work: () => T): Guarded<T> {
    if (!this.admit()) {
      return { status: 'unavailable', blueprintId, cause: 'breaker_open', message: 'the Urza catalog breaker is open' };
    }
    const started = this.#clock();
    let value: T;
    try {
      value = work();
    } catch (error) {
      this.failed();
      return {
        status: 'unavailable',
        blueprintId,
        cause: 'catalog_error',
        message: `catalog access failed: ${errorText(error)}`,
      };
    }
    this.settle(started);
    return { status: 'ok', value };
  }

  /** Whether the breaker lets an access through now; a refusal is counted (`breaker_denied`). */
  admit(): boolean {
    if (this.breaker.allow()) return true;
    this.#metrics.breakerDenied += 1;
    return false;
  }

  /** Ends an access begun at `started` (monotonic ms) without an error: a success, or a failure when slow. */
  settle(started: number): void {
    if (this.#clock() - started > this.#slowQueryMs) {
      this.#metrics.slowQueries += 1;
      this.breaker.recordFailure();
    } else {
      this.breaker.recordSuccess();
    }
  }

  /** A catalog access threw (`cache_errors`). */
  failed(): void {
    this.#metrics.cacheErrors += 1;
    this.breaker.recordFailure();
  }
}
