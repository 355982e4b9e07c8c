// Tamiyo's controller as an actor, with its policy instance as a child: signed decisions with durable field reports
// and telemetry; PAUSE under risk and conservative mode that holds until a stable period; late decisions discarded
// and the inference breaker gating the policy; outcomes completed after their window; signed policy updates
// shadowed, promoted and kept across a restart, bad ones refused; the worker thread deciding as inline.
import test from 'ava';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leyline, type v1 } from '../contracts/index.ts';
import { encodeLeyline } from '../contracts/codec.ts';
import { CommandVerifier } from '../contracts/command-signing.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import {
  FieldReportLog,
  HEURISTIC_POLICY,
  resolveTamiyoConfig,
  tamiyoLogic,
  type PolicySpec,
  type TamiyoConfig,
} from '../actors/tamiyo/index.ts';
import {
  DEFAULT_GRAPH_OPTIONS,
  DEFAULT_PRIOR_OPTIONS,
  HEURISTIC_VERSION,
  rankCandidates,
  signPolicyUpdate,
  TamiyoGnn,
} from '../policy/index.ts';
import { InlinePolicyRunner, WorkerPolicyRunner } from '../actors/tamiyo/policy-runner.ts';
import { readPolicyMemory } from '../actors/tamiyo/policy-actor.ts';
import { statelessLogic } from '../runtime/logic.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { testSystem } from './helpers/actors.ts';
import { EventLog, eventually } from './helpers/events.ts';

const { CommandType, SeedLifecycleStage: Stage, FieldReportOutcome: Outcome } = leyline;
const secret = new SignatureContext('tamiyo-test-secret');
const { catalog } = setUpKarn({});
const SLOTS = [
  { id: 'mlp.0', dims: [128] },
  { id: 'mlp.1', dims: [64] },
];

test.before(async () => {
  await selectTensorBackend('wasm');
});

function startTamiyo(
  config: TamiyoConfig = {},
  stateDir = mkdtempSync(join(tmpdir(), 'esper-tamiyo-')),
  policy: PolicySpec | null = null,
  slots: () => typeof SLOTS = () => SLOTS,
) {
  const system = testSystem();
  const packets = new EventLog<v1.TelemetryPacket>();
  const telemetry = system.spawn(
    null,
    statelessLogic<v1.TelemetryPacket>('recorder', (p) => packets.push(p)),
    { name: 'telemetry' },
  );
  // Loose deadlines unless a test is about them: test files share the machine's cores.
  const settings = resolveTamiyoConfig({ inferenceTimeoutMs: 2_000, policyAnswerMs: 10_000, ...config }, {});
  const tamiyo = system.spawn(
    null,
    tamiyoLogic({ system, settings, signing: secret, catalog, slots, stateDir, telemetry, backend: 'wasm', policy }),
    { name: 'tamiyo' },
  );
  /** Asks for a decision and waits until its follow-up (report written, telemetry sent) is done. */
  const decide = async (
    packet: v1.SystemStatePacket,
  ): Promise<{ command: v1.AdaptationCommand; telemetry: v1.TelemetryPacket }> => {
    const command = await system.ask(tamiyo, packet, leyline.AdaptationCommand, 10_000);
    const telemetry = await packets.waitFor((p) => p.packetId === `tamiyo-${packet.packetId}`);
    return { command, telemetry };
  };
  const reports = (): v1.FieldReport[] => {
    const log = new FieldReportLog(join(stateDir, 'field_reports.db'));
    try {
      return log.reports();
    } finally {
      log.close();
    }
  };
  return { system, tamiyo, packets, decide, reports, stateDir };
}

