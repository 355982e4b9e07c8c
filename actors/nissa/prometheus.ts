// Every subsystem's telemetry as Prometheus series (prom-client). A telemetry metric `tolaria.training.loss` from
// source `tolaria` becomes the gauge `esper_tolaria_training_loss{source="tolaria"}` (a level: the last value); a
// metric whose name ends in `total` (`weatherlight.restarts_total`, `tolaria.epochs.total`) is a running total the
// subsystem keeps, exported as a counter that advances by the difference (a smaller value means the producer
// restarted: the counter advances by the new value); the ingest itself is counted (`esper_telemetry_packets_total{source}`, ...). Cardinality is bounded: at most
// `maxSeriesNames` metric names and `maxLabelSets` label sets per name; what would exceed them is dropped and counted.
import { Counter, Gauge, Registry, Summary } from 'prom-client';
import { leyline, type v1 } from '../../contracts/index.ts';

/** Metric attributes kept as labels (anything else stays in the document store, not in Prometheus). */
const LABEL_ATTRIBUTES = ['seed_id', 'slot', 'stage', 'blueprint_id', 'stream', 'reason'] as const;

export interface PrometheusLimits {
  maxSeriesNames: number;
  maxLabelSets: number;
}

/** A running total a subsystem keeps: its name ends in `total` (`…_total`, `….total`). */
function isTotal(metric: string): boolean {
  return /(^|[._])total$/.test(metric);
}

/** `tolaria.training.loss` → `esper_tolaria_training_loss` (Prometheus allows [a-zA-Z0-9_:]). */
export function seriesName(metric: string): string {
  return `esper_${metric
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '')}`;
}

export class NissaMetrics {
  readonly registry = new Registry();
  readonly #gauges = new Map<
    string,
    { series: Gauge<string> | Counter<string>; labelSets: Set<string>; labels: readonly string[] }
  >();
  /** A counter's last reported total per label set (the next sample advances it by the difference). */
  readonly #totals = new Map<string, number>();
  readonly #telemetryPackets: Counter<'source'>;
  readonly #statePackets: Counter<'phase'>;
  readonly #fieldReports: Counter<'outcome'>;
  readonly #events: Counter<'source' | 'level'>;
  readonly #dropped: Counter<'reason'>;
  readonly #runs = new Set<string>();
  readonly #runsGauge: Gauge;
  readonly #activeAlerts: Gauge;
  readonly #alertEvents: Counter<'rule' | 'kind'>;
  readonly #webhookFailures: Counter;
  readonly #ingestLatency: Summary;
  readonly #documentsDropped: Counter<'reason'>;
  readonly #breakerState: Gauge<'breaker'>;
  readonly #sloEvents: Counter<'source' | 'slo'>;
  readonly #sloViolations: Counter<'source' | 'slo'>;

