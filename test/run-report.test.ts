// The run record (`<run-dir>/run.jsonl`), its summary and the HTML report: unit tests on hand-written records, then
// `esper run` end to end (the summary block, the report written at the end) and `esper report <run-dir>`.
import test from 'ava';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leyline } from '../contracts/index.ts';
import { toTimestamp } from '../contracts/time.ts';
import type { EpochSummary, SeedSummary } from '../actors/tolaria/index.ts';
import {
  decisionRecord,
  decisions,
  readRunRecord,
  RunRecord,
  summarizeRun,
  type DecisionRecord,
  type EpochRecord,
  type FinishedRecord,
  type RunRecordLine,
  type StartRecord,
} from '../cli/run-record/index.ts';
import { renderReport } from '../cli/report/index.ts';
import { EpochClock, formatDuration, formatEpoch, formatSummary } from '../cli/training-progress.ts';
import { esper, freshDir, quickConfig } from './helpers/esper-cli.ts';

/** Decisions are not cut short by a loaded machine. */
const QUICK_TAMIYO = "tamiyo: { policy: 'heuristic', inferenceTimeoutMs: 2000 }";

const at = (second: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();

/** A start line without its event and time: what `RunRecord.open` is given. */
const startInfo = (resumed = false): Omit<StartRecord, 'event' | 'at'> => ({
  runId: 'spirals-test',
  experiment: 'spirals',
  resumed,
  dataset: 'spirals',
  host: 'mlp 16-32-32-4',
  rngSeed: 3,
  budgets: { epochs: 4, hookBudgetMs: 50, tamiyoDeadlineMs: 2000, inferenceTimeoutMs: 15, haltAfterFailedEpochs: 3 },
});
const start = (second: number, resumed = false): StartRecord => ({
  event: 'start',
  at: at(second),
  ...startInfo(resumed),
});

function summary(epoch: number, seeds: Array<Partial<SeedSummary> & { id: string }>, seedParameters = 0): EpochSummary {
  return {
    runId: 'spirals-test',
    epoch,
    epochs: 4,
    globalStep: epoch * 10,
    trainLoss: 1 / (epoch + 1),
    trainAccuracy: 0.5 + epoch * 0.1,
    validationLoss: 1.1 / (epoch + 1),
    validationAccuracy: 0.45 + epoch * 0.1,
    samplesPerSecond: 1000,
    trainSeconds: 2,
    hookMs: 5 + epoch,
    hookPhases: { assemblyMs: 1, tamiyoMs: 2 + epoch, kasminaMs: 1, applyMs: 0.5 },
    seedsByStage: {},
    emergencyLevel: 'EMERGENCY_LEVEL_NOTICE',
    conservative: false,
    failedReason: null,
    liveTensors: 0,
    decision: null,
    parameters: { host: 1000, seeds: seedParameters },
    seeds: seeds.map((seed) => ({
      slot: '',
      blueprint: '',
      stage: 'training',
      alpha: 0,
      ageEpochs: 0,
      parameters: 0,
      ...seed,
    })),
  };
}

const epochLine = (second: number, s: EpochSummary): EpochRecord => ({ event: 'epoch', at: at(second), ...s });

/** Four epochs: seed-a fossilizes at mlp.0; seed-b vanishes from the list; seed-c is culled; seed-d is still training. */
const EPOCHS: EpochSummary[] = [
  summary(0, [{ id: 'seed-a', slot: 'mlp.0', blueprint: 'BP001', stage: 'germinated' }]),
  summary(1, [
    { id: 'seed-a', slot: 'mlp.0', blueprint: 'BP001' },
    { id: 'seed-b', slot: 'mlp.1', blueprint: 'BP002', stage: 'germinated' },
    { id: 'seed-c', slot: 'mlp.2', blueprint: 'BP003', stage: 'germinated' },
  ]),
  summary(
    2,
    [
      { id: 'seed-a', slot: 'mlp.0', blueprint: 'BP001', stage: 'fossilized', parameters: 100 },
      { id: 'seed-b', slot: 'mlp.1', blueprint: 'BP002' },
      { id: 'seed-c', stage: 'culled' },
    ],
    100,
  ),
  summary(
    3,
    [
      { id: 'seed-a', slot: 'mlp.0', blueprint: 'BP001', stage: 'fossilized', parameters: 100 },
      { id: 'seed-d', slot: 'mlp.1', blueprint: 'BP004', parameters: 20 },
    ],
    120,
  ),
];

function decision(epoch: number, commandId: string, fields: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    event: 'decision',
    at: at(10 + epoch * 10),
    commandId,
    epoch,
    action: 'hold',
    seedId: '',
    blueprintId: '',
    slot: '',
    outcome: 'neutral',
    decidedBy: 'heuristic',
    notes: 'policy_risk_signal',
    metrics: {
      'decision.validation_loss': 0.5,
      'observed.validation_loss': 0.4,
      loss_delta: -0.1,
      'decision.inference_ms': 3,
    },
    ...fields,
  };
}