let packetSeq = 0;
function state(
  epoch: number,
  validationLoss: number,
  over: Partial<v1.SystemStatePacket.$Properties> = {},
): v1.SystemStatePacket {
  packetSeq += 1;
  return leyline.SystemStatePacket.create({
    version: 1,
    packetId: `p-${packetSeq}`,
    trainingRunId: 'run-1',
    currentEpoch: epoch,
    globalStep: BigInt(100 * (epoch + 1)),
    validationLoss,
    validationAccuracy: 1 - validationLoss,
    trainingLoss: validationLoss + 0.02,
    trainingMetrics: {
      loss: validationLoss + 0.02,
      learning_rate: 1e-3,
      'slot.mlp.0.mean': 0.7,
      'slot.mlp.0.std': 1.1,
      'slot.mlp.0.abs_max': 5,
      ...over.trainingMetrics,
    },
    ...over,
  });
}
const metric = (packet: v1.TelemetryPacket, name: string): number | undefined =>
  packet.metrics.find((m) => m.name === name)?.value ?? undefined;

test('a decision is signed for Kasmina, reported durably with the graph and log-probabilities, and in telemetry', async (t) => {
  const h = startTamiyo();
  const { command, telemetry } = await h.decide(state(0, 0.5));
  const verdict = new CommandVerifier(secret).verify(command);
  t.true(verdict.accepted, verdict.reason);
  t.is(command.commandType, CommandType.COMMAND_PAUSE, 'the untrained policy holds while nothing has plateaued');
  t.is(command.targetSeedId, '');
  t.is(command.annotations.policy_version, HEURISTIC_VERSION);
  t.is(command.annotations.policy_arch, 'tamiyo_gnn_v2');
  const [report] = h.reports();
  t.is(report?.commandId, command.commandId);
  t.is(report?.tamiyoPolicyVersion, HEURISTIC_VERSION);
  t.is(report?.outcome, Outcome.FIELD_REPORT_OUTCOME_UNSPECIFIED, 'its outcome comes after the observation window');
  t.deepEqual(report?.decision?.graph?.nodes?.find((n) => n.nodeType === 'layer')?.nodeIds, ['mlp.0', 'mlp.1']);
  t.true(Number.isFinite(report?.decision?.logProbs?.action));
  t.is(report?.decision?.decidedBy, 'heuristic');
  t.is(report?.decision?.mode, 'heuristic');
  for (const name of [
    'tamiyo.decision.latency_ms',
    'tamiyo.inference.latency_ms',
    'tamiyo.gnn.inference.latency_ms',
    'tamiyo.policy.risk_score',
    'tamiyo.breaker.inference_state',
    'tamiyo.conservative_mode',
  ]) {
    t.not(metric(telemetry, name), undefined, name);
  }
  t.is(telemetry.systemHealth?.indicators?.policy_version, HEURISTIC_VERSION);
  t.is(telemetry.systemHealth?.indicators?.priority, 'MESSAGE_PRIORITY_NORMAL');
  await h.system.shutdown();
});

test("the policy's memory is written to disk every persistEvery decisions", async (t) => {
  const h = startTamiyo({ persistEvery: 2 });
  const path = join(h.stateDir, `memory-${HEURISTIC_VERSION}.json`);
  await h.decide(state(0, 0.5));
  t.false(existsSync(path), 'not after the first decision');
  await h.decide(state(1, 0.45));
  await eventually(() => existsSync(path), 'the memory file');
  t.deepEqual(readPolicyMemory(path)?.history, [
    [0, 0.5],
    [1, 0.45],
  ]);
  await h.system.shutdown();
});

