// Tamiyo's risk engine: the reference's rules in order, with their thresholds; conservative mode that persists until
// a stable period (never leaving in the call that entered it); breakers that open on repeated timeouts and gate
// inference.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { RiskEngine, DEFAULT_RISK_CONFIG, type RiskInput } from '../actors/tamiyo/risk-engine.ts';

const { CommandType, SeedOperation, BlueprintTier } = leyline;

const germinate = (annotations: Record<string, string> = {}): v1.AdaptationCommand =>
  leyline.AdaptationCommand.create({
    version: 1,
    commandId: 'c',
    commandType: CommandType.COMMAND_SEED,
    targetSeedId: 's1',
    seedOperation: leyline.CommandSeedOperation.create({
      operation: SeedOperation.SEED_OP_GERMINATE,
      blueprintId: 'BP009',
      parameters: { depth: 1 },
    }),
    annotations,
  });
const input = (over: Partial<RiskInput> = {}): RiskInput => ({
  command: germinate(),
  lossDelta: 0,
  blueprint: { tier: BlueprintTier.BLUEPRINT_TIER_SAFE, stage: 1, risk: 0.3, quarantineOnly: false },
  timedOut: false,
  blueprintTimedOut: false,
  trainingMetrics: {},
  ...over,
});
const names = (events: ReadonlyArray<{ description: string }>) => events.map((e) => e.description);

test('a calm decision passes unchanged with risk_reason "policy"; the proposal itself is not modified', (t) => {
  const engine = new RiskEngine();
  const proposal = germinate();
  const verdict = engine.evaluate(input({ command: proposal }));
  t.is(verdict.command.commandType, CommandType.COMMAND_SEED);
  t.is(verdict.command.seedOperation?.blueprintId, 'BP009');
  t.like(verdict.command.annotations, {
    risk_reason: 'policy',
    blueprint_tier: 'SAFE',
    blueprint_stage: '1',
    blueprint_risk: '0.30',
  });
  t.false(verdict.conservative);
  t.deepEqual(proposal.annotations, {}, 'the proposal is left as it was');
});

test('thresholds: policy risk 0.98/0.85, blueprint 0.8/0.5 and quarantine, loss 0.15/0.075, hook 50 ms, isolation', (t) => {
  const cases: Array<[Partial<RiskInput>, v1.CommandType, string, string]> = [
    [
      { command: germinate({ policy_risk_score: '0.98' }) },
      CommandType.COMMAND_PAUSE,
      'policy_risk_critical',
      'policy_risk_critical',
    ],
    [
      { command: germinate({ policy_risk_score: '0.9' }) },
      CommandType.COMMAND_OPTIMIZER,
      'policy_risk_elevated',
      'policy_risk_elevated',
    ],
    [
      { blueprint: { tier: BlueprintTier.BLUEPRINT_TIER_HIGH_RISK, stage: 6, risk: 0.8, quarantineOnly: false } },
      CommandType.COMMAND_PAUSE,
      'bp_quarantine',
      'bp_quarantine',
    ],
    [
      { blueprint: { tier: BlueprintTier.BLUEPRINT_TIER_SAFE, stage: 1, risk: 0.1, quarantineOnly: true } },
      CommandType.COMMAND_PAUSE,
      'bp_quarantine',
      'bp_quarantine',
    ],
    [
      { blueprint: { tier: BlueprintTier.BLUEPRINT_TIER_EXPERIMENTAL, stage: 5, risk: 0.5, quarantineOnly: false } },
      CommandType.COMMAND_OPTIMIZER,
      'blueprint_risk',
      'blueprint_risk',
    ],
    [{ lossDelta: 0.151 }, CommandType.COMMAND_PAUSE, 'loss_spike', 'loss_spike'],
    [{ lossDelta: 0.08 }, CommandType.COMMAND_OPTIMIZER, 'loss_warning', 'loss_warning'],
    [{ lossDelta: 0.075 }, CommandType.COMMAND_SEED, 'policy', ''],
    [{ trainingMetrics: { hook_latency_ms: 50.5 } }, CommandType.COMMAND_PAUSE, 'hook_budget', 'hook_budget'],
    [{ trainingMetrics: { hook_latency_ms: 50 } }, CommandType.COMMAND_SEED, 'policy', ''],
    [
      { trainingMetrics: { 'kasmina.isolation.violations': 2 } },
      CommandType.COMMAND_PAUSE,
      'isolation_violation',
      'isolation_violations',
    ],
  ];
  for (const [over, type, reason, event] of cases) {
    const verdict = new RiskEngine().evaluate(input(over));
    const label = JSON.stringify(over);
    t.is(verdict.command.commandType, type, label);
    t.is(verdict.reason, reason, label);
    if (event) t.true(names(verdict.events).includes(event), label);
    if (type === CommandType.COMMAND_OPTIMIZER) {
      t.is(verdict.command.seedOperation, null, 'a demoted seed command carries no seed operation');
      t.is(verdict.command.optimizerAdjustment?.optimizerId, 'sgd');
    }
  }
});

