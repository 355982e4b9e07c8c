// Where a seed's module comes from (docs/seed-lifecycle.md#where-a-seeds-module-comes-from): Urza's library, within
// the latency budget, behind the kernel-fetch breaker (3 failures / 60 s / 2 successes); else the fallback
// blueprint (BP001) from Urza, timed on its own; else an identity module built in process. Every call returns a
// module of its own (fresh weights): two seeds never share parameters. Which path was taken, and why, is reported.
import { performance } from 'node:perf_hooks';
import { CircuitBreaker } from '../../runtime/circuit-breaker.ts';
import { buildModule, type BlueprintModule, type SlotSpec } from '../../blueprints/index.ts';
import type { KernelReader } from '../urza/index.ts';

/** The part of Urza's library a seed needs: Urza's reader view. */
export type KernelStore = KernelReader;

export type KernelOrigin = 'urza' | 'fallback' | 'identity';

export interface ProvidedKernel {
  module: BlueprintModule;
  origin: KernelOrigin;
  /** The blueprint actually built ("identity" for the last resort). */
  blueprintId: string;
  /** The fetch latency of the kernel actually attached (G2 judges it). */
  latencyMs: number;
  /** The SHA-256 of the kernel's artifact when it came from Urza ("" otherwise): a checkpoint names it. */
  digest: string;
  /** Why the requested kernel was not used (empty when it was). */
  reason: string;
}

export interface KernelSourceOptions {
  latencyBudgetMs?: number;
  fallbackBlueprintId?: string;
  breaker?: { failureThreshold: number; timeoutMs: number; successThreshold: number };
  clock?: () => number;
}

export class KernelSource {
  readonly breaker: CircuitBreaker;
  readonly latencyBudgetMs: number;
  readonly fallbackBlueprintId: string;
  readonly counters = { fetched: 0, fallbacks: 0, identities: 0, budgetExceeded: 0, fetchErrors: 0, denied: 0 };
  readonly #clock: () => number;

  constructor(
    readonly store: KernelStore | null,
    options: KernelSourceOptions = {},
  ) {
    this.latencyBudgetMs = options.latencyBudgetMs ?? 10;
    this.fallbackBlueprintId = options.fallbackBlueprintId ?? 'BP001';
    this.#clock = options.clock ?? (() => performance.now());
    const breaker = options.breaker ?? { failureThreshold: 3, timeoutMs: 60_000, successThreshold: 2 };
    this.breaker = new CircuitBreaker('kasmina.kernel_fetch', { ...breaker, clock: this.#clock });
  }

  provide(blueprintId: string, slot: SlotSpec): ProvidedKernel {
    if (!this.breaker.allow()) {
      this.counters.denied += 1;
      return this.#fallback(slot, 'kernel-fetch breaker open');
    }
    const fetched = this.#fetch(blueprintId, slot);
    if (fetched.status !== 'found') {
      this.counters.fetchErrors += 1;
      this.breaker.recordFailure();
      return this.#fallback(slot, `fetch failed: ${fetched.reason}`);
    }
    if (fetched.latencyMs > this.latencyBudgetMs) {
      this.counters.budgetExceeded += 1;
      this.breaker.recordFailure();
      fetched.module.dispose();
      return this.#fallback(
        slot,
        `fetch took ${fetched.latencyMs.toFixed(2)} ms, over the ${this.latencyBudgetMs} ms budget`,
      );
    }
    this.breaker.recordSuccess();
    this.counters.fetched += 1;
    return {
      module: fetched.module,
      origin: 'urza',
      blueprintId,
      latencyMs: fetched.latencyMs,
      digest: fetched.digest,
      reason: '',
    };
  }

  #fetch(
    blueprintId: string,
    slot: SlotSpec,
  ):
    | { status: 'found'; module: BlueprintModule; latencyMs: number; digest: string }
    | { status: 'missing'; reason: string } {
    if (!this.store) return { status: 'missing', reason: 'no kernel library' };
    const started = this.#clock();
    try {
      const result = this.store.fetchKernel(blueprintId, slot.dims);
      if (result.status === 'found')
        return {
          status: 'found',
          module: result.module,
          latencyMs: result.latencyMs,
          digest: result.entry?.checksum ?? '',
        };
      return { status: 'missing', reason: `${blueprintId} ${result.status}` };
    } catch (error) {
      return {
        status: 'missing',
        reason: `${blueprintId}: ${(error as Error).message ?? String(error)} (${(this.#clock() - started).toFixed(1)} ms)`,
      };
    }
  }

  #fallback(slot: SlotSpec, reason: string): ProvidedKernel {
    const fallback = this.#fetch(this.fallbackBlueprintId, slot);
    if (fallback.status === 'found') {
      this.counters.fallbacks += 1;
      return {
        module: fallback.module,
        origin: 'fallback',
        blueprintId: this.fallbackBlueprintId,
        latencyMs: fallback.latencyMs,
        digest: fallback.digest,
        reason,
      };
    }
    this.counters.identities += 1;
    const started = this.#clock();
    const module = buildModule({ blueprintId: 'identity', name: 'identity' }, {}, slot);
    return {
      module,
      origin: 'identity',
      blueprintId: 'identity',
      latencyMs: this.#clock() - started,
      digest: '',
      reason: `${reason}; fallback ${fallback.reason}`,
    };
  }
}
