// A healthy run fires no alert: the telemetry of real default and quick runs on a busy machine replayed through
// Nissa with the default rules, realistic series with a slow first epoch and a busy machine's latencies, and real
// quick runs end to end — alone, and with the other core kept busy by stress-ng.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leyline } from '../contracts/index.ts';
import { buildTelemetryPacket } from '../contracts/telemetry.ts';
import { DEFAULT_ALERT_RULES } from '../actors/nissa/alert-rules.ts';
import { AlertEngine, type AlertEvent } from '../actors/nissa/alerts.ts';
import { DocumentStore } from '../actors/nissa/document-store.ts';
import { NissaIngest } from '../actors/nissa/ingest.ts';
import { NissaMetrics } from '../actors/nissa/prometheus.ts';
import { SloTracker, sloRetentionMs } from '../actors/nissa/slo.ts';
import { esper, freshDir } from './helpers/esper-cli.ts';

interface RecordedPacket {
  source: string;
  atMs: number;
  metrics: Record<string, number>;
}
interface RecordedRuns {
  runs: Array<{ name: string; packets: RecordedPacket[] }>;
}

const recorded = JSON.parse(
  readFileSync(new URL('./fixtures/nissa-healthy-runs.json', import.meta.url), 'utf8'),
) as RecordedRuns;

/** Nissa with the default rules, fed `packets` at their times from `start`: the events and the SLOs it saw. */
function replay(
  packets: readonly RecordedPacket[],
  start = 1_800_000_000_000,
): { events: AlertEvent[]; ingest: NissaIngest } {
  const events: AlertEvent[] = [];
  const engine = new AlertEngine(DEFAULT_ALERT_RULES, (e) => events.push(e));
  const ingest = new NissaIngest(
    new NissaMetrics({ maxSeriesNames: 500, maxLabelSets: 50 }),
    new DocumentStore(':memory:', 3_600_000),
    engine,
    new SloTracker(sloRetentionMs(engine.rules)),
  );
  packets.forEach((packet, i) =>
    ingest.ingest(
      buildTelemetryPacket({
        packetId: `replay-${i}`,
        source: packet.source,
        level: leyline.TelemetryLevel.TELEMETRY_LEVEL_INFO,
        metrics: Object.entries(packet.metrics).map(([name, value]) => ({ name, value })),
        timestamp: start + packet.atMs,
      }),
    ),
  );
  return { events, ingest };
}

const samplesOf = (ingest: NissaIngest, slo: string): number =>
  ingest.sloStatus().find((s) => s.slo === slo)?.events ?? 0;

test('the recorded telemetry of real healthy runs on a busy machine fires nothing', (t) => {
  t.deepEqual(
    recorded.runs.map((r) => r.name),
    ['mnist-mlp', 'quick', 'quick-stress-ng'],
  );
  for (const run of recorded.runs) {
    const { events, ingest } = replay(run.packets);
    t.deepEqual(events, [], run.name);
    // The rules did run: both control-boundary SLOs had more samples than a burn rate needs.
    for (const slo of ['tolaria/epoch_hook_latency', 'tamiyo/tamiyo_decision_latency'])
      t.true(samplesOf(ingest, slo) >= 10, `${run.name}: ${slo}`);
  }
});

test("against the design's 18 ms and 12 ms, which a busy machine misses, the same runs would burn: the objectives are the runs' own budgets", (t) => {
  const design: Record<string, number> = {
    'slo.epoch_hook_latency_objective': 18,
    'slo.tamiyo_decision_latency_objective': 12,
  };
  const [mnist] = recorded.runs;
  const tight = (mnist?.packets ?? []).map((p) => ({
    ...p,
    metrics: Object.fromEntries(Object.entries(p.metrics).map(([name, value]) => [name, design[name] ?? value])),
  }));
  const fired = replay(tight)
    .events.filter((e) => e.kind === 'fired')
    .map((e) => e.source);
  t.true(fired.includes('tolaria/epoch_hook_latency'), fired.join(', '));
});

/**
 * A run's boundary telemetry: one Tolaria packet and one Tamiyo packet per epoch, `epochMs` apart, with the hook
 * and decision latencies given, against `hookBudgetMs` and a decision deadline.
 */
function series(
  hooks: readonly number[],
  decisions: readonly number[],
  epochMs: number,
  hookBudgetMs: number,
  deadlineMs: number,
): RecordedPacket[] {
  return hooks.flatMap((hook, epoch): RecordedPacket[] => [
    {
      source: 'tamiyo',
      atMs: epoch * epochMs,
      metrics: {
        'slo.tamiyo_decision_latency_actual': decisions[epoch] ?? 0,
        'slo.tamiyo_decision_latency_objective': deadlineMs,
      },
    },
    {
      source: 'tolaria',
      atMs: epoch * epochMs + 50,
      metrics: {
        'tolaria.epoch_hook.budget_share': hook / hookBudgetMs,
        'slo.epoch_hook_latency_actual': hook,
        'slo.epoch_hook_latency_objective': hookBudgetMs,
      },
    },
  ]);
}