test('conservative mode persists: PAUSE until three stable calls in a row, never leaving in the call that entered it', (t) => {
  const engine = new RiskEngine();
  const spike = engine.evaluate(input({ lossDelta: 0.5 }));
  t.true(spike.conservative, 'a loss spike enters (and does not leave in the same call)');
  t.deepEqual(
    names(spike.events).filter((n) => n.startsWith('conservative')),
    ['conservative_entered'],
  );
  for (let i = 0; i < 2; i++) {
    const calm = engine.evaluate(input());
    t.is(calm.command.commandType, CommandType.COMMAND_PAUSE);
    t.is(calm.reason, 'conservative_mode');
    t.true(calm.conservative);
  }
  const third = engine.evaluate(input());
  t.is(
    third.command.commandType,
    CommandType.COMMAND_PAUSE,
    'still paused on the call that completes the stable period',
  );
  t.true(names(third.events).includes('conservative_exited'));
  t.false(engine.conservative);
  t.is(engine.evaluate(input()).command.commandType, CommandType.COMMAND_SEED);
});

test('three inference timeouts open the inference breaker, which gates inference until its cool-down has passed', (t) => {
  let now = 0;
  const engine = new RiskEngine(DEFAULT_RISK_CONFIG, () => now);
  for (let i = 0; i < 3; i++) {
    const verdict = engine.evaluate(
      input({
        timedOut: true,
        command: leyline.AdaptationCommand.create({
          version: 1,
          commandId: `t${i}`,
          commandType: CommandType.COMMAND_PAUSE,
        }),
      }),
    );
    t.is(verdict.reason, 'timeout_inference');
    t.true(verdict.conservative);
  }
  t.false(engine.inferenceAllowed(), 'open: the controller skips inference');
  now = 101;
  t.true(engine.inferenceAllowed(), 'after the 100 ms cool-down a trial is allowed');
  engine.evaluate(input());
  t.false(engine.inferenceBreaker.isOpen);
  const timeoutUrza = new RiskEngine().evaluate(input({ blueprintTimedOut: true }));
  t.is(timeoutUrza.reason, 'timeout_urza');
});

test('a PAUSE the engine forces is a hold: no seed, no payload; the policy’s own PAUSE of a seed keeps its target', (t) => {
  const forced = new RiskEngine().evaluate(input({ lossDelta: 0.3 })).command;
  t.is(forced.commandType, CommandType.COMMAND_PAUSE);
  t.is(forced.targetSeedId, '');
  t.is(forced.seedOperation, null);
  t.is(forced.annotations.action, 'pause');
  const own = leyline.AdaptationCommand.create({
    version: 1,
    commandType: CommandType.COMMAND_PAUSE,
    targetSeedId: 's9',
    annotations: { action: 'pause' },
  });
  t.is(
    new RiskEngine().evaluate(input({ command: own, trainingMetrics: { hook_latency_ms: 80 } })).command.targetSeedId,
    's9',
  );
});