const DECISIONS: DecisionRecord[] = [
  decision(0, 'c0', { action: 'germinate', seedId: 'seed-a', blueprintId: 'BP001', slot: 'mlp.0', outcome: 'success' }),
  decision(1, 'c1', {
    action: 'germinate',
    seedId: '<script>alert(1)</script>',
    blueprintId: 'BP002',
    slot: 'mlp.1',
    outcome: 'regression',
  }),
  decision(2, 'c2', { outcome: 'pending' }),
];

const finished = (second: number): FinishedRecord => ({
  event: 'finished',
  at: at(second),
  code: 0,
  why: 'training complete',
  result: {
    runId: 'spirals-test',
    status: 'completed',
    epochs: 4,
    globalStep: 40,
    testAccuracy: 0.9,
    testLoss: 0.3,
    reason: null,
    seconds: 55,
    resumedFrom: null,
  },
  summary: {
    testAccuracy: 0.9,
    hostParameters: 0,
    parametersAdded: 0,
    germinated: 0,
    fossilized: 0,
    culled: 0,
    seconds: 0,
    epochs: 0,
    policies: [],
    policyLearning: false,
  },
});

const RUN: RunRecordLine[] = [
  start(0),
  ...EPOCHS.map((s, i) => epochLine(10 + i * 10, s)),
  {
    event: 'alert',
    at: at(25),
    kind: 'fired',
    rule: 'training_latency_high',
    metric: 'tolaria.epoch_hook.latency_ms',
    source: 'tolaria',
    value: 23.5,
    threshold: 18,
  },
  ...DECISIONS,
  finished(60),
];

test('summarizeRun: seeds fossilized, culled (a culling stage, or gone before fossilizing), parameters the seeds add, time', (t) => {
  t.deepEqual(summarizeRun(RUN), {
    testAccuracy: 0.9,
    hostParameters: 1000,
    parametersAdded: 120,
    germinated: 4,
    fossilized: 1,
    culled: 2,
    seconds: 60,
    epochs: 4,
    policies: ['heuristic'],
    policyLearning: false,
  });
});

test('the summary and the report say which policies decided, and whether Simic learned during the run', (t) => {
  const records: RunRecordLine[] = [
    { ...start(0), policyLearning: true },
    ...EPOCHS.map((s, i) => epochLine(10 + i * 10, s)),
    decision(0, 'c0'),
    decision(1, 'c1', { decidedBy: '' }),
    decision(2, 'c2', { decidedBy: 'simic-7' }),
    decision(3, 'c3', { decidedBy: 'heuristic' }),
    finished(60),
  ];
  const s = summarizeRun(records);
  t.deepEqual(
    s.policies,
    ['heuristic', 'simic-7'],
    'in the order they first decided; a decision no policy took names none',
  );
  t.true(s.policyLearning);
  t.regex(formatSummary(s), /\n {2}decided by {5}heuristic, then simic-7 \(Simic learning during the run\)$/);
  t.regex(
    renderReport(records),
    /<dt>decided by<\/dt><dd>heuristic, then simic-7 \(Simic learning during the run\)<\/dd>/,
  );
  const fixed = summarizeRun(RUN);
  t.false(fixed.policyLearning, 'a start line without the flag: no learning');
  t.regex(formatSummary(fixed), /\n {2}decided by {5}heuristic$/);
});

test('summarizeRun over a resumed run: an epoch trained twice counts once, time is the sum of the sessions, the test accuracy is the last session’s', (t) => {
  const records: RunRecordLine[] = [
    start(0),
    epochLine(10, EPOCHS[0]!),
    epochLine(20, EPOCHS[1]!),
    // Killed here; resumed from the checkpoint of epoch 0, 100 s later.
    start(120, true),
    epochLine(130, { ...EPOCHS[1]!, trainLoss: 0.42 }),
    epochLine(140, EPOCHS[2]!),
  ];
  const s = summarizeRun(records);
  t.is(s.epochs, 3);
  t.is(s.seconds, 40);
  t.is(s.testAccuracy, null, 'the last session has not finished');
  t.is(s.culled, 1, 'seed-c');
});

