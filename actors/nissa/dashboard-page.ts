// The live dashboard (`GET /`): one self-contained page (no external scripts or styles) that polls
// `/api/dashboard[?run=<id>]` every 2 s and shows one run — the current one, or an earlier one chosen in its selector
// (kept in the page's address, `/?run=<id>`): its loss and accuracy curves, its seeds per slot with their stage and α
// at each boundary, Tamiyo's decisions; and the live system's alerts and supervision tree with restart counts.
// The charts are drawn here, on the server, by the run report's chart code (charts/), so the page has none of its own.
import { CHART_STYLE, lineChart, STAGE_COLORS, type Series } from '../../charts/index.ts';
import type { DashboardData } from './dashboard-data.ts';

export interface DashboardCharts {
  loss: string;
  accuracy: string;
  alpha: string;
}

const COLORS = { train: '#1f77b4', validation: '#ff7f0e' };
const SEED_COLORS = ['#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

/** The run's charts as SVG figures, epochs on x: loss, accuracy (in %), and each seed's α at each boundary. */
export function dashboardCharts(data: DashboardData): DashboardCharts {
  const t = data.training;
  const series = (
    name: string,
    color: string,
    value: (p: DashboardData['training'][number]) => number | null,
  ): Series => ({
    name,
    color,
    points: t.flatMap((p) => {
      const v = value(p);
      return v === null ? [] : [[p.epoch, v] as const];
    }),
  });
  const percent = (v: number | null): number | null => (v === null ? null : v * 100);
  return {
    loss: lineChart({
      title: 'Loss',
      xLabel: 'epoch',
      yLabel: 'loss',
      series: [
        series('train loss', COLORS.train, (p) => p.loss),
        series('validation loss', COLORS.validation, (p) => p.validationLoss),
      ],
    }),
    accuracy: lineChart({
      title: 'Accuracy',
      xLabel: 'epoch',
      yLabel: 'accuracy (%)',
      series: [
        series('train accuracy', COLORS.train, (p) => percent(p.accuracy)),
        series('validation accuracy', COLORS.validation, (p) => percent(p.validationAccuracy)),
      ],
      formatY: (y) => `${y}%`,
    }),
    alpha: lineChart({
      title: 'Blending α per seed',
      xLabel: 'epoch',
      yLabel: 'α',
      series: data.seeds.map((seed, i) => ({
        name: seed.seedId,
        color: SEED_COLORS[i % SEED_COLORS.length]!,
        points: seed.points.map((p) => [p.epoch, p.alpha] as const),
      })),
    }),
  };
}

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Esper — Nissa</title>
<style>
  body { font: 13px system-ui, sans-serif; margin: 16px; background: #fafafa; color: #222; }
  h1 { font-size: 18px; margin: 0 0 12px; } h2 { font-size: 14px; margin: 0 0 8px; }
  header { display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; margin-bottom: 12px; } header h1 { margin: 0; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px; }
  section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px; }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eee; }
  .muted { color: #888; } .bad { color: #b00; } .ok { color: #080; }
  .stage { display: inline-block; width: 6px; height: 10px; }
  ${CHART_STYLE}
</style>
</head>
<body>
<header>
  <h1>Esper — <span id="run-title">live run</span></h1>
  <label>run <select id="run"></select></label>
  <span id="updated" class="muted"></span>
</header>
<div class="grid">
  <section id="training"><div id="loss-chart"></div><div class="muted" id="training-legend"></div></section>
  <section id="accuracy"><div id="accuracy-chart"></div></section>
  <section id="seeds"><h2>Seeds per slot (stage at each boundary) and α</h2><table><thead><tr><th>seed</th><th>slot</th><th>stage</th><th>α</th><th>timeline</th></tr></thead><tbody id="seed-rows"></tbody></table><div id="alpha-chart"></div></section>
  <section id="decisions"><h2>Tamiyo's decisions</h2><table><tbody id="decision-rows"></tbody></table></section>
  <section id="alerts"><h2>Alerts</h2><div id="alert-active"></div><table><tbody id="alert-rows"></tbody></table></section>
  <section id="tree"><h2>Supervision tree</h2><table><thead><tr><th>actor</th><th>state</th><th>restarts</th><th>mailbox</th></tr></thead><tbody id="tree-rows"></tbody></table></section>
</div>
<script>
const STAGE_COLORS = ${JSON.stringify(STAGE_COLORS)};
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
// The run asked for in the address; none: follow the current run.
let chosen = new URLSearchParams(location.search).get('run');
let listed = '';
const select = document.getElementById('run');
select.addEventListener('change', () => {
  chosen = select.value || null;
  history.replaceState(null, '', chosen ? '?run=' + encodeURIComponent(chosen) : location.pathname);
  refresh();
});
function listRuns(d) {
  const key = JSON.stringify(d.runs);
  if (key === listed) return;
  listed = key;
  const current = d.runs.find((r) => r.current);
  select.innerHTML = '<option value="">current run (' + (current ? esc(current.id) : 'none yet') + ')</option>' +
    d.runs.map((r) => '<option value="' + esc(r.id) + '">' + esc(r.id) + ' — ' + new Date(r.startedAt).toLocaleString() + '</option>').join('');
  select.value = chosen ?? '';
}
async function refresh() {
  let response;
  try { response = await fetch('/api/dashboard' + (chosen ? '?run=' + encodeURIComponent(chosen) : '')); } catch { return; }
  // A run no longer in the store (past its retention): back to the current run.
  if (response.status === 404 && chosen) { chosen = null; history.replaceState(null, '', location.pathname); return refresh(); }
  if (!response.ok) return;
  const d = await response.json();
  listRuns(d);
  document.getElementById('updated').textContent = 'updated ' + new Date(d.updatedAt).toLocaleTimeString();
  document.getElementById('run-title').textContent = d.run ? 'run ' + d.run : 'waiting for this run\\'s first epoch';
  document.getElementById('loss-chart').innerHTML = d.charts.loss;
  document.getElementById('accuracy-chart').innerHTML = d.charts.accuracy;
  document.getElementById('alpha-chart').innerHTML = d.charts.alpha;
  document.getElementById('training-legend').textContent = d.run ? d.training.length + ' epochs of run ' + d.run : 'no epoch yet';
  document.getElementById('seed-rows').innerHTML = d.seeds.map((s) => {
    const last = s.points[s.points.length - 1];
    const blocks = s.points.map((p) => '<span class="stage" title="epoch ' + p.epoch.toFixed(1) + ': ' + esc(p.stage) + '" style="background:' + (STAGE_COLORS[p.stage] ?? '#bdbdbd') + '"></span>').join('');
    return '<tr data-seed="' + esc(s.seedId) + '"><td>' + esc(s.seedId) + '</td><td>' + esc(s.slot) + '</td><td>' + esc(last.stage) + '</td><td>' + last.alpha.toFixed(2) + '</td><td>' + blocks + '</td></tr>';
  }).join('') || '<tr><td class="muted" colspan="5">no seeds yet</td></tr>';
  document.getElementById('decision-rows').innerHTML = d.decisions.slice(-15).reverse().map((x) =>
    '<tr><td class="muted">epoch ' + x.epoch + '</td><td>' + esc(x.decision) + '</td></tr>').join('') || '<tr><td class="muted">no decisions yet</td></tr>';
  document.getElementById('alert-active').innerHTML = d.alerts.active.length === 0 ? '<span class="ok">no active alerts</span>' :
    d.alerts.active.map((a) => '<div class="bad">' + esc(a.rule) + ' (' + esc(a.source) + '): ' + a.value + '</div>').join('');
  document.getElementById('alert-rows').innerHTML = d.alerts.recent.slice().reverse().map((a) =>
    '<tr><td class="muted">' + new Date(a.at).toLocaleTimeString() + '</td><td class="' + (a.kind === 'fired' ? 'bad' : 'ok') + '">' + a.kind + '</td><td>' + esc(a.rule) + '</td><td>' + esc(a.source) + '</td></tr>').join('');
  document.getElementById('tree-rows').innerHTML = d.tree.map((n) =>
    '<tr data-actor="' + esc(n.path) + '"><td>' + esc(n.path) + '</td><td class="' + (n.running ? 'ok' : 'bad') + '">' + (n.running ? 'running' : 'down') + '</td><td>' + n.restarts + '</td><td>' + n.mailbox + '</td></tr>').join('');
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
