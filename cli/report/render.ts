// The run report: one self-contained HTML page (inline CSS and SVG, no script, nothing fetched) drawn from a run
// record: header, summary, loss and accuracy curves, parameters over epochs, the seed timeline per slot, every
// decision with its outcome, the alerts, and budgets against actuals. Pure: records in, HTML out.
import {
  alerts,
  decisions,
  ending,
  epochs,
  starts,
  summarizeRun,
  type DecisionRecord,
  type EpochRecord,
  type RunRecordLine,
  type RunSummary,
  type StartRecord,
} from '../run-record/index.ts';
import { formatGrowth, formatPolicies, formatSeedFates, pct } from '../training-progress.ts';
import { CHART_STYLE, esc, lineChart, type Series } from '../../charts/index.ts';
import { count, fixed, table, type Cell } from './html.ts';
import { seedTimeline, type SeedHints } from './seed-timeline.ts';

const COLORS = { train: '#1f77b4', validation: '#ff7f0e', test: '#2ca02c', host: '#7f7f7f', total: '#9467bd' };

const STYLE = `
  body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
  .muted { color: #777; } .status { font-weight: 600; } .status.completed { color: #2a7d2a; } .status.halted, .status.stopped, .status.incomplete { color: #b03030; }
  dl.summary { display: grid; grid-template-columns: max-content auto; gap: .2rem 1.2rem; } dl.summary dt { color: #555; } dl.summary dd { margin: 0; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(30rem, 1fr)); gap: 1rem; }
  ${CHART_STYLE}
  .stage-legend { margin-top: .3rem; } .key { margin-right: .8rem; white-space: nowrap; }
  .swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .25rem; vertical-align: -1px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; } th, td { border-bottom: 1px solid #eee; padding: .25rem .5rem; text-align: left; }
  th { background: #f6f6f6; position: sticky; top: 0; } .num { font-variant-numeric: tabular-nums; }
  .outcome { padding: 0 .35rem; border-radius: .25rem; } .outcome.success { background: #d8f0d8; } .outcome.regression, .outcome.aborted, .over { background: #f6d5d5; }
  .outcome.pending { background: #eee; } .within { background: #d8f0d8; }
`;

export function renderReport(records: readonly RunRecordLine[]): string {
  const sessions = starts(records);
  const first = sessions[0] ?? null;
  const latest = sessions[sessions.length - 1] ?? null;
  const list = epochs(records);
  const decided = decisions(records);
  const summary = summarizeRun(records);
  const runId = first?.runId ?? list[0]?.runId ?? 'unknown run';
  const body = [
    header(runId, first, sessions.length, status(records)),
    section('Summary', summaryList(summary)),
    section('Training', `<div class="charts">${curves(list, summary).join('\n')}</div>`),
    section('Seeds', seedTimeline(list, hints(decided))),
    section(`Decisions (${decided.length})`, decisionTable(decided)),
    section('Alerts', alertTable(records)),
    section(
      'Budgets and actuals',
      latest
        ? budgetTable(latest, list, decided, summary)
        : '<p class="muted">no start line: the budgets are unknown</p>',
    ),
  ];
  return page(`Esper run ${runId}`, body);
}