test('the reader names the file and line of a broken line, and the field of a malformed one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'esper-record-'));
  const file = join(dir, 'run.jsonl');
  writeFileSync(
    file,
    `${JSON.stringify(start(0))}\n\n${JSON.stringify(epochLine(10, EPOCHS[0]!))}\n{"event":"epoch",\n`,
  );
  t.throws(() => readRunRecord(file), { message: (m) => m.startsWith(`${file}:4: not JSON (`) });
  writeFileSync(
    file,
    `${JSON.stringify(start(0))}\n${JSON.stringify({ ...epochLine(10, EPOCHS[0]!), trainAccuracy: 'high' })}\n`,
  );
  t.throws(() => readRunRecord(file), { message: `${file}:2: epoch.trainAccuracy must be a number, got "high"` });
  writeFileSync(file, `${JSON.stringify({ event: 'lunch', at: at(0) })}\n`);
  t.throws(() => readRunRecord(file), { message: /run\.jsonl:1: unknown event "lunch"/ });
  writeFileSync(file, `${JSON.stringify({ ...epochLine(10, EPOCHS[1]!), seeds: [{ id: 'x' }] })}\n`);
  t.throws(() => readRunRecord(file), { message: /:1: epoch\.seeds\[0\]\.slot must be a string, got nothing/ });
  const { hookPhases, ...older } = epochLine(10, EPOCHS[1]!);
  writeFileSync(file, `${JSON.stringify({ ...older, hookPhases: { ...hookPhases, kasminaMs: null } })}\n`);
  t.throws(() => readRunRecord(file), { message: /:1: epoch\.hookPhases\.kasminaMs must be a number, got null/ });
  writeFileSync(file, `${JSON.stringify(older)}\n`);
  t.is(readRunRecord(file).length, 1, 'a line written before the hook parts were recorded still reads');
});

test('a start line written while the random seed was `seed` reads as rngSeed, and the report names it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'esper-record-'));
  const file = join(dir, 'run.jsonl');
  const { rngSeed, ...old } = start(0);
  writeFileSync(file, `${JSON.stringify({ ...old, seed: rngSeed })}\n`);
  const [line] = readRunRecord(file);
  t.like(line, { event: 'start', rngSeed: 3 });
  t.false('seed' in line!);
  t.regex(renderReport(readRunRecord(file)), /random seed 3/);
  rmSync(dir, { recursive: true });
});

test('RunRecord: lines before the run folder is known follow the start line; a resumed run appends; decisions are not written twice', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'esper-record-'));
  let second = 0;
  const clock = (): Date => new Date(at(second));
  const warnings: string[] = [];
  const first = new RunRecord((text) => warnings.push(text), clock);
  second = 5;
  first.epoch(EPOCHS[0]!);
  second = 10;
  first.open(dir, startInfo());
  second = 20;
  first.epoch(EPOCHS[1]!);
  first.decisions([DECISIONS[0]!, DECISIONS[2]!]);
  const lines = readRunRecord(join(dir, 'run.jsonl'));
  t.deepEqual(
    lines.map((l) => l.event),
    ['start', 'epoch', 'epoch', 'decision', 'decision'],
  );
  t.deepEqual(
    lines.slice(0, 3).map((l) => l.at),
    [at(10), at(5), at(20)],
    'the start line is written when the folder is known',
  );

  // A resumed session: the pending decision now has its outcome; the completed one is already recorded.
  second = 100;
  const resumed = new RunRecord((text) => warnings.push(text), clock);
  resumed.open(dir, startInfo(true));
  second = 110;
  resumed.epoch(EPOCHS[2]!);
  resumed.decisions([DECISIONS[0]!, { ...DECISIONS[2]!, outcome: 'neutral' }, DECISIONS[1]!]);
  const end = resumed.finish(0, 'training complete', null);
  const all = readRunRecord(join(dir, 'run.jsonl'));
  t.deepEqual(
    all.slice(5).map((l) => (l.event === 'decision' ? `decision ${l.commandId} ${l.outcome}` : l.event)),
    ['start', 'epoch', 'decision c2 neutral', 'decision c1 regression', 'finished'],
  );
  // Sessions: 10 s → 30 s (the last decision issued), then 100 s → 110 s.
  t.like(end.summary, { epochs: 3, germinated: 3, fossilized: 1, seconds: 20 + 10, testAccuracy: null });
  t.deepEqual(warnings, []);
});

