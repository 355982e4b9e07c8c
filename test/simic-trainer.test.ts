// Simic's replay buffer (each report once, capacity, TTL anywhere, pending reports later, malformed ones counted),
// validation (every failed check named), and the trainer actor: it reads Tamiyo's completed field reports, trains,
// and sends Tamiyo a signed PolicyUpdate that passes Tamiyo's own checks.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leyline, type v1 } from '../contracts/index.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { toTimestamp } from '../contracts/time.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { FieldReportLog } from '../actors/tamiyo/index.ts';
import { checkPolicyUpdate, HEURISTIC_VERSION, PolicyInstance, rankCandidates } from '../policy/index.ts';
import { resolveSimicConfig, runTrainingJob, simicLogic, type TrainingOutcome } from '../actors/simic/index.ts';
import type { SimicRequest } from '../actors/simic/simic-thread.ts';
import { ReplayBuffer } from '../actors/simic/replay.ts';
import { rewardOf } from '../actors/simic/experience.ts';
import { validate } from '../actors/simic/validation.ts';
import { statelessLogic } from '../runtime/logic.ts';
import { WorkerChannel } from '../runtime/worker-channel.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { testSystem } from './helpers/actors.ts';
import { EventLog } from './helpers/events.ts';
import { PolicyStates, STATE_SLOTS } from './helpers/policy-states.ts';

const { FieldReportOutcome: Outcome } = leyline;
const { catalog } = setUpKarn({});

test.before(async () => {
  await selectTensorBackend('wasm');
});

/** Completed reports of real decisions (the heuristic on synthetic states), issued at `atMs`. */
function reports(
  count: number,
  atMs = Date.now(),
  outcome: v1.FieldReportOutcome = Outcome.FIELD_REPORT_OUTCOME_SUCCESS,
): v1.FieldReport[] {
  const instance = new PolicyInstance({ version: HEURISTIC_VERSION, kind: 'heuristic' });
  const states = new PolicyStates(3);
  const world = { slots: STATE_SLOTS, blueprints: rankCandidates(catalog.all()).slice(0, 4) };
  const out = Array.from({ length: count }, (_, i) =>
    leyline.FieldReport.create({
      version: 1,
      reportId: `r-${atMs}-${i}`,
      trainingRunId: 'run-a',
      outcome,
      issuedAt: toTimestamp(atMs),
      metrics: { loss_delta: -0.01 * (i % 3), 'decision.epoch': i },
      decision: instance.decide(states.next(), world).decision,
    }),
  );
  instance.dispose();
  return out;
}

test('the replay buffer keeps each report once, within capacity and TTL, and learns from pending reports once complete', (t) => {
  let now = 1_000_000_000;
  const replay = new ReplayBuffer({ capacity: 5, ttlMs: 60_000, rngSeed: 1, clock: () => now });
  const fresh = reports(4, now);
  t.is(replay.addReports(fresh), 4);
  t.is(replay.addReports(fresh), 0, 'each report once');
  const pending = reports(1, now, Outcome.FIELD_REPORT_OUTCOME_UNSPECIFIED)[0]!;
  pending.reportId = 'pending';
  t.is(replay.addReports([pending]), 0);
  t.is(replay.counters.skipped, 1);
  pending.outcome = Outcome.FIELD_REPORT_OUTCOME_NEUTRAL;
  t.is(replay.addReports([pending]), 1, 'learned from once its outcome is in');
  t.is(replay.addReports(reports(2, now + 1)), 2);
  t.is(replay.size, 5, 'capacity');
  t.is(replay.counters.evicted, 2);
  const broken = reports(1, now)[0]!;
  broken.reportId = 'broken';
  broken.decision!.graph!.edges!.pop();
  t.is(replay.addReports([broken]), 0);
  t.is(replay.counters.malformed, 1);
  t.regex(replay.lastProblem, /relation parameter\.targets\.blueprint is missing/);
  const sample = replay.sample(3);
  t.is(new Set(sample).size, 3, 'without replacement');
  now += 120_000;
  t.is(replay.sample(10).length, 0, 'expired wherever they sit');
  t.is(replay.counters.expired, 5);
});

