// The prefetch protocol, as pure logic: a KernelPrefetchRequest becomes KernelArtifactReady or KernelArtifactError,
// or is dropped (and counted) when it cannot be trusted to be new: no request_id, stale or future-dated issued_at,
// or a request_id already seen. The actor (urza-actor.ts) only moves messages.
import { createHash } from 'node:crypto';
import { NonceLedger } from '../../contracts/command-signing.ts';
import { leyline, type v1 } from '../../contracts/index.ts';
import { millisecondsSince } from '../../contracts/time.ts';
import { interpolatedQuantile } from '../../runtime/quantile.ts';
import type { KernelLookup } from './library-api.ts';
import { PrefetchMetrics } from './metrics.ts';
import { slotKey, type SlotInput } from './slot-key.ts';

export interface PrefetchOptions {
  /** Requests issued longer ago than this are dropped as stale. Default 60 000 ms (KERNEL_FRESHNESS_WINDOW_MS). */
  freshnessWindowMs?: number;
  /** Requests issued further than this in the future are dropped. Default 5 000 ms. */
  maxFutureSkewMs?: number;
  /** request_ids remembered for replay detection. Default 4096 (the prototype's kernel nonce cache setting). */
  replayCacheSize?: number;
  /** Epoch ms, for issued_at. Default Date.now. */
  now?: () => number;
  /** Monotonic ms, for the replay cache and latency. Default performance.now. */
  monotonic?: () => number;
}

export type PrefetchAnswer = v1.KernelArtifactReady | v1.KernelArtifactError;

/** Why a request got no answer at all. */
export type PrefetchDropReason = 'no_request_id' | 'stale' | 'future' | 'replayed';

export type PrefetchOutcome =
  | { kind: 'answer'; answer: PrefetchAnswer }
  | { kind: 'dropped'; reason: PrefetchDropReason; detail: string };

/** KernelArtifactError.reason values. The first three are the prototype's; the rest are this project's. */
export const PrefetchErrorReason = {
  /** The catalog holds no kernel for the blueprint. */
  missingArtifact: 'missing_artifact',
  /** The catalog had a row but its artifact file was gone (the row was evicted). */
  artifactNotFound: 'artifact_not_found',
  /** The artifact's SHA-256 differed from the catalog's checksum (evicted, counted in integrity_failures). */
  checksumMismatch: 'checksum_mismatch',
  /** The stored descriptor could not be decoded (evicted). */
  undecodable: 'undecodable',
  /** The catalog could not answer (breaker open or access failed): not a reason to recompile. */
  unavailable: 'unavailable',
  /** The request named no blueprint. */
  invalidRequest: 'invalid_request',
} as const;

/** The guard digest reported for a kernel stored without one: SHA-256 of "<blueprint_id>:<tier number>". */
export function fallbackGuardDigest(blueprintId: string, tier: v1.BlueprintTier): string {
  return createHash('sha256').update(`${blueprintId}:${tier}`, 'utf8').digest('hex');
}

export class PrefetchResponder {
  readonly metrics = new PrefetchMetrics();
  readonly freshnessWindowMs: number;
  readonly maxFutureSkewMs: number;
  readonly #source: KernelLookup;
  readonly #seen: NonceLedger;
  readonly #now: () => number;
  readonly #monotonic: () => number;

  constructor(source: KernelLookup, options: PrefetchOptions = {}) {
    this.#source = source;
    this.freshnessWindowMs = options.freshnessWindowMs ?? 60_000;
    this.maxFutureSkewMs = options.maxFutureSkewMs ?? 5_000;
    this.#now = options.now ?? (() => Date.now());
    this.#monotonic = options.monotonic ?? (() => performance.now());
    // An id older than window + skew would be refused as stale anyway, so it need not be remembered longer.
    this.#seen = new NonceLedger({
      ttlMs: this.freshnessWindowMs + this.maxFutureSkewMs,
      maxEntries: options.replayCacheSize ?? 4096,
      clock: this.#monotonic,
    });
  }

  handle(request: v1.KernelPrefetchRequest): PrefetchOutcome {
    const started = this.#monotonic();
    try {
      const dropped = this.#admit(request);
      if (dropped) return dropped;
      return { kind: 'answer', answer: this.#answer(request) };
    } finally {
      this.metrics.latencyMs = this.#monotonic() - started;
    }
  }

  #admit(request: v1.KernelPrefetchRequest): PrefetchOutcome | null {
    const drop = (reason: PrefetchDropReason, detail: string): PrefetchOutcome => ({ kind: 'dropped', reason, detail });
    if (!request.requestId) {
      this.metrics.invalid += 1;
      return drop('no_request_id', 'a request without request_id cannot be answered');
    }
    if (!request.issuedAt) {
      this.metrics.stale += 1;
      return drop('stale', 'no issued_at');
    }
    const age = millisecondsSince(request.issuedAt, this.#now());
    if (age > this.freshnessWindowMs) {
      this.metrics.stale += 1;
      return drop('stale', `issued ${Math.round(age)} ms ago (window ${this.freshnessWindowMs} ms)`);
    }
    if (-age > this.maxFutureSkewMs) {
      this.metrics.future += 1;
      return drop('future', `issued ${Math.round(-age)} ms in the future (skew allowed ${this.maxFutureSkewMs} ms)`);
    }
    if (!this.#seen.register(request.requestId)) {
      this.metrics.replayed += 1;
      return drop('replayed', `request_id ${request.requestId} was seen before`);
    }
    return null;
  }

  #answer(request: v1.KernelPrefetchRequest): PrefetchAnswer {
    const { requestId, blueprintId } = request;
    const error = (reason: string): v1.KernelArtifactError => {
      if (reason === PrefetchErrorReason.missingArtifact) this.metrics.misses += 1;
      else this.metrics.errors += 1;
      return leyline.KernelArtifactError.create({ requestId, blueprintId, reason });
    };
    if (!blueprintId) return error(PrefetchErrorReason.invalidRequest);
    // From disk: the answer's checksum is computed now, from the file a consumer is about to load; warm: the
    // consumer's fetch that follows finds a module ready.
    let slot: SlotInput | undefined;
    try {
      slot = request.slot?.dims?.length ? slotKey(request.slot.dims) : undefined;
    } catch {
      return error(PrefetchErrorReason.invalidRequest);
    }
    const found = this.#source.get(blueprintId, slot, { fromDisk: true, warm: true });
    switch (found.status) {
      case 'not_found':
        return error(PrefetchErrorReason.missingArtifact);
      case 'unavailable':
        return error(PrefetchErrorReason.unavailable);
      case 'corrupt':
        return error(
          found.reason === 'artifact_not_found'
            ? PrefetchErrorReason.artifactNotFound
            : found.reason === 'checksum_mismatch'
              ? PrefetchErrorReason.checksumMismatch
              : PrefetchErrorReason.undecodable,
        );
      case 'found': {
        const { entry } = found;
        const samples = entry.prewarmSamplesMs;
        this.metrics.hits += 1;
        return leyline.KernelArtifactReady.create({
          requestId,
          blueprintId,
          artifactRef: entry.artifactRef,
          checksum: entry.checksum,
          guardDigest: entry.guardDigest || fallbackGuardDigest(blueprintId, entry.descriptor?.tier ?? 0),
          prewarmP50Ms: interpolatedQuantile(samples, 0.5),
          prewarmP95Ms: interpolatedQuantile(samples, 0.95),
        });
      }
    }
  }
}