test('pause under risk: a loss spike pauses and enters conservative mode, which lasts until three stable decisions', async (t) => {
  const h = startTamiyo();
  const reasons: string[] = [];
  const losses = [0.5, 0.8, 0.79, 0.78, 0.77, 0.76];
  for (const [epoch, loss] of losses.entries()) {
    const { command, telemetry } = await h.decide(state(epoch, loss));
    t.is(command.commandType, CommandType.COMMAND_PAUSE);
    reasons.push(command.annotations.risk_reason ?? '');
    if (epoch === 1) {
      t.deepEqual(
        telemetry.events
          .filter((e) => (e.description ?? '').startsWith('conservative') || e.description === 'loss_spike')
          .map((e) => e.description),
        ['loss_spike', 'conservative_entered'],
      );
      t.is(telemetry.systemHealth?.indicators?.priority, 'MESSAGE_PRIORITY_HIGH');
    }
    if (epoch === 4) t.true(telemetry.events.some((e) => e.description === 'conservative_exited'));
  }
  t.deepEqual(reasons, [
    'policy',
    'loss_spike',
    'conservative_mode',
    'conservative_mode',
    'conservative_mode',
    'policy',
  ]);
  // Every decision was reported, the spike's with REGRESSION semantics left to its window.
  t.is(h.reports().length, losses.length);
  await h.system.shutdown();
});

test('pause under risk: an over-budget hook and isolation violations each force a hold', async (t) => {
  const h = startTamiyo();
  const hook = await h.decide(state(0, 0.5, { trainingMetrics: { hook_latency_ms: 80 } }));
  t.is(hook.command.annotations.risk_reason, 'hook_budget');
  const isolation = await h.decide(state(1, 0.49, { trainingMetrics: { 'kasmina.isolation.violations': 2 } }));
  t.is(isolation.command.annotations.risk_reason, 'isolation_violation');
  t.true(isolation.telemetry.events.some((e) => e.description === 'isolation_violations'));
  await h.system.shutdown();
});

test('late decisions are discarded for a safe PAUSE; three open the inference breaker, which then gates the policy', async (t) => {
  // A budget no inference can meet: every decision is late. (A long cool-down: the breaker stays open here.)
  const h = startTamiyo({ inferenceTimeoutMs: 1e-6, risk: { breakerCooldownMs: 60_000 } });
  for (let epoch = 0; epoch < 3; epoch += 1) {
    const { command } = await h.decide(state(epoch, 0.5));
    t.is(command.commandType, CommandType.COMMAND_PAUSE);
    t.is(command.annotations.policy_action, 'timeout');
    t.is(command.annotations.risk_reason, 'timeout_inference');
    t.true(new CommandVerifier(secret).verify(command).accepted, 'the safe PAUSE is signed too');
  }
  const gated = await h.decide(state(3, 0.5));
  t.is(gated.command.annotations.risk_reason, 'inference_breaker_open');
  t.true(gated.telemetry.events.some((e) => e.description === 'inference_gated'));
  t.is(metric(gated.telemetry, 'tamiyo.breaker.inference_state'), leyline.CircuitBreakerState.CIRCUIT_STATE_OPEN);
  t.is(metric(gated.telemetry, 'tamiyo.conservative_mode'), 1);
  const reports = h.reports();
  t.is(reports.length, 4, 'timeouts and gated decisions are reported too');
  t.true(
    reports.every((r) => r.decision === null || r.decision === undefined),
    'nothing of a late decision is kept',
  );
  t.deepEqual(
    reports.map((r) => r.notes),
    ['timeout_inference', 'timeout_inference', 'timeout_inference', 'inference_breaker_open'],
  );
  await h.system.shutdown();
});

