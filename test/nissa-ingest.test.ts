// Nissa's first slice: telemetry, state and field reports become Prometheus series and queryable documents, served
// over HTTP.
import test from 'ava';
import type { AddressInfo } from 'node:net';
import { leyline } from '../contracts/index.ts';
import { buildTelemetryPacket } from '../contracts/telemetry.ts';
import { DocumentStore } from '../actors/nissa/document-store.ts';
import { nissaHttpServer } from '../actors/nissa/http-server.ts';
import { NissaIngest } from '../actors/nissa/ingest.ts';
import { NissaMetrics, seriesName } from '../actors/nissa/prometheus.ts';
import { resolveNissaConfig } from '../actors/nissa/settings.ts';

const { TelemetryLevel, FieldReportOutcome, BusMessageType: T } = leyline;

function setUp(limits = { maxSeriesNames: 100, maxLabelSets: 10 }): { ingest: NissaIngest; documents: DocumentStore } {
  const documents = new DocumentStore(':memory:', 3_600_000);
  return { ingest: new NissaIngest(new NissaMetrics(limits), documents), documents };
}

const packet = (source: string, metrics: Array<{ name: string; value: number; attributes?: Record<string, string> }>, events: string[] = [], timestamp = Date.now()) =>
  buildTelemetryPacket({ packetId: `${source}-1`, source, level: TelemetryLevel.TELEMETRY_LEVEL_INFO, metrics, events: events.map((description) => ({ description, level: TelemetryLevel.TELEMETRY_LEVEL_WARNING })), timestamp });

test('telemetry metrics become gauges by source; packets, events, reports and runs are counted', async (t) => {
  const { ingest } = setUp();
  ingest.ingest(packet('tolaria', [{ name: 'tolaria.training.loss', value: 0.5 }, { name: 'tolaria.training.loss', value: 0.25 }]));
  ingest.ingest(packet('kasmina', [{ name: 'kasmina.seed.alpha', value: 0.3, attributes: { seed_id: 's1', slot: 'h0', noise: 'x' } }], ['gate_failed']));
  ingest.ingest(leyline.FieldReport.create({ reportId: 'r', trainingRunId: 'run-a', outcome: FieldReportOutcome.FIELD_REPORT_OUTCOME_SUCCESS }));
  ingest.ingest(leyline.SystemStatePacket.create({ sourceSubsystem: 'tolaria', trainingRunId: 'run-b' }));
  ingest.ingest(leyline.SystemStatePacket.create({ sourceSubsystem: 'tolaria', trainingRunId: 'run-b' }));
  const text = await ingest.metrics.registry.metrics();
  t.regex(text, /^esper_tolaria_training_loss\{source="tolaria"\} 0\.25$/m, 'a level: the last value');
  t.regex(text, /^esper_kasmina_seed_alpha\{source="kasmina",seed_id="s1",slot="h0"\} 0\.3$/m, 'known attributes become labels, others do not');
  t.regex(text, /^esper_telemetry_packets_total\{source="tolaria"\} 1$/m);
  t.regex(text, /^esper_telemetry_events_total\{source="kasmina",level="warning"\} 1$/m);
  t.regex(text, /^esper_field_reports_total\{outcome="success"\} 1$/m);
  t.regex(text, /^esper_system_state_packets_total\{phase="tolaria"\} 2$/m);
  t.regex(text, /^esper_training_runs 2$/m, 'distinct runs, not packets');
  t.is(seriesName('weatherlight.worker.weatherlight.kasmina.running'), 'esper_weatherlight_worker_weatherlight_kasmina_running');
});

