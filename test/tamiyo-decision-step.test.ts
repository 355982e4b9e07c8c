// Tamiyo's decision step as plain logic, without actors: the breaker gating the policy, late, missing and failed
// answers for a safe PAUSE, a policy still starting, the risk engine refusing, the blueprint lookup's budget, the
// rollback rule inside a decision, the field report and what a restart resets.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { CommandVerifier, signCommand } from '../contracts/command-signing.ts';
import { SignatureContext } from '../contracts/signing.ts';
import {
  decisionStep,
  initialCounters,
  lossDeltaOf,
  type DecisionEffect,
  type DecisionPorts,
  type DecisionSettings,
  type DecisionState,
  type PolicyAnswer,
} from '../actors/tamiyo/decision-step.ts';
import { STARTING } from '../actors/tamiyo/policy-actor.ts';
import {
  HEURISTIC_POLICY,
  initialPolicyVersions,
  ROLLBACK_AFTER,
  type PolicySpec,
} from '../actors/tamiyo/policy-versions.ts';
import { DEFAULT_RISK_CONFIG, RiskEngine } from '../actors/tamiyo/risk-engine.ts';

const { CommandType, SeedOperation, BlueprintTier, CircuitBreakerState } = leyline;
const secret = new SignatureContext('decision-step-secret');
const SETTINGS: DecisionSettings = {
  inferenceTimeoutMs: 15,
  metadataTimeoutMs: 20,
  observationEpochs: 2,
  shadowDecisions: 2,
  mode: 'greedy',
  temperature: 1,
};
const CATALOG = new Map<string, v1.BlueprintDescriptor>([
  [
    'BP-safe',
    leyline.BlueprintDescriptor.create({
      blueprintId: 'BP-safe',
      tier: BlueprintTier.BLUEPRINT_TIER_SAFE,
      stage: 1,
      risk: 0.1,
    }),
  ],
  [
    'BP-quarantined',
    leyline.BlueprintDescriptor.create({
      blueprintId: 'BP-quarantined',
      tier: BlueprintTier.BLUEPRINT_TIER_HIGH_RISK,
      stage: 1,
      risk: 0.9,
    }),
  ],
]);
const NETWORK: PolicySpec = {
  version: 'v-net',
  kind: 'network',
  weights: null,
  update: null,
  mode: 'greedy',
  temperature: 1,
};

/** A controller's decision state with a clock that stands still unless a test moves it. */
function setUp(policy: PolicySpec = HEURISTIC_POLICY) {
  const clock = { now: 0 };
  const state: DecisionState = {
    risk: new RiskEngine({ ...DEFAULT_RISK_CONFIG, breakerCooldownMs: 60_000 }, () => clock.now),
    versions: initialPolicyVersions(policy).state,
    lastValidation: null,
    counters: initialCounters(),
  };
  const ports: DecisionPorts = {
    now: () => clock.now,
    lookUpBlueprint: (id) => CATALOG.get(id) ?? null,
    sign: (command) => signCommand(command, secret),
  };
  const step = (packet: v1.SystemStatePacket, answer: PolicyAnswer) =>
    decisionStep(state, { packet, answer, startedAt: clock.now }, SETTINGS, ports);
  return { state, ports, clock, step };
}

function packet(
  epoch: number,
  loss: number,
  over: Partial<v1.SystemStatePacket.$Properties> = {},
): v1.SystemStatePacket {
  return leyline.SystemStatePacket.create({
    version: 1,
    packetId: `p-${epoch}`,
    trainingRunId: 'run-1',
    currentEpoch: epoch,
    globalStep: BigInt(100 * (epoch + 1)),
    validationLoss: loss,
    validationAccuracy: 1 - loss,
    ...over,
  });
}

