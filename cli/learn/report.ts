// The report of a learning run (`esper learn`): one self-contained HTML page (inline CSS and SVG, no script, nothing
// fetched) drawn from its record, in the run report's look: the header, the learning curve against the baselines,
// the action mix, the parameters added, PPO's figures per round and the held-out evaluation. Pure: records in, HTML
// out; `writeLearnReport` reads the record and writes the page.
import type { RoundFigures } from '../../actors/simic/index.ts';
import { esc, lineChart, type Mark, type Series } from '../../charts/index.ts';
import { count, fixed, table, type Cell } from '../report/html.ts';
import { num, page, section } from '../report/render.ts';
import { writeReportOf } from '../report/write.ts';
import { pct } from '../training-progress.ts';
import {
  LEARN_RECORD_FILE,
  readLearnRecord,
  type LearnBaselineRecord,
  type LearnFinishedRecord,
  type LearnHeldOutRecord,
  type LearnRecordLine,
  type LearnRoundRecord,
  type LearnStartRecord,
} from './record.ts';

type BaselinePolicy = LearnBaselineRecord['policy'];
type HeldOutPolicy = LearnHeldOutRecord['policy'];

const BASELINES: readonly BaselinePolicy[] = ['heuristic', 'random'];
const HELD_OUT_POLICIES: readonly HeldOutPolicy[] = ['learned', 'heuristic', 'random', 'none'];
const COLORS: Readonly<Record<BaselinePolicy | 'learned', string>> = {
  learned: '#1f77b4',
  heuristic: '#ff7f0e',
  random: '#7f7f7f',
};
const ACTION_COLORS = ['#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

const muted = (text: string): string => `<p class="muted">${esc(text)}</p>`;
/** Accuracy figures are recorded in % already (shares are fractions: `pct`). */
const points = (value: number): string => `${value.toFixed(2)}%`;
const mean = (values: readonly number[]): number | null =>
  values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;

/** The record read into what the page shows: a resumed learn repeats lines, and the last of each wins. */
interface LearnView {
  start: LearnStartRecord | null;
  latest: LearnStartRecord | null;
  baselines: ReadonlyMap<BaselinePolicy, LearnBaselineRecord>;
  rounds: readonly LearnRoundRecord[];
  heldOut: readonly LearnHeldOutRecord[];
  finished: LearnFinishedRecord | null;
}

function view(lines: readonly LearnRecordLine[]): LearnView {
  const starts = lines.filter((l): l is LearnStartRecord => l.event === 'start');
  const finished = lines.filter((l): l is LearnFinishedRecord => l.event === 'finished');
  const baselines = new Map(
    lines.filter((l): l is LearnBaselineRecord => l.event === 'baseline').map((l) => [l.policy, l]),
  );
  const rounds = new Map(lines.filter((l): l is LearnRoundRecord => l.event === 'round').map((l) => [l.round, l]));
  const heldOut = new Map(
    lines
      .filter((l): l is LearnHeldOutRecord => l.event === 'heldout')
      .map((l) => [`${l.policy}\u0000${l.task}\u0000${l.rngSeed}`, l]),
  );
  return {
    start: starts[0] ?? null,
    latest: starts[starts.length - 1] ?? null,
    baselines,
    rounds: [...rounds.values()].sort((a, b) => a.round - b.round),
    heldOut: [...heldOut.values()],
    finished: finished[finished.length - 1] ?? null,
  };
}

export function renderLearnReport(lines: readonly LearnRecordLine[]): string {
  const v = view(lines);
  const learnId = v.start?.learnId ?? 'unknown learn';
  return page(`Esper learn ${learnId}`, [
    header(learnId, v),
    section('Learning curve', learningCurve(v)),
    section('Action mix', actionMix(v.rounds)),
    section('Parameters added', parametersAdded(v)),
    section('PPO', ppoTable(v.rounds)),
    section('Held-out tasks', heldOutSection(v.heldOut)),
  ]);
}

// ── header ──────────────────────────────────────────────────────────────────────────────────────────────────────

function status(finished: LearnFinishedRecord | null): { kind: string; text: string } {
  if (!finished)
    return { kind: 'incomplete', text: 'not finished: no end recorded (still learning, or the process was killed)' };
  if (finished.code === 0) return { kind: 'completed', text: `finished: ${finished.why}` };
  return { kind: 'stopped', text: `stopped (exit ${finished.code}): ${finished.why}` };
}

function totalTime(v: LearnView): string {
  if (v.finished) return `${v.finished.seconds.toFixed(1)} s`;
  const rounds = v.rounds.reduce((sum, r) => sum + r.seconds, 0);
  return `${rounds.toFixed(1)} s in rounds so far`;
}

function facts(start: LearnStartRecord, latest: LearnStartRecord, v: LearnView): Array<[string, string]> {
  const done = v.finished?.rounds ?? v.rounds.length;
  const resumed = latest.resumedAfter === undefined ? '' : ` (resumed after round ${latest.resumedAfter})`;
  return [
    ['curriculum', `${start.curriculum.name} (${start.curriculum.file})`],
    ['random seed', String(start.rngSeed)],
    ['rounds', `${done} of ${latest.rounds} done${resumed}`],
    ['envs', String(latest.envs)],
    ['episodes per round', String(latest.episodesPerRound)],
    ['training tasks', start.tasks.join(', ') || 'none'],
    ['held-out tasks', start.heldOut.join(', ') || 'none'],
    ['blueprints on offer', start.blueprints.join(', ') || 'none'],
    ['reward prices', `rent ${start.prices.rent}, cull cost ${start.prices.cullCost}`],
    ['temperature', String(latest.temperature)],
    ['started', start.at],
    ['time', totalTime(v)],
  ];
}

function header(learnId: string, v: LearnView): string {
  const state = status(v.finished);
  const list =
    v.start && v.latest
      ? `<dl class="summary">${facts(v.start, v.latest, v)
          .map(([k, value]) => `<dt>${esc(k)}</dt><dd>${esc(value)}</dd>`)
          .join('')}</dl>`
      : muted('no start line recorded: the learn’s settings are unknown');
  return `<header><h1>Esper learn ${esc(learnId)}</h1><p class="status ${esc(state.kind)}">${esc(state.text)}</p>\n${list}</header>`;
}

// ── charts ──────────────────────────────────────────────────────────────────────────────────────────────────────

type Figure = (f: RoundFigures) => number;

/** [round, value] per round with a finite value. */
const roundPoints = (rounds: readonly LearnRoundRecord[], value: Figure): Array<[number, number]> =>
  rounds.flatMap((r) => {
    const y = value(r.figures);
    return Number.isFinite(y) ? [[r.round, y] as [number, number]] : [];
  });

/** The baselines' levels as dashed lines across the chart, each labelled with its policy and level. */
const baselineMarks = (v: LearnView, value: Figure, format: (y: number) => string): Mark[] =>
  BASELINES.flatMap((policy) => {
    const baseline = v.baselines.get(policy);
    const y = baseline ? value(baseline.figures) : NaN;
    return Number.isFinite(y) ? [{ label: `${policy} baseline ${format(y)}`, y, color: COLORS[policy] }] : [];
  });

interface RoundChart {
  title: string;
  yLabel: string;
  value: Figure;
  format: (y: number) => string;
}

function roundChart(v: LearnView, chart: RoundChart): string {
  const series: Series = { name: 'learned policy', color: COLORS.learned, points: roundPoints(v.rounds, chart.value) };
  return lineChart({
    title: chart.title,
    xLabel: 'round',
    yLabel: chart.yLabel,
    series: [series],
    marks: baselineMarks(v, chart.value, chart.format),
    formatY: chart.format,
  });
}

/** The charts of a section, or why there are none; a note when the reference lines are missing. */
function charts(v: LearnView, list: readonly RoundChart[]): string {
  if (v.rounds.length === 0) return muted('no round recorded yet');
  const missing = BASELINES.filter((p) => !v.baselines.has(p));
  const note =
    missing.length === 0
      ? muted('dashed: the heuristic’s and the random policy’s levels on the training tasks, measured before learning')
      : muted(
          `no ${missing.join(' or ')} baseline recorded: ${missing.length === BASELINES.length ? 'no reference lines' : 'that reference line is missing'}`,
        );
  return `<div class="charts">${list.map((c) => roundChart(v, c)).join('\n')}</div>\n${note}`;
}

const learningCurve = (v: LearnView): string =>
  charts(v, [
    {
      title: 'Return (mean objective)',
      yLabel: 'return (accuracy points)',
      value: (f) => f.meanObjective,
      format: (y) => y.toFixed(2),
    },
    {
      title: 'Validation accuracy (mean)',
      yLabel: 'validation accuracy (%)',
      value: (f) => f.meanValidationAccuracy,
      format: points,
    },
  ]);

const parametersAdded = (v: LearnView): string =>
  charts(v, [
    { title: 'Added parameters (mean)', yLabel: 'parameters', value: (f) => f.meanAddedParameters, format: count },
    {
      title: 'Added share of the host (mean)',
      yLabel: 'added share (%)',
      value: (f) => f.meanAddedShare * 100,
      format: (y) => `${Number(y.toFixed(2))}%`,
    },
  ]);

/** Action names in the order the rounds give them (summarizeRound writes every action, in the policy's order). */
const actionNames = (rounds: readonly LearnRoundRecord[]): string[] => [
  ...new Set(rounds.flatMap((r) => Object.keys(r.figures.actions))),
];

function actionMix(rounds: readonly LearnRoundRecord[]): string {
  if (rounds.length === 0) return muted('no round recorded yet');
  const series = actionNames(rounds).map(
    (name, i): Series => ({
      name,
      color: ACTION_COLORS[i % ACTION_COLORS.length]!,
      points: roundPoints(rounds, (f) => (f.actions[name] ?? 0) * 100),
    }),
  );
  return lineChart({
    title: 'Share of decisions by action',
    xLabel: 'round',
    yLabel: 'share of decisions (%)',
    series,
    formatY: (y) => `${y}%`,
  });
}

// ── tables ──────────────────────────────────────────────────────────────────────────────────────────────────────

function ppoTable(rounds: readonly LearnRoundRecord[]): string {
  const rows = rounds.map((r): Cell[] => {
    const u = r.update;
    return [
      num(String(r.round)),
      num(fixed(u.policyLoss, 4)),
      num(fixed(u.valueLoss, 4)),
      num(fixed(u.entropy, 3)),
      num(fixed(u.approxKl, 4)),
      num(pct(u.clipFraction)),
      num(String(r.figures.episodes)),
      num(String(r.figures.failed)),
      num(fixed(r.seconds, 1)),
      num(fixed(r.episodesPerSecond, 2)),
      r.policyFile,
    ];
  });
  const headers = [
    'round',
    'policy loss',
    'value loss',
    'entropy',
    'approx KL',
    'clip fraction',
    'episodes',
    'failed',
    'seconds',
    'episodes/s',
    'policy file',
  ];
  return table(headers, rows, 'no round recorded yet', 'round');
}

/** One task × policy cell: means over the episodes that finished (failed ones are counted, not averaged). */
interface HeldOutCell {
  testAccuracy: number | null;
  addedParameters: number | null;
  episodes: number;
  failed: number;
}

function heldOutCell(lines: readonly LearnHeldOutRecord[]): HeldOutCell {
  const done = lines.filter((l) => l.ok);
  return {
    testAccuracy: mean(done.map((l) => l.testAccuracy)),
    addedParameters: mean(done.map((l) => l.addedParameters)),
    episodes: lines.length,
    failed: lines.length - done.length,
  };
}

/** Each task weighs the same in the policy's mean, whatever its number of episodes. */
function meanCell(cells: readonly HeldOutCell[]): HeldOutCell {
  const of = (value: (c: HeldOutCell) => number | null): number | null =>
    mean(cells.map(value).filter((x): x is number => x !== null));
  const sum = (value: (c: HeldOutCell) => number): number => cells.reduce((a, c) => a + value(c), 0);
  return {
    testAccuracy: of((c) => c.testAccuracy),
    addedParameters: of((c) => c.addedParameters),
    episodes: sum((c) => c.episodes),
    failed: sum((c) => c.failed),
  };
}

const cellFigures = (c: HeldOutCell): Cell[] => [
  num(c.testAccuracy === null ? '—' : points(c.testAccuracy)),
  num(c.addedParameters === null ? '—' : count(c.addedParameters)),
  num(c.failed === 0 ? String(c.episodes) : `${c.episodes} (${c.failed} failed)`),
];

function heldOutSection(lines: readonly LearnHeldOutRecord[]): string {
  if (lines.length === 0) return muted('no held-out evaluation recorded');
  const tasks = [...new Set(lines.map((l) => l.task))];
  const policies = HELD_OUT_POLICIES.filter((p) => lines.some((l) => l.policy === p));
  const grid = tasks.map((task) =>
    policies.map((policy) => heldOutCell(lines.filter((l) => l.task === task && l.policy === policy))),
  );
  const rows: Cell[][] = grid.map((cells, i) => [tasks[i]!, ...cells.flatMap(cellFigures)]);
  const means = policies.map((_, j) => meanCell(grid.map((cells) => cells[j]!)));
  rows.push([{ html: '<strong>mean over tasks</strong>' }, ...means.flatMap(cellFigures)]);
  const headers = [
    'task',
    ...policies.flatMap((p) => [`${p}: test accuracy`, `${p}: added parameters`, `${p}: episodes`]),
  ];
  const note = muted(
    'means over each task’s seeds (failed episodes counted, not averaged); the last row weighs every task the same',
  );
  return `${table(headers, rows, 'no held-out evaluation recorded', 'heldout')}\n${note}`;
}

// ── file ────────────────────────────────────────────────────────────────────────────────────────────────────────

/** Renders `<dir>/learn.jsonl` to `out` (default `<dir>/report.html`); returns the path written. */
export function writeLearnReport(dir: string, out?: string): string {
  return writeReportOf(dir, LEARN_RECORD_FILE, 'learning', (file) => renderLearnReport(readLearnRecord(file)), out);
}