/** One self-contained HTML document (inline CSS, no script) around a report's sections; `title` is text. */
export function page(title: string, body: readonly string[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

export const section = (title: string, html: string): string => `<section><h2>${esc(title)}</h2>\n${html}\n</section>`;

function status(records: readonly RunRecordLine[]): { kind: string; text: string } {
  const end = ending(records);
  if (!end)
    return { kind: 'incomplete', text: 'incomplete: no end recorded (still running, or the process was killed)' };
  if (!end.result) return { kind: 'stopped', text: `stopped: ${end.why}` };
  return end.result.status === 'completed'
    ? { kind: 'completed', text: 'completed' }
    : { kind: 'halted', text: `halted: ${end.result.reason ?? 'unknown reason'}` };
}

function header(
  runId: string,
  start: StartRecord | null,
  sessions: number,
  state: { kind: string; text: string },
): string {
  const facts = start
    ? [
        `experiment ${start.experiment}`,
        `data ${start.dataset}`,
        `host ${start.host}`,
        `random seed ${start.rngSeed}`,
        `started ${start.at}`,
        ...(sessions > 1 ? [`${sessions} sessions (resumed)`] : []),
      ]
    : ['no start line recorded'];
  return `<header><h1>Esper run ${esc(runId)}</h1><p class="status ${esc(state.kind)}">${esc(state.text)}</p><p class="muted">${facts.map(esc).join(' · ')}</p></header>`;
}

function summaryList(s: RunSummary): string {
  const rows: Array<[string, string]> = [
    ['test accuracy', pct(s.testAccuracy)],
    ['parameters', formatGrowth(s)],
    ['seeds', formatSeedFates(s)],
    ['epochs', String(s.epochs)],
    ['time', `${s.seconds.toFixed(1)} s`],
    ...(s.policies.length > 0 || s.policyLearning ? [['decided by', formatPolicies(s)] as [string, string]] : []),
  ];
  return `<dl class="summary">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
}

/** [epoch (1-based), value] for the epochs that have a value. */
function points(list: readonly EpochRecord[], value: (e: EpochRecord) => number | null): Array<[number, number]> {
  return list.flatMap((e) => {
    const v = value(e);
    return v === null || !Number.isFinite(v) ? [] : [[e.epoch + 1, v] as [number, number]];
  });
}

function curves(list: readonly EpochRecord[], summary: RunSummary): string[] {
  const series = (name: string, color: string, value: (e: EpochRecord) => number | null): Series => ({
    name,
    color,
    points: points(list, value),
  });
  const percent = (v: number | null): number | null => (v === null ? null : v * 100);
  return [
    lineChart({
      title: 'Loss',
      xLabel: 'epoch',
      yLabel: 'loss',
      series: [
        series('train', COLORS.train, (e) => e.trainLoss),
        series('validation', COLORS.validation, (e) => e.validationLoss),
      ],
    }),
    lineChart({
      title: 'Accuracy',
      xLabel: 'epoch',
      yLabel: 'accuracy (%)',
      series: [
        series('train', COLORS.train, (e) => percent(e.trainAccuracy)),
        series('validation', COLORS.validation, (e) => percent(e.validationAccuracy)),
      ],
      marks:
        summary.testAccuracy === null
          ? []
          : [{ label: `test ${pct(summary.testAccuracy)}`, y: summary.testAccuracy * 100, color: COLORS.test }],
      formatY: (y) => `${y}%`,
    }),
    lineChart({
      title: 'Trainable parameters',
      xLabel: 'epoch',
      yLabel: 'parameters',
      series: [
        series('host', COLORS.host, (e) => e.parameters.host),
        series('host + seeds', COLORS.total, (e) => e.parameters.host + e.parameters.seeds),
      ],
      formatY: count,
    }),
  ];
}

/** Where each germinated seed was put and with which blueprint, from the decisions. */
function hints(decided: readonly DecisionRecord[]): SeedHints {
  return new Map(
    decided
      .filter((d) => d.action === 'germinate' && d.seedId)
      .map((d) => [d.seedId, { slot: d.slot, blueprint: d.blueprintId }]),
  );
}

/** A number cell (tabular figures). */
export const num = (text: string): Cell => ({ html: `<span class="num">${esc(text)}</span>` });
/** A validation loss of 0 means none was measured at that boundary. */
const loss = (value: number | undefined): string => (value ? value.toFixed(4) : '—');

function decisionTable(decided: readonly DecisionRecord[]): string {
  const rows = decided.map((d): Cell[] => {
    const m = d.metrics;
    const observed = d.outcome !== 'pending';
    return [
      String(d.epoch + 1),
      d.action,
      d.seedId || '—',
      d.blueprintId || '—',
      d.slot || '—',
      { html: `<span class="outcome ${esc(d.outcome)}">${esc(d.outcome)}</span>` },
      num(observed ? fixed(m.loss_delta, 4) : '—'),
      `${loss(m['decision.validation_loss'])} → ${observed ? loss(m['observed.validation_loss']) : '…'}`,
      num(fixed(m['decision.inference_ms'], 1)),
      d.decidedBy || '—',
      d.notes,
    ];
  });
  return table(
    [
      'epoch',
      'action',
      'seed',
      'blueprint',
      'slot',
      'outcome',
      'loss Δ',
      'val loss (at → after)',
      'inference ms',
      'decided by',
      'notes',
    ],
    rows,
    'no decisions recorded',
    'decision',
  );
}

function alertTable(records: readonly RunRecordLine[]): string {
  const rows = alerts(records).map((a): Cell[] => [
    a.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    a.kind,
    a.rule,
    a.source,
    a.metric,
    num(fixed(a.value, 2)),
    num(String(a.threshold)),
  ]);
  return table(['when', 'kind', 'rule', 'source', 'metric', 'value', 'threshold'], rows, 'no alert fired', 'alert');
}

/** The 95th percentile (nearest rank). */
function p95(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.95) - 1)]!;
}

function budgetTable(
  start: StartRecord,
  list: readonly EpochRecord[],
  decided: readonly DecisionRecord[],
  summary: RunSummary,
): string {
  const b = start.budgets;
  const verdict = (ok: boolean): Cell => ({
    html: ok ? '<span class="within">within</span>' : '<span class="over">over</span>',
  });
  const spread = (values: readonly number[]): string =>
    values.length === 0
      ? 'not measured'
      : `max ${Math.max(...values).toFixed(1)}, p95 ${p95(values).toFixed(1)} (${values.length})`;
  const hook = list.map((e) => e.hookMs);
  const inference = decided.flatMap((d) =>
    d.metrics['decision.inference_ms'] === undefined ? [] : [d.metrics['decision.inference_ms']],
  );
  const late = list.filter((e) => e.decision === 'tamiyo_timeout').length;
  let streak = 0;
  let longest = 0;
  for (const e of list) {
    streak = e.failedReason ? streak + 1 : 0;
    longest = Math.max(longest, streak);
  }
  const failed = list.filter((e) => e.failedReason).length;
  const rows: Cell[][] = [
    [
      'epochs',
      String(b.epochs),
      `${summary.epochs} run`,
      { html: summary.epochs >= b.epochs ? '<span class="within">all run</span>' : '<span class="over">short</span>' },
    ],
    ['end-of-epoch hook (ms)', String(b.hookBudgetMs), spread(hook), verdict(hook.every((ms) => ms <= b.hookBudgetMs))],
    [
      'Tamiyo inference (ms)',
      String(b.inferenceTimeoutMs),
      spread(inference),
      verdict(inference.every((ms) => ms <= b.inferenceTimeoutMs)),
    ],
    [
      "Tolaria's deadline for Tamiyo (ms)",
      String(b.tamiyoDeadlineMs),
      `${late} epoch${late === 1 ? '' : 's'} without an answer in time`,
      verdict(late === 0),
    ],
    [
      'failed epochs in a row (halts at)',
      String(b.haltAfterFailedEpochs),
      `longest ${longest}, ${failed} in all`,
      verdict(longest < b.haltAfterFailedEpochs),
    ],
    ['wall time (s)', '—', summary.seconds.toFixed(1), ''],
  ];
  return table(['budget', 'allowed', 'actual', ''], rows, 'no budgets recorded');
}
