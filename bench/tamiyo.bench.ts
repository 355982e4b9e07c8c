// Tamiyo's cost per decision and its field-report log's durability cost.
//
// decision: the controller's answer to a SystemStatePacket, asked as Tolaria asks it (graph build, GNN, decoding,
//   risk engine, signing; the field report and telemetry follow the reply), with 0, 4 and 16 seeds on trial in a
//   16-slot host, the policy on the training thread (the default) and on a worker thread. 200 decisions after 20
//   warm-up ones, one at a time (each after the previous one's follow-up). Target p95 ≤ 12 ms, the design's Tamiyo
//   budget (the baseline column: a stated anchor, there is no in-process baseline for it).
// gnn: the network alone (graph built, forward pass, outputs read) on this thread, for the same states.
// wal: FieldReportLog.append of real decision reports (with their graphs, ~3 KB) under synchronous=FULL: reports/s
//   and p95; baseline: the same rows into the same schema with synchronous=OFF, in the same run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../runtime/sqlite.ts';
import { leyline, type v1 } from '../contracts/index.ts';
import { toTimestamp } from '../contracts/time.ts';
import { encodeLeyline } from '../contracts/codec.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { FieldReportLog, resolveTamiyoConfig, tamiyoLogic } from '../actors/tamiyo/index.ts';
import { PolicyInstance, rankCandidates } from '../policy/index.ts';
import { statelessLogic } from '../runtime/logic.ts';
import { ActorSystem } from '../runtime/system.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { percentile, report } from './report.ts';

const BENCH = 'tamiyo';
const SEED_COUNTS = [0, 4, 16];
const WARM_UP = 20;
const DECISIONS = 200;
const BUDGET_MS = 12;
const APPENDS = 400;

const { catalog } = setUpKarn({});
const SLOTS = Array.from({ length: 16 }, (_, i) => ({ id: `mlp.${i}`, dims: [64] }));
const secret = new SignatureContext('bench-tamiyo');

let sequence = 0;
function packet(seeds: number, epoch: number): v1.SystemStatePacket {
  sequence += 1;
  return leyline.SystemStatePacket.create({
    version: 1,
    packetId: `bench-${sequence}`,
    trainingRunId: 'bench',
    currentEpoch: epoch,
    globalStep: BigInt(100 * (epoch + 1)),
    validationLoss: 0.5 - 0.001 * epoch,
    validationAccuracy: 0.8,
    trainingLoss: 0.52,
    trainingMetrics: {
      loss: 0.52,
      learning_rate: 1e-3,
      gradient_norm: 1.2,
      initial_learning_rate: 1e-3,
      host_parameters: 16 * 64 * 64,
      ...Object.fromEntries(
        SLOTS.flatMap((s) => [
          [`slot.${s.id}.mean`, 0.6],
          [`slot.${s.id}.std`, 0.9],
          [`slot.${s.id}.abs_max`, 4],
        ]),
      ),
    },
    seedStates: Array.from({ length: seeds }, (_, i) =>
      leyline.SeedState.create({
        seedId: `s${i}`,
        stage: leyline.SeedLifecycleStage.SEED_STAGE_TRAINING,
        layerDepth: i + 1,
        learningRate: 1e-3,
        gradientNorm: 0.4,
        riskScore: 0.2,
        ageEpochs: 1,
        metrics: { alpha: 0 },
      }),
    ),
  });
}

async function decisions(thread: 'worker' | 'inline'): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'esper-bench-tamiyo-'));
  const system = new ActorSystem({ name: `bench-tamiyo-${thread}` });
  const followUps: Array<() => void> = [];
  const telemetry = system.spawn(
    null,
    statelessLogic<v1.TelemetryPacket>('recorder', () => followUps.shift()?.()),
    { name: 'telemetry' },
  );
  // Deadlines loose enough that no decision here is discarded: this measures, it does not judge.
  const settings = resolveTamiyoConfig(
    { policyThread: thread, inferenceTimeoutMs: 1_000, policyAnswerMs: 10_000, persistEvery: 1_000_000 },
    {},
  );
  const tamiyo = system.spawn(
    null,
    tamiyoLogic({
      system,
      settings,
      signing: secret,
      catalog,
      slots: () => SLOTS,
      stateDir,
      telemetry,
      backend: 'wasm',
    }),
    { name: 'tamiyo' },
  );
  let epoch = 0;
  const decide = async (seeds: number): Promise<{ ms: number; decided: boolean }> => {
    const done = new Promise<void>((resolve) => followUps.push(resolve));
    const started = performance.now();
    const command = await system.ask(tamiyo, packet(seeds, epoch++), leyline.AdaptationCommand, 10_000);
    const ms = performance.now() - started;
    await done;
    return { ms, decided: command.annotations.decided_by !== undefined };
  };
  // The worker thread answers "starting" (a hold) until its policy is loaded: wait for a real decision.
  while (!(await decide(0)).decided);
  for (const seeds of SEED_COUNTS) {
    for (let i = 0; i < WARM_UP; i++) await decide(seeds);
    const times: number[] = [];
    for (let i = 0; i < DECISIONS; i++) times.push((await decide(seeds)).ms);
    report(BENCH, `decision_p50_ms_${thread}_${seeds}_seeds`, percentile(times, 50), 'ms', BUDGET_MS);
    report(BENCH, `decision_p95_ms_${thread}_${seeds}_seeds`, percentile(times, 95), 'ms', BUDGET_MS);
  }
  await system.shutdown();
}

