// From the network's outputs to a choice and a proposal. Choosing: greedy takes the best allowed choice, sampling
// draws from softmax(logits / T) over the allowed choices and records the tempered log-probability, uniform draws
// among the allowed ones, given takes the heuristic's choices; a masked choice is never made. Proposals: GERMINATE with
// its slot, blueprint, blending and clamped parameters, CULL of the chosen seed, OPTIMIZER's learning rate × the
// factor within its range, WAIT as a PAUSE with no target. And the observed-outcome rules, and the checks a
// PolicyUpdate passes before it is loaded.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { encodeLeyline } from '../contracts/codec.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { BlueprintCatalog } from '../actors/karn/index.ts';
import { commandAction, judgeOutcome } from '../actors/tamiyo/outcome.ts';
import {
  ACTIONS,
  ARCHITECTURE,
  buildGraph,
  checkPolicyUpdate,
  choose,
  CULL,
  decodeParameters,
  GERMINATE,
  logSoftmax,
  masksOf,
  OPTIMIZER,
  proposal,
  signPolicyUpdate,
  TamiyoGnn,
  WAIT,
  type Choices,
  type GnnReadout,
  type Masks,
  type Strategy,
} from '../policy/index.ts';
import { mulberry32 } from '../runtime/seeded-random.ts';
import { selectTensorBackend } from '../tensor/index.ts';

const { CommandType, PolicyAction, SeedOperation, SeedLifecycleStage: Stage, FieldReportOutcome: Outcome } = leyline;
const catalog = new BlueprintCatalog();
const withBounds = catalog
  .all()
  .filter((d) => Object.keys(d.allowedParameters).length > 0 && !d.quarantineOnly && !d.approvalRequired);
const quarantined = leyline.BlueprintDescriptor.create({ blueprintId: 'BPQ', quarantineOnly: true, risk: 0.9 });
const slots = [0, 1, 2, 3].map((i) => ({ id: `mlp.${i}`, dims: [64] }));
const seed = (seedId: string, stage: v1.SeedLifecycleStage, layerDepth: number): v1.SeedState =>
  leyline.SeedState.create({ seedId, stage, layerDepth });
/** a and b on trial (at mlp.0 and mlp.2), c fossilized (at mlp.0): mlp.1 and mlp.3 are free. */
const SEEDS = [
  seed('a', Stage.SEED_STAGE_TRAINING, 1),
  seed('b', Stage.SEED_STAGE_BLENDING, 3),
  seed('c', Stage.SEED_STAGE_FOSSILIZED, 1),
];
const packet = (over: Partial<v1.SystemStatePacket.$Properties> = {}): v1.SystemStatePacket =>
  leyline.SystemStatePacket.create({
    currentEpoch: 4,
    globalStep: 700n,
    trainingRunId: 'run',
    trainingMetrics: { learning_rate: 1e-3 },
    seedStates: SEEDS,
    ...over,
  });
/** The graph's context and masks for a state (the candidates: a quarantined one first, then two fit ones). */
const state = (p = packet()) => {
  const { graph, context } = buildGraph({
    packet: p,
    slots,
    candidates: [quarantined, withBounds[0]!, withBounds[1]!],
    validationLosses: [0.5, 0.4],
  });
  return { context, masks: masksOf(graph), packet: p };
};
const readout = (over: Partial<GnnReadout> = {}): GnnReadout => ({
  policyLogits: [0, 2, 1, 0.5],
  lrLogits: [0.3, -0.3],
  paramDelta: [0.5],
  blendingLogits: [0, 3, 0],
  riskLogits: [0, 0, 0, 0, 0],
  value: [0.25],
  schedule: [0.6, -0.2],
  breakerLogits: [0, 0],
  seedScores: [0.1, 0.9, 5],
  blueprintScores: [9, 2, 1],
  slotScores: [5, 1, 4, 2],
  ...over,
});
type Options = Parameters<typeof proposal>[4];
const options: Options = {
  policyVersion: 'v-1',
  architecture: ARCHITECTURE,
  decidedBy: 'v-1',
  minLearningRate: 1e-5,
  maxLearningRate: 1e-2,
};
const allowed = (mask: readonly boolean[]): number[] => mask.flatMap((ok, i) => (ok ? [i] : []));
const softmax = (logits: readonly number[], mask: readonly boolean[] | null = null, temperature = 1): number[] =>
  logSoftmax(logits, mask, temperature).map(Math.exp);