// An idle machine's boundary: hooks around 6 ms, decisions around 4 ms, after a slow first epoch (JIT, the forge).
const IDLE_HOOKS = [290, 7, 6, 5, 8, 6, 7, 5, 6, 9, 6, 7, 5, 6, 8, 6];
const IDLE_DECISIONS = [190, 5, 4, 4, 6, 4, 5, 3, 4, 7, 4, 5, 3, 4, 6, 4];
// The same with the other core busy: 2–3× slower, and over the design's 18 ms and 12 ms now and then (2 in 16).
const BUSY_HOOKS = [540, 16, 14, 12, 19, 15, 17, 12, 15, 22, 14, 17, 13, 15, 16, 14];
const BUSY_DECISIONS = [320, 11, 9, 9, 13, 9, 11, 8, 10, 14, 9, 11, 8, 9, 12, 10];

/** `epochs` values: the first (slow) one once, then the rest of the pattern over and over. */
const run = (pattern: readonly number[], epochs: number): number[] =>
  Array.from({ length: epochs }, (_, i) => (i === 0 ? pattern[0]! : pattern[1 + ((i - 1) % (pattern.length - 1))]!));

test('a slow first epoch and a busy machine fire nothing; against budgets as tight as the design’s, no SLO burns either', (t) => {
  for (const [name, hooks, decisions] of [
    ['idle', IDLE_HOOKS, IDLE_DECISIONS],
    ['busy', BUSY_HOOKS, BUSY_DECISIONS],
  ] as const) {
    // The quick experiment's pace (an epoch a second, 16 epochs) and a long run (one per 5 s, an hour and more).
    for (const [epochMs, epochs] of [
      [1_000, 16],
      [5_000, 800],
    ] as const) {
      const at = `${name}, ${epochs} epochs ${epochMs} ms apart`;
      t.deepEqual(
        replay(series(run(hooks, epochs), run(decisions, epochs), epochMs, 50, 15)).events,
        [],
        `${at}, the default configuration's budgets`,
      );
      const design = replay(series(run(hooks, epochs), run(decisions, epochs), epochMs, 18, 12)).events;
      t.deepEqual(
        design.filter((e) => e.rule === 'slo_burn_rate_high'),
        [],
        `${at}, the design's budgets`,
      );
    }
  }
});

test('the same series with the boundary really failing does fire, and resolves once it recovers', (t) => {
  const hooks = [...BUSY_HOOKS, ...Array.from({ length: 12 }, () => 80), ...Array.from({ length: 80 }, () => 10)];
  const { events } = replay(
    series(
      hooks,
      hooks.map(() => 5),
      5_000,
      50,
      15,
    ),
  );
  t.deepEqual(
    events.map((e) => `${e.kind} ${e.rule} ${e.source}${e.window ? ` ${e.window}` : ''}`),
    [
      'fired training_latency_high tolaria',
      'fired slo_burn_rate_high tolaria/epoch_hook_latency slow (30m/5m)',
      'resolved training_latency_high tolaria',
      'resolved slo_burn_rate_high tolaria/epoch_hook_latency slow (30m/5m)',
    ],
  );
});

const quick = fileURLToPath(new URL('../experiments/quick.ts', import.meta.url));

/** A real quick run in a new folder: its record's alert lines (none expected) and its epoch count. */
async function quickRun(t: {
  is: (a: unknown, b: unknown, m?: string) => void;
}): Promise<{ alerts: string[]; epochs: number }> {
  const cwd = freshDir('esper-healthy-');
  const runDir = join(cwd, 'run');
  const run = await esper(['run', quick, '--run-dir', runDir, '--quiet'], cwd);
  t.is(run.code, 0, run.stderr);
  const lines = readFileSync(join(runDir, 'run.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: string });
  return {
    alerts: lines.filter((l) => l.event === 'alert').map((l) => JSON.stringify(l)),
    epochs: lines.filter((l) => l.event === 'epoch').length,
  };
}

test.serial(
  'a real quick run, first use of its folder (the forge, a slow first epoch), records no alert',
  async (t) => {
    t.timeout(150_000, 'a quick run on a loaded machine');
    const { alerts, epochs } = await quickRun(t);
    t.is(epochs, 16);
    t.deepEqual(alerts, []);
  },
);

const haveStressNg = spawnSync('stress-ng', ['--version'], { stdio: 'ignore' }).status === 0;
if (!haveStressNg && process.env.CI === 'true')
  throw new Error('stress-ng is required under CI=true (apt-get install stress-ng)');
if (!haveStressNg) console.warn('NOTICE: stress-ng not found: the busy-machine run of the healthy-run test is skipped');

(haveStressNg ? test.serial : test.skip)(
  'a real quick run with the other core kept busy (stress-ng --cpu 1) records no alert',
  async (t) => {
    t.timeout(150_000, 'a quick run beside a CPU hog on a loaded machine');
    const hog = spawn('stress-ng', ['--cpu', '1', '--timeout', '140s', '--quiet'], { stdio: 'ignore' });
    try {
      const { alerts, epochs } = await quickRun(t);
      t.is(epochs, 16);
      t.deepEqual(alerts, []);
    } finally {
      hog.kill('SIGTERM');
    }
  },
);
