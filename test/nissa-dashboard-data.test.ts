// The live dashboard's data, from a document store holding several runs as one folder's store does: the run shown is
// the current one (or the one asked for) and nothing of another run is mixed in; an epoch trained again after a resume
// counts once; seeds are placed at the boundary that left them so; the charts are the report's.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leyline } from '../contracts/index.ts';
import { currentRun, dashboardData, epochPosition } from '../actors/nissa/dashboard-data.ts';
import { dashboardCharts } from '../actors/nissa/dashboard-page.ts';
import { DocumentStore } from '../actors/nissa/index.ts';

const { BusMessageType: T, SeedLifecycleStage: S } = leyline;
const noAlerts = { active: () => [], history: () => [] };
const STEPS_PER_EPOCH = 40;

/** A store with documents shaped as Nissa's ingest writes them (camelCase bodies, 64-bit integers as strings). */
function withStore(run: (store: DocumentStore) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'esper-dash-data-'));
  const store = new DocumentStore(join(dir, 'documents.db'), 86_400_000);
  try {
    run(store);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Seed {
  id: string;
  stage: number;
  alpha: number;
}

/** The end of `epoch` (0-based) of `runId` at `timeMs`: Tolaria's state packet (seeds as the last boundary left them), its epoch packet, Kasmina's. */
function epochEnd(
  store: DocumentStore,
  runId: string,
  epoch: number,
  timeMs: number,
  options: { loss?: number; decision?: string; seeds?: Seed[]; slot?: string } = {},
): void {
  const step = (epoch + 1) * STEPS_PER_EPOCH;
  store.add({
    kind: T.BUS_MESSAGE_TYPE_SYSTEM_STATE,
    runId,
    source: 'tolaria',
    timeMs,
    events: [],
    body: {
      packetId: `${runId}-epoch-${epoch}`,
      currentEpoch: epoch,
      globalStep: String(step),
      trainingRunId: runId,
      seedStates: (options.seeds ?? []).map((s) => ({ seedId: s.id, stage: s.stage, metrics: { alpha: s.alpha } })),
    },
  });
  const loss = options.loss ?? 1 / (epoch + 1);
  store.add({
    kind: T.BUS_MESSAGE_TYPE_TELEMETRY,
    runId: '',
    source: 'tolaria',
    timeMs: timeMs + 2,
    events: [],
    body: {
      packetId: `${runId}-epoch-${epoch}`,
      metrics: [
        { name: 'tolaria.training.loss', value: loss },
        { name: 'tolaria.training.accuracy', value: 0.5 },
        { name: 'tolaria.validation.loss', value: loss * 1.1 },
        { name: 'tolaria.validation.accuracy', value: 0.4 },
      ],
      systemHealth: {
        indicators: {
          epoch: String(epoch),
          global_step: String(step),
          ...(options.decision ? { decision: options.decision } : {}),
        },
      },
    },
  });
  for (const seed of options.seeds ?? []) {
    store.add({
      kind: T.BUS_MESSAGE_TYPE_TELEMETRY,
      runId: '',
      source: 'kasmina',
      timeMs: timeMs + 1,
      events: [],
      body: {
        packetId: `kasmina-seed-${seed.id}-${epoch + 1}`,
        metrics: [
          {
            name: 'kasmina.seed.stage',
            value: seed.stage,
            attributes: { seed_id: seed.id, slot: options.slot ?? 'mlp.0' },
          },
        ],
      },
    });
  }
}

test('epochPosition: a global step in epochs, between the ends known, and past the last at most one epoch on', (t) => {
  const ends = new Map([
    [1, 40],
    [2, 80],
  ]);
  t.is(epochPosition(0, ends), 0);
  t.is(epochPosition(40, ends), 1);
  t.is(epochPosition(60, ends), 1.5);
  t.is(epochPosition(90, ends), 2.25, 'in the epoch in progress, as long as the last one');
  t.is(epochPosition(500, ends), 3, 'never past the end of the epoch in progress');
  t.is(epochPosition(30, new Map()), 0, 'no epoch ended yet');
});

test('currentRun: of the runs that reported since Nissa started, the latest; none when only earlier runs did', (t) => {
  const runs = [
    { runId: 'a', firstMs: 100, lastMs: 200 },
    { runId: 'b', firstMs: 300, lastMs: 400 },
  ];
  t.is(currentRun(runs, 0), 'b');
  t.is(currentRun(runs, 250), 'b');
  t.is(currentRun(runs, 500), null);
  t.is(
    currentRun([{ runId: 'a', firstMs: 100, lastMs: 900 }, ...runs], 500),
    'a',
    'a resumed run reporting again is current',
  );
});

test('dashboardData: a second run in the same store shows only its own epochs, decisions and seeds; the first is listed and shown when asked for', (t) => {
  withStore((store) => {
    const seed = (stage: number, alpha: number): Seed => ({ id: 'seed-e1-s80', stage, alpha });
    // Two runs of one experiment and seed: the same seed id in both.
    for (const [runId, start, epochs] of [
      ['quick-1', 1_000, 5],
      ['quick-2', 10_000, 3],
    ] as const) {
      for (let epoch = 0; epoch < epochs; epoch++) {
        const seeds =
          epoch === 2 ? [seed(S.SEED_STAGE_TRAINING, 0)] : epoch >= 3 ? [seed(S.SEED_STAGE_BLENDING, 0.5)] : [];
        epochEnd(store, runId, epoch, start + epoch * 100, {
          decision: epoch === 1 ? 'germinate BP009 at mlp.0 as seed-e1-s80' : 'hold (validation loss still improving)',
          seeds,
        });
      }
    }
    const data = dashboardData(store, noAlerts, { since: 5_000 });
    if (!data) return t.fail('no data');
    t.is(data.run, 'quick-2');
    t.deepEqual(
      data.runs.map((r) => [r.id, r.current]),
      [
        ['quick-2', true],
        ['quick-1', false],
      ],
    );
    t.deepEqual(
      data.training.map((p) => p.epoch),
      [1, 2, 3],
    );
    t.deepEqual(
      data.decisions.map((d) => d.epoch),
      [1, 2, 3],
    );
    t.is(data.decisions[1]?.decision, 'germinate BP009 at mlp.0 as seed-e1-s80');
    t.deepEqual(
      data.seeds.map((s) => ({ slot: s.slot, points: s.points })),
      [{ slot: 'mlp.0', points: [{ epoch: 2, stage: 'training', alpha: 0 }] }],
      "the seed as epoch 2's boundary left it (its state packet came with the next boundary), nothing of the first run's",
    );

    const earlier = dashboardData(store, noAlerts, { since: 5_000, run: 'quick-1' });
    t.deepEqual(
      earlier?.training.map((p) => p.epoch),
      [1, 2, 3, 4, 5],
    );
    t.deepEqual(
      earlier?.seeds[0]?.points.map((p) => [p.epoch, p.stage, p.alpha]),
      [
        [2, 'training', 0],
        [3, 'blending', 0.5],
        [4, 'blending', 0.5],
      ],
    );
    t.is(dashboardData(store, noAlerts, { since: 5_000, run: 'no-such-run' }), null);
  });
});

test('dashboardData: before this run reports, no run is shown (earlier ones are listed); a resumed run counts each epoch once, its latest', (t) => {
  withStore((store) => {
    epochEnd(store, 'old', 0, 1_000);
    const waiting = dashboardData(store, noAlerts, { since: 2_000 });
    t.is(waiting?.run, null);
    t.deepEqual(waiting?.training, []);
    t.deepEqual(
      waiting?.runs.map((r) => r.id),
      ['old'],
    );

    // Epochs 1–3, a crash, then the run resumed from its checkpoint after epoch 1 trains epochs 2–3 again.
    for (let epoch = 0; epoch < 3; epoch++) epochEnd(store, 'resumed', epoch, 3_000 + epoch * 100, { loss: 9 });
    for (let epoch = 1; epoch < 3; epoch++) epochEnd(store, 'resumed', epoch, 5_000 + epoch * 100, { loss: 1 });
    const data = dashboardData(store, noAlerts, { since: 2_000 });
    t.is(data?.run, 'resumed');
    t.deepEqual(
      data?.training.map((p) => [p.epoch, p.loss]),
      [
        [1, 9],
        [2, 1],
        [3, 1],
      ],
    );
  });
});

test("dashboardCharts: the report's charts, with the epoch on x: axes, ticks, labels, a legend and a point per epoch", (t) => {
  withStore((store) => {
    for (let epoch = 0; epoch < 4; epoch++) epochEnd(store, 'run', epoch, 1_000 + epoch * 100);
    const data = dashboardData(store, noAlerts, { since: 0 });
    if (!data) return t.fail('no data');
    const charts = dashboardCharts(data);
    const points = (svg: string, series: string): string[] =>
      (new RegExp(`<polyline[^>]*data-series="${series}"[^>]*points="([^"]*)"`).exec(svg)?.[1] ?? '')
        .trim()
        .split(/\s+/);
    t.is(points(charts.loss, 'train loss').length, 4);
    t.is(points(charts.loss, 'validation loss').length, 4);
    t.is(points(charts.accuracy, 'validation accuracy').length, 4);
    t.regex(charts.loss, /<text class="label"[^>]*>epoch<\/text>/, 'the x axis says what it is');
    t.regex(charts.loss, /<text class="label"[^>]*>loss<\/text>/);
    t.deepEqual(
      [...charts.loss.matchAll(/<text class="tick"[^>]*text-anchor="middle">(\d+)<\/text>/g)].map((m) => Number(m[1])),
      [1, 2, 3, 4],
      'epoch ticks',
    );
    t.regex(charts.accuracy, /<text class="legend"[^>]*>train accuracy<\/text>/);
    t.regex(charts.alpha, /no data/, 'no seed, no α line');
  });
});