/** How often each class of a head was chosen over n draws. */
function frequencies(n: number, classes: number, draw: () => number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < n; i++) counts[draw()]! += 1;
  return counts.map((c) => c / n);
}

test('the state: masks from the graph (free slots, fit blueprints, seeds on trial, lr in range)', (t) => {
  const { masks } = state();
  t.deepEqual(masks.slots, [false, true, false, true]);
  t.deepEqual(masks.blueprints, [false, true, true]);
  t.deepEqual(masks.seeds, [true, true, false]);
  t.deepEqual(masks.lr, [true, true]);
  t.deepEqual(masks.actions, [true, true, true, true]);
});

test('greedy: the best allowed action, then the best allowed choice of each head it needs; log-probabilities at T = 1', (t) => {
  const { masks } = state();
  const r = readout();
  const { choices, logProbs } = choose(r, masks, { kind: 'greedy' });
  t.deepEqual(
    choices,
    { action: GERMINATE, slot: 3, blueprint: 1, blending: 1 },
    'mlp.0 scores highest but is taken; BPQ scores highest but is quarantined',
  );
  t.deepEqual(Object.keys(logProbs).sort(), ['action', 'blending', 'blueprint', 'slot'], 'only the heads chosen on');
  t.is(logProbs.action, logSoftmax(r.policyLogits, masks.actions)[GERMINATE]);
  t.is(logProbs.slot, logSoftmax(r.slotScores, masks.slots)[3]);
  t.is(logProbs.blueprint, logSoftmax(r.blueprintScores, masks.blueprints)[1]);
  t.is(logProbs.blending, logSoftmax(r.blendingLogits)[1]);
  // CULL: the best seed on trial (c scores highest but is fossilized); OPTIMIZER: the best lr factor.
  t.deepEqual(choose(readout({ policyLogits: [0, 0, 3, 0] }), masks, { kind: 'greedy' }).choices, {
    action: CULL,
    seed: 1,
  });
  t.deepEqual(choose(readout({ policyLogits: [0, 0, 0, 3], lrLogits: [-1, 1] }), masks, { kind: 'greedy' }).choices, {
    action: OPTIMIZER,
    lr: 1,
  });
  t.deepEqual(choose(readout({ policyLogits: [3, 0, 0, 0] }), masks, { kind: 'greedy' }).choices, { action: WAIT });
});