test('cardinality is bounded: extra names and label sets are dropped and counted', async (t) => {
  const { ingest } = setUp({ maxSeriesNames: 1, maxLabelSets: 2 });
  ingest.ingest(packet('a', [{ name: 'm.one', value: 1 }, { name: 'm.two', value: 2 }]));
  for (const source of ['b', 'c']) ingest.ingest(packet(source, [{ name: 'm.one', value: 1 }]));
  ingest.ingest(packet('d', [{ name: 'm.one', value: Number.NaN }]));
  const text = await ingest.metrics.registry.metrics();
  t.notRegex(text, /esper_m_two/);
  t.regex(text, /^esper_nissa_series_dropped_total\{reason="too_many_names"\} 1$/m);
  t.regex(text, /^esper_nissa_series_dropped_total\{reason="too_many_label_sets"\} 1$/m);
  t.regex(text, /^esper_nissa_series_dropped_total\{reason="not_finite"\} 1$/m);
});

test('documents are indexed by kind, run, source, time and event, and expire after the retention', (t) => {
  const { ingest, documents } = setUp();
  ingest.ingest(packet('simic', [{ name: 'simic.training.reward', value: -0.4 }], [], 1_000));
  ingest.ingest(packet('kasmina', [], ['gate_failed'], 2_000));
  // A report without issued_at is stamped with the time it was ingested.
  ingest.ingest(leyline.FieldReport.create({ reportId: 'r1', trainingRunId: 'run-a', outcome: FieldReportOutcome.FIELD_REPORT_OUTCOME_REGRESSION }), 3_000);
  t.is(documents.query({ kind: T.BUS_MESSAGE_TYPE_TELEMETRY, source: 'simic' }).length, 1, "Simic's metrics (a negative reward is fine)");
  t.deepEqual(documents.query({ event: 'gate_failed' }).map((d) => d.source), ['kasmina']);
  const [report] = documents.query({ kind: T.BUS_MESSAGE_TYPE_FIELD_REPORT, runId: 'run-a' });
  t.like(report?.body, { reportId: 'r1', outcome: FieldReportOutcome.FIELD_REPORT_OUTCOME_REGRESSION });
  t.deepEqual(documents.query({ fromMs: 1_500, toMs: 2_500 }).map((d) => d.kind), [T.BUS_MESSAGE_TYPE_TELEMETRY]);
  t.is(documents.expire(3_600_000 + 2_500), 2);
  t.is(documents.count(), 1);
});

test('HTTP: /metrics, /healthz (503 when unhealthy), /metrics/summary, the query API with clear errors', async (t) => {
  const { ingest, documents } = setUp();
  ingest.ingest(packet('tolaria', [{ name: 'tolaria.training.loss', value: 0.5 }]));
  let healthy = true;
  const server = nissaHttpServer({ ingest, documents, health: () => ({ healthy, summary: healthy ? 'steady' : 'backoff', details: {} }) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const metrics = await fetch(`${base}/metrics`);
    t.is(metrics.status, 200);
    t.regex(metrics.headers.get('content-type') ?? '', /text\/plain/);
    t.regex(await metrics.text(), /esper_tolaria_training_loss\{source="tolaria"\} 0\.5/);
    t.is((await fetch(`${base}/healthz`)).status, 200);
    healthy = false;
    const unhealthy = await fetch(`${base}/healthz`);
    t.is(unhealthy.status, 503);
    t.like(await unhealthy.json(), { status: 'unhealthy', summary: 'backoff' });
    t.like(await (await fetch(`${base}/metrics/summary`)).json(), { ingested: { telemetry: 1 }, documents: 1 });
    const found = (await (await fetch(`${base}/api/documents?kind=telemetry&source=tolaria`)).json()) as { documents: unknown[] };
    t.is(found.documents.length, 1);
    const bad = await fetch(`${base}/api/documents?kind=nonsense`);
    t.is(bad.status, 400);
    t.regex(((await bad.json()) as { error: string }).error, /kind must be one of telemetry, system_state, field_report, got "nonsense"/);
    t.is((await fetch(`${base}/nope`)).status, 404);
  } finally {
    server.close();
  }
});

test('configuration errors name the field', (t) => {
  t.throws(() => resolveNissaConfig({ port: 70_000 }), { message: /nissa\.port must be an integer in \[0, 65535\], got 70000/ });
  t.is(resolveNissaConfig().port, 9100);
});
