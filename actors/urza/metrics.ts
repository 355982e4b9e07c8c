// Urza's counters and gauges under the names the prototype published (`urza.library.*`, `urza.prefetch.*`), plus
// the ones this project adds. Plain numbers inside the process; `metricPoints` turns them into Leyline MetricPoints.
import { leyline, type v1 } from '../../contracts/index.ts';

export class LibraryMetrics {
  cacheHits = 0;
  /** Lookups the cache could not answer (a catalog hit counts here too, as in the prototype). */
  cacheMisses = 0;
  /** Lookups that failed inside the catalog (an exception, not a missing row). */
  cacheErrors = 0;
  cacheExpired = 0;
  /** Duration of the last lookup (get or fetchKernel), ms. */
  lookupLatencyMs = 0;
  /** Duration of the last fetchKernel (lookup + read + checksum + deserialise), ms. */
  fetchLatencyMs = 0;
  kernelFetches = 0;
  /** Fetches served with a ready-made spare module instead of deserialising in the call. */
  spareHits = 0;
  /** Catalog rows removed because they were expired, missing, corrupt or asked to go. */
  evictions = 0;
  /** Checksum mismatches found on load, in maintenance or at start-up. */
  integrityFailures = 0;
  /** Rows whose artifact file had disappeared. */
  missingArtifacts = 0;
  /** Verified artifacts that the kernel codec could not turn into a module. */
  decodeFailures = 0;
  slowQueries = 0;
  breakerOpenTotal = 0;
  breakerDenied = 0;
  breakerState: number = leyline.CircuitBreakerState.CIRCUIT_STATE_CLOSED;
  /** 1 while the breaker is open: only cached kernels are served. */
  conservativeMode = 0;
  cacheSize = 0;
  saves = 0;
  /** Saves refused: checksum mismatch, bad input, unavailable catalog (or another process owns it), I/O error. */
  savesRejected = 0;
  /** 1 while this process owns its root (owner-lock.ts), 0 while it only reads it. */
  catalogOwner = 0;

  snapshot(): Record<string, number> {
    const p = 'urza.library.';
    return {
      [`${p}cache_hits`]: this.cacheHits,
      [`${p}cache_misses`]: this.cacheMisses,
      [`${p}cache_errors`]: this.cacheErrors,
      [`${p}cache_expired`]: this.cacheExpired,
      [`${p}lookup_latency_ms`]: this.lookupLatencyMs,
      [`${p}query_duration_ms`]: this.lookupLatencyMs,
      [`${p}fetch_latency_ms`]: this.fetchLatencyMs,
      [`${p}kernel_fetches`]: this.kernelFetches,
      [`${p}spare_hits`]: this.spareHits,
      [`${p}evictions`]: this.evictions,
      [`${p}integrity_failures`]: this.integrityFailures,
      [`${p}missing_artifacts`]: this.missingArtifacts,
      [`${p}decode_failures`]: this.decodeFailures,
      [`${p}slow_queries`]: this.slowQueries,
      [`${p}breaker_open_total`]: this.breakerOpenTotal,
      [`${p}breaker_denied`]: this.breakerDenied,
      [`${p}breaker_state`]: this.breakerState,
      [`${p}conservative_mode`]: this.conservativeMode,
      [`${p}cache_size`]: this.cacheSize,
      [`${p}saves`]: this.saves,
      [`${p}catalog_owner`]: this.catalogOwner,
      [`${p}saves_rejected`]: this.savesRejected,
    };
  }
}

export class PrefetchMetrics {
  /** Requests answered with KernelArtifactReady. */
  hits = 0;
  /** Requests for a blueprint the catalog does not hold. */
  misses = 0;
  /** Requests answered with any other KernelArtifactError. */
  errors = 0;
  /** Handling time of the last request, ms. */
  latencyMs = 0;
  /** Dropped: issued_at older than the freshness window, or missing. */
  stale = 0;
  /** Dropped: issued_at too far in the future. */
  future = 0;
  /** Dropped: a request_id seen before. */
  replayed = 0;
  /** Dropped: no request_id (nobody could match an answer to it). */
  invalid = 0;
  /** Answers that could not be delivered (the reply-to actor was gone or full). */
  undelivered = 0;

  snapshot(): Record<string, number> {
    const p = 'urza.prefetch.';
    return {
      [`${p}hits`]: this.hits,
      [`${p}misses`]: this.misses,
      [`${p}errors`]: this.errors,
      [`${p}latency_ms`]: this.latencyMs,
      [`${p}stale`]: this.stale,
      [`${p}future`]: this.future,
      [`${p}replayed`]: this.replayed,
      [`${p}invalid`]: this.invalid,
      [`${p}undelivered`]: this.undelivered,
    };
  }
}

/** MetricPoints for a snapshot (names as keys; latencies in ms, the rest counts). */
export function metricPoints(snapshot: Record<string, number>): v1.MetricPoint[] {
  return Object.entries(snapshot).map(([name, value]) =>
    leyline.MetricPoint.create({ name, value, unit: name.endsWith('_ms') ? 'ms' : 'count' }),
  );
}