test('a masked choice is never made: GERMINATE needs a free slot and a fit blueprint, CULL a seed on trial, OPTIMIZER an lr in range', (t) => {
  // Every slot held: GERMINATE scores highest but is masked, greedily and when sampling.
  const full = state(
    packet({
      seedStates: [...SEEDS, seed('d', Stage.SEED_STAGE_EMBARGOED, 2), seed('e', Stage.SEED_STAGE_FOSSILIZED, 4)],
    }),
  );
  t.false(full.masks.actions[GERMINATE]);
  const germinateFirst = readout({ policyLogits: [0, 10, 1, 0], seedScores: [0, 0, 9, 9, 9] });
  t.is(choose(germinateFirst, full.masks, { kind: 'greedy' }).choices.action, CULL);
  // Nothing on trial: CULL is masked.
  const quiet = state(
    packet({ seedStates: [seed('c', Stage.SEED_STAGE_FOSSILIZED, 1), seed('d', Stage.SEED_STAGE_EMBARGOED, 2)] }),
  );
  t.deepEqual(quiet.masks.seeds, [false, false]);
  t.false(quiet.masks.actions[CULL]);
  // A learning rate at the ceiling: × 2 is masked.
  const high = state(packet({ trainingMetrics: { learning_rate: 0.08 } }));
  t.deepEqual(high.masks.lr, [true, false]);
  const random = mulberry32(3);
  for (const strategy of [
    { kind: 'sample', temperature: 5, random },
    { kind: 'uniform', random },
  ] as Strategy[]) {
    for (let i = 0; i < 500; i++) {
      t.not(choose(germinateFirst, full.masks, strategy).choices.action, GERMINATE);
      t.not(
        choose(readout({ policyLogits: [0, 0, 10, 0], seedScores: [9, 9] }), quiet.masks, strategy).choices.action,
        CULL,
      );
      const culled = choose(readout({ policyLogits: [-9, -9, 10, -9] }), state().masks, strategy).choices;
      if (culled.action === CULL) t.not(culled.seed, 2, 'the fossilized seed is never culled');
      const germinated = choose(
        readout({ policyLogits: [-9, 10, -9, -9], slotScores: [9, 0, 9, 0], blueprintScores: [20, 0, 0] }),
        state().masks,
        strategy,
      ).choices;
      if (germinated.action === GERMINATE) {
        t.true(germinated.slot === 1 || germinated.slot === 3, `slot ${germinated.slot} is taken`);
        t.not(germinated.blueprint, 0, 'the quarantined blueprint');
      }
      const lr = choose(readout({ policyLogits: [-9, -9, -9, 10], lrLogits: [-5, 5] }), high.masks, strategy).choices;
      if (lr.action === OPTIMIZER) t.is(lr.lr, 0, '× 2 would leave the range');
    }
  }
  // The heuristic's choice is checked against the masks too.
  t.throws(
    () => choose(readout(), full.masks, { kind: 'given', choices: { action: GERMINATE, slot: 0, blueprint: 1 } }),
    { instanceOf: RangeError, message: /no allowed choice for the action head/ },
  );
  t.throws(
    () => choose(readout(), state().masks, { kind: 'given', choices: { action: GERMINATE, slot: 0, blueprint: 1 } }),
    { instanceOf: RangeError, message: /slot head/ },
  );
});

test('sample: draws follow softmax(logits / T) over the allowed choices, a high temperature flattens them, the tempered log-probability is recorded', (t) => {
  const logits = [1.5, 0.5, 0, -1];
  const all: Masks = { ...state().masks, actions: [true, true, true, true] };
  const n = 20_000;
  const tolerance = 0.015;
  const draws = (masks: Masks, temperature: number, seedValue: number): number[] => {
    const strategy: Strategy = { kind: 'sample', temperature, random: mulberry32(seedValue) };
    return frequencies(n, 4, () => {
      const { choices, logProbs } = choose(readout({ policyLogits: logits }), masks, strategy);
      // The behaviour policy's own log-probability, at its temperature.
      if (logProbs.action !== logSoftmax(logits, masks.actions, temperature)[choices.action])
        throw new Error(`log-probability ${logProbs.action} at T ${temperature}`);
      return choices.action;
    });
  };
  const spread = (p: number[]): number => Math.max(...p) - Math.min(...p);
  const atOne = draws(all, 1, 1);
  const expected = softmax(logits);
  atOne.forEach((f, i) => t.true(Math.abs(f - expected[i]!) < tolerance, `T 1, action ${i}: ${f} vs ${expected[i]}`));
  const hot = draws(all, 4, 2);
  const flatter = softmax(logits, null, 4);
  hot.forEach((f, i) => t.true(Math.abs(f - flatter[i]!) < tolerance, `T 4, action ${i}: ${f} vs ${flatter[i]}`));
  t.true(spread(hot) < spread(atOne) - 0.2, `T 4 is flatter: spread ${spread(hot)} vs ${spread(atOne)}`);
  t.true(Math.abs(hot[0]! - expected[0]!) > 5 * tolerance, 'and not the T 1 distribution');
  const cold = draws(all, 0.25, 3);
  t.true(cold[0]! > 0.95, `T 0.25 is nearly greedy: ${cold[0]}`);
  // A masked action: the rest renormalised.
  const noGerminate: Masks = { ...all, actions: [true, false, true, true] };
  const masked = draws(noGerminate, 1, 4);
  const renormalised = softmax(logits, noGerminate.actions);
  t.is(masked[GERMINATE], 0);
  masked.forEach((f, i) =>
    t.true(Math.abs(f - renormalised[i]!) < tolerance, `masked, action ${i}: ${f} vs ${renormalised[i]}`),
  );
  // A sub-head is sampled the same way: the slot over the free slots only, at the temperature.
  const random = mulberry32(5);
  const slotScores = [5, 1, 4, 2];
  const germinateOnly: Masks = { ...all, actions: [false, true, false, false] };
  const slotsDrawn = frequencies(n, 4, () => {
    const { choices, logProbs } = choose(readout({ slotScores }), germinateOnly, {
      kind: 'sample',
      temperature: 2,
      random,
    });
    if (logProbs.slot !== logSoftmax(slotScores, germinateOnly.slots, 2)[choices.slot!])
      throw new Error('slot log-probability');
    return choices.slot!;
  });
  const slotExpected = softmax(slotScores, germinateOnly.slots, 2);
  slotsDrawn.forEach((f, i) =>
    t.true(Math.abs(f - slotExpected[i]!) < tolerance, `slot ${i}: ${f} vs ${slotExpected[i]}`),
  );
  t.deepEqual([slotsDrawn[0], slotsDrawn[2]], [0, 0]);
  // Seeded: the same stream draws the same choices.
  const a = mulberry32(9);
  const b = mulberry32(9);
  const run = (random: () => number) =>
    Array.from({ length: 50 }, () => choose(readout(), all, { kind: 'sample', temperature: 1, random }).choices);
  t.deepEqual(run(a), run(b));
});