test("an epoch decided again after a resume counts as the later session's decision only; an outcome recorded later keeps its decision", (t) => {
  const before = [
    start(0),
    DECISIONS[0]!,
    decision(1, 'c1-killed', {
      action: 'germinate',
      seedId: 'seed-b',
      blueprintId: 'BP001',
      slot: 'mlp.0',
      outcome: 'pending',
    }),
  ];
  const after = [start(50, true), { ...DECISIONS[0]!, outcome: 'neutral' as const }, DECISIONS[1]!];
  const kept = decisions([...before, ...after]);
  t.deepEqual(
    kept.map((d) => `${d.epoch} ${d.commandId} ${d.outcome}`),
    ['0 c0 neutral', '1 c1 regression'],
  );
});

test('RunRecord never stops training: a folder it cannot write is said once, and later lines are dropped', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'esper-record-'));
  const notAFolder = join(dir, 'file');
  writeFileSync(notAFolder, '');
  const warnings: string[] = [];
  const record = new RunRecord((text) => warnings.push(text));
  record.open(notAFolder, startInfo());
  record.epoch(EPOCHS[0]!);
  t.notThrows(() => record.finish(0, 'done', null));
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /the run record .*file\/run\.jsonl stopped: /);
});

test('a field report becomes a decision line: action, outcome, slot of a germination, metrics', (t) => {
  const report = leyline.FieldReport.create({
    reportId: 'r1',
    commandId: 'cmd-1',
    trainingRunId: 'spirals-test',
    seedId: 'seed-e7',
    blueprintId: 'BP001',
    outcome: leyline.FieldReportOutcome.FIELD_REPORT_OUTCOME_SUCCESS,
    metrics: { 'decision.epoch': 7, 'decision.kind': leyline.PolicyAction.POLICY_ACTION_GERMINATE, loss_delta: -0.07 },
    issuedAt: toTimestamp(Date.parse(at(30))),
    notes: 'policy_risk_signal',
    decision: leyline.PolicyDecision.create({
      decidedBy: 'heuristic',
      proposal: leyline.AdaptationCommand.create({ annotations: { slot_id: 'mlp.0' } }),
    }),
  });
  t.like(decisionRecord(report), {
    event: 'decision',
    at: at(30),
    commandId: 'cmd-1',
    epoch: 7,
    action: 'germinate',
    seedId: 'seed-e7',
    slot: 'mlp.0',
    outcome: 'success',
    decidedBy: 'heuristic',
  });
  const pending = decisionRecord(
    leyline.FieldReport.create({
      commandId: 'cmd-2',
      metrics: { 'decision.epoch': 8, 'decision.kind': leyline.PolicyAction.POLICY_ACTION_WAIT },
    }),
  );
  t.like(pending, { action: 'wait', outcome: 'pending', slot: '' });
  const culled = decisionRecord(
    leyline.FieldReport.create({
      commandId: 'cmd-3',
      metrics: { 'decision.kind': leyline.PolicyAction.POLICY_ACTION_CULL },
    }),
  );
  t.is(culled.action, 'cull');
});

const count = (html: string, pattern: RegExp): number => html.match(pattern)?.length ?? 0;
/** Each <polyline>'s number of points. */
const polylinePoints = (html: string): number[] =>
  [...html.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]!.trim().split(/\s+/).length);

