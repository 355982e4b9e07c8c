// From network outputs (or the prior's choice) to a proposal: masked choices, parameters clamped to the blueprint's
// bounds, the learning rate within its range, holds when nothing fits, a real risk level, log-probabilities; and the
// observed-outcome rules, and the checks a PolicyUpdate passes before it is loaded.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { encodeLeyline } from '../contracts/codec.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { BlueprintCatalog } from '../actors/karn/index.ts';
import { decode, decodeParameters, logSoftmax, type DecodeOptions } from '../actors/tamiyo/decode.ts';
import { ARCHITECTURE, TamiyoGnn, type GnnReadout } from '../actors/tamiyo/gnn.ts';
import type { GraphContext } from '../actors/tamiyo/graph.ts';
import { judgeOutcome } from '../actors/tamiyo/outcome.ts';
import { checkPolicyUpdate, signPolicyUpdate } from '../actors/tamiyo/policy-update.ts';
import { selectTensorBackend } from '../runtime/tensor-backend.ts';

const { CommandType, SeedLifecycleStage: Stage, FieldReportOutcome: Outcome } = leyline;
const catalog = new BlueprintCatalog();
const withBounds = catalog.all().filter((d) => Object.keys(d.allowedParameters).length > 0 && !d.quarantineOnly && !d.approvalRequired);
const quarantined = leyline.BlueprintDescriptor.create({ blueprintId: 'BPQ', quarantineOnly: true, risk: 0.9 });
const seeds = [
  leyline.SeedState.create({ seedId: 'a', stage: Stage.SEED_STAGE_TRAINING, layerDepth: 1 }),
  leyline.SeedState.create({ seedId: 'b', stage: Stage.SEED_STAGE_BLENDING, layerDepth: 2, metrics: { paused: 1 } }),
  leyline.SeedState.create({ seedId: 'c', stage: Stage.SEED_STAGE_FOSSILIZED, layerDepth: 3 }),
];
const context = (over: Partial<GraphContext> = {}): GraphContext => ({
  seeds,
  slots: [
    { id: 'mlp.0', dims: [64] },
    { id: 'mlp.1', dims: [64] },
    { id: 'mlp.2', dims: [64] },
    { id: 'mlp.3', dims: [64] },
  ],
  candidates: [quarantined, withBounds[0]!, withBounds[1]!],
  freeSlots: new Set(['mlp.1', 'mlp.3']),
  seedSlots: new Map(),
  ...over,
});
const readout = (over: Partial<GnnReadout> = {}): GnnReadout => ({
  policyLogits: [2, 0, 0],
  paramDelta: [0.5],
  blendingLogits: [0, 3, 0],
  riskLogits: [0, 0, 0, 0, 0],
  value: [0.25],
  schedule: [0.6, -0.2],
  breakerLogits: [0, 0],
  seedScores: [0.1, 0.9, 0.5],
  blueprintScores: [9, 1, 2],
  slotScores: [5, 1, 4, 2],
  ...over,
});
const options: DecodeOptions = { policyVersion: 'v-1', architecture: ARCHITECTURE, minLearningRate: 1e-5, maxLearningRate: 1e-2 };
const packet = leyline.SystemStatePacket.create({ currentEpoch: 4, globalStep: 700, trainingMetrics: { learning_rate: 1e-3 } });

test('GERMINATE: the best free slot and the best candidate fit for grafting; parameters moved by the delta, clamped', (t) => {
  const out = decode(readout(), context(), packet, null, options);
  t.is(out.decidedBy, 'gnn');
  const command = out.proposal;
  t.is(command.commandType, CommandType.COMMAND_SEED);
  t.is(command.annotations.slot_id, 'mlp.3', 'mlp.0 scores higher but is taken');
  t.is(command.seedOperation?.blueprintId, withBounds[1]!.blueprintId, 'the quarantined candidate scores highest but is masked');
  t.is(command.targetSeedId, 'seed-e4-s700');
  t.deepEqual(command.seedOperation?.parameters, decodeParameters(withBounds[1]!, 0.5));
  t.is(command.annotations.blending_method, 'cosine');
  t.is(command.annotations.policy_version, 'v-1');
  t.deepEqual([command.annotations.blending_schedule_start, command.annotations.blending_schedule_end], ['0.4000', '0.8000'], 'sorted, mapped to [0, 1]');
  t.deepEqual(out.choices, { action: 0, slot: 3, blueprint: 2, blending: 1 });
  t.is(out.logProbs.action, logSoftmax([2, 0, 0])[0]);
  t.is(out.logProbs.slot, logSoftmax([5, 1, 4, 2], (i) => i === 1 || i === 3)[3]);
  t.is(out.outputs.risk_level, 0.5, 'uniform risk head: level Σ p·k/4 = 0.5');
});

test('parameters never leave the blueprint bounds', (t) => {
  const d = withBounds[0]!;
  for (const delta of [-5, -1, 0, 1, 5]) {
    for (const [name, value] of Object.entries(decodeParameters(d, delta))) {
      const bounds = d.allowedParameters[name]!;
      t.true(value >= (bounds.minValue ?? 0) && value <= (bounds.maxValue ?? 0), `${name} = ${value} at delta ${delta}`);
    }
  }
  const [name, bounds] = Object.entries(d.allowedParameters)[0]!;
  t.is(decodeParameters(d, 1)[name], bounds.maxValue ?? 0);
  t.is(decodeParameters(d, -1)[name], bounds.minValue ?? 0);
});