test('uniform (the random baseline): every allowed choice equally often, whatever the network says; network log-probabilities', (t) => {
  const { masks } = state(packet({ seedStates: [seed('a', Stage.SEED_STAGE_TRAINING, 1)] }));
  const noOptimizer: Masks = { ...masks, actions: [true, true, true, false] };
  const random = mulberry32(11);
  const r = readout({ policyLogits: [10, -10, -10, 30] });
  const actions = frequencies(30_000, 4, () => {
    const { choices, logProbs } = choose(r, noOptimizer, { kind: 'uniform', random });
    if (logProbs.action !== logSoftmax(r.policyLogits, noOptimizer.actions)[choices.action])
      throw new Error('action log-probability');
    if (choices.action === GERMINATE && !masks.slots[choices.slot!]) throw new Error(`slot ${choices.slot} is taken`);
    return choices.action;
  });
  t.is(actions[OPTIMIZER], 0, 'masked');
  for (const a of [WAIT, GERMINATE, CULL]) t.true(Math.abs(actions[a]! - 1 / 3) < 0.015, `action ${a}: ${actions[a]}`);
  const germinateOnly: Masks = { ...masks, actions: [false, true, false, false] };
  const slotsDrawn = frequencies(
    30_000,
    4,
    () => choose(readout({ slotScores: [100, 0, 0, -100] }), germinateOnly, { kind: 'uniform', random }).choices.slot!,
  );
  t.deepEqual(allowed(masks.slots), [1, 2, 3]);
  t.is(slotsDrawn[0], 0);
  for (const s of [1, 2, 3]) t.true(Math.abs(slotsDrawn[s]! - 1 / 3) < 0.015, `slot ${s}: ${slotsDrawn[s]}`);
});

test('given (the heuristic): its choices are taken whatever the network scores; heads it leaves open are chosen greedily', (t) => {
  const { masks } = state();
  const r = readout({ policyLogits: [0, 0, 9, 0] });
  const heuristic: Choices = { action: GERMINATE, slot: 1, blueprint: 2 };
  const { choices, logProbs } = choose(r, masks, { kind: 'given', choices: heuristic });
  t.deepEqual(choices, { ...heuristic, blending: 1 }, 'blending: the network’s best');
  t.is(
    logProbs.action,
    logSoftmax(r.policyLogits, masks.actions)[GERMINATE],
    "the network's log-probability of the heuristic's choice",
  );
  t.is(logProbs.slot, logSoftmax(r.slotScores, masks.slots)[1]);
  t.is(logProbs.blueprint, logSoftmax(r.blueprintScores, masks.blueprints)[2]);
  t.deepEqual(choose(r, masks, { kind: 'given', choices: { action: WAIT } }), {
    choices: { action: WAIT },
    logProbs: { action: logSoftmax(r.policyLogits, masks.actions)[WAIT] },
  });
});

