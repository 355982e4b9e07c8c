// Nissa's first slice: telemetry, state and field reports become Prometheus series and queryable documents, served
// over HTTP.
import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { leyline } from '../contracts/index.ts';
import { buildTelemetryPacket } from '../contracts/telemetry.ts';
import { DocumentStore } from '../actors/nissa/document-store.ts';
import { nissaHttpServer } from '../actors/nissa/http-server.ts';
import { NissaIngest } from '../actors/nissa/ingest.ts';
import { NissaMetrics, seriesName } from '../actors/nissa/prometheus.ts';
import { resolveNissaConfig } from '../actors/nissa/settings.ts';
import { AlertEngine, type AlertEvent } from '../actors/nissa/alerts.ts';
import { DEFAULT_ALERT_RULES } from '../actors/nissa/alert-rules.ts';
import { SloTracker, sloRetentionMs } from '../actors/nissa/slo.ts';
import { alertRouter } from '../actors/nissa/alert-routes.ts';

const { TelemetryLevel, FieldReportOutcome, BusMessageType: T } = leyline;

function setUp(limits = { maxSeriesNames: 100, maxLabelSets: 10 }): {
  ingest: NissaIngest;
  documents: DocumentStore;
  events: AlertEvent[];
} {
  const documents = new DocumentStore(':memory:', 3_600_000);
  const events: AlertEvent[] = [];
  const alerts = new AlertEngine(DEFAULT_ALERT_RULES, (e) => events.push(e));
  const ingest = new NissaIngest(
    new NissaMetrics(limits),
    documents,
    alerts,
    new SloTracker(sloRetentionMs(alerts.rules)),
  );
  return { ingest, documents, events };
}

const packet = (
  source: string,
  metrics: Array<{ name: string; value: number; attributes?: Record<string, string> }>,
  events: string[] = [],
  timestamp = Date.now(),
) =>
  buildTelemetryPacket({
    packetId: `${source}-1`,
    source,
    level: TelemetryLevel.TELEMETRY_LEVEL_INFO,
    metrics,
    events: events.map((description) => ({ description, level: TelemetryLevel.TELEMETRY_LEVEL_WARNING })),
    timestamp,
  });

test('telemetry metrics become gauges by source; packets, events, reports and runs are counted', async (t) => {
  const { ingest } = setUp();
  ingest.ingest(
    packet('tolaria', [
      { name: 'tolaria.training.loss', value: 0.5 },
      { name: 'tolaria.training.loss', value: 0.25 },
    ]),
  );
  ingest.ingest(
    packet(
      'kasmina',
      [{ name: 'kasmina.seed.alpha', value: 0.3, attributes: { seed_id: 's1', slot: 'h0', noise: 'x' } }],
      ['gate_failed'],
    ),
  );
  ingest.ingest(
    leyline.FieldReport.create({
      reportId: 'r',
      trainingRunId: 'run-a',
      outcome: FieldReportOutcome.FIELD_REPORT_OUTCOME_SUCCESS,
    }),
  );
  ingest.ingest(leyline.SystemStatePacket.create({ sourceSubsystem: 'tolaria', trainingRunId: 'run-b' }));
  ingest.ingest(leyline.SystemStatePacket.create({ sourceSubsystem: 'tolaria', trainingRunId: 'run-b' }));
  const text = await ingest.metrics.registry.metrics();
  t.regex(text, /^esper_tolaria_training_loss\{source="tolaria"\} 0\.25$/m, 'a level: the last value');
  t.regex(
    text,
    /^esper_kasmina_seed_alpha\{source="kasmina",seed_id="s1",slot="h0"\} 0\.3$/m,
    'known attributes become labels, others do not',
  );
  t.regex(text, /^esper_telemetry_packets_total\{source="tolaria"\} 1$/m);
  t.regex(text, /^esper_telemetry_events_total\{source="kasmina",level="warning"\} 1$/m);
  t.regex(text, /^esper_field_reports_total\{outcome="success"\} 1$/m);
  t.regex(text, /^esper_system_state_packets_total\{phase="tolaria"\} 2$/m);
  t.regex(text, /^esper_training_runs 2$/m, 'distinct runs, not packets');
  t.is(
    seriesName('weatherlight.worker.weatherlight.kasmina.running'),
    'esper_weatherlight_worker_weatherlight_kasmina_running',
  );
});

