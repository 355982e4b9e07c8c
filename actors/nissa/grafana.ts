// The Grafana side of Nissa's series, generated from the alert rules so it cannot fall behind them:
// `grafana/esper-dashboard.json` (the training, seed, bus and supervision panels, then a panel per alert rule — a
// threshold rule's metric with its fire and resolve levels, each window pair of a burn-rate rule with both windows'
// burn rates against the pair's factor) and `grafana/esper-alert-rules.json` (the same rules as Grafana-managed alert
// rules, in Grafana's file-provisioning format, on the Prometheus data source of uid `Prometheus`).
// `npx tsx actors/nissa/grafana.ts` rewrites both; test/nissa-grafana.test.ts checks they are what this writes.
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  DEFAULT_ALERT_RULES,
  errorBudget,
  isBurnRateRule,
  resolveRule,
  type AlertRule,
  type BurnWindow,
  type Comparator,
  type ResolvedBurnRateRule,
  type ResolvedThresholdRule,
} from './alert-rules.ts';
import { seriesName } from './prometheus.ts';

const DATASOURCE = { type: 'prometheus', uid: 'Prometheus' } as const;
const EXPRESSION = { type: '__expr__', uid: '__expr__' } as const;

interface Target {
  refId: string;
  expr: string;
  legendFormat: string;
}

type Panel = Record<string, unknown>;

const target = (refId: string, expr: string, legendFormat: string): Target => ({ refId, expr, legendFormat });

function panel(
  id: number,
  title: string,
  gridPos: { x: number; y: number; w: number; h: number },
  targets: Target[],
  extra: Panel = {},
): Panel {
  return { id, title, type: 'timeseries', datasource: DATASOURCE, gridPos, targets, ...extra };
}

const unit = (name: string): Panel => ({ fieldConfig: { defaults: { unit: name }, overrides: [] } });
const at = (x: number, y: number, w = 12, h = 8) => ({ x, y, w, h });

/** The series panels: training, latencies against their budgets, seeds, alerts, the bus, supervision. */
function seriesPanels(): Panel[] {
  return [
    panel(1, 'Training and validation loss', at(0, 0), [
      target('A', 'esper_tolaria_training_loss', 'train'),
      target('B', 'esper_tolaria_validation_loss', 'validation'),
    ]),
    panel(
      2,
      'Accuracy',
      at(12, 0),
      [
        target('A', 'esper_tolaria_training_accuracy', 'train'),
        target('B', 'esper_tolaria_validation_accuracy', 'validation'),
      ],
      unit('percentunit'),
    ),
    panel(
      3,
      "End-of-epoch hook latency (against the run's hook budget)",
      at(0, 8),
      [
        target('A', 'esper_tolaria_epoch_hook_latency_ms', 'hook'),
        target('B', 'esper_slo_epoch_hook_latency_objective', 'budget'),
      ],
      unit('ms'),
    ),
    panel(
      4,
      'Tamiyo decision latency (against its deadline)',
      at(12, 8),
      [
        target('A', 'esper_tamiyo_decision_latency_ms', 'decision'),
        target('B', 'esper_slo_tamiyo_decision_latency_objective', 'deadline'),
      ],
      unit('ms'),
    ),
    panel(5, 'Seeds: alpha by seed and slot', at(0, 16), [
      target('A', 'esper_kasmina_seed_alpha', '{{seed_id}} @ {{slot}}'),
    ]),
    panel(6, 'Seeds: stage by seed', at(12, 16), [target('A', 'esper_kasmina_seed_stage', '{{seed_id}} @ {{slot}}')]),
    { ...panel(7, 'Active alerts', at(0, 24, 6), [target('A', 'esper_nissa_alerts_active', 'active')]), type: 'stat' },
    panel(8, 'Alert events (fired / resolved)', at(6, 24, 18), [
      target('A', 'sum by (rule, kind) (increase(esper_nissa_alert_events_total[5m]))', '{{rule}} {{kind}}'),
    ]),
    panel(9, 'Bus backlog (deepest stream)', at(0, 32), [target('A', 'esper_oona_queue_depth', '{{source}}')]),
    panel(10, 'Breakers (1 closed, 2 open, 3 half-open)', at(12, 32), [
      target('A', 'esper_oona_publish_breaker_state', 'oona publish {{source}}'),
      target('B', 'esper_oona_consume_breaker_state', 'oona consume {{source}}'),
      target('C', 'esper_tolaria_breaker_state', 'tolaria'),
    ]),
    panel(
      11,
      'Bus publish and delivery latency p95',
      at(0, 40),
      [
        target('A', 'esper_oona_publish_latency_ms_p95', 'publish {{source}}'),
        target('B', 'esper_oona_delivery_latency_ms_p95', 'delivery {{source}}'),
      ],
      unit('ms'),
    ),
    panel(12, 'Telemetry packet rate by source', at(12, 40), [
      target('A', 'sum by (source) (rate(esper_telemetry_packets_total[1m]))', '{{source}}'),
    ]),
    panel(13, 'Field reports by outcome', at(0, 48), [
      target('A', 'sum by (outcome) (rate(esper_field_reports_total[5m]))', '{{outcome}}'),
    ]),
    panel(14, 'Supervision: restarts', at(12, 48), [target('A', 'esper_weatherlight_restarts_total', '{{source}}')]),
  ];
}

