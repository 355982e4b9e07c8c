// Lines over epochs (or rounds) as inline SVG, with axes, ticks, a legend and optional horizontal marks (a test
// accuracy, a budget). Each series is one <polyline> with one point per value given (`data-points` counts them).
import { esc } from './escape.ts';

export interface Series {
  name: string;
  color: string;
  /** [x, y] pairs; x is an epoch or a round (ticks at whole numbers; a point may fall between them). */
  points: ReadonlyArray<readonly [number, number]>;
}

export interface Mark {
  label: string;
  y: number;
  color: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  marks?: readonly Mark[];
  formatY?: (y: number) => string;
}

/** The CSS a page showing these charts (and the report's seed timeline, drawn alike) gives them. */
export const CHART_STYLE = `
  figure.chart { margin: 0; } figure.chart svg { width: 100%; height: auto; } figcaption { font-weight: 600; margin-bottom: .3rem; }
  svg text { font-size: 11px; fill: #444; } svg text.label { font-size: 12px; }
`;

const W = 640;
const H = 260;
const LEFT = 64;
const RIGHT = 16;
const TOP = 34;
const BOTTOM = 40;
/** Up to this many points a series also gets a dot per point (one point alone draws no line). */
const DOTS_UP_TO = 60;

export function lineChart(options: LineChartOptions): string {
  const { series, marks = [], formatY = (y: number) => String(y) } = options;
  const caption = `<figcaption>${esc(options.title)}</figcaption>`;
  const points = series.flatMap((s) => s.points);
  if (points.length === 0) return `<figure class="chart">${caption}<p class="muted">no data</p></figure>`;
  const xs = points.map(([x]) => x);
  const ys = [...points.map(([, y]) => y), ...marks.map((m) => m.y)];
  const [x0, x1] =
    Math.min(...xs) === Math.max(...xs)
      ? [Math.min(...xs) - 0.5, Math.max(...xs) + 0.5]
      : [Math.min(...xs), Math.max(...xs)];
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys), 5);
  const [y0, y1] = [yTicks[0]!, yTicks[yTicks.length - 1]!];
  const sx = (x: number): number => LEFT + ((x - x0) / (x1 - x0)) * (W - LEFT - RIGHT);
  const sy = (y: number): number => H - BOTTOM - ((y - y0) / (y1 - y0)) * (H - TOP - BOTTOM);
  const xStep = Math.max(1, niceStep((x1 - x0) / 8));
  const xTicks: number[] = [];
  for (let x = Math.ceil(x0 / xStep) * xStep; x <= x1; x += xStep) xTicks.push(x);
  const n = (v: number): string => v.toFixed(1);

  const axes = [
    `<line class="axis" stroke="#888" x1="${LEFT}" y1="${H - BOTTOM}" x2="${W - RIGHT}" y2="${H - BOTTOM}"/>`,
    `<line class="axis" stroke="#888" x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${H - BOTTOM}"/>`,
    ...yTicks.map(
      (y) =>
        `<line class="grid" stroke="#eee" x1="${LEFT}" y1="${n(sy(y))}" x2="${W - RIGHT}" y2="${n(sy(y))}"/><text class="tick" x="${LEFT - 6}" y="${n(sy(y) + 4)}" text-anchor="end">${esc(formatY(y))}</text>`,
    ),
    ...xTicks.map((x) => `<text class="tick" x="${n(sx(x))}" y="${H - BOTTOM + 16}" text-anchor="middle">${x}</text>`),
    `<text class="label" x="${(LEFT + W - RIGHT) / 2}" y="${H - 6}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    `<text class="label" x="14" y="${(TOP + H - BOTTOM) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(TOP + H - BOTTOM) / 2})">${esc(options.yLabel)}</text>`,
  ];
  const legend = series.map(
    (s, i) =>
      `<line x1="${LEFT + i * 150}" y1="14" x2="${LEFT + i * 150 + 18}" y2="14" stroke="${esc(s.color)}" stroke-width="2"/><text class="legend" x="${LEFT + i * 150 + 24}" y="18">${esc(s.name)}</text>`,
  );
  const lines = series.map((s) => {
    if (s.points.length === 0) return '';
    const coords = s.points.map(([x, y]) => `${n(sx(x))},${n(sy(y))}`);
    const dots =
      s.points.length <= DOTS_UP_TO
        ? s.points
            .map(([x, y]) => `<circle cx="${n(sx(x))}" cy="${n(sy(y))}" r="2.5" fill="${esc(s.color)}"/>`)
            .join('')
        : '';
    return `<polyline class="series" data-series="${esc(s.name)}" data-points="${s.points.length}" fill="none" stroke="${esc(s.color)}" stroke-width="2" points="${coords.join(' ')}"/>${dots}`;
  });
  const markLines = marks.map(
    (m) =>
      `<line class="mark" x1="${LEFT}" y1="${n(sy(m.y))}" x2="${W - RIGHT}" y2="${n(sy(m.y))}" stroke="${esc(m.color)}" stroke-dasharray="5 4"/><text class="legend" x="${W - RIGHT - 4}" y="${n(sy(m.y) - 5)}" text-anchor="end" fill="${esc(m.color)}">${esc(m.label)}</text>`,
  );
  return `<figure class="chart">${caption}<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(options.title)}">\n${[...axes, ...legend, ...markLines, ...lines].join('\n')}\n</svg></figure>`;
}

/** A round step near `raw`: 1, 2 or 5 times a power of ten. */
function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** About `count` round ticks covering [lo, hi] (a flat range is widened around its value). */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (lo === hi) [lo, hi] = lo === 0 ? [-1, 1] : [lo - Math.abs(lo) * 0.1, hi + Math.abs(hi) * 0.1];
  const step = niceStep((hi - lo) / count);
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  // Up to the first tick at or above hi (computed from the start each time: no drift from repeated adding).
  for (let i = 0; ticks.length === 0 || ticks[ticks.length - 1]! < hi - step * 1e-9; i++)
    ticks.push(Number((start + i * step).toFixed(digits)));
  return ticks;
}