test('cardinality is bounded: extra names and label sets are dropped and counted', async (t) => {
  const { ingest } = setUp({ maxSeriesNames: 1, maxLabelSets: 2 });
  ingest.ingest(
    packet('a', [
      { name: 'm.one', value: 1 },
      { name: 'm.two', value: 2 },
    ]),
  );
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
  ingest.ingest(
    leyline.FieldReport.create({
      reportId: 'r1',
      trainingRunId: 'run-a',
      outcome: FieldReportOutcome.FIELD_REPORT_OUTCOME_REGRESSION,
    }),
    3_000,
  );
  t.is(
    documents.query({ kind: T.BUS_MESSAGE_TYPE_TELEMETRY, source: 'simic' }).length,
    1,
    "Simic's metrics (a negative reward is fine)",
  );
  t.deepEqual(
    documents.query({ event: 'gate_failed' }).map((d) => d.source),
    ['kasmina'],
  );
  const [report] = documents.query({ kind: T.BUS_MESSAGE_TYPE_FIELD_REPORT, runId: 'run-a' });
  t.like(report?.body, { reportId: 'r1', outcome: FieldReportOutcome.FIELD_REPORT_OUTCOME_REGRESSION });
  t.deepEqual(
    documents.query({ fromMs: 1_500, toMs: 2_500 }).map((d) => d.kind),
    [T.BUS_MESSAGE_TYPE_TELEMETRY],
  );
  t.is(documents.expire(3_600_000 + 2_500), 2);
  t.is(documents.count(), 1);
});

test('HTTP: /metrics, /healthz (503 when unhealthy), /metrics/summary, the query API with clear errors', async (t) => {
  const { ingest, documents } = setUp();
  ingest.ingest(packet('tolaria', [{ name: 'tolaria.training.loss', value: 0.5 }]));
  let healthy = true;
  const server = nissaHttpServer({
    ingest,
    documents,
    health: () => ({ healthy, summary: healthy ? 'steady' : 'backoff', details: {} }),
  });
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
    const found = (await (await fetch(`${base}/api/documents?kind=telemetry&source=tolaria`)).json()) as {
      documents: unknown[];
    };
    t.is(found.documents.length, 1);
    const bad = await fetch(`${base}/api/documents?kind=nonsense`);
    t.is(bad.status, 400);
    t.regex(
      ((await bad.json()) as { error: string }).error,
      /kind must be one of telemetry, system_state, field_report, got "nonsense"/,
    );
    t.is((await fetch(`${base}/nope`)).status, 404);
  } finally {
    server.close();
  }
});

test('configuration errors name the field', (t) => {
  t.throws(() => resolveNissaConfig({ port: 70_000 }), {
    message: /nissa\.port must be an integer in \[0, 65535\], got 70000/,
  });
  t.is(resolveNissaConfig().port, 9100);
});

test('alerts count per source: other sources neither break a run of breaches nor clear an alert; resolved follows below the resolve level', (t) => {
  const { ingest, events } = setUp();
  const hook = (share: number, at: number) =>
    packet('tolaria', [{ name: 'tolaria.epoch_hook.budget_share', value: share }], [], at);
  const violations = (n: number, at: number) =>
    packet('kasmina', [{ name: 'kasmina.isolation.violations', value: n }], [], at);
  ingest.ingest(hook(0.6, 1_000));
  ingest.ingest(hook(0.6, 2_000));
  ingest.ingest(violations(3, 2_500));
  ingest.ingest(hook(0.6, 3_000));
  t.deepEqual(
    events.map((e) => `${e.kind} ${e.rule} ${e.source}`),
    ['fired kasmina_isolation_violation kasmina', 'fired training_latency_high tolaria'],
    'a kasmina packet in between does not break the run (it did in the prototype)',
  );
  ingest.ingest(hook(0.6, 4_000));
  ingest.ingest(hook(0.3, 5_000));
  t.is(events.length, 2, 'fires once while the condition holds, and 0.3 is above the resolve level');
  ingest.ingest(hook(0.25, 6_000));
  t.like(
    events.at(-1),
    { kind: 'resolved', rule: 'training_latency_high', value: 0.25, threshold: 0.25 },
    '0.25 is not over 0.25: resolved',
  );
  t.deepEqual(
    ingest.alerts.active().map((e) => e.rule),
    ['kasmina_isolation_violation'],
    'a tolaria packet did not clear the kasmina alert',
  );
  ingest.ingest(violations(1, 6_500));
  t.is(ingest.alerts.active().length, 1, 'one violation left: still firing');
  ingest.ingest(violations(0, 7_000));
  t.like(events.at(-1), { kind: 'resolved', rule: 'kasmina_isolation_violation', source: 'kasmina' });
  for (const at of [8_000, 9_000, 10_000]) ingest.ingest(hook(0.9, at));
  t.is(
    events.filter((e) => e.kind === 'fired' && e.rule === 'training_latency_high').length,
    2,
    'after clearing, a new breach fires again',
  );
});