test('a germination is judged after its window from what happened: the seed appeared and the loss fell — SUCCESS', async (t) => {
  const h = startTamiyo({ prior: { plateauEpochs: 1, plateauTolerance: 0.5 }, observationEpochs: 1 });
  const first = await h.decide(state(0, 0.5));
  t.is(first.command.annotations.hold_reason, 'validation loss still improving', 'one epoch: no trend yet');
  const germinate = await h.decide(state(1, 0.45));
  t.is(germinate.command.commandType, CommandType.COMMAND_SEED);
  t.is(germinate.command.annotations.slot_id, 'mlp.1', 'the narrowest free slot');
  const seedId = germinate.command.targetSeedId;
  // Another run's state completes nothing of this run's and is no loss spike for it.
  const other = await h.decide(state(9, 0.05, { trainingRunId: 'run-2' }));
  t.not(other.command.annotations.risk_reason, 'loss_spike');
  t.is(h.reports()[1]?.outcome, Outcome.FIELD_REPORT_OUTCOME_UNSPECIFIED, 'the germination waits for its own run');
  await h.decide(
    state(2, 0.4, {
      seedStates: [leyline.SeedState.create({ seedId, stage: Stage.SEED_STAGE_TRAINING, layerDepth: 2 })],
    }),
  );
  const [hold, germination] = h.reports();
  t.is(germination?.seedId, seedId);
  t.is(germination?.outcome, Outcome.FIELD_REPORT_OUTCOME_SUCCESS);
  t.is(germination?.metrics?.['observed.seed_stage'], Stage.SEED_STAGE_TRAINING);
  t.true(Math.abs((germination?.metrics?.loss_delta ?? 0) - (0.4 - 0.45)) < 1e-6);
  t.is(hold?.outcome, Outcome.FIELD_REPORT_OUTCOME_NEUTRAL, 'a hold is not credited with the run’s own progress');
  await h.system.shutdown();
});

test('a signed policy update is shadowed, then promoted: the network decides under its version, kept across a restart', async (t) => {
  const h = startTamiyo({ shadowDecisions: 2 });
  const gnn = new TamiyoGnn(undefined, 21);
  const payload = encodeLeyline(gnn.exportWeights());
  gnn.dispose();
  const update = (version: string, signing = secret) =>
    signPolicyUpdate(
      leyline.PolicyUpdate.create({ version: 1, policyId: 'simic', tamiyoPolicyVersion: version, payload }),
      signing,
    );
  h.system.dispatch(h.tamiyo, update('v-forged', new SignatureContext('not-the-secret')));
  h.system.dispatch(h.tamiyo, update('v-trained-1'));
  await h.packets.waitFor((p) => p.events.some((e) => e.description === 'policy_update_received'));
  const rejected = h.packets.seen.flatMap((p) => p.events).find((e) => e.description === 'policy_update_rejected');
  t.deepEqual(rejected?.attributes, { version: 'v-forged', reason: 'bad_signature' });
  // Two decisions in shadow: the active (prior) policy still decides.
  for (let epoch = 0; epoch < 2; epoch += 1) {
    const { command } = await h.decide(state(epoch, 0.5 - epoch * 0.01));
    t.is(command.annotations.policy_version, HEURISTIC_VERSION);
  }
  const applied = await h.packets.waitFor((p) => p.events.some((e) => e.description === 'policy_update_applied'));
  t.like(applied.events[0]?.attributes, { version: 'v-trained-1', previous: HEURISTIC_VERSION, shadow_decisions: '2' });
  const after = await h.decide(state(2, 0.48));
  t.is(after.command.annotations.policy_version, 'v-trained-1');
  t.is(after.command.annotations.decided_by, 'v-trained-1', 'trained weights: the network decides, under its version');
  t.is(h.reports().at(-1)?.tamiyoPolicyVersion, 'v-trained-1');
  t.true(existsSync(join(h.stateDir, 'policy.pb')));
  await h.system.shutdown();

  const restarted = startTamiyo({}, h.stateDir);
  const again = await restarted.decide(state(3, 0.47));
  t.is(again.command.annotations.policy_version, 'v-trained-1', 'the promoted policy is loaded at start');
  t.is(restarted.reports().length, 4, 'the reports of before the restart are kept');
  await restarted.system.shutdown();
});

