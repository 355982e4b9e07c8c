// The live dashboard (`GET /`): one self-contained page (no external scripts or styles) that polls
// `/api/dashboard` every 2 s and draws the training curves, seeds per slot with their stage over time and α, Tamiyo's
// decisions, alerts and the supervision tree with restart counts.
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Esper — Nissa</title>
<style>
  body { font: 13px system-ui, sans-serif; margin: 16px; background: #fafafa; color: #222; }
  h1 { font-size: 18px; margin: 0 0 12px; } h2 { font-size: 14px; margin: 0 0 8px; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px; }
  section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px; }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eee; }
  .muted { color: #888; } .bad { color: #b00; } .ok { color: #080; }
  .stage { display: inline-block; height: 10px; }
  svg { width: 100%; height: 160px; }
</style>
</head>
<body>
<h1>Esper — live run <span id="updated" class="muted"></span></h1>
<div class="grid">
  <section id="training"><h2>Loss</h2><svg id="loss-chart" viewBox="0 0 400 160"></svg><div class="muted" id="training-legend"></div></section>
  <section id="accuracy"><h2>Accuracy</h2><svg id="accuracy-chart" viewBox="0 0 400 160"></svg></section>
  <section id="seeds"><h2>Seeds per slot (stage over time) and α</h2><table><thead><tr><th>seed</th><th>slot</th><th>stage</th><th>α</th><th>timeline</th></tr></thead><tbody id="seed-rows"></tbody></table><svg id="alpha-chart" viewBox="0 0 400 160"></svg></section>
  <section id="decisions"><h2>Tamiyo's decisions</h2><table><tbody id="decision-rows"></tbody></table></section>
  <section id="alerts"><h2>Alerts</h2><div id="alert-active"></div><table><tbody id="alert-rows"></tbody></table></section>
  <section id="tree"><h2>Supervision tree</h2><table><thead><tr><th>actor</th><th>state</th><th>restarts</th><th>mailbox</th></tr></thead><tbody id="tree-rows"></tbody></table></section>
</div>
<script>
const STAGES = ['unknown','dormant','germinated','training','blending','shadowing','probationary','fossilized','culled','embargoed','resetting','terminated'];
const COLORS = ['#999','#bbb','#9cf','#39f','#f90','#c6f','#fc3','#2a2','#c33','#633','#777','#000'];
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
function lines(svg, series) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) { svg.innerHTML = '<text x="10" y="20" fill="#888">waiting for data</text>'; return; }
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs) || 1, y0 = Math.min(0, ...ys), y1 = Math.max(...ys) || 1;
  const X = (x) => 30 + ((x - x0) / (x1 - x0 || 1)) * 360, Y = (y) => 150 - ((y - y0) / (y1 - y0 || 1)) * 140;
  svg.innerHTML = '<line x1="30" y1="150" x2="390" y2="150" stroke="#ccc"/><text x="0" y="14" font-size="10" fill="#888">' + y1.toPrecision(3) + '</text>' +
    series.map((s) => '<polyline fill="none" stroke="' + s.color + '" stroke-width="1.5" data-series="' + esc(s.name) + '" data-points="' + s.points.length + '" points="' +
      s.points.map((p) => X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1)).join(' ') + '"/>').join('');
}
async function refresh() {
  let d;
  try { d = await (await fetch('/api/dashboard')).json(); } catch { return; }
  document.getElementById('updated').textContent = 'updated ' + new Date(d.updatedAt).toLocaleTimeString();
  const t = d.training;
  lines(document.getElementById('loss-chart'), [
    { name: 'train loss', color: '#36c', points: t.filter((p) => p.loss !== null).map((p) => [p.epoch, p.loss]) },
    { name: 'validation loss', color: '#c63', points: t.filter((p) => p.validationLoss !== null).map((p) => [p.epoch, p.validationLoss]) },
  ]);
  document.getElementById('training-legend').textContent = t.length + ' epochs — blue: train, orange: validation';
  lines(document.getElementById('accuracy-chart'), [
    { name: 'train accuracy', color: '#36c', points: t.filter((p) => p.accuracy !== null).map((p) => [p.epoch, p.accuracy]) },
    { name: 'validation accuracy', color: '#c63', points: t.filter((p) => p.validationAccuracy !== null).map((p) => [p.epoch, p.validationAccuracy]) },
  ]);
  document.getElementById('seed-rows').innerHTML = d.seeds.map((s) => {
    const last = s.points[s.points.length - 1];
    const blocks = s.points.map((p) => '<span class="stage" title="' + STAGES[p.stage] + '" style="width:6px;background:' + COLORS[p.stage] + '"></span>').join('');
    return '<tr data-seed="' + esc(s.seedId) + '"><td>' + esc(s.seedId) + '</td><td>' + esc(s.slot) + '</td><td>' + STAGES[last.stage] + '</td><td>' + last.alpha.toFixed(2) + '</td><td>' + blocks + '</td></tr>';
  }).join('') || '<tr><td class="muted" colspan="5">no seeds yet</td></tr>';
  lines(document.getElementById('alpha-chart'), d.seeds.map((s, i) => ({ name: s.seedId, color: COLORS[(i + 2) % COLORS.length], points: s.points.map((p) => [p.at, p.alpha]) })));
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
