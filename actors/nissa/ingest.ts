// What Nissa does with each message it reads: Prometheus series and a document, once per message.
import { leyline, type v1 } from '../../contracts/index.ts';
import { fromTimestamp, timestampFromNanoseconds, type TimestampLike } from '../../contracts/time.ts';
import { CircuitBreaker } from '../../runtime/circuit-breaker.ts';
import type { AlertEngine } from './alerts.ts';
import type { DocumentStore } from './document-store.ts';
import type { NissaMetrics } from './prometheus.ts';
import { sloStatus, type SloStatus, type SloTracker } from './slo.ts';

export type Ingestible = v1.TelemetryPacket | v1.SystemStatePacket | v1.FieldReport;

const { BusMessageType: T } = leyline;

/**
 * Series and alerts always; documents behind a breaker: a store that keeps failing (3 in a row) is left alone for
 * 30 s — the conservative mode of ingest: documents are dropped and counted, everything else goes on.
 */
export class NissaIngest {
  readonly counts = { telemetry: 0, system_state: 0, field_report: 0 };
  readonly storeBreaker = new CircuitBreaker('nissa.documents', { failureThreshold: 3, timeoutMs: 30_000 });
  lastIngestAt = 0;

  constructor(
    readonly metrics: NissaMetrics,
    readonly documents: DocumentStore,
    readonly alerts: AlertEngine,
    readonly slo: SloTracker,
  ) {}

  ingest(message: Ingestible, now = Date.now()): void {
    const started = performance.now();
    if (message instanceof leyline.TelemetryPacket) {
      this.metrics.telemetry(message);
      this.#evaluate(message, now);
      this.#store(
        T.BUS_MESSAGE_TYPE_TELEMETRY,
        message,
        '',
        message.sourceSubsystem,
        message.timestamp,
        message.events.map((e) => e.description ?? ''),
        now,
      );
      this.counts.telemetry += 1;
    } else if (message instanceof leyline.SystemStatePacket) {
      this.metrics.state(message);
      const ns = message.timestampNs ?? 0n;
      this.#store(
        T.BUS_MESSAGE_TYPE_SYSTEM_STATE,
        message,
        message.trainingRunId,
        message.sourceSubsystem,
        ns > 0n ? timestampFromNanoseconds(ns) : null,
        [],
        now,
      );
      this.counts.system_state += 1;
    } else {
      this.metrics.fieldReport(message);
      this.#store(T.BUS_MESSAGE_TYPE_FIELD_REPORT, message, message.trainingRunId, 'tamiyo', message.issuedAt, [], now);
      this.counts.field_report += 1;
    }
    this.lastIngestAt = now;
    this.metrics.ingested(performance.now() - started);
    this.metrics.breaker('documents', this.storeBreaker.state);
  }

  /** The SLOs with their burn rates per window pair (for /metrics/summary). */
  sloStatus(): SloStatus[] {
    return sloStatus(this.slo.series(), (key) => this.alerts.burnRules(key));
  }

  /** Threshold rules per (rule, source), then each SLO sample of the packet and its burn-rate rules, at the packet's time. */
  #evaluate(packet: v1.TelemetryPacket, now: number): void {
    if (packet.metrics.length === 0) return;
    const at = packet.timestamp && (packet.timestamp.seconds ?? 0) > 0 ? fromTimestamp(packet.timestamp) : now;
    const values = new Map(packet.metrics.map((m) => [m.name ?? '', m.value ?? 0]));
    const source = packet.sourceSubsystem || 'unknown';
    this.alerts.evaluate(values, source, at);
    for (const series of this.slo.record(values, source, at)) {
      this.metrics.sloSample(series.source, series.key, series.samples.at(-1)?.violation ?? false);
      this.alerts.evaluateSlo(series.source, series.key, series.samples, at);
    }
    this.metrics.alerts(this.alerts.active().length);
  }

  #store(
    kind: v1.BusMessageType,
    message: Ingestible,
    runId: string,
    source: string,
    timestamp: TimestampLike | null | undefined,
    events: string[],
    now: number,
  ): void {
    const timeMs =
      timestamp && ((timestamp.seconds ?? 0) > 0 || (timestamp.nanos ?? 0) > 0) ? fromTimestamp(timestamp) : now;
    if (!this.storeBreaker.allow()) {
      this.metrics.documentDropped('breaker_open');
      return;
    }
    try {
      this.documents.add({ kind, runId, source: source || 'unknown', timeMs, events, body: plain(message) });
      this.storeBreaker.recordSuccess();
    } catch {
      this.storeBreaker.recordFailure();
      this.metrics.documentDropped('store_error');
    }
  }
}

/**
 * A message as a JSON document: the fields it sets (camelCase; enums as their numbers; 64-bit integers as decimal
 * strings, as protobuf's JSON mapping writes them, since JSON numbers are doubles). Byte fields (a field report's
 * graph tensors) are left out: they are for Simic, not for queries.
 */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}
