// The fault drills: each alert rule — the defaults, and any rule a config sets — fires and clears with telemetry
// built from the rule, standalone through Nissa's ingest and through `esper drills`, without touching the real
// producers' alert state.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leyline } from '../contracts/index.ts';
import { buildTelemetryPacket } from '../contracts/telemetry.ts';
import { DEFAULT_ALERT_RULES, type AlertRule } from '../actors/nissa/alert-rules.ts';
import { AlertEngine, type AlertEvent } from '../actors/nissa/alerts.ts';
import { DocumentStore } from '../actors/nissa/document-store.ts';
import { drillFor, runDrills } from '../actors/nissa/drills.ts';
import { NissaIngest } from '../actors/nissa/ingest.ts';
import { NissaMetrics } from '../actors/nissa/prometheus.ts';
import { SloTracker, sloRetentionMs } from '../actors/nissa/slo.ts';
import { esper, freshDir } from './helpers/esper-cli.ts';

function nissa(rules: readonly AlertRule[]): { ingest: NissaIngest; engine: AlertEngine; events: AlertEvent[] } {
  const events: AlertEvent[] = [];
  const engine = new AlertEngine(rules, (e) => events.push(e));
  const ingest = new NissaIngest(
    new NissaMetrics({ maxSeriesNames: 100, maxLabelSets: 100 }),
    new DocumentStore(':memory:', 3_600_000),
    engine,
    new SloTracker(sloRetentionMs(engine.rules)),
  );
  return { ingest, engine, events };
}

const share = (value: number, at: number) =>
  buildTelemetryPacket({
    packetId: `real-${at}`,
    source: 'tolaria',
    level: leyline.TelemetryLevel.TELEMETRY_LEVEL_INFO,
    metrics: [{ name: 'tolaria.epoch_hook.budget_share', value }],
    timestamp: at,
  });

test('every default rule fires and clears in its drill, and the real producers’ alert state is untouched', async (t) => {
  const { ingest, engine, events } = nissa(DEFAULT_ALERT_RULES);
  const now = Date.now();
  // Two real breaches of training_latency_high's three: a drill must neither complete nor reset this run.
  ingest.ingest(share(0.9, now - 2_000));
  ingest.ingest(share(0.9, now - 1_000));
  const results = await runDrills(
    engine.rules,
    (packet) => ingest.ingest(packet),
    () => events,
    { timeoutMs: 0, run: 'r1', now },
  );
  t.deepEqual(
    results.map((r) => [r.rule, r.triggered?.kind, r.cleared?.kind]),
    DEFAULT_ALERT_RULES.map((rule) => [rule.name, 'fired', 'resolved']),
  );
  t.deepEqual(
    results.map((r) => r.triggered?.source),
    ['drill.tolaria.r1', 'drill.kasmina.r1', 'drill.oona.r1', 'drill.tezzeret.r1', 'drill.slo.r1/drill_latency'],
    'each drill reports from a source of its own run',
  );
  t.like(
    results.at(-1)?.triggered,
    { metric: 'slo.burn_rate', threshold: 14.4, window: 'fast (5m/1m)' },
    'the burn-rate drill fires the fast pair',
  );
  t.deepEqual(engine.active(), [], 'every drill cleared');
  t.false(events.some((e) => e.source === 'tolaria'));
  ingest.ingest(share(0.9, now + 5_000));
  t.like(
    events.at(-1),
    { kind: 'fired', rule: 'training_latency_high', source: 'tolaria' },
    'the real run of breaches went on: the third fires',
  );
});

test('drills are built from the rules: other comparators, time windows and burn-rate windows fire and clear too', async (t) => {
  const rules: AlertRule[] = [
    {
      name: 'accuracy_low',
      metric: 'tolaria.validation.accuracy',
      threshold: 0.5,
      resolveThreshold: 0.7,
      comparator: '<',
      forCount: 2,
      forMs: 30_000,
      routes: ['log'],
    },
    { name: 'lr_tiny', metric: 'tolaria.training.learning_rate', threshold: 0, comparator: '<=', routes: ['log'] },
    {
      kind: 'slo_burn_rate',
      name: 'hook_burn',
      slo: 'epoch_hook_latency',
      objective: 0.99,
      windows: [{ name: 'page', longMs: 3_600_000, shortMs: 300_000, factor: 14.4, minEvents: 12 }],
      routes: ['log'],
    },
  ];
  const { ingest, engine, events } = nissa(rules);
  const results = await runDrills(
    engine.rules,
    (packet) => ingest.ingest(packet),
    () => events,
    { timeoutMs: 0, run: 'r2' },
  );
  t.deepEqual(
    results.map((r) => [r.rule, r.triggered !== null, r.cleared !== null]),
    [
      ['accuracy_low', true, true],
      ['lr_tiny', true, true],
      ['hook_burn', true, true],
    ],
  );
  t.is(results[0]?.triggered?.value, -0.5, 'a "<" breach lies a step below the threshold');
  t.is(
    results[2]?.triggered?.source,
    'drill.slo.r2/epoch_hook_latency',
    "a rule for one SLO is drilled on that SLO's key",
  );
  const accuracy = drillFor(engine.rules[0]!, 'r2', 1_000_000);
  t.deepEqual(
    accuracy.samples.map((s) => s.at),
    [970_000, 1_000_000, 1_000_001],
    'the breaches span forMs',
  );
});

const root = fileURLToPath(new URL('..', import.meta.url));

test('`esper drills` drills the configured rules standalone and exits 0 when each fired and cleared', async (t) => {
  const cwd = freshDir();
  const defaults = await esper(['drills'], cwd);
  t.is(defaults.code, 0, defaults.stderr);
  t.regex(
    defaults.stdout,
    /Drill slo_burn_rate_high: triggered=true cleared=true\n {2}routes=log,webhook,inspector value=20 window=fast \(5m\/1m\)/,
  );
  t.regex(defaults.stdout, /esper drills: 5\/5 alerts triggered and cleared \(standalone\)/);
  const file = join(cwd, 'alerts.ts');
  writeFileSync(
    file,
    `import quick from ${JSON.stringify(join(root, 'experiments', 'quick.ts'))};\n` +
      `export default { ...quick, alerts: [{ name: 'loss_high', metric: 'tolaria.training.loss', threshold: 5, resolveThreshold: 1, comparator: '>', forCount: 2, routes: ['log'] }] };\n`,
  );
  const custom = await esper(['drills', file], cwd);
  t.is(custom.code, 0, custom.stderr);
  t.regex(custom.stdout, /^Drill loss_high: triggered=true cleared=true$/m);
  t.regex(custom.stdout, /esper drills: 1\/1 alerts triggered and cleared/);
});