test('GERMINATE: the chosen blueprint at the chosen slot, its blending, parameters moved by the delta within bounds', (t) => {
  const { context, packet: p } = state();
  const d = withBounds[0]!;
  const command = proposal(
    { action: GERMINATE, slot: 3, blueprint: 1, blending: 1 },
    readout({ paramDelta: [0.5] }),
    context,
    p,
    options,
  );
  t.is(command.commandType, CommandType.COMMAND_SEED);
  t.is(command.seedOperation?.operation, SeedOperation.SEED_OP_GERMINATE);
  t.is(command.seedOperation?.blueprintId, d.blueprintId);
  t.is(command.targetSeedId, 'seed-e4-s700');
  t.like(command.annotations, {
    slot_id: 'mlp.3',
    selected_blueprint: d.blueprintId,
    blending_method: 'cosine',
    policy_action: 'germinate',
    policy_version: 'v-1',
    decided_by: 'v-1',
    policy_arch: ARCHITECTURE,
  });
  // Each parameter: the bounds' midpoint moved by delta × half the span.
  const expected = Object.fromEntries(
    Object.entries(d.allowedParameters).map(([name, b]) => [
      name,
      (b.minValue! + b.maxValue!) / 2 + (0.5 * (b.maxValue! - b.minValue!)) / 2,
    ]),
  );
  t.true(Object.keys(expected).length > 0);
  t.deepEqual(command.seedOperation?.parameters, expected);
  t.deepEqual(
    [command.annotations.blending_schedule_start, command.annotations.blending_schedule_end],
    ['0.4000', '0.8000'],
    'sorted, mapped to [0, 1]',
  );
  t.is(command.annotations.policy_risk_score, '0.500000', 'uniform risk head: level Σ p·k/4 = 0.5');
  t.is(command.annotations.policy_value_estimate, '0.250000');
  for (const [method, name] of ['linear', 'cosine', 'sigmoid'].entries()) {
    t.is(
      proposal({ action: GERMINATE, slot: 1, blueprint: 2, blending: method }, readout(), context, p, options)
        .annotations.blending_method,
      name,
    );
  }
});

test('parameters never leave the blueprint bounds', (t) => {
  const d = withBounds[0]!;
  for (const delta of [-5, -1, 0, 1, 5]) {
    for (const [name, value] of Object.entries(decodeParameters(d, delta))) {
      const bounds = d.allowedParameters[name]!;
      t.true(
        value >= (bounds.minValue ?? 0) && value <= (bounds.maxValue ?? 0),
        `${name} = ${value} at delta ${delta}`,
      );
    }
  }
  const [name, bounds] = Object.entries(d.allowedParameters)[0]!;
  t.is(decodeParameters(d, 1)[name], bounds.maxValue ?? 0);
  t.is(decodeParameters(d, 5)[name], bounds.maxValue ?? 0, 'clamped');
  t.is(decodeParameters(d, -1)[name], bounds.minValue ?? 0);
  t.is(decodeParameters(d, 0)[name], ((bounds.minValue ?? 0) + (bounds.maxValue ?? 0)) / 2);
});

test('CULL: SEED_OP_CULL of the chosen seed', (t) => {
  const { context, packet: p } = state();
  const command = proposal({ action: CULL, seed: 1 }, readout(), context, p, options);
  t.is(command.commandType, CommandType.COMMAND_SEED);
  t.is(command.targetSeedId, 'b');
  t.is(command.seedOperation?.operation, SeedOperation.SEED_OP_CULL);
  t.is(command.seedOperation?.blueprintId ?? '', '');
  t.like(command.annotations, { selected_seed: 'b', reason: 'policy_cull', policy_action: 'cull' });
  t.is(proposal({ action: CULL, seed: 0 }, readout(), context, p, options).targetSeedId, 'a');
});