test('the reward charges a germinated seed for the parameters it added (Kasmina reports them, Tamiyo records them)', (t) => {
  const [base] = reports(1);
  const germinated = leyline.FieldReport.create({
    ...base!,
    reportId: 'grown',
    blueprintId: 'BP002',
    metrics: { ...base!.metrics, 'observed.seed_parameters': 50_000 },
  });
  const held = leyline.FieldReport.create({
    ...base!,
    reportId: 'held',
    blueprintId: '',
    metrics: { ...base!.metrics, 'observed.seed_parameters': 50_000 },
  });
  const replay = new ReplayBuffer({ capacity: 5, ttlMs: 60_000, rngSeed: 1 });
  replay.addReports([germinated, held]);
  const [grown, kept] = [rewardOf(germinated, 50_000)!, rewardOf(held, 50_000)!];
  t.true(Math.abs(kept - grown - 0.5) < 1e-9, '0.01 per thousand parameters: 50 000 cost 0.5');
  t.deepEqual(
    replay
      .sample(2)
      .map((e) => e.reward)
      .sort(),
    [grown, kept].sort(),
    'the replay buffer reads the count from the report',
  );
});

test('Tamiyo’s store hands a polling reader only the completed reports it has not seen', (t) => {
  const log = new FieldReportLog(join(mkdtempSync(join(tmpdir(), 'esper-simic-store-')), 'field_reports.db'));
  const [a, b] = reports(2);
  const pending = reports(1, Date.now(), Outcome.FIELD_REPORT_OUTCOME_UNSPECIFIED)[0]!;
  pending.reportId = 'pending';
  for (const r of [a!, b!, pending]) log.append(r);
  t.deepEqual(
    log.completed(new Set()).map((r) => r.reportId),
    [a!.reportId, b!.reportId],
  );
  t.deepEqual(
    log.completed(new Set([a!.reportId])).map((r) => r.reportId),
    [b!.reportId],
  );
  pending.outcome = Outcome.FIELD_REPORT_OUTCOME_NEUTRAL;
  log.complete(pending);
  t.deepEqual(
    log.completed(new Set([a!.reportId, b!.reportId])).map((r) => r.reportId),
    ['pending'],
    'once complete',
  );
  log.close();
});

test('validation names every failed check, and never passes an untrained policy', (t) => {
  const stats = {
    experiences: 10,
    policyLoss: 7,
    valueLoss: 60,
    entropy: -1,
    approxKl: 0,
    clipFraction: 0,
    skippedMinibatches: 0,
    averageReward: -0.5,
  };
  t.deepEqual(validate(stats, { active: 0.5, candidate: 0.1 }).reasons, [
    'trained on 10 experiences, fewer than 32',
    'average_reward -0.5000 below min 0.0000',
    'policy_loss 7.0000 above max 5.0000',
    'value_loss 60.0000 above max 50.0000',
    'policy_entropy -1.0000 below min 0.0000',
    "held-out reward 0.1000 below the active policy's 0.5000",
  ]);
  t.deepEqual(
    validate({ ...stats, experiences: 0, policyLoss: 0, valueLoss: 0, entropy: 0, averageReward: 0 }, null).passed,
    false,
  );
  t.true(
    validate(
      {
        experiences: 40,
        policyLoss: 0.1,
        valueLoss: 1,
        entropy: 0.9,
        approxKl: 0,
        clipFraction: 0,
        skippedMinibatches: 0,
        averageReward: 0.2,
      },
      { active: 0.2, candidate: 0.18 },
    ).passed,
  );
});

