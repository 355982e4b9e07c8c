// How Simic learns: GAE, the rewards (in-run reports, and an episode's shaped rewards), PPO on decisions the policy
// really sampled (the importance ratio is 1 before an update, clipping engages after), and learned weights that
// change what the policy and Tamiyo's controller decide.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { leyline, type v1 } from '../contracts/index.ts';
import { encodeLeyline } from '../contracts/codec.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { resolveTamiyoConfig, tamiyoLogic } from '../actors/tamiyo/index.ts';
import { decisionExperience, rewardOf, type Experience } from '../actors/simic/experience.ts';
import { DEFAULT_PPO_CONFIG, gae, jointLogProb, PpoTrainer } from '../actors/simic/ppo.ts';
import { episodeReward } from '../actors/simic/index.ts';
import {
  GERMINATE,
  HEURISTIC_VERSION,
  PolicyInstance,
  prepareGraph,
  rankCandidates,
  signPolicyUpdate,
  TamiyoGnn,
  WAIT,
} from '../policy/index.ts';
import { statelessLogic } from '../runtime/logic.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { testSystem } from './helpers/actors.ts';
import { EventLog } from './helpers/events.ts';
import { PolicyStates, STATE_SLOTS } from './helpers/policy-states.ts';

const { FieldReportOutcome: Outcome, CommandType, SeedOperation } = leyline;
const { catalog } = setUpKarn({});
const world = { slots: STATE_SLOTS, blueprints: rankCandidates(catalog.all()).slice(0, 4) };

test.before(async () => {
  await selectTensorBackend('wasm');
});

/** Decisions the network sampled on synthetic states, as experiences paid by `reward(choice)`. */
function sampled(gnn: TamiyoGnn, count: number, rngSeed: number, reward: (action: number) => number): Experience[] {
  const policy = new PolicyInstance({
    version: 'sampler',
    kind: 'network',
    weights: gnn.exportWeights(),
    mode: 'sample',
    temperature: 1,
    rngSeed,
  });
  const states = new PolicyStates(rngSeed);
  const out = Array.from({ length: count }, (_, i): Experience => {
    const { decision } = policy.decide(states.next(), world);
    const experience = decisionExperience(decision, `decision ${i}`);
    return { ...experience, reward: reward(experience.choices.action), runId: `run-${i}`, epoch: 0 };
  });
  policy.dispose();
  return out;
}

test('GAE along a run: δ_t = r_t + γV_{t+1} − V_t, discounted by γλ; the last decision bootstraps 0', (t) => {
  const { advantages, returns } = gae([1, 0, 2], [0.5, 0.5, 0.5], 0.9, 0.8);
  const d2 = 2 - 0.5;
  const d1 = 0 + 0.9 * 0.5 - 0.5;
  const d0 = 1 + 0.9 * 0.5 - 0.5;
  const expected = [d0 + 0.72 * (d1 + 0.72 * d2), d1 + 0.72 * d2, d2];
  advantages.forEach((a, i) => t.true(Math.abs(a - expected[i]!) < 1e-12));
  t.deepEqual(
    returns.map((r, i) => Math.abs(r - (expected[i]! + 0.5)) < 1e-12),
    [true, true, true],
  );
});

test('in-run rewards: every observed outcome has one; a report still waiting has none', (t) => {
  const report = (outcome: v1.FieldReportOutcome, lossDelta: number, blueprintId = '') =>
    leyline.FieldReport.create({ outcome, blueprintId, metrics: { loss_delta: lossDelta } });
  t.is(rewardOf(report(Outcome.FIELD_REPORT_OUTCOME_UNSPECIFIED, -0.1)), null);
  t.true(
    Math.abs(rewardOf(report(Outcome.FIELD_REPORT_OUTCOME_SUCCESS, -0.05))! - 1) < 1e-12,
    '0.5 for the fall, +0.5 for SUCCESS',
  );
  t.is(rewardOf(report(Outcome.FIELD_REPORT_OUTCOME_NEUTRAL, 0)), 0);
  t.is(rewardOf(report(Outcome.FIELD_REPORT_OUTCOME_REGRESSION, 0)), -0.5);
  t.is(
    rewardOf(report(Outcome.FIELD_REPORT_OUTCOME_ABORTED, 0, 'BP001'), 5_000),
    -1.05,
    'a germination also pays for its parameters',
  );
});

test('episode rewards: shaping on validation accuracy telescopes to the objective; the seeds kept pay rent, culled work is charged', (t) => {
  const report = (accuracy: number) =>
    leyline.FieldReport.create({ metrics: { 'decision.validation_accuracy': accuracy } });
  const result = leyline.EpisodeResult.create({
    ok: true,
    reports: [report(0.5), report(0.6), report(0.7)],
    epochs: [1, 2, 3].map((epoch) => leyline.EpisodeEpoch.create({ epoch })),
    finalValidationAccuracy: 0.8,
    hostParameters: 1_000,
    addedParameters: 250,
    seeds: [
      leyline.EpisodeSeed.create({ seedId: 'kept', parameters: 250, firstEpoch: 1, lastEpoch: 3, stage: 'fossilized' }),
      leyline.EpisodeSeed.create({
        seedId: 'culled',
        parameters: 100,
        firstEpoch: 1,
        lastEpoch: 2,
        stage: 'embargoed',
      }),
    ],
  });
  const gamma = 0.9;
  const r = episodeReward(result, { rent: 0.02, cullCost: 0.03 }, gamma);
  t.true(Math.abs(r.rent - 0.5) < 1e-9, 'a quarter of the host at 0.02 per host: 0.5 points');
  t.true(Math.abs(r.cullCost - 100 * 0.03 * 0.1 * (2 / 3)) < 1e-9, 'a tenth of the host, two of three epochs');
  t.true(Math.abs(r.objective - (80 - r.rent - r.cullCost)) < 1e-9);
  t.deepEqual(r.rewards.length, 3);
  t.true(Math.abs(r.rewards[0]! - (gamma * 60 - 50)) < 1e-9 && Math.abs(r.rewards[1]! - (gamma * 70 - 60)) < 1e-9);
  const discounted = r.rewards.reduce((sum, x, i) => sum + gamma ** i * x, 0);
  t.true(
    Math.abs(discounted - (gamma ** 2 * r.objective - 50)) < 1e-9,
    'Σγ^t r_t = γ^{T−1}·objective − Φ_0: the shaping cannot move the optimum',
  );
  const cheaper = episodeReward(
    leyline.EpisodeResult.create({ ...result, addedParameters: 0, seeds: [] }),
    { rent: 0.02, cullCost: 0.03 },
    gamma,
  );
  t.true(cheaper.objective > r.objective, 'the same accuracy without the weights is worth more');
});