/** `300000` → `5m` (PromQL and Grafana durations). */
export const duration = (ms: number): string =>
  ms === 0
    ? '0s'
    : ms % 3_600_000 === 0
      ? `${ms / 3_600_000}h`
      : ms % 60_000 === 0
        ? `${ms / 60_000}m`
        : `${Math.ceil(ms / 1000)}s`;

const selector = (rule: ResolvedBurnRateRule): string => (rule.slo ? `{slo=${JSON.stringify(rule.slo)}}` : '');
const slosIn = (counter: string, rule: ResolvedBurnRateRule, windowMs: number): string =>
  `sum by (source, slo) (increase(${counter}${selector(rule)}[${duration(windowMs)}]))`;

/** The events of an SLO over a window, in PromQL. */
export const windowEvents = (rule: ResolvedBurnRateRule, windowMs: number): string =>
  slosIn('esper_nissa_slo_events_total', rule, windowMs);

/** The burn rate of an SLO over a window, in PromQL: the violation share over the error budget. */
export const windowBurnRate = (rule: ResolvedBurnRateRule, windowMs: number): string =>
  `(${slosIn('esper_nissa_slo_violations_total', rule, windowMs)} / ${windowEvents(rule, windowMs)}) / ${errorBudget(rule.objective)}`;

/** A window pair's condition in PromQL: both windows over the factor, each with at least `minEvents` samples. */
export function pairCondition(rule: ResolvedBurnRateRule, pair: BurnWindow): string {
  const window = (ms: number): string =>
    `(${windowBurnRate(rule, ms)} > ${pair.factor} and ${windowEvents(rule, ms)} >= ${pair.minEvents})`;
  return `${window(pair.longMs)} and ${window(pair.shortMs)}`;
}

const SYMBOL: Record<Comparator, string> = { '>': '>', '>=': '≥', '<': '<', '<=': '≤' };
/** The comparator that holds while an alert has not resolved: the negation of "back past the resolve level". */
const RESOLVED: Record<Comparator, Comparator> = { '>': '<=', '>=': '<', '<': '>=', '<=': '>' };
const GRAFANA: Record<Comparator, string> = { '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte' };