function gnnAlone(): void {
  const instance = new PolicyInstance({ version: 'bench', kind: 'network' });
  const world = { slots: SLOTS, blueprints: rankCandidates(catalog.all()).slice(0, 4) };
  for (const seeds of SEED_COUNTS) {
    const times: number[] = [];
    for (let i = 0; i < WARM_UP + DECISIONS; i++) {
      const { decision } = instance.decide(packet(seeds, i), world);
      if (i >= WARM_UP) times.push(decision.inferenceMs);
    }
    report(BENCH, `policy_inference_p50_ms_${seeds}_seeds`, percentile(times, 50), 'ms', BUDGET_MS);
    report(BENCH, `policy_inference_p95_ms_${seeds}_seeds`, percentile(times, 95), 'ms', BUDGET_MS);
  }
  instance.dispose();
}

function wal(): void {
  const instance = new PolicyInstance({ version: 'bench', kind: 'network' });
  const world = { slots: SLOTS, blueprints: rankCandidates(catalog.all()).slice(0, 4) };
  const reports = Array.from({ length: APPENDS }, (_, i) =>
    leyline.FieldReport.create({
      version: 1,
      reportId: `r-${i}`,
      commandId: `c-${i}`,
      trainingRunId: 'bench',
      issuedAt: toTimestamp(Date.now()),
      metrics: { 'decision.epoch': i, 'decision.validation_loss': 0.5 },
      decision: instance.decide(packet(4, i), world).decision,
    }),
  );
  instance.dispose();
  const bytes = encodeLeyline(reports[0]!).length;
  const log = new FieldReportLog(join(mkdtempSync(join(tmpdir(), 'esper-bench-wal-')), 'field_reports.db'));
  const times: number[] = [];
  const started = performance.now();
  for (const r of reports) {
    const t0 = performance.now();
    log.append(r);
    times.push(performance.now() - t0);
  }
  const durablePerSecond = APPENDS / ((performance.now() - started) / 1000);
  log.close();
  // Baseline: the same rows, the same schema, synchronous=OFF (no fsync per commit).
  const db = openSqlite(join(mkdtempSync(join(tmpdir(), 'esper-bench-wal-off-')), 'field_reports.db'), {
    store: "the bench's unsynced field reports",
    setup: (raw) => {
      raw.pragma('journal_mode = WAL');
      raw.pragma('synchronous = OFF');
      raw.exec(
        'CREATE TABLE field_reports (id INTEGER PRIMARY KEY, report_id TEXT NOT NULL UNIQUE, issued_at_ms INTEGER NOT NULL, outcome INTEGER NOT NULL, report BLOB NOT NULL)',
      );
    },
  });
  const insert = db.prepare('INSERT INTO field_reports (report_id, issued_at_ms, outcome, report) VALUES (?, ?, ?, ?)');
  const baseTimes: number[] = [];
  const baseStarted = performance.now();
  for (const r of reports) {
    const t0 = performance.now();
    insert.run(r.reportId, Date.now(), 0, encodeLeyline(r));
    baseTimes.push(performance.now() - t0);
  }
  const fastPerSecond = APPENDS / ((performance.now() - baseStarted) / 1000);
  db.close();
  report(BENCH, 'wal_append_reports_per_s', durablePerSecond, 'reports/s', fastPerSecond);
  report(BENCH, 'wal_append_p95_ms', percentile(times, 95), 'ms', percentile(baseTimes, 95));
  report(BENCH, 'wal_report_bytes', bytes, 'bytes');
}

export async function run(): Promise<void> {
  await selectTensorBackend('wasm');
  gnnAlone();
  await decisions('inline');
  await decisions('worker');
  wal();
}