test('PPO on sampled decisions: the importance ratio is 1 before the first update, and clipping engages after', (t) => {
  const gnn = new TamiyoGnn(undefined, 3);
  const experiences = sampled(gnn, 24, 11, (action) => (action === GERMINATE ? 1 : -1));
  t.true(experiences.every((e) => e.temperature === 1));
  const ratios = experiences.map((e) =>
    tf.tidy(() =>
      Math.exp(
        jointLogProb(gnn.forward(prepareGraph(e.graph)), e.choices, e.masks, e.temperature).logProb.dataSync()[0]! -
          e.oldLogProb,
      ),
    ),
  );
  t.true(
    ratios.every((r) => Math.abs(r - 1) < 1e-4),
    `ratios before any update: ${ratios.map((r) => r.toFixed(6)).join(' ')}`,
  );
  const trainer = new PpoTrainer(gnn, { ...DEFAULT_PPO_CONFIG, learningRate: 5e-3, epochs: 6, minibatch: 8 });
  const stats = trainer.update(experiences, 1);
  t.true(
    stats.clipFraction > 0,
    `after several epochs some ratios leave [0.8, 1.2] (clip fraction ${stats.clipFraction})`,
  );
  t.true(Math.abs(stats.approxKl) > 0, 'the policy moved');
  trainer.dispose();
  gnn.dispose();
});

test('learning changes the decisions, and the learned weights, as a signed PolicyUpdate, change what Tamiyo decides', async (t) => {
  const gnn = new TamiyoGnn(undefined, 5);
  const trainer = new PpoTrainer(gnn, { ...DEFAULT_PPO_CONFIG, learningRate: 2e-3, epochs: 4, minibatch: 16 });
  const fixed = new PolicyStates(4242).next();
  const greedy = (): number => {
    const policy = new PolicyInstance({ version: 'greedy', kind: 'network', weights: gnn.exportWeights() });
    const action = policy.decide(fixed, world).decision.choices.action!;
    policy.dispose();
    return action;
  };
  t.is(greedy(), WAIT, 'untrained, the network waits');
  for (let round = 0; round < 4; round++)
    trainer.update(
      sampled(gnn, 32, 100 + round, (action) => (action === GERMINATE ? 1 : -0.5)),
      round,
    );
  t.is(greedy(), GERMINATE, 'rewarded for germinating, it germinates');
  trainer.dispose();

  const secret = new SignatureContext('simic-test-secret');
  const system = testSystem();
  const packets = new EventLog<v1.TelemetryPacket>();
  const telemetry = system.spawn(
    null,
    statelessLogic<v1.TelemetryPacket>('recorder', (p) => packets.push(p)),
    { name: 'telemetry' },
  );
  const settings = resolveTamiyoConfig(
    { shadowDecisions: 1, inferenceTimeoutMs: 2_000, policyAnswerMs: 10_000, prior: { plateauEpochs: 50 } },
    {},
  );
  const tamiyo = system.spawn(
    null,
    tamiyoLogic({
      system,
      settings,
      signing: secret,
      catalog,
      slots: () => STATE_SLOTS,
      stateDir: mkdtempSync(join(tmpdir(), 'esper-simic-')),
      telemetry,
      backend: 'wasm',
    }),
    { name: 'tamiyo' },
  );
  const ask = (epoch: number) =>
    system.ask(
      tamiyo,
      leyline.SystemStatePacket.create({ ...fixed, currentEpoch: epoch, packetId: `fixed-${epoch}` }),
      leyline.AdaptationCommand,
      10_000,
    );
  const before = await ask(0);
  t.is(before.annotations.policy_version, HEURISTIC_VERSION);
  t.is(before.commandType, CommandType.COMMAND_PAUSE, 'the heuristic holds: no plateau in a single epoch');
  system.dispatch(
    tamiyo,
    signPolicyUpdate(
      leyline.PolicyUpdate.create({
        version: 1,
        policyId: 'simic',
        tamiyoPolicyVersion: 'simic-learned-1',
        payload: encodeLeyline(gnn.exportWeights()),
      }),
      secret,
    ),
  );
  await packets.waitFor((p) => p.events.some((e) => e.description === 'policy_update_received'));
  await ask(1); // the candidate's shadow decision
  await packets.waitFor((p) => p.events.some((e) => e.description === 'policy_update_applied'));
  const learned = await ask(2);
  t.is(learned.annotations.policy_version, 'simic-learned-1');
  t.is(learned.annotations.decided_by, 'simic-learned-1');
  t.is(learned.commandType, CommandType.COMMAND_SEED);
  t.is(learned.seedOperation?.operation, SeedOperation.SEED_OP_GERMINATE);
  await system.shutdown();
  gnn.dispose();
});