test('a time window: the backlog rule fires only once its condition has held for 2 minutes', (t) => {
  const { ingest, events } = setUp();
  const depth = (n: number, at: number) => packet('oona', [{ name: 'oona.queue.depth', value: n }], [], at);
  ingest.ingest(depth(5_000, 1_000_000));
  ingest.ingest(depth(5_000, 1_060_000));
  t.is(events.length, 0, 'two samples, but only a minute');
  ingest.ingest(depth(5_000, 1_120_000));
  t.like(events.at(-1), { kind: 'fired', rule: 'oona_queue_depth', value: 5_000 });
});

test('SLO samples are kept per producer and key, counted as Prometheus counters, and burn per window pair', async (t) => {
  const { ingest, events } = setUp();
  const sample = (source: string, actual: number, at: number) =>
    packet(
      source,
      [
        { name: 'slo.latency_actual', value: actual },
        { name: 'slo.latency_objective', value: 100 },
      ],
      [],
      at,
    );
  ingest.ingest(sample('tolaria', 120, 1_000));
  t.deepEqual(events, [], 'one missed sample: too few to burn');
  ingest.ingest(packet('tolaria', [{ name: 'slo.latency_actual', value: 500 }], [], 1_500));
  for (const at of [2_000, 3_000, 4_000, 5_000]) ingest.ingest(sample('tolaria', 130, at));
  ingest.ingest(sample('simic', 10, 5_000));
  t.like(events[0], {
    kind: 'fired',
    rule: 'slo_burn_rate_high',
    metric: 'slo.burn_rate',
    source: 'tolaria/latency',
    value: 20,
    threshold: 14.4,
  });
  t.regex(events[0]?.window ?? '', /^fast \(5m\/1m\)$/);
  const [simic, tolaria] = ingest.sloStatus();
  t.like(
    tolaria,
    { slo: 'tolaria/latency', events: 5, violations: 5 },
    'an actual without its objective is not a sample',
  );
  t.like(
    simic,
    { slo: 'simic/latency', events: 1, violations: 0 },
    "another producer's SLO of the same key is its own",
  );
  t.like(tolaria?.pairs[0], {
    rule: 'slo_burn_rate_high',
    window: 'fast',
    factor: 14.4,
    long: { events: 5 },
    burning: true,
  });
  const text = await ingest.metrics.registry.metrics();
  t.regex(text, /^esper_nissa_slo_events_total\{source="tolaria",slo="latency"\} 5$/m);
  t.regex(text, /^esper_nissa_slo_violations_total\{source="simic",slo="latency"\} 0$/m, 'created at zero');
  for (const at of [70_000, 70_001]) ingest.ingest(sample('tolaria', 50, at));
  t.like(
    events.at(-1),
    { kind: 'resolved', rule: 'slo_burn_rate_high', source: 'tolaria/latency', window: 'fast (5m/1m)' },
    "the misses left the fast pair's short window; the slow pair has too few samples to burn",
  );
  t.is(events.length, 2);
});

test('alert rules are checked at boot with the field named', (t) => {
  t.throws(
    () =>
      resolveNissaConfig({
        alerts: [{ name: 'x', metric: 'm', threshold: 1, comparator: '!=' as never, routes: ['log'] }],
      }),
    { message: /nissa\.alerts\[0\]\.comparator expected one of ">", ">=", "<", "<=", got "!="/ },
  );
  t.throws(
    () => resolveNissaConfig({ alerts: [{ name: 'x', metric: 'm', threshold: 1, routes: ['slack' as never] }] }),
    { message: /nissa\.alerts\[0\]\.routes\[0\]/ },
  );
  t.throws(() => resolveNissaConfig({ webhookUrl: 'ftp://x' }), {
    message: /nissa\.webhookUrl must be an http\(s\) URL/,
  });
});