test('the trainer reads Tamiyo’s completed reports, trains, and sends Tamiyo a signed update Tamiyo accepts', async (t) => {
  const tamiyoDir = mkdtempSync(join(tmpdir(), 'esper-simic-tamiyo-'));
  const log = new FieldReportLog(join(tamiyoDir, 'field_reports.db'));
  for (const report of reports(48)) log.append(report);
  log.close();
  const secret = new SignatureContext('simic-trainer-test');
  const system = testSystem();
  const packets = new EventLog<v1.TelemetryPacket>();
  const updates = new EventLog<v1.PolicyUpdate>();
  const telemetry = system.spawn(
    null,
    statelessLogic<v1.TelemetryPacket>('recorder', (p) => packets.push(p)),
    { name: 'telemetry' },
  );
  const tamiyo = system.spawn(
    null,
    statelessLogic<v1.PolicyUpdate>('tamiyo-stand-in', (u) => updates.push(u)),
    { name: 'tamiyo' },
  );
  const settings = resolveSimicConfig({
    pollMs: 20,
    trainEvery: 40,
    thread: 'inline',
    ppo: { epochs: 2 },
    validation: { minAverageReward: -10 },
  });
  system.spawn(
    null,
    simicLogic({
      settings,
      tamiyoStateDir: tamiyoDir,
      stateDir: mkdtempSync(join(tmpdir(), 'esper-simic-')),
      signing: secret,
      tamiyo,
      telemetry,
      backend: 'wasm',
    }),
    { name: 'simic' },
  );
  const update = await updates.waitFor(() => true, { timeoutMs: 60_000 });
  const check = checkPolicyUpdate(update, secret, [HEURISTIC_VERSION]);
  t.true(check.ok, check.ok ? '' : check.reason);
  t.regex(update.tamiyoPolicyVersion, /^simic-/);
  const job = packets.seen.find((p) => p.events.some((e) => e.description === 'Simic PPO update'));
  t.is(
    job?.metrics.find((m) => m.name === 'simic.training.experiences')?.value,
    39,
    '48 experiences, a fifth held out',
  );
  t.is(job?.metrics.find((m) => m.name === 'simic.validation.pass')?.value, 1);
  await system.shutdown();
});

test('a training job on Simic’s worker thread gives what it gives on this thread', async (t) => {
  const replay = new ReplayBuffer({ capacity: 100, ttlMs: 3_600_000, rngSeed: 1 });
  replay.addReports(reports(20));
  const job = {
    experiences: replay.sample(20),
    activeWeights: null,
    ppo: { epochs: 1 },
    validation: { minSamples: 1, minAverageReward: -10 },
  };
  const channel = new WorkerChannel<SimicRequest, { outcome: TrainingOutcome }>(
    new URL('../actors/simic/simic-thread.ts', import.meta.url),
    'simic thread',
  );
  try {
    const { outcome: there } = await channel.request({ kind: 'train', backend: 'wasm', job }, 120_000);
    const here = runTrainingJob(job);
    t.is(there.passed, here.passed);
    for (const key of ['policyLoss', 'valueLoss', 'entropy', 'averageReward'] as const)
      t.true(Math.abs(there.stats[key] - here.stats[key]) < 1e-4, key);
    t.is(there.weights?.length, here.weights?.length);
  } finally {
    await channel.close();
  }
});

test('a SimicTrainRequest trains at once and answers what came of it', async (t) => {
  const tamiyoDir = mkdtempSync(join(tmpdir(), 'esper-simic-tamiyo-'));
  const secret = new SignatureContext('simic-trainer-test');
  const system = testSystem();
  const updates = new EventLog<v1.PolicyUpdate>();
  const tamiyo = system.spawn(
    null,
    statelessLogic<v1.PolicyUpdate>('tamiyo-stand-in', (u) => updates.push(u)),
    { name: 'tamiyo' },
  );
  // Never on schedule here: only on request.
  const settings = resolveSimicConfig({
    pollMs: 3_600_000,
    trainEvery: 1_000_000,
    thread: 'inline',
    ppo: { epochs: 1 },
    validation: { minAverageReward: -10, minSamples: 8 },
  });
  const simic = system.spawn(
    null,
    simicLogic({
      settings,
      tamiyoStateDir: tamiyoDir,
      stateDir: mkdtempSync(join(tmpdir(), 'esper-simic-')),
      signing: secret,
      tamiyo,
      telemetry: null,
      backend: 'wasm',
    }),
    { name: 'simic' },
  );
  const ask = (requestId: string) =>
    system.ask(
      simic,
      leyline.SimicTrainRequest.create({ requestId, reason: 'test' }),
      leyline.SimicTrainResult,
      60_000,
    );
  const empty = await ask('first');
  t.false(empty.published);
  t.deepEqual(empty.reasons, ['no completed field reports to learn from']);
  const log = new FieldReportLog(join(tamiyoDir, 'field_reports.db'));
  for (const report of reports(20)) log.append(report);
  log.close();
  const done = await ask('second');
  t.is(done.requestId, 'second');
  t.true(done.published, done.reasons.join('; '));
  t.is(done.experiences, 16, 'a fifth held out');
  t.is((await updates.waitFor(() => true)).tamiyoPolicyVersion, done.policyVersion);
  await system.shutdown();
});
