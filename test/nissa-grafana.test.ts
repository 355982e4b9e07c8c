// The Grafana files: generated from the alert rules (the checked-in files are what `npx tsx actors/nissa/grafana.ts`
// writes), valid JSON, querying only series Nissa exports, and carrying every default rule — as panels with their
// levels and burn-rate windows, and as Grafana alert rules.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { DEFAULT_ALERT_RULES, errorBudget, isBurnRateRule, resolveRule } from '../actors/nissa/alert-rules.ts';
import {
  ALERT_RULES_FILE,
  DASHBOARD_FILE,
  grafanaAlertRules,
  grafanaDashboard,
  grafanaJson,
} from '../actors/nissa/grafana.ts';
import { seriesName } from '../actors/nissa/prometheus.ts';

interface Panel {
  id: number;
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
  fieldConfig?: { defaults: { thresholds?: { steps: Array<{ color: string; value: number | null }> } } };
}
interface Dashboard {
  uid: string;
  panels: Panel[];
}
interface GrafanaRule {
  uid: string;
  title: string;
  condition: string;
  for: string;
  data: Array<{
    refId: string;
    datasourceUid: string;
    model: {
      expr?: string;
      type?: string;
      conditions?: Array<{
        evaluator: { type: string; params: number[] };
        unloadEvaluator?: { type: string; params: number[] };
      }>;
    };
  }>;
}
interface Provisioning {
  apiVersion: number;
  groups: Array<{ orgId: number; name: string; folder: string; interval: string; rules: GrafanaRule[] }>;
}

const dashboardText = readFileSync(DASHBOARD_FILE, 'utf8');
const rulesText = readFileSync(ALERT_RULES_FILE, 'utf8');
const dashboard = JSON.parse(dashboardText) as Dashboard;
const provisioning = JSON.parse(rulesText) as Provisioning;
const defaults = DEFAULT_ALERT_RULES.map(resolveRule);

test('the checked-in files are what the generator writes from the default rules', (t) => {
  t.is(dashboardText, grafanaJson(grafanaDashboard()), 'regenerate: npx tsx actors/nissa/grafana.ts');
  t.is(rulesText, grafanaJson(grafanaAlertRules()), 'regenerate: npx tsx actors/nissa/grafana.ts');
});

test('the dashboard queries only series Nissa exports', (t) => {
  // Telemetry metrics the subsystems emit (each becomes esper_<name with _>), and Nissa's own series.
  const emitted = [
    'tolaria.training.loss',
    'tolaria.validation.loss',
    'tolaria.training.accuracy',
    'tolaria.validation.accuracy',
    'tolaria.epoch_hook.latency_ms',
    'tolaria.epoch_hook.budget_share',
    'slo.epoch_hook_latency_objective',
    'tamiyo.decision.latency_ms',
    'slo.tamiyo_decision_latency_objective',
    'kasmina.seed.alpha',
    'kasmina.seed.stage',
    'kasmina.isolation.violations',
    'oona.queue.depth',
    'oona.publish_breaker_state',
    'oona.consume_breaker_state',
    'tolaria.breaker.state',
    'oona.publish_latency_ms_p95',
    'oona.delivery_latency_ms_p95',
    'weatherlight.restarts_total',
    'tezzeret.compile.retry_count',
  ].map(seriesName);
  const native = [
    'esper_nissa_alerts_active',
    'esper_nissa_alert_events_total',
    'esper_telemetry_packets_total',
    'esper_field_reports_total',
    'esper_nissa_slo_events_total',
    'esper_nissa_slo_violations_total',
  ];
  t.is(dashboard.uid, 'esper-overview');
  const queried = dashboard.panels.filter((p) => p.type !== 'row');
  t.true(queried.length >= 20);
  for (const panel of queried) {
    t.true((panel.targets ?? []).length > 0, panel.title);
    for (const { expr } of panel.targets ?? []) {
      const series = expr.match(/esper_[a-z0-9_]+/g) ?? [];
      t.true(series.length > 0, `${panel.title}: ${expr}`);
      for (const name of series)
        t.true(emitted.includes(name) || native.includes(name), `${panel.title}: ${name} is not exported`);
    }
  }
  t.is(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length, 'panel ids are unique');
});

test('the dashboard shows each threshold rule at its levels and each burn-rate window pair against its factor', (t) => {
  for (const rule of defaults) {
    if (isBurnRateRule(rule)) {
      for (const pair of rule.windows) {
        const panel = dashboard.panels.find((p) => p.title.startsWith(`${rule.name}: ${pair.name} pair`));
        t.truthy(panel, `${rule.name} ${pair.name}`);
        t.is(panel?.targets?.length, 2, 'the long and the short window');
        t.deepEqual(
          panel?.fieldConfig?.defaults.thresholds?.steps.map((s) => s.value),
          [null, pair.factor],
        );
      }
      continue;
    }
    const panel = dashboard.panels.find((p) => p.title.startsWith(`${rule.name}:`));
    t.is(panel?.targets?.[0]?.expr, seriesName(rule.metric), rule.name);
    const levels = panel?.fieldConfig?.defaults.thresholds?.steps.map((s) => s.value) ?? [];
    t.true(
      levels.includes(rule.threshold) && levels.includes(rule.resolveThreshold),
      `${rule.name}: both levels drawn`,
    );
  }
});

test('every default rule is a Grafana alert rule with its threshold, recovery level, for, and burn-rate windows', (t) => {
  t.is(provisioning.apiVersion, 1);
  const [group] = provisioning.groups;
  t.like(group, { orgId: 1, name: 'esper', folder: 'Esper' });
  t.deepEqual(
    group?.rules.map((r) => r.title),
    defaults.map((r) => r.name),
  );
  for (const rule of defaults) {
    const grafana = group?.rules.find((r) => r.title === rule.name);
    const [query, condition] = grafana?.data ?? [];
    t.is(grafana?.condition, condition?.refId);
    t.is(query?.datasourceUid, 'Prometheus');
    t.is(condition?.model.type, 'threshold');
    if (isBurnRateRule(rule)) {
      const expr = query?.model.expr ?? '';
      for (const pair of rule.windows) {
        for (const ms of [pair.longMs, pair.shortMs])
          t.true(expr.includes(`[${ms / 60_000}m]`), `${pair.name}: the ${ms / 60_000}m window`);
        t.true(expr.includes(`> ${pair.factor} and`), `${pair.name}: factor ${pair.factor}`);
        t.true(expr.includes(`>= ${pair.minEvents})`), `${pair.name}: the minimum of samples`);
      }
      t.true(expr.includes(`/ ${errorBudget(rule.objective)} >`), `the error budget ${errorBudget(rule.objective)}`);
      continue;
    }
    const [only] = condition?.model.conditions ?? [];
    t.deepEqual(only?.evaluator.params, [rule.threshold], rule.name);
    t.is(query?.model.expr, seriesName(rule.metric));
    if (rule.resolveThreshold !== rule.threshold)
      t.deepEqual(only?.unloadEvaluator?.params, [rule.resolveThreshold], `${rule.name}: the recovery threshold`);
    t.is(grafana?.for, rule.forMs === 0 ? '0s' : `${rule.forMs / 60_000}m`);
  }
});
