// Proof that Simic learns: PPO updates on the network Tamiyo runs, in a simulated environment with a known best
// action per state (actors/simic/slot-bandit.ts), raise the rate of best actions of Tamiyo's own greedy decisions
// from chance to nearly always; the learned weights, signed as a PolicyUpdate, change what Tamiyo's controller
// decides on a fixed state. Also: GAE, and rewards from every observed outcome.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leyline, type v1 } from '../contracts/index.ts';
import { encodeLeyline } from '../contracts/codec.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { PRIOR_VERSION, resolveTamiyoConfig, signPolicyUpdate, TamiyoGnn, tamiyoLogic } from '../actors/tamiyo/index.ts';
import { rankCandidates } from '../actors/tamiyo/observation.ts';
import { rewardOf } from '../actors/simic/experience.ts';
import { DEFAULT_PPO_CONFIG, gae, PpoTrainer } from '../actors/simic/ppo.ts';
import { BANDIT_SLOTS, collect, evaluate, SlotBandit } from '../actors/simic/slot-bandit.ts';
import { mulberry32 } from '../runtime/seeded-random.ts';
import { statelessLogic } from '../runtime/logic.ts';
import { selectTensorBackend } from '../runtime/tensor-backend.ts';
import { testSystem } from './helpers/actors.ts';
import { EventLog } from './helpers/events.ts';

const { FieldReportOutcome: Outcome, CommandType } = leyline;
const { catalog } = setUpKarn({});
const candidates = rankCandidates(catalog.all()).slice(0, 4);

test.before(async () => {
  await selectTensorBackend('wasm');
});

test('GAE along a run: δ_t = r_t + γV_{t+1} − V_t, discounted by γλ; the last decision bootstraps 0', (t) => {
  const { advantages, returns } = gae([1, 0, 2], [0.5, 0.5, 0.5], 0.9, 0.8);
  const d2 = 2 - 0.5;
  const d1 = 0 + 0.9 * 0.5 - 0.5;
  const d0 = 1 + 0.9 * 0.5 - 0.5;
  const expected = [d0 + 0.72 * (d1 + 0.72 * d2), d1 + 0.72 * d2, d2];
  advantages.forEach((a, i) => t.true(Math.abs(a - expected[i]!) < 1e-12));
  t.deepEqual(returns.map((r, i) => Math.abs(r - (expected[i]! + 0.5)) < 1e-12), [true, true, true]);
});

test('rewards: every observed outcome has one; a report still waiting has none', (t) => {
  const report = (outcome: v1.FieldReportOutcome, lossDelta: number, blueprintId = '') => leyline.FieldReport.create({ outcome, blueprintId, metrics: { loss_delta: lossDelta } });
  t.is(rewardOf(report(Outcome.FIELD_REPORT_OUTCOME_UNSPECIFIED, -0.1)), null);
  t.true(Math.abs(rewardOf(report(Outcome.FIELD_REPORT_OUTCOME_SUCCESS, -0.05))! - 1) < 1e-12, '0.5 for the fall, +0.5 for SUCCESS');
  t.is(rewardOf(report(Outcome.FIELD_REPORT_OUTCOME_NEUTRAL, 0)), 0);
  t.is(rewardOf(report(Outcome.FIELD_REPORT_OUTCOME_REGRESSION, 0)), -0.5);
  t.is(rewardOf(report(Outcome.FIELD_REPORT_OUTCOME_ABORTED, 0, 'BP001'), 5_000), -1.05, 'a germination also pays for its parameters');
});

test('PPO on the slot bandit: Tamiyo’s greedy decisions go from chance to the best action, and a PolicyUpdate carries it', async (t) => {
  const gnn = new TamiyoGnn();
  const trainer = new PpoTrainer(gnn, { ...DEFAULT_PPO_CONFIG, epochs: 3, learningRate: 1e-3 });
  const random = mulberry32(5);
  const held = () => new SlotBandit(999);
  const before = evaluate(gnn, held(), 64, candidates);
  const env = new SlotBandit(1);
  const curve: string[] = [];
  for (let iteration = 0; iteration < 4; iteration++) {
    const stats = trainer.update(collect(gnn, env, 32, candidates, random));
    const now = evaluate(gnn, held(), 64, candidates);
    curve.push(`update ${iteration + 1}: sampled reward ${stats.averageReward.toFixed(3)}, greedy best ${(now.bestRate * 100).toFixed(0)} %`);
  }
  const after = evaluate(gnn, held(), 64, candidates);
  t.log(`greedy best ${(before.bestRate * 100).toFixed(0)} % before\n${curve.join('\n')}`);
  t.true(before.bestRate < 0.35, `the untrained policy is near chance (${before.bestRate})`);
  t.true(after.bestRate > 0.85, `after 4 updates the best action ${after.bestRate}`);
  t.true(after.averageReward > before.averageReward + 0.8);
  trainer.dispose();

  // The learned weights, as a signed PolicyUpdate, change Tamiyo's decision on a fixed state.
  const secret = new SignatureContext('simic-test-secret');
  const system = testSystem();
  const packets = new EventLog<v1.TelemetryPacket>();
  const telemetry = system.spawn(null, statelessLogic<v1.TelemetryPacket>('recorder', (p) => packets.push(p)), { name: 'telemetry' });
  const settings = resolveTamiyoConfig({ shadowDecisions: 1, inferenceTimeoutMs: 2_000, policyAnswerMs: 10_000 }, {});
  const tamiyo = system.spawn(null, tamiyoLogic({ settings, signing: secret, catalog, slots: () => BANDIT_SLOTS, stateDir: mkdtempSync(join(tmpdir(), 'esper-simic-')), telemetry, backend: 'wasm' }), { name: 'tamiyo' });
  const fixed = new SlotBandit(4242).state();
  const ask = (epoch: number) => system.ask(tamiyo, leyline.SystemStatePacket.create({ ...fixed.packet, currentEpoch: epoch, packetId: `fixed-${epoch}` }), leyline.AdaptationCommand, 10_000);
  const prior = await ask(0);
  t.is(prior.annotations.policy_version, PRIOR_VERSION);
  t.is(prior.commandType, CommandType.COMMAND_PAUSE, 'the prior holds: nothing has plateaued');
  system.dispatch(tamiyo, signPolicyUpdate(leyline.PolicyUpdate.create({ version: 1, policyId: 'simic', tamiyoPolicyVersion: 'simic-bandit-1', payload: encodeLeyline(gnn.exportWeights()) }), secret));
  await packets.waitFor((p) => p.events.some((e) => e.description === 'policy_update_received'));
  await ask(1); // the candidate's shadow decision
  await packets.waitFor((p) => p.events.some((e) => e.description === 'policy_update_applied'));
  const learned = await ask(2);
  t.is(learned.annotations.policy_version, 'simic-bandit-1');
  t.is(learned.commandType, CommandType.COMMAND_SEED);
  t.is(learned.annotations.slot_id, BANDIT_SLOTS[fixed.starved]!.id, 'germinates at the starved slot');
  await system.shutdown();
  gnn.dispose();
});