test('a promoted policy that keeps failing is rolled back to the one before it', async (t) => {
  const h = startTamiyo({ shadowDecisions: 1 });
  const gnn = new TamiyoGnn(undefined, 23);
  const payload = encodeLeyline(gnn.exportWeights());
  gnn.dispose();
  h.system.dispatch(
    h.tamiyo,
    signPolicyUpdate(leyline.PolicyUpdate.create({ version: 1, tamiyoPolicyVersion: 'v-fragile', payload }), secret),
  );
  await h.packets.waitFor((p) => p.events.some((e) => e.description === 'policy_update_received'));
  await h.decide(state(0, 0.5));
  await h.packets.waitFor((p) => p.events.some((e) => e.description === 'policy_update_applied'));
  t.is((await h.decide(state(1, 0.49))).command.annotations.policy_version, 'v-fragile');
  // The active policy's actor ends three times (here: stopped from outside); twice it is restarted, then rolled back.
  const activePolicy = (): string =>
    h.system
      .tree()
      .map((w) => w.path)
      .filter((p) => p.startsWith('/tamiyo/policy-'))
      .at(-1)!;
  for (let i = 1; i <= 3; i += 1) {
    const from = h.packets.seen.length;
    h.system.dispatch({ path: activePolicy(), system: h.system.name }, leyline.StopRequest.create({ reason: 'test' }));
    await h.packets.waitFor(
      (p) => p.events.some((e) => e.description === (i < 3 ? 'policy_restarted' : 'policy_rolled_back')),
      { from },
    );
  }
  const rolledBack = h.packets.seen.flatMap((p) => p.events).find((e) => e.description === 'policy_rolled_back');
  t.like(rolledBack?.attributes, { from: 'v-fragile', to: HEURISTIC_VERSION });
  t.is((await h.decide(state(2, 0.48))).command.annotations.policy_version, HEURISTIC_VERSION);
  t.false(existsSync(join(h.stateDir, 'policy.pb')), 'a restart would not bring the failed policy back');
  await h.system.shutdown();
});

test("a policy instance that crashes is restarted by its spec from its version's weights and decides again under that version", async (t) => {
  // The instance reads the host's slots at each decision: a failing read crashes the instance (not the controller).
  let crash = false;
  const slots = () => {
    if (crash) {
      crash = false;
      throw new Error('slot probe unavailable');
    }
    return SLOTS;
  };
  const gnn = new TamiyoGnn(undefined, 41);
  const weights = gnn.exportWeights();
  gnn.dispose();
  const h = startTamiyo(
    {},
    undefined,
    { version: 'v-net', kind: 'network', weights, update: null, mode: 'greedy', temperature: 1 },
    slots,
  );
  t.is((await h.decide(state(0, 0.5))).command.annotations.decided_by, 'v-net');
  const instance = h.system.tree().find((w) => w.path.startsWith('/tamiyo/policy-'))!.path;
  crash = true;
  const during = await h.decide(state(1, 0.49));
  t.is(during.command.commandType, CommandType.COMMAND_PAUSE, 'the crashed decision is a safe hold');
  const restarted = await h.packets.waitFor((p) => p.events.some((e) => e.description === 'policy_restarted'));
  t.like(restarted.events.find((e) => e.description === 'policy_restarted')?.attributes, {
    version: 'v-net',
    instance: instance.split('/').at(-1),
  });
  const after = await h.decide(state(2, 0.48));
  t.is(after.command.annotations.decided_by, 'v-net', 'the same version decides again');
  t.is(after.command.annotations.policy_version, 'v-net');
  const worker = h.system.tree().find((w) => w.path === instance);
  t.is(worker?.restartCount, 1, 'the same instance, restarted once (not replaced)');
  t.false(h.packets.seen.some((p) => p.events.some((e) => e.description === 'policy_rolled_back')));
  await h.system.shutdown();
});