test('/metrics is valid Prometheus text format, read back by a real parser', async (t) => {
  const { default: parse } = await import('parse-prometheus-text-format');
  const { ingest } = setUp();
  ingest.ingest(
    packet('tolaria', [
      { name: 'tolaria.training.loss', value: 0.125 },
      { name: 'weird name/with:chars', value: -3 },
    ]),
  );
  ingest.ingest(
    packet('kasmina', [
      { name: 'kasmina.seed.alpha', value: 0.5, attributes: { seed_id: 'quote"and\\backslash', slot: 'h0' } },
    ]),
  );
  const families = parse(await ingest.metrics.registry.metrics());
  const family = (name: string) => families.find((f) => f.name === name);
  t.like(family('esper_tolaria_training_loss'), {
    type: 'GAUGE',
    metrics: [{ value: '0.125', labels: { source: 'tolaria' } }],
  });
  t.like(family('esper_weird_name_with_chars'), { type: 'GAUGE', metrics: [{ value: '-3' }] });
  t.is(
    family('esper_kasmina_seed_alpha')?.metrics[0]?.labels?.seed_id,
    'quote"and\\backslash',
    'label values escaped and read back',
  );
  t.like(family('esper_telemetry_packets_total'), { type: 'COUNTER' });
});

test('a failing document store opens the breaker: documents are dropped and counted, series and alerts go on', async (t) => {
  const { ingest, documents, events } = setUp();
  documents.close();
  for (let i = 0; i < 5; i += 1)
    ingest.ingest(packet('kasmina', [{ name: 'kasmina.isolation.violations', value: 4 }], [], 1_000 + i));
  const text = await ingest.metrics.registry.metrics();
  t.regex(text, /^esper_nissa_documents_dropped_total\{reason="store_error"\} 3$/m);
  t.regex(text, /^esper_nissa_documents_dropped_total\{reason="breaker_open"\} 2$/m);
  t.regex(text, /^esper_nissa_breaker_state\{breaker="documents"\} 2$/m, 'open');
  t.regex(text, /^esper_telemetry_packets_total\{source="kasmina"\} 5$/m);
  t.regex(text, /^esper_nissa_ingest_latency_ms_count 5$/m);
  t.is(events.length, 1, 'the alert still fired');
});

test('alert routes: the webhook receives each fired and resolved event as JSON; a failing webhook is counted; log lines', async (t) => {
  const received: AlertEvent[] = [];
  let answer = 200;
  const hook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as AlertEvent);
      response.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const lines: string[] = [];
  let failures = 0;
  const route = alertRouter({
    webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`,
    log: (level, text) => lines.push(`${level} ${text}`),
    counted: () => undefined,
    webhookFailed: () => {
      failures += 1;
    },
  });
  const engine = new AlertEngine(DEFAULT_ALERT_RULES, route);
  try {
    engine.evaluate(new Map([['kasmina.isolation.violations', 4]]), 'kasmina', 1_000);
    engine.evaluate(new Map([['kasmina.isolation.violations', 0]]), 'kasmina', 2_000);
    await new Promise<void>((resolve) => {
      const poll = (): void => (received.length >= 2 ? resolve() : void setTimeout(poll, 10));
      poll();
    });
    t.deepEqual(
      received.map((e) => [e.kind, e.rule, e.source, e.value]),
      [
        ['fired', 'kasmina_isolation_violation', 'kasmina', 4],
        ['resolved', 'kasmina_isolation_violation', 'kasmina', 0],
      ],
    );
    t.deepEqual(
      lines.map((l) => l.split(' ').slice(0, 4).join(' ')),
      ['warn alert kasmina_isolation_violation fired', 'info alert kasmina_isolation_violation resolved'],
    );
    answer = 500;
    engine.evaluate(new Map([['kasmina.isolation.violations', 9]]), 'kasmina', 3_000);
    await new Promise<void>((resolve) => {
      const poll = (): void => (failures >= 1 ? resolve() : void setTimeout(poll, 10));
      poll();
    });
    t.is(failures, 1, 'a 500 from the webhook is counted');
  } finally {
    hook.close();
  }
});

test('running totals become counters that advance by the difference, and survive a producer restart', async (t) => {
  const { default: parse } = await import('parse-prometheus-text-format');
  const { ingest } = setUp();
  for (const total of [2, 5, 5, 1])
    ingest.ingest(packet('weatherlight', [{ name: 'weatherlight.restarts_total', value: total }]));
  const family = parse(await ingest.metrics.registry.metrics()).find(
    (f) => f.name === 'esper_weatherlight_restarts_total',
  );
  t.is(family?.type, 'COUNTER');
  t.is(family?.metrics[0]?.value, '6', '2, then +3, +0, then a restart: +1');
});