test('GERMINATE with no free slot or no fit candidate becomes a hold; PAUSE picks a seed on trial not already paused', (t) => {
  const noSlot = decode(readout(), context({ freeSlots: new Set() }), packet, null, options).proposal;
  t.is(noSlot.commandType, CommandType.COMMAND_PAUSE);
  t.is(noSlot.targetSeedId, '');
  t.is(noSlot.annotations.hold_reason, 'no_free_slot');
  const noBlueprint = decode(readout(), context({ candidates: [quarantined] }), packet, null, options).proposal;
  t.is(noBlueprint.annotations.hold_reason, 'no_blueprint_candidates');
  const pause = decode(readout({ policyLogits: [0, 0, 3] }), context(), packet, null, options);
  t.is(pause.proposal.targetSeedId, 'a', 'b scores higher but is paused; c is fossilized');
  t.is(pause.choices.seed, 0);
});

test('OPTIMIZER: learning rate × 2^delta within the configured range', (t) => {
  const out = decode(readout({ policyLogits: [0, 3, 0], paramDelta: [1] }), context(), packet, null, options).proposal;
  t.is(out.commandType, CommandType.COMMAND_OPTIMIZER);
  t.is(out.optimizerAdjustment?.hyperparameters?.learning_rate, 2e-3);
  const clamped = decode(readout({ policyLogits: [0, 3, 0], paramDelta: [1] }), context(), leyline.SystemStatePacket.create({ trainingMetrics: { learning_rate: 9e-3 } }), null, options).proposal;
  t.is(clamped.optimizerAdjustment?.hyperparameters?.learning_rate, 1e-2);
});

test('the heuristic prior decides for an untrained policy: its slot and blueprint, parameters at mid-bounds', (t) => {
  const d = withBounds[0]!;
  const out = decode(readout({ policyLogits: [0, 0, 9] }), context(), packet, { action: 'germinate', slotId: 'mlp.1', blueprintId: d.blueprintId, why: 'plateau' }, options);
  t.is(out.decidedBy, 'heuristic_prior');
  t.is(out.proposal.annotations.slot_id, 'mlp.1');
  t.deepEqual(out.proposal.seedOperation?.parameters, decodeParameters(d, 0));
  t.is(out.logProbs.action, logSoftmax([0, 0, 9])[0], "the network's log-probability of the prior's choice");
  const hold = decode(readout(), context(), packet, { action: 'none', why: 'validation loss still improving' }, options).proposal;
  t.is(hold.commandType, CommandType.COMMAND_PAUSE);
  t.is(hold.annotations.hold_reason, 'no_action');
});

test('outcome rules: aborted, culled, regression, success, and holds never credited with the run’s own progress', (t) => {
  const judge = (kind: 'germinate' | 'optimizer' | 'pause_seed' | 'hold', seedStage: v1.SeedLifecycleStage | null, before: number, after: number) => judgeOutcome({ kind, seedStage, lossBefore: before, lossAfter: after });
  t.is(judge('germinate', null, 0.5, 0.3), Outcome.FIELD_REPORT_OUTCOME_ABORTED);
  t.is(judge('germinate', Stage.SEED_STAGE_EMBARGOED, 0.5, 0.3), Outcome.FIELD_REPORT_OUTCOME_REGRESSION);
  t.is(judge('germinate', Stage.SEED_STAGE_BLENDING, 0.5, 0.45), Outcome.FIELD_REPORT_OUTCOME_SUCCESS);
  t.is(judge('germinate', Stage.SEED_STAGE_FOSSILIZED, 0.5, 0.498), Outcome.FIELD_REPORT_OUTCOME_NEUTRAL);
  t.is(judge('optimizer', null, 0.5, 0.52), Outcome.FIELD_REPORT_OUTCOME_REGRESSION);
  t.is(judge('hold', null, 0.5, 0.3), Outcome.FIELD_REPORT_OUTCOME_NEUTRAL);
  t.is(judge('hold', null, 0.5, 0.6), Outcome.FIELD_REPORT_OUTCOME_REGRESSION);
  t.is(judge('pause_seed', null, 0, 0.3), Outcome.FIELD_REPORT_OUTCOME_NEUTRAL, 'no validation loss at the decision');
});

test('a PolicyUpdate is checked before anything loads: version, signature, a new policy version, exact weights', async (t) => {
  await selectTensorBackend('wasm');
  const secret = new SignatureContext('tamiyo-test-secret');
  const gnn = new TamiyoGnn(undefined, 11);
  const weights = gnn.exportWeights();
  gnn.dispose();
  const update = (over: Partial<v1.PolicyUpdate.$Properties> = {}) =>
    signPolicyUpdate(leyline.PolicyUpdate.create({ version: 1, policyId: 'p', tamiyoPolicyVersion: 'v-2', payload: encodeLeyline(weights), ...over }), secret);
  const good = checkPolicyUpdate(update(), secret, ['v-1']);
  t.true(good.ok);
  t.deepEqual(checkPolicyUpdate(update(), new SignatureContext('other-secret'), []), { ok: false, reason: 'bad_signature' });
  const tampered = update();
  tampered.tamiyoPolicyVersion = 'v-3';
  t.deepEqual(checkPolicyUpdate(tampered, secret, []), { ok: false, reason: 'bad_signature' });
  t.deepEqual(checkPolicyUpdate(update(), secret, ['v-2']), { ok: false, reason: 'policy version v-2 is already loaded' });
  t.deepEqual(checkPolicyUpdate(update({ version: 2 }), secret, []), { ok: false, reason: 'unsupported update version 2' });
  t.like(checkPolicyUpdate(update({ payload: new Uint8Array([1, 2, 3]) }), secret, []), { ok: false });
  const bad = leyline.PolicyWeights.create({ architecture: ARCHITECTURE, tensors: weights.tensors.slice(1) });
  t.deepEqual(checkPolicyUpdate(update({ payload: encodeLeyline(bad) }), secret, []), { ok: false, reason: 'policy weights: tensor encoder.global.weight is missing' });
});