test('the run’s policy, when given, decides (the random baseline here); a promoted policy in the folder is not used', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'esper-tamiyo-'));
  const gnn = new TamiyoGnn(undefined, 31);
  writeFileSync(
    join(folder, 'policy.pb'),
    encodeLeyline(
      signPolicyUpdate(
        leyline.PolicyUpdate.create({
          version: 1,
          tamiyoPolicyVersion: 'v-promoted',
          payload: encodeLeyline(gnn.exportWeights()),
        }),
        secret,
      ),
    ),
  );
  gnn.dispose();
  const h = startTamiyo({}, folder, {
    version: 'random',
    kind: 'random',
    weights: null,
    update: null,
    mode: 'greedy',
    temperature: 1,
  });
  const kinds = new Set<number>();
  for (let epoch = 0; epoch < 12; epoch += 1) {
    const { command } = await h.decide(state(epoch, 0.5 - epoch * 0.001));
    t.is(command.annotations.decided_by, 'random');
    kinds.add(command.commandType);
  }
  t.true(kinds.size >= 2, 'uniform over the allowed actions: not always the same kind of command');
  t.true(h.reports().every((r) => r.decision?.mode === 'random'));
  await h.system.shutdown();
  const heuristic = startTamiyo({}, folder, HEURISTIC_POLICY);
  t.is((await heuristic.decide(state(0, 0.5))).command.annotations.decided_by, 'heuristic');
  await heuristic.system.shutdown();
  const promoted = startTamiyo({}, folder);
  t.is(
    (await promoted.decide(state(0, 0.5))).command.annotations.decided_by,
    'v-promoted',
    'without a given policy, the promoted one',
  );
  await promoted.system.shutdown();
});

test('a sampling policy on its own worker thread decides as it does on the training thread (the same draws)', async (t) => {
  const world = { slots: SLOTS, blueprints: rankCandidates(catalog.all()).slice(0, 4) };
  const options = {
    version: 'sampler',
    kind: 'network' as const,
    mode: 'sample' as const,
    rngSeed: 9,
    weights: null,
    memory: null,
    graph: DEFAULT_GRAPH_OPTIONS,
    prior: DEFAULT_PRIOR_OPTIONS,
  };
  const worker = await WorkerPolicyRunner.start(options, world, 'wasm', 10_000);
  const inline = new InlinePolicyRunner(options, world);
  try {
    for (const [epoch, loss] of [0.5, 0.45, 0.449].entries()) {
      const packet = state(epoch, loss);
      const [a, b] = await Promise.all([worker.decide(packet, world), inline.decide(packet, world)]);
      // The worker's copy of the packet crossed as bytes (float32 fields), so figures agree to float32 rounding.
      const close = (x: number[], y: number[]): boolean =>
        x.length === y.length && x.every((v, i) => Math.abs(v - y[i]!) < 1e-5);
      t.deepEqual(a.choices, b.choices, `epoch ${epoch}`);
      t.is(a.decidedBy, b.decidedBy);
      t.is(a.proposal?.commandType, b.proposal?.commandType);
      t.is(a.proposal?.annotations?.hold_reason, b.proposal?.annotations?.hold_reason);
      t.true(close(Object.values(a.logProbs ?? {}), Object.values(b.logProbs ?? {})));
      t.true(
        close(
          Object.keys(b.outputs ?? {}).map((k) => a.outputs?.[k] ?? Number.NaN),
          Object.values(b.outputs ?? {}),
        ),
      );
      const features = (d: v1.PolicyDecision): number[] => (d.graph?.nodes ?? []).flatMap((n) => n.features ?? []);
      t.true(close(features(a), features(b)), 'the same graph');
    }
    const [fromWorker, fromInline] = await Promise.all([worker.memory(), inline.memory()]);
    // The worker's packets crossed as bytes, so their float fields are float32-rounded.
    t.deepEqual(
      fromWorker.history.map(([e, l]) => [e, Math.fround(l)]),
      fromInline.history.map(([e, l]) => [e, Math.fround(l)]),
      'the same history',
    );
  } finally {
    await worker.close();
    await inline.close();
  }
});

test("the policy's liveness guard is never shorter than the inference deadline (a network decides slower than the rule)", (t) => {
  t.is(resolveTamiyoConfig({}, {}).policyAnswerMs, 500);
  t.is(resolveTamiyoConfig({ inferenceTimeoutMs: 2_000 }, {}).policyAnswerMs, 2_000);
  t.is(resolveTamiyoConfig({ inferenceTimeoutMs: 2_000, policyAnswerMs: 300 }, {}).policyAnswerMs, 300, 'as set');
});