function germinate(blueprintId = 'BP-safe', inferenceMs = 2): v1.PolicyDecision {
  return leyline.PolicyDecision.create({
    policyVersion: 'v-net',
    decidedBy: 'v-net',
    inferenceMs,
    choices: { action: 1 },
    proposal: leyline.AdaptationCommand.create({
      version: 1,
      commandType: CommandType.COMMAND_SEED,
      targetSeedId: 'seed-1',
      issuedBy: 'tamiyo',
      seedOperation: leyline.CommandSeedOperation.create({ operation: SeedOperation.SEED_OP_GERMINATE, blueprintId }),
      annotations: { action: 'germinate' },
    }),
  });
}
const answered = (decision: v1.PolicyDecision): PolicyAnswer => ({ type: 'answered', decision });

const followUpOf = (effects: readonly DecisionEffect[]) =>
  effects.flatMap((e) => (e.type === 'follow-up' ? [e.followUp] : []))[0]!;
const replyOf = (effects: readonly DecisionEffect[]) =>
  effects.flatMap((e) => (e.type === 'reply' ? [e.command] : []))[0]!;
const eventsOf = (effects: readonly DecisionEffect[]): string[] =>
  followUpOf(effects).telemetry.events.map((e) => e.description);

test("a kept answer: the policy's proposal is signed and replied, then reported with the decision and shadowed", (t) => {
  const { step, state } = setUp(NETWORK);
  const decision = germinate();
  const { effects, decision: made } = step(packet(0, 0.5), answered(decision));
  t.deepEqual(
    effects.map((e) => e.type),
    ['reply', 'follow-up'],
    'the reply first; the rest after it',
  );
  const command = replyOf(effects);
  t.is(command, made.command);
  t.is(command.commandType, CommandType.COMMAND_SEED);
  t.is(command.seedOperation?.blueprintId, 'BP-safe');
  t.like(command.annotations, {
    policy_version: 'v-net',
    policy_arch: 'tamiyo_gnn_v2',
    risk_reason: 'policy',
    blueprint_risk: '0.10',
  });
  t.true(new CommandVerifier(secret).verify(command).accepted);
  const { report, shadow } = followUpOf(effects);
  t.like(report, {
    reportId: 'run-1@100',
    commandId: command.commandId,
    trainingRunId: 'run-1',
    seedId: 'seed-1',
    blueprintId: 'BP-safe',
    tamiyoPolicyVersion: 'v-net',
    observationWindowEpochs: 2,
    notes: 'risk:policy',
  });
  t.is(report.metrics['decision.kind'], leyline.PolicyAction.POLICY_ACTION_GERMINATE);
  t.is(report.decision, decision);
  t.is(shadow, decision, 'the candidate compares itself with this decision');
  t.is(state.counters.decisions, 1);
});

test('an open inference breaker: the policy is not asked, and the decision is a hold that counts as gated', (t) => {
  const { step, state } = setUp(NETWORK);
  for (let epoch = 0; epoch < DEFAULT_RISK_CONFIG.breakerFailures; epoch += 1)
    step(packet(epoch, 0.5), { type: 'unanswered', error: 'no answer' });
  t.false(state.risk.inferenceAllowed(), 'three missed answers open the breaker: the controller does not ask');
  const { effects, decision } = step(packet(3, 0.5), { type: 'gated' });
  t.is(decision.command.commandType, CommandType.COMMAND_PAUSE);
  t.is(decision.command.targetSeedId, '');
  t.is(decision.command.annotations.risk_reason, 'inference_breaker_open');
  t.is(decision.policyDecision, null);
  t.true(eventsOf(effects).includes('inference_gated'));
  t.is(followUpOf(effects).report.notes, 'inference_breaker_open');
  t.is(followUpOf(effects).shadow, undefined, 'nothing to shadow');
  t.is(state.counters.gated, 1);
  t.is(
    state.risk.inferenceBreaker.snapshot().failureCount,
    DEFAULT_RISK_CONFIG.breakerFailures,
    'a gated decision is no failure of the breaker',
  );
});