test('OPTIMIZER: the learning rate × the chosen factor, clamped to the range', (t) => {
  const { context } = state();
  const rate = (current: number, lr: number) =>
    proposal(
      { action: OPTIMIZER, lr },
      readout(),
      context,
      packet({ trainingMetrics: { learning_rate: current } }),
      options,
    ).optimizerAdjustment?.hyperparameters;
  const up = proposal({ action: OPTIMIZER, lr: 1 }, readout(), context, packet(), options);
  t.is(up.commandType, CommandType.COMMAND_OPTIMIZER);
  t.is(up.optimizerAdjustment?.optimizerId, 'host');
  t.is(up.annotations.policy_action, 'optimizer');
  t.deepEqual(up.optimizerAdjustment?.hyperparameters, { learning_rate: 2e-3, lr_factor: 2 });
  t.deepEqual(rate(1e-3, 0), { learning_rate: 5e-4, lr_factor: 0.5 });
  t.deepEqual(rate(9e-3, 1), { learning_rate: 1e-2, lr_factor: 2 }, 'clamped to the ceiling');
  t.deepEqual(rate(1.5e-5, 0), { learning_rate: 1e-5, lr_factor: 0.5 }, 'clamped to the floor');
  // With the run's starting rate known, the range narrows to an eighth of it … twice it, as the masks do.
  const fromStart = (current: number, lr: number) =>
    proposal(
      { action: OPTIMIZER, lr },
      readout(),
      context,
      packet({ trainingMetrics: { learning_rate: current, initial_learning_rate: 1e-3 } }),
      options,
    ).optimizerAdjustment?.hyperparameters?.learning_rate;
  t.is(fromStart(1.5e-3, 1), 2e-3, 'clamped to twice the starting rate');
  t.is(fromStart(2e-4, 0), 1e-3 / 8, 'clamped to an eighth of it');
  t.is(fromStart(1e-3, 0), 5e-4, 'inside: unchanged');
});

test('WAIT: a PAUSE with no target, saying why', (t) => {
  const { context, packet: p } = state();
  const hold = proposal({ action: WAIT }, readout(), context, p, {
    ...options,
    holdReason: 'validation loss still improving',
  });
  t.is(hold.commandType, CommandType.COMMAND_PAUSE);
  t.is(hold.targetSeedId, '');
  t.is(hold.seedOperation, null);
  t.is(hold.optimizerAdjustment, null);
  t.like(hold.annotations, { hold_reason: 'validation loss still improving', policy_action: 'wait', action: 'pause' });
  t.is(
    proposal({ action: WAIT }, readout(), context, p, options).annotations.hold_reason,
    'wait',
    'the policy’s own choice',
  );
});

test('each proposal is read back as its action (what outcomes and Simic see)', (t) => {
  const { context, packet: p } = state();
  const all: Choices[] = [
    { action: WAIT },
    { action: GERMINATE, slot: 1, blueprint: 1, blending: 0 },
    { action: CULL, seed: 0 },
    { action: OPTIMIZER, lr: 0 },
  ];
  t.deepEqual(
    all.map((c) => commandAction(proposal(c, readout(), context, p, options))),
    [
      PolicyAction.POLICY_ACTION_WAIT,
      PolicyAction.POLICY_ACTION_GERMINATE,
      PolicyAction.POLICY_ACTION_CULL,
      PolicyAction.POLICY_ACTION_OPTIMIZER,
    ],
  );
  t.deepEqual(
    all.map((c) => ACTIONS[c.action]),
    all.map((c) => commandAction(proposal(c, readout(), context, p, options))),
  );
});