test('renderReport: a polyline per curve with a point per epoch, a timeline row per slot, a table row per decision, text escaped, nothing external', (t) => {
  const html = renderReport(RUN);
  t.true(html.startsWith('<!doctype html>'));
  t.deepEqual(
    polylinePoints(html),
    [4, 4, 4, 4, 4, 4],
    'loss: train, validation; accuracy: train, validation; parameters: host, host + seeds',
  );
  t.is(count(html, /class="slot-row"/g), 3, 'mlp.0, mlp.1, mlp.2 (seed-c carried to its last known slot when culled)');
  t.regex(
    html,
    /data-slot="mlp\.2"><text[^>]*>mlp\.2<\/text><rect class="band" data-seed="seed-c" data-stage="germinated"[\s\S]*?data-seed="seed-c" data-stage="culled"/,
  );
  t.is(count(html, /<tr class="decision">/g), 3);
  t.is(count(html, /<tr class="alert">/g), 1);
  t.regex(html, /test 90\.00%/, 'the test accuracy is marked on the accuracy chart');
  t.regex(html, /1,000 → 1,120 \(\+120, \+12\.0%\)/);
  t.regex(html, /4 germinated, 1 fossilized, 2 culled/);
  t.regex(html, /<p class="status completed">completed<\/p>/);
  t.false(html.includes('<script'), 'no script, and the seed id named <script> is escaped');
  t.true(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  t.notRegex(html, /\bsrc=|href="?http|url\(/i);
});

test('renderReport of an interrupted run without an end, epochs or decisions still renders, saying so', (t) => {
  const html = renderReport([start(0)]);
  t.regex(html, /incomplete: no end recorded/);
  t.regex(html, /no seed was germinated/);
  t.regex(html, /no decisions recorded/);
  t.is(count(html, /<polyline/g), 0);
});

test('the ETA: epochs left × the mean wall time per epoch so far, after the fields the progress line always had', (t) => {
  let now = 0;
  const clock = new EpochClock(() => now);
  const at0 = { ...summary(0, []), epochs: 5 };
  t.is(clock.lap(at0), 8, 'the first epoch: its training time (2 s) stands in for its wall time; 4 left');
  now = 4000;
  t.is(clock.lap({ ...at0, epoch: 1 }), 9, 'mean (2 + 4) / 2 = 3 s; 3 left');
  t.is(clock.lap({ ...at0, epoch: 4 }), null, 'nothing left after the last');
  t.regex(
    formatEpoch(at0, 9),
    /^epoch 1\/5 {2}loss [\d.]+ {2}acc [\d.]+% {2}val_loss [\d.]+ {2}val_acc [\d.]+% {2}seeds none {2}[\d,]+ samples\/s {2}2\.0 s {2}hook 5\.0 ms {2}ETA 9s$/,
  );
  t.deepEqual([0.2, 12.4, 185, 7620].map(formatDuration), ['<1s', '12s', '3m05s', '2h07m']);
});

// End to end.

test('esper run ends with a summary block and writes the report; esper report regenerates it from run.jsonl', async (t) => {
  const cwd = freshDir('esper-report-');
  const run = await esper(['run', quickConfig(cwd, 20, QUICK_TAMIYO), '--nissa-port', '0', '--rng-seed', '3'], cwd);
  t.is(run.code, 0, run.stderr);
  const block =
    /esper: shutdown complete in \d+ ms\nesper: summary\n {2}test accuracy {2}([\d.]+)%\n {2}parameters {5}([\d,]+) → ([\d,]+) \(\+[\d,]+, \+[\d.]+%\)\n {2}seeds {10}(\d+) germinated, (\d+) fossilized, (\d+) culled\n {2}time {11}[\d.]+ s, 20 epochs\n {2}decided by {5}heuristic \(Simic learning during the run\)\nesper: report written to (\S+)\n$/.exec(
      run.stdout,
    );
  t.truthy(block, run.stdout);
  const [, accuracy, , , germinated, fossilized, culled, path] = block!;
  t.regex(run.stdout, new RegExp(`training complete: test accuracy ${accuracy!.replace('.', '\\.')}%`));
  t.true(Number(germinated) >= 1, 'with seed 3 Tamiyo germinates');
  t.true(Number(fossilized) + Number(culled) <= Number(germinated));
  t.regex(run.stdout, /^epoch 1\/20 .* ETA \S+/m, 'the progress line has an ETA');
  t.notRegex(run.stdout, /^epoch 20\/20 .* ETA/m, 'but not the last');

  const runDir = join(path!, '..');
  const records = readRunRecord(join(runDir, 'run.jsonl'));
  t.is(records[0]!.event, 'start');
  t.is(records[records.length - 1]!.event, 'finished');
  t.is(records.filter((r) => r.event === 'epoch').length, 20);
  const decisions = records.filter((r) => r.event === 'decision').length;
  t.true(decisions > 0);
  const slots = new Set(
    records.flatMap((r) => (r.event === 'epoch' ? r.seeds.map((s) => s.slot).filter(Boolean) : [])),
  );
  const html = readFileSync(path!, 'utf8');
  t.deepEqual(polylinePoints(html), [20, 20, 20, 20, 20, 20]);
  t.is(count(html, /class="slot-row"/g), slots.size);
  t.is(count(html, /<tr class="decision">/g), decisions);
  // On a loaded machine the hook can run slow for long enough to fire an alert: each one is a row.
  t.is(count(html, /<tr class="alert">/g), records.filter((r) => r.event === 'alert').length);
  t.regex(html, /germinate<\/td><td>seed-e\d+-s\d+<\/td><td>BP\d{3}<\/td><td>mlp\.\d<\/td>/);

  rmSync(path!);
  const again = await esper(['report', runDir], cwd);
  t.is(again.code, 0, again.stderr);
  t.is(again.stdout, `esper: report written to ${path}\n`);
  t.is(readFileSync(path!, 'utf8'), html, 'the same report from the same record');
  const elsewhere = join(cwd, 'elsewhere.html');
  t.is((await esper(['report', runDir, '--out', elsewhere], cwd)).code, 0);
  t.true(existsSync(elsewhere));

  const missing = await esper(['report', join(cwd, 'no-such-run')], cwd);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^esper: no run folder .*no-such-run\n$/);
  const empty = await esper(['report', cwd], cwd);
  t.is(empty.code, 1);
  t.regex(empty.stderr, /^esper: no run record in .* \(run\.jsonl is missing\)\n$/);
  appendFileSync(join(runDir, 'run.jsonl'), '{"event":"epoch"\n');
  const broken = await esper(['report', runDir], cwd);
  t.is(broken.code, 1);
  t.regex(broken.stderr, new RegExp(`^esper: .*run\\.jsonl:${records.length + 1}: not JSON .*\\n$`));
  const usage = await esper(['report'], cwd);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /esper report needs a run folder/);
});