test('the timeout path: a late answer is discarded whole for a safe PAUSE; a missing one is the same; each counts against the breaker', (t) => {
  const { step, state } = setUp(NETWORK);
  const late = step(packet(0, 0.5), answered(germinate('BP-safe', 16)));
  t.is(late.decision.command.commandType, CommandType.COMMAND_PAUSE);
  t.like(late.decision.command.annotations, {
    policy_action: 'timeout',
    risk_reason: 'timeout_inference',
    policy_version: 'v-net',
  });
  t.is(late.decision.policyDecision, null);
  const report = followUpOf(late.effects).report;
  t.is(report.notes, 'timeout_inference');
  t.falsy(report.decision, 'nothing of a late decision reaches the report');
  t.is(report.blueprintId, '');
  t.is(followUpOf(late.effects).shadow, undefined);
  t.like(followUpOf(late.effects).telemetry.events.find((e) => e.description === 'timeout_inference')?.attributes, {
    budget_ms: '15.0',
    elapsed_ms: '16.00',
  });

  const missing = step(packet(1, 0.49), { type: 'unanswered', error: 'ask timed out' });
  t.is(missing.decision.failure, 'timeout_inference');
  t.is(missing.decision.command.annotations.risk_reason, 'timeout_inference');
  t.is(state.counters.timeouts, 2);
  t.is(state.risk.inferenceBreaker.snapshot().failureCount, 2);
  t.true(state.risk.conservative, 'a timeout enters conservative mode');
  t.is(state.versions.activeFailures, 2, 'both are missed decisions for the rollback rule');
});

test('a failed policy and a policy still starting hold without counting as missed decisions', (t) => {
  const { step, state } = setUp(NETWORK);
  const failed = step(packet(0, 0.5), { type: 'failed', error: 'crashed' });
  t.is(failed.decision.command.annotations.risk_reason, 'policy_error');
  t.is(failed.decision.failure, 'policy_error');
  t.is(state.counters.policyErrors, 1);
  t.is(state.risk.inferenceBreaker.snapshot().failureCount, 1, 'the breaker counts it');
  t.is(state.versions.activeFailures, 0, 'its supervisor counts a crash, not the rollback rule');

  const starting = step(
    packet(1, 0.49),
    answered(leyline.PolicyDecision.create({ policyVersion: 'v-net', decidedBy: STARTING })),
  );
  t.is(starting.decision.command.annotations.risk_reason, 'policy_starting');
  t.true(eventsOf(starting.effects).includes('policy_starting'));
  t.is(followUpOf(starting.effects).shadow, undefined);
  t.is(state.risk.inferenceBreaker.snapshot().failureCount, 1, 'neither a success nor a failure');
  t.is(state.counters.timeouts + state.counters.gated, 0);
});

test('risk refusal: a quarantined blueprint and a loss spike turn the proposal into a hold', (t) => {
  const quarantined = setUp(NETWORK);
  const { decision } = quarantined.step(packet(0, 0.5), answered(germinate('BP-quarantined')));
  t.is(decision.command.commandType, CommandType.COMMAND_PAUSE);
  t.is(decision.command.targetSeedId, '', 'the hold names no seed');
  t.is(decision.verdict.reason, 'bp_quarantine');
  t.true(decision.verdict.conservative);
  t.is(decision.report.metrics.blueprint_risk, 0.9);
  t.is(decision.report.metrics['decision.conservative'], 1);
  t.is(decision.policyDecision?.decidedBy, 'v-net', 'the policy decided; the risk engine refused');

  const spike = setUp(NETWORK);
  spike.step(packet(0, 0.5), answered(germinate()));
  const { decision: spiked } = spike.step(packet(1, 0.8), answered(germinate()));
  t.is(spiked.verdict.reason, 'loss_spike');
  t.is(spiked.command.commandType, CommandType.COMMAND_PAUSE);
  t.true(Math.abs((spiked.report.metrics['decision.loss_delta'] ?? 0) - 0.3) < 1e-6);
});