test('outcome rules: aborted, culled, regression, success, and waits never credited with the run’s own progress', (t) => {
  const judge = (action: v1.PolicyAction, seedStage: v1.SeedLifecycleStage | null, before: number, after: number) =>
    judgeOutcome({ action, seedStage, lossBefore: before, lossAfter: after });
  const A = PolicyAction;
  t.is(judge(A.POLICY_ACTION_GERMINATE, null, 0.5, 0.3), Outcome.FIELD_REPORT_OUTCOME_ABORTED);
  t.is(judge(A.POLICY_ACTION_GERMINATE, Stage.SEED_STAGE_EMBARGOED, 0.5, 0.3), Outcome.FIELD_REPORT_OUTCOME_REGRESSION);
  t.is(judge(A.POLICY_ACTION_GERMINATE, Stage.SEED_STAGE_BLENDING, 0.5, 0.45), Outcome.FIELD_REPORT_OUTCOME_SUCCESS);
  t.is(judge(A.POLICY_ACTION_GERMINATE, Stage.SEED_STAGE_FOSSILIZED, 0.5, 0.498), Outcome.FIELD_REPORT_OUTCOME_NEUTRAL);
  t.is(judge(A.POLICY_ACTION_OPTIMIZER, null, 0.5, 0.52), Outcome.FIELD_REPORT_OUTCOME_REGRESSION);
  t.is(judge(A.POLICY_ACTION_CULL, null, 0.5, 0.45), Outcome.FIELD_REPORT_OUTCOME_SUCCESS, 'a CULL changed something');
  t.is(judge(A.POLICY_ACTION_WAIT, null, 0.5, 0.3), Outcome.FIELD_REPORT_OUTCOME_NEUTRAL);
  t.is(judge(A.POLICY_ACTION_WAIT, null, 0.5, 0.6), Outcome.FIELD_REPORT_OUTCOME_REGRESSION);
  t.is(
    judge(A.POLICY_ACTION_PAUSE_SEED, null, 0, 0.3),
    Outcome.FIELD_REPORT_OUTCOME_NEUTRAL,
    'no validation loss at the decision',
  );
});

test('a PolicyUpdate is checked before anything loads: version, signature, a new policy version, exact weights', async (t) => {
  await selectTensorBackend('wasm');
  const secret = new SignatureContext('tamiyo-test-secret');
  const gnn = new TamiyoGnn(undefined, 11);
  const weights = gnn.exportWeights();
  gnn.dispose();
  const update = (over: Partial<v1.PolicyUpdate.$Properties> = {}) =>
    signPolicyUpdate(
      leyline.PolicyUpdate.create({
        version: 1,
        policyId: 'p',
        tamiyoPolicyVersion: 'v-2',
        payload: encodeLeyline(weights),
        ...over,
      }),
      secret,
    );
  const good = checkPolicyUpdate(update(), secret, ['v-1']);
  t.true(good.ok);
  t.deepEqual(checkPolicyUpdate(update(), new SignatureContext('other-secret'), []), {
    ok: false,
    reason: 'bad_signature',
  });
  const tampered = update();
  tampered.tamiyoPolicyVersion = 'v-3';
  t.deepEqual(checkPolicyUpdate(tampered, secret, []), { ok: false, reason: 'bad_signature' });
  t.deepEqual(checkPolicyUpdate(update(), secret, ['v-2']), {
    ok: false,
    reason: 'policy version v-2 is already loaded',
  });
  t.deepEqual(checkPolicyUpdate(update({ version: 2 }), secret, []), {
    ok: false,
    reason: 'unsupported update version 2',
  });
  t.like(checkPolicyUpdate(update({ payload: new Uint8Array([1, 2, 3]) }), secret, []), { ok: false });
  const bad = leyline.PolicyWeights.create({ architecture: ARCHITECTURE, tensors: weights.tensors.slice(1) });
  t.deepEqual(checkPolicyUpdate(update({ payload: encodeLeyline(bad) }), secret, []), {
    ok: false,
    reason: 'policy weights: tensor encoder.global.weight is missing',
  });
  const v1Weights = leyline.PolicyWeights.create({ ...weights, architecture: 'tamiyo_gnn_v1' });
  t.deepEqual(checkPolicyUpdate(update({ payload: encodeLeyline(v1Weights) }), secret, []), {
    ok: false,
    reason: 'policy weights: architecture "tamiyo_gnn_v1", expected tamiyo_gnn_v2',
  });
});
