// The seed lifecycle timeline: a row per host slot, a coloured band per stage a seed spent there over epochs,
// labelled with the seed and its blueprint, and a legend of the stages.
import type { EpochRecord } from '../run-record/index.ts';
import { esc, STAGE_COLORS, stageColor } from '../../charts/index.ts';

export interface Band {
  seedId: string;
  blueprint: string;
  stage: string;
  /** First and last epoch (1-based, inclusive). */
  from: number;
  to: number;
}

/** What the decisions say of a seed: where Tamiyo put it and which blueprint it asked for. */
export type SeedHints = ReadonlyMap<string, { slot: string; blueprint: string }>;

const NO_SLOT = '(no slot)';

/**
 * Bands by slot. A seed no longer grafted reports no slot or blueprint: the last known ones (else the decision's)
 * are carried forward. Where the kernel grafted is not the blueprint asked for (a fallback), both are named.
 */
export function seedBands(epochs: readonly EpochRecord[], hints: SeedHints): Map<string, Band[]> {
  const rows = new Map<string, Band[]>();
  const known = new Map<string, { slot: string; blueprint: string }>();
  const open = new Map<string, Band>();
  let previous: number | null = null;
  for (const record of epochs) {
    const epoch = record.epoch + 1;
    for (const seed of record.seeds) {
      const hint = hints.get(seed.id);
      const before = known.get(seed.id);
      const slot = seed.slot || before?.slot || hint?.slot || NO_SLOT;
      const grafted = seed.blueprint || before?.blueprint || '';
      known.set(seed.id, { slot, blueprint: grafted });
      const blueprint =
        hint?.blueprint && grafted && hint.blueprint !== grafted
          ? `${hint.blueprint} as ${grafted}`
          : grafted || hint?.blueprint || '';
      const band = open.get(seed.id);
      if (band && band.stage === seed.stage && band.to === previous) {
        band.to = epoch;
        continue;
      }
      const next = { seedId: seed.id, blueprint, stage: seed.stage, from: epoch, to: epoch };
      open.set(seed.id, next);
      rows.set(slot, [...(rows.get(slot) ?? []), next]);
    }
    previous = epoch;
  }
  return new Map([...rows].sort(([a], [b]) => a.localeCompare(b)));
}

const W = 640;
const LEFT = 96;
const RIGHT = 16;
const ROW = 34;
const AXIS = 28;

export function seedTimeline(epochs: readonly EpochRecord[], hints: SeedHints): string {
  const rows = seedBands(epochs, hints);
  if (rows.size === 0) return '<p class="muted">no seed was germinated</p>';
  const first = epochs[0]!.epoch + 1;
  const last = epochs[epochs.length - 1]!.epoch + 1;
  const cell = (W - LEFT - RIGHT) / (last - first + 1);
  const x = (epoch: number): string => (LEFT + (epoch - first) * cell).toFixed(1);
  const height = rows.size * ROW + AXIS;
  const labelled = new Set<string>();
  const rowsSvg = [...rows].map(([slot, bands], i) => {
    const top = i * ROW;
    const rects = bands.map((band) => {
      const title = `${band.seedId}${band.blueprint ? ` (${band.blueprint})` : ''}: ${band.stage}, epoch ${band.from}${band.to > band.from ? `–${band.to}` : ''}`;
      const rect = `<rect class="band" data-seed="${esc(band.seedId)}" data-stage="${esc(band.stage)}" x="${x(band.from)}" y="${top + 14}" width="${((band.to - band.from + 1) * cell).toFixed(1)}" height="14" fill="${stageColor(band.stage)}"><title>${esc(title)}</title></rect>`;
      if (labelled.has(band.seedId)) return rect;
      labelled.add(band.seedId);
      // A label that starts in the right half ends at the right edge instead of running off it.
      const anchor =
        band.from - first > (last - first + 1) / 2 ? `x="${W - RIGHT}" text-anchor="end"` : `x="${x(band.from)}"`;
      return `${rect}<text class="legend" ${anchor} y="${top + 11}">${esc(`${band.seedId}${band.blueprint ? ` · ${band.blueprint}` : ''}`)}</text>`;
    });
    return `<g class="slot-row" data-slot="${esc(slot)}"><text class="tick" x="${LEFT - 8}" y="${top + 25}" text-anchor="end">${esc(slot)}</text>${rects.join('')}</g>`;
  });
  const step = Math.max(1, Math.ceil((last - first + 1) / 10));
  const ticks: string[] = [];
  for (let epoch = first; epoch <= last; epoch += step)
    ticks.push(
      `<text class="tick" x="${(LEFT + (epoch - first + 0.5) * cell).toFixed(1)}" y="${height - 10}" text-anchor="middle">${epoch}</text>`,
    );
  const stages = new Set([...rows.values()].flat().map((band) => band.stage));
  const legend = Object.keys(STAGE_COLORS)
    .concat([...stages].filter((s) => !(s in STAGE_COLORS)))
    .filter((stage) => stages.has(stage))
    .map(
      (stage) =>
        `<span class="key"><span class="swatch" style="background:${stageColor(stage)}"></span>${esc(stage)}</span>`,
    );
  return (
    `<figure class="chart"><figcaption>Seed lifecycle per slot (epoch on the x axis)</figcaption>` +
    `<svg viewBox="0 0 ${W} ${height}" role="img" aria-label="seed lifecycle timeline">\n${rowsSvg.join('\n')}\n${ticks.join('')}\n</svg>` +
    `<div class="stage-legend">${legend.join(' ')}</div></figure>`
  );
}