test("the blueprint lookup has its budget: an over-budget lookup is a metadata timeout, and the blueprint's risk is not known", (t) => {
  const { step, state, ports, clock } = setUp(NETWORK);
  const slowPorts: DecisionPorts = {
    ...ports,
    lookUpBlueprint: (id) => {
      clock.now += SETTINGS.metadataTimeoutMs + 1;
      return ports.lookUpBlueprint(id);
    },
  };
  const { decision, effects } = decisionStep(
    state,
    { packet: packet(0, 0.5), answer: answered(germinate('BP-quarantined')), startedAt: clock.now },
    SETTINGS,
    slowPorts,
  );
  t.is(decision.verdict.reason, 'timeout_urza');
  t.is(decision.report.notes, 'timeout_urza');
  t.false('blueprint_risk' in decision.report.metrics);
  t.true(eventsOf(effects).includes('timeout_urza'));
  t.is(state.risk.metadataBreaker.snapshot().failureCount, 1);
  t.is(state.risk.inferenceBreaker.state, CircuitBreakerState.CIRCUIT_STATE_CLOSED);
  t.is(
    step(packet(1, 0.5), answered(germinate('BP-quarantined'))).decision.verdict.reason,
    'bp_quarantine',
    'in budget, its risk is read',
  );
});

test(`the rollback rule inside a decision: the ${ROLLBACK_AFTER}rd missed decision rolls back before the reply, under the version rolled back to`, (t) => {
  const { step, state } = setUp(NETWORK);
  for (let epoch = 0; epoch < ROLLBACK_AFTER - 1; epoch += 1)
    t.deepEqual(
      step(packet(epoch, 0.5), { type: 'unanswered', error: 'slow' }).effects.map((e) => e.type),
      ['reply', 'follow-up'],
    );
  const { effects, decision } = step(packet(ROLLBACK_AFTER, 0.5), { type: 'unanswered', error: 'slow' });
  t.deepEqual(
    effects.map((e) => e.type),
    ['retire', 'save-promoted', 'spawn', 'announce', 'reply', 'follow-up'],
  );
  t.is(decision.command.annotations.policy_version, HEURISTIC_POLICY.version);
  t.is(followUpOf(effects).telemetry.systemHealth?.indicators?.policy_version, HEURISTIC_POLICY.version);
  t.is(state.versions.active.kind, 'heuristic');
});

test('the loss delta: from the run’s history when the packet carries it, else the last loss of the same run', (t) => {
  t.is(lossDeltaOf(packet(0, 0.5), null), null, 'nothing before');
  t.true(Math.abs(lossDeltaOf(packet(1, 0.4), { runId: 'run-1', loss: 0.5 })! + 0.1) < 1e-6);
  t.is(lossDeltaOf(packet(1, 0.4), { runId: 'run-0', loss: 0.5 }), null, 'never across runs');
  t.true(
    Math.abs(
      lossDeltaOf(packet(5, 0.4, { validationLossHistory: [0.7, 0.6, 0.4] }), { runId: 'run-1', loss: 0.5 })! + 0.2,
    ) < 1e-6,
    'the history wins',
  );
  t.is(lossDeltaOf(packet(1, 0), { runId: 'run-1', loss: 0.5 }), null, 'no validation loss');
});

test('a restart resets what belongs to one incarnation: the last loss, conservative mode, the breakers, the missed decisions', (t) => {
  const before = setUp(NETWORK);
  before.step(packet(0, 0.5), answered(germinate()));
  before.step(packet(1, 0.49), { type: 'unanswered', error: 'slow' });
  t.true(before.state.risk.conservative);
  t.is(before.state.versions.activeFailures, 1);
  t.is(
    before.step(packet(2, 0.8), answered(germinate())).decision.verdict.reason,
    'loss_spike',
    'against the last loss seen',
  );

  const after = setUp(NETWORK);
  const { decision } = after.step(packet(2, 0.8), answered(germinate()));
  t.is(decision.verdict.reason, 'policy', 'a fresh state has no last loss to spike against, and is not conservative');
  t.is(decision.command.commandType, CommandType.COMMAND_SEED);
  t.like(after.state, { lastValidation: { runId: 'run-1', loss: 0.8 }, counters: { decisions: 1, timeouts: 0 } });
  t.is(after.state.versions.activeFailures, 0);
});