function fireWhen(rule: ResolvedThresholdRule): string {
  const held = [
    rule.forCount > 1 ? `${rule.forCount} samples in a row` : '',
    rule.forMs > 0 ? `${duration(rule.forMs)}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
  return `${SYMBOL[rule.comparator]} ${rule.threshold}${held ? ` for ${held}` : ''}`;
}

const resolveWhen = (rule: ResolvedThresholdRule): string =>
  `${SYMBOL[RESOLVED[rule.comparator]]} ${rule.resolveThreshold}`;

function thresholdPanel(rule: ResolvedThresholdRule, id: number, gridPos: ReturnType<typeof at>): Panel {
  const above = rule.comparator === '>' || rule.comparator === '>=';
  const levels =
    rule.resolveThreshold === rule.threshold
      ? [
          { color: above ? 'green' : 'red', value: null },
          { color: above ? 'red' : 'green', value: rule.threshold },
        ]
      : above
        ? [
            { color: 'green', value: null },
            { color: 'orange', value: rule.resolveThreshold },
            { color: 'red', value: rule.threshold },
          ]
        : [
            { color: 'red', value: null },
            { color: 'orange', value: rule.threshold },
            { color: 'green', value: rule.resolveThreshold },
          ];
  return panel(
    id,
    `${rule.name}: fires ${fireWhen(rule)}, resolves ${resolveWhen(rule)}`,
    gridPos,
    [target('A', seriesName(rule.metric), '{{source}}')],
    {
      description: `${rule.description ?? rule.name}. Metric ${rule.metric}; the lines are the fire level (red) and the resolve level (orange).`,
      fieldConfig: {
        defaults: { thresholds: { mode: 'absolute', steps: levels }, custom: { thresholdsStyle: { mode: 'line' } } },
        overrides: [],
      },
    },
  );
}

function burnPanel(rule: ResolvedBurnRateRule, pair: BurnWindow, id: number, gridPos: ReturnType<typeof at>): Panel {
  const title = `${rule.name}: ${pair.name} pair, burn rate over ${duration(pair.longMs)} and ${duration(pair.shortMs)} (fires when both exceed ${pair.factor} with ${pair.minEvents}+ samples each)`;
  return panel(
    id,
    title,
    gridPos,
    [
      target('A', windowBurnRate(rule, pair.longMs), `{{source}}/{{slo}} ${duration(pair.longMs)}`),
      target('B', windowBurnRate(rule, pair.shortMs), `{{source}}/{{slo}} ${duration(pair.shortMs)}`),
    ],
    {
      description: `${rule.description ?? rule.name}. Objective ${rule.objective} (error budget ${errorBudget(rule.objective)}) for ${rule.slo ? `SLO ${rule.slo}` : 'every SLO'}; a burn rate of 1 spends the budget exactly at the objective's rate.`,
      fieldConfig: {
        defaults: {
          thresholds: {
            mode: 'absolute',
            steps: [
              { color: 'green', value: null },
              { color: 'red', value: pair.factor },
            ],
          },
          custom: { thresholdsStyle: { mode: 'line' } },
        },
        overrides: [],
      },
    },
  );
}