test('esper run --json adds the summary and the report to its finished object', async (t) => {
  const cwd = freshDir('esper-report-');
  const run = await esper(['run', quickConfig(cwd, 2, QUICK_TAMIYO), '--json', '--nissa-port', '0'], cwd);
  t.is(run.code, 0, run.stderr);
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.deepEqual(
    lines.map((l) => l.event),
    ['epoch', 'epoch', 'finished'],
  );
  t.is(typeof lines[0]!.etaSeconds, 'number');
  t.is(lines[1]!.etaSeconds, null);
  const end = lines[2] as {
    summary: { epochs: number; testAccuracy: number; hostParameters: number };
    report: string;
    result: { testAccuracy: number };
  };
  t.like(end.summary, { epochs: 2, testAccuracy: end.result.testAccuracy, hostParameters: 1732 });
  t.regex(end.report, /runs\/spirals-\d{8}-\d{6}\/report\.html$/);
  t.true(existsSync(end.report));
});

test("each epoch line of the record holds its hook's parts: non-negative, Tamiyo and Kasmina asked, within the hook's time", async (t) => {
  const cwd = freshDir('esper-report-');
  const runDir = join(cwd, 'run');
  const run = await esper(
    ['run', quickConfig(cwd, 2, QUICK_TAMIYO), '--quiet', '--nissa-port', '0', '--run-dir', runDir],
    cwd,
  );
  t.is(run.code, 0, run.stderr);
  const lines = readRunRecord(join(runDir, 'run.jsonl')).filter((r): r is EpochRecord => r.event === 'epoch');
  t.is(lines.length, 2);
  for (const line of lines) {
    const phases = line.hookPhases;
    t.truthy(phases, `epoch ${line.epoch} has hookPhases`);
    const { assemblyMs, tamiyoMs, kasminaMs, applyMs } = phases!;
    for (const [name, ms] of Object.entries({ assemblyMs, tamiyoMs, kasminaMs, applyMs }))
      t.true(Number.isFinite(ms) && ms >= 0, `epoch ${line.epoch}: ${name} ${ms}`);
    // Both were asked at every boundary (the heuristic decides; Kasmina answers every command): an ask takes time.
    t.true(tamiyoMs > 0 && kasminaMs > 0, `epoch ${line.epoch}: tamiyo ${tamiyoMs}, kasmina ${kasminaMs}`);
    // The parts are disjoint stretches of the hook, so together they never exceed it.
    const sum = assemblyMs + tamiyoMs + kasminaMs + applyMs;
    t.true(sum <= line.hookMs + 1e-6, `epoch ${line.epoch}: parts ${sum} ms, hook ${line.hookMs} ms`);
  }
});