  constructor(readonly limits: PrometheusLimits) {
    const registers = [this.registry];
    this.#telemetryPackets = new Counter({
      name: 'esper_telemetry_packets_total',
      help: 'Telemetry packets ingested',
      labelNames: ['source'],
      registers,
    });
    this.#statePackets = new Counter({
      name: 'esper_system_state_packets_total',
      help: 'System state packets ingested',
      labelNames: ['phase'],
      registers,
    });
    this.#fieldReports = new Counter({
      name: 'esper_field_reports_total',
      help: 'Completed field reports ingested, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.#events = new Counter({
      name: 'esper_telemetry_events_total',
      help: 'Telemetry events, by source and level',
      labelNames: ['source', 'level'],
      registers,
    });
    this.#dropped = new Counter({
      name: 'esper_nissa_series_dropped_total',
      help: 'Metric samples not exported (cardinality limits, invalid values)',
      labelNames: ['reason'],
      registers,
    });
    this.#runsGauge = new Gauge({ name: 'esper_training_runs', help: 'Distinct training runs seen', registers });
    this.#activeAlerts = new Gauge({
      name: 'esper_nissa_alerts_active',
      help: 'Alerts firing now (per rule and source)',
      registers,
    });
    this.#alertEvents = new Counter({
      name: 'esper_nissa_alert_events_total',
      help: 'Alerts fired and resolved',
      labelNames: ['rule', 'kind'],
      registers,
    });
    this.#webhookFailures = new Counter({
      name: 'esper_nissa_webhook_failures_total',
      help: 'Alert webhook posts that failed',
      registers,
    });
    this.#ingestLatency = new Summary({
      name: 'esper_nissa_ingest_latency_ms',
      help: 'Time to ingest one message (series, alerts, document), ms',
      percentiles: [0.5, 0.95, 0.99],
      maxAgeSeconds: 600,
      ageBuckets: 5,
      registers,
    });
    this.#documentsDropped = new Counter({
      name: 'esper_nissa_documents_dropped_total',
      help: 'Documents not stored (store failing, or its breaker open)',
      labelNames: ['reason'],
      registers,
    });
    this.#breakerState = new Gauge({
      name: 'esper_nissa_breaker_state',
      help: 'Nissa breakers (1 closed, 2 open, 3 half-open)',
      labelNames: ['breaker'],
      registers,
    });
    // Counters, so Prometheus computes the burn rates over any window (the Grafana alert rules do).
    this.#sloEvents = new Counter({
      name: 'esper_nissa_slo_events_total',
      help: 'SLO samples, by producer and SLO key',
      labelNames: ['source', 'slo'],
      registers,
    });
    this.#sloViolations = new Counter({
      name: 'esper_nissa_slo_violations_total',
      help: 'SLO samples that missed their objective, by producer and SLO key',
      labelNames: ['source', 'slo'],
      registers,
    });
  }

  alerts(active: number): void {
    this.#activeAlerts.set(active);
  }

  alertEvent(rule: string, kind: string): void {
    this.#alertEvents.inc({ rule, kind });
  }

  sloSample(source: string, slo: string, violation: boolean): void {
    this.#sloEvents.inc({ source, slo });
    // Created at zero with the first sample, so rate() sees the first violation too.
    this.#sloViolations.inc({ source, slo }, violation ? 1 : 0);
  }

  webhookFailed(): void {
    this.#webhookFailures.inc();
  }

  ingested(ms: number): void {
    this.#ingestLatency.observe(ms);
  }

  documentDropped(reason: 'store_error' | 'breaker_open'): void {
    this.#documentsDropped.inc({ reason });
  }

  breaker(name: string, state: number): void {
    this.#breakerState.set({ breaker: name }, state);
  }

  telemetry(packet: v1.TelemetryPacket): void {
    const source = packet.sourceSubsystem || 'unknown';
    this.#telemetryPackets.inc({ source });
    for (const event of packet.events) {
      this.#events.inc({
        source,
        level: (leyline.TelemetryLevel[event.level ?? 0] ?? 'UNKNOWN').replace('TELEMETRY_LEVEL_', '').toLowerCase(),
      });
    }
    for (const metric of packet.metrics) this.#sample(metric, source);
  }

  state(packet: v1.SystemStatePacket): void {
    // The phase label says which control boundary reported: this project sends state once per epoch.
    this.#statePackets.inc({ phase: packet.sourceSubsystem || 'unknown' });
    this.#run(packet.trainingRunId);
  }

  fieldReport(report: v1.FieldReport): void {
    const outcome = (leyline.FieldReportOutcome[report.outcome] ?? 'UNKNOWN')
      .replace('FIELD_REPORT_OUTCOME_', '')
      .toLowerCase();
    this.#fieldReports.inc({ outcome });
    this.#run(report.trainingRunId);
  }

  get seriesNames(): number {
    return this.#gauges.size;
  }

  #run(runId: string): void {
    if (!runId || this.#runs.has(runId)) return;
    this.#runs.add(runId);
    this.#runsGauge.set(this.#runs.size);
  }

  #sample(metric: v1.IMetricPoint, source: string): void {
    const value = metric.value ?? 0;
    if (!Number.isFinite(value)) {
      this.#dropped.inc({ reason: 'not_finite' });
      return;
    }
    const name = seriesName(metric.name ?? '');
    const attributes = metric.attributes ?? {};
    let entry = this.#gauges.get(name);
    if (!entry) {
      if (this.#gauges.size >= this.limits.maxSeriesNames) {
        this.#dropped.inc({ reason: 'too_many_names' });
        return;
      }
      // A name's labels are fixed by its first sample (Prometheus needs one label set per series name).
      const labels = ['source', ...LABEL_ATTRIBUTES.filter((key) => attributes[key] !== undefined)];
      const help = metric.unit ? `${metric.name} (${metric.unit})` : metric.name || name;
      try {
        const options = { name, help, labelNames: labels, registers: [this.registry] };
        entry = {
          series: isTotal(metric.name ?? '') ? new Counter(options) : new Gauge(options),
          labelSets: new Set(),
          labels,
        };
      } catch {
        this.#dropped.inc({ reason: 'name_clash' });
        return;
      }
      this.#gauges.set(name, entry);
    }
    const values: Record<string, string> = { source };
    for (const key of entry.labels) if (key !== 'source') values[key] = attributes[key] ?? '';
    const key = entry.labels.map((label) => values[label]).join('\u0000');
    if (!entry.labelSets.has(key)) {
      if (entry.labelSets.size >= this.limits.maxLabelSets) {
        this.#dropped.inc({ reason: 'too_many_label_sets' });
        return;
      }
      entry.labelSets.add(key);
    }
    if (entry.series instanceof Counter) {
      const totalKey = `${name}\u0000${key}`;
      const last = this.#totals.get(totalKey) ?? 0;
      this.#totals.set(totalKey, value);
      const delta = value >= last ? value - last : value;
      if (delta > 0) entry.series.inc(values, delta);
      else entry.series.inc(values, 0);
    } else {
      entry.series.set(values, value);
    }
  }
}