/** The dashboard: the series panels, then a row of a panel per threshold rule and per burn-rate window pair. */
export function grafanaDashboard(rules: readonly AlertRule[] = DEFAULT_ALERT_RULES): Panel {
  const panels = seriesPanels();
  let y = 56;
  panels.push({
    id: 15,
    title: 'Alert rules and SLO burn rates',
    type: 'row',
    collapsed: false,
    gridPos: at(0, y, 24, 1),
    panels: [],
  });
  y += 1;
  const cells: Array<(id: number, gridPos: ReturnType<typeof at>) => Panel> = rules
    .map(resolveRule)
    .flatMap((rule) =>
      isBurnRateRule(rule)
        ? rule.windows.map((pair) => (id: number, gridPos: ReturnType<typeof at>) => burnPanel(rule, pair, id, gridPos))
        : [(id: number, gridPos: ReturnType<typeof at>) => thresholdPanel(rule, id, gridPos)],
    );
  cells.forEach((cell, i) => panels.push(cell(16 + i, at((i % 2) * 12, y + Math.floor(i / 2) * 8))));
  return {
    uid: 'esper-overview',
    title: 'Esper — training, seeds, bus, alerts',
    tags: ['esper'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '5s',
    time: { from: 'now-30m', to: 'now' },
    panels,
  };
}

const query = (expr: string, fromSeconds: number) => ({
  refId: 'A',
  relativeTimeRange: { from: fromSeconds, to: 0 },
  datasourceUid: DATASOURCE.uid,
  model: { refId: 'A', datasource: DATASOURCE, expr, instant: true },
});

const threshold = (
  evaluator: { type: string; params: number[] },
  unloadEvaluator?: { type: string; params: number[] },
) => ({
  refId: 'B',
  relativeTimeRange: { from: 0, to: 0 },
  datasourceUid: EXPRESSION.uid,
  model: {
    refId: 'B',
    datasource: EXPRESSION,
    type: 'threshold',
    expression: 'A',
    conditions: [{ evaluator, ...(unloadEvaluator ? { unloadEvaluator } : {}) }],
  },
});

/**
 * The rules as Grafana-managed alert rules. A threshold rule: its metric against the threshold, with the resolve
 * level as Grafana's recovery threshold and `forMs` as `for` (Grafana counts evaluations, not samples, so `forCount`
 * is stated in the annotations). A burn-rate rule: its window pairs in PromQL over Nissa's SLO counters, any pair
 * firing. Nissa's own engine, which sees every sample, stays the reference; these follow the scraped series.
 */
export function grafanaAlertRules(rules: readonly AlertRule[] = DEFAULT_ALERT_RULES): Panel {
  return {
    apiVersion: 1,
    groups: [
      {
        orgId: 1,
        name: 'esper',
        folder: 'Esper',
        interval: '30s',
        rules: rules.map(resolveRule).map((rule) => {
          const common = {
            uid: `esper-${rule.name.replace(/_/g, '-')}`,
            title: rule.name,
            condition: 'B',
            noDataState: 'OK',
            execErrState: 'Error',
            isPaused: false,
          };
          if (isBurnRateRule(rule)) {
            const longest = Math.max(...rule.windows.map((w) => w.longMs));
            return {
              ...common,
              data: [
                query(rule.windows.map((pair) => `(${pairCondition(rule, pair)})`).join(' or '), longest / 1000),
                threshold({ type: 'gt', params: [0] }),
              ],
              for: '0s',
              annotations: {
                summary: rule.description ?? rule.name,
                description: `Objective ${rule.objective} (error budget ${errorBudget(rule.objective)}); ${rule.windows.map((w) => `${w.name}: ${duration(w.longMs)} and ${duration(w.shortMs)} over ${w.factor}, at least ${w.minEvents} samples in each`).join('; ')}.`,
              },
              labels: { esper_rule: rule.name, slo: rule.slo ?? 'any' },
            };
          }
          const unload =
            rule.resolveThreshold === rule.threshold
              ? undefined
              : { type: GRAFANA[RESOLVED[rule.comparator]], params: [rule.resolveThreshold] };
          return {
            ...common,
            data: [
              query(seriesName(rule.metric), 600),
              threshold({ type: GRAFANA[rule.comparator], params: [rule.threshold] }, unload),
            ],
            for: duration(rule.forMs),
            annotations: {
              summary: rule.description ?? rule.name,
              description: `${rule.metric}: fires ${fireWhen(rule)}, resolves ${resolveWhen(rule)}.${rule.forCount > 1 ? ` Nissa counts ${rule.forCount} consecutive samples; Grafana sees the scraped value and fires on it.` : ''}`,
            },
            labels: { esper_rule: rule.name },
          };
        }),
      },
    ],
  };
}

export const DASHBOARD_FILE = new URL('./grafana/esper-dashboard.json', import.meta.url);
export const ALERT_RULES_FILE = new URL('./grafana/esper-alert-rules.json', import.meta.url);

/** The files' text: two-space JSON and a final newline. */
export const grafanaJson = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(DASHBOARD_FILE, grafanaJson(grafanaDashboard()));
  writeFileSync(ALERT_RULES_FILE, grafanaJson(grafanaAlertRules()));
}
