// The learning run's HTML report (cli/learn/report.ts) on a hand-written record: the learning curve against the
// baselines, the action mix, the PPO table, the held-out means, the notes for missing data, the file written, and a
// record of an earlier version (the random seed as `seed`) read as it is now.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoundFigures } from '../actors/simic/index.ts';
import {
  LearnRecord,
  readLearnRecord,
  type LearnHeldOutRecord,
  type LearnRecordLine,
  type LearnRoundRecord,
  type LearnStartRecord,
} from '../cli/learn/record.ts';
import { renderLearnReport, writeLearnReport } from '../cli/learn/report.ts';

const at = (second: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();

const START: LearnStartRecord = {
  event: 'start',
  at: at(0),
  learnId: 'learn-spirals-7',
  curriculum: { file: 'experiments/quick-curriculum.ts', name: 'quick-curriculum' },
  rngSeed: 7,
  rounds: 5,
  envs: 2,
  episodesPerRound: 4,
  temperature: 1,
  tasks: ['spirals-a', 'spirals-b'],
  heldOut: ['spirals-c', '<b>spirals-d</b>'],
  blueprints: ['BP001', 'BP021'],
  prices: { rent: 0.02, cullCost: 0.03 },
};

function figures(objective: number, fields: Partial<RoundFigures> = {}): RoundFigures {
  return {
    episodes: 4,
    failed: 0,
    meanObjective: objective,
    meanValidationAccuracy: 80 + objective,
    meanTestAccuracy: 79 + objective,
    meanAddedParameters: 1000 * objective,
    meanAddedShare: 0.01 * objective,
    actions: { wait: 0.7, germinate: 0.2, cull: 0.05, optimizer: 0.05 },
    ...fields,
  };
}

function round(n: number, objective: number): LearnRoundRecord {
  return {
    event: 'round',
    at: at(10 * n),
    round: n,
    policyVersion: `v${n - 1}`,
    figures: figures(objective, { actions: { wait: 0.8 - 0.1 * n, germinate: 0.1 * n, cull: 0.1, optimizer: 0.1 } }),
    update: {
      experiences: 40,
      policyLoss: -0.0123,
      valueLoss: 0.4567,
      entropy: 1.234,
      approxKl: 0.0042,
      clipFraction: 0.125,
      skippedMinibatches: 0,
      averageReward: 0.1,
    },
    seconds: 9.5,
    episodesPerSecond: 0.42,
    policyFile: `policies/round-${n}.json`,
    episodes: [],
  };
}

function heldOut(
  policy: LearnHeldOutRecord['policy'],
  task: string,
  rngSeed: number,
  testAccuracy: number,
  addedParameters: number,
  ok = true,
): LearnHeldOutRecord {
  return {
    event: 'heldout',
    at: at(100 + rngSeed),
    policy,
    policyVersion: policy === 'learned' ? 'v3' : policy,
    task,
    rngSeed,
    ok,
    testAccuracy,
    validationAccuracy: testAccuracy,
    addedParameters,
    addedShare: addedParameters / 10_000,
    objective: testAccuracy - 80,
    seconds: 3,
  };
}

/**
 * learned: spirals-c 90 and 92 (mean 91), <b>spirals-d</b> 80 (its failed episode is not averaged) → 85.50% over tasks;
 * heuristic: 88 and 78 → 83.00%; parameters: learned (1500 + 2500) / 2 = 2,000 and 3,000 → 2,500.
 */
const HELD_OUT: LearnHeldOutRecord[] = [
  heldOut('learned', 'spirals-c', 1, 90, 1000),
  heldOut('learned', 'spirals-c', 2, 92, 3000),
  heldOut('learned', '<b>spirals-d</b>', 1, 80, 3000),
  heldOut('learned', '<b>spirals-d</b>', 2, 0, 0, false),
  heldOut('heuristic', 'spirals-c', 1, 88, 500),
  heldOut('heuristic', '<b>spirals-d</b>', 1, 78, 700),
];

const RECORD: LearnRecordLine[] = [
  START,
  { event: 'baseline', at: at(1), policy: 'heuristic', figures: figures(3.5), episodes: [] },
  { event: 'baseline', at: at(2), policy: 'random', figures: figures(-1.25), episodes: [] },
  round(1, 0.5),
  round(2, 2),
  round(3, 4),
  ...HELD_OUT,
  {
    event: 'finished',
    at: at(200),
    code: 0,
    why: 'all rounds done',
    rounds: 3,
    policyFile: 'policies/round-3.json',
    seconds: 200,
  },
];

/** The markup of one section, by its heading. */
function sectionOf(html: string, title: string): string {
  const found = new RegExp(`<section><h2>${title}</h2>([\\s\\S]*?)</section>`).exec(html);
  if (!found) throw new Error(`no section ${title}`);
  return found[1]!;
}

const polyline = (html: string, series: string): Array<[number, number]> => {
  const found = new RegExp(`<polyline[^>]*data-series="${series}"[^>]*points="([^"]*)"`).exec(html);
  if (!found) return [];
  return found[1]!.split(' ').map((pair) => pair.split(',').map(Number) as [number, number]);
};

test('the header names the learn, its curriculum, rounds done of planned, prices and how it finished', (t) => {
  const html = renderLearnReport(RECORD);
  t.true(html.startsWith('<!doctype html>'));
  t.regex(html, /<h1>Esper learn learn-spirals-7<\/h1>/);
  t.regex(html, /quick-curriculum \(experiments\/quick-curriculum\.ts\)/);
  t.regex(html, /3 of 5 done/);
  t.regex(html, /rent 0\.02, cull cost 0\.03/);
  t.regex(html, /BP001, BP021/);
  t.regex(html, /class="status completed">finished: all rounds done/);
  t.regex(html, /200\.0 s/);
});

test('the learning curve: the return through the three rounds, rising, with the baselines as labelled reference lines', (t) => {
  const curve = sectionOf(renderLearnReport(RECORD), 'Learning curve');
  t.is((curve.match(/<svg/g) ?? []).length, 2);
  const learned = polyline(curve, 'learned policy');
  t.is(learned.length, 3);
  // SVG y grows downwards: a rising return has falling y, and x follows the rounds.
  t.true(learned[0]![1] > learned[1]![1] && learned[1]![1] > learned[2]![1]);
  t.true(learned[0]![0] < learned[1]![0] && learned[1]![0] < learned[2]![0]);
  t.regex(curve, /heuristic baseline 3\.50/);
  t.regex(curve, /random baseline -1\.25/);
  t.regex(curve, /heuristic baseline 83\.50%/);
  t.regex(curve, /random baseline 78\.75%/);
  t.is((curve.match(/class="mark"/g) ?? []).length, 4);
});

test('the action mix has a line per action; the parameters charts carry the baselines', (t) => {
  const html = renderLearnReport(RECORD);
  const mix = sectionOf(html, 'Action mix');
  for (const action of ['wait', 'germinate', 'cull', 'optimizer']) t.is(polyline(mix, action).length, 3, action);
  const added = sectionOf(html, 'Parameters added');
  t.regex(added, /heuristic baseline 3,500/);
  t.regex(added, /random baseline -1,250/);
  t.is(polyline(added, 'learned policy').length, 3);
});

test('the PPO table: a row per round with its losses, KL, clip fraction, throughput and policy file', (t) => {
  const ppo = sectionOf(renderLearnReport(RECORD), 'PPO');
  t.is((ppo.match(/<tr class="round">/g) ?? []).length, 3);
  for (const text of ['-0.0123', '0.4567', '1.234', '0.0042', '12.50%', '9.5', '0.42', 'policies/round-2.json'])
    t.true(ppo.includes(text), text);
});

test('held-out tasks: per task and policy, and the means per policy (failed episodes counted, not averaged)', (t) => {
  const held = sectionOf(renderLearnReport(RECORD), 'Held-out tasks');
  const rows = held.match(/<tr class="heldout">[\s\S]*?<\/tr>/g) ?? [];
  t.is(rows.length, 3);
  const cells = (row: string): string[] =>
    [...row.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ''));
  t.deepEqual(cells(rows[0]!), ['spirals-c', '91.00%', '2,000', '2', '88.00%', '500', '1']);
  t.deepEqual(cells(rows[1]!), [
    '&lt;b&gt;spirals-d&lt;/b&gt;',
    '80.00%',
    '3,000',
    '2 (1 failed)',
    '78.00%',
    '700',
    '1',
  ]);
  t.deepEqual(cells(rows[2]!), ['mean over tasks', '85.50%', '2,500', '4 (1 failed)', '83.00%', '600', '2']);
  t.false(held.includes('random: test accuracy'), 'a policy without held-out episodes has no columns');
});

test('the page is self-contained and escapes recorded text', (t) => {
  const html = renderLearnReport(RECORD);
  t.false(/<script|<link|src=|href=/i.test(html));
  t.false(html.includes('<b>spirals-d</b>'));
});

test('a record with only a start line (or nothing) renders, with muted notes instead of charts and tables', (t) => {
  const html = renderLearnReport([START]);
  t.regex(html, /class="status incomplete"/);
  t.regex(html, /0 of 5 done/);
  for (const title of ['Learning curve', 'Action mix', 'Parameters added', 'PPO'])
    t.regex(sectionOf(html, title), /<p class="muted">no round recorded yet<\/p>/, title);
  t.regex(sectionOf(html, 'Held-out tasks'), /<p class="muted">no held-out evaluation recorded<\/p>/);
  t.false(html.includes('<svg'));
  t.regex(renderLearnReport([]), /no start line recorded/);
});

test('rounds without baselines: the curve is drawn, and a note says the reference lines are missing', (t) => {
  const curve = sectionOf(renderLearnReport([START, round(1, 1), round(2, 2)]), 'Learning curve');
  t.is(polyline(curve, 'learned policy').length, 2);
  t.false(curve.includes('class="mark"'));
  t.regex(curve, /<p class="muted">no heuristic or random baseline recorded/);
});

test('writeLearnReport reads learn.jsonl and writes report.html (or --out) in the folder', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'esper-learn-report-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const record = new LearnRecord(join(dir, 'learn.jsonl'));
  for (const line of RECORD) record.append(line);
  const path = writeLearnReport(dir);
  t.is(path, join(dir, 'report.html'));
  const html = readFileSync(path, 'utf8');
  t.regex(html, /Esper learn learn-spirals-7/);
  t.regex(html, /85\.50%/);
  t.false(existsSync(`${path}.partial`));
  const out = join(dir, 'elsewhere.html');
  t.is(writeLearnReport(dir, out), out);
  t.true(existsSync(out));
  t.throws(() => writeLearnReport(join(dir, 'missing')), { message: /no learning folder/ });
});

test('a record written while the random seed was `seed` still reads, its start line with rngSeed, and the report names it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'esper-learn-old-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { rngSeed, ...start } = START;
  writeFileSync(
    join(dir, 'learn.jsonl'),
    `${[{ ...start, seed: rngSeed }, ...RECORD.slice(1)].map((line) => JSON.stringify(line)).join('\n')}\n`,
  );
  const [first] = readLearnRecord(join(dir, 'learn.jsonl'));
  t.like(first, { event: 'start', rngSeed: 7 });
  t.false('seed' in first!);
  t.regex(readFileSync(writeLearnReport(dir), 'utf8'), /<dt>random seed<\/dt><dd>7<\/dd>/);
});
