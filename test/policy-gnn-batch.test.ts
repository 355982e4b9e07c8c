// The policy network on a batch of graphs at once (prepareBatch, forwardBatch) against the same graphs one at a time
// (forward): the outputs, the joint log-probabilities and entropies PPO reads (jointLogProbBatch against
// jointLogProb), a whole PPO update (the trainer's batched update against a per-experience reference written here),
// the held-out estimate, and tensor hygiene. The graphs differ in seeds, slots and candidates, so every index offset
// and every score segment is exercised.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { leyline, type v1 } from '../contracts/index.ts';
import { BlueprintCatalog } from '../actors/karn/index.ts';
import { decisionExperience, type Experience } from '../actors/simic/experience.ts';
import {
  clipByGlobalNorm,
  DEFAULT_PPO_CONFIG,
  gae,
  jointLogProb,
  jointLogProbBatch,
  PpoTrainer,
  type PpoConfig,
} from '../actors/simic/ppo.ts';
import { heldOutEstimate } from '../actors/simic/validation.ts';
import {
  buildGraph,
  prepareBatch,
  CULL,
  GERMINATE,
  masksOf,
  OPTIMIZER,
  PolicyInstance,
  prepareGraph,
  rankCandidates,
  TamiyoGnn,
  WAIT,
  type Choices,
  type GnnOutputs,
  type PolicyGraphData,
  type SlotInfo,
} from '../policy/index.ts';
import { mulberry32 } from '../runtime/seeded-random.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { PolicyStates } from './helpers/policy-states.ts';

const { SeedLifecycleStage: Stage } = leyline;
const ranked = rankCandidates(new BlueprintCatalog().all());

test.before(async () => {
  await selectTensorBackend('wasm');
});

interface Spec {
  seeds: Array<[v1.SeedLifecycleStage, number]>;
  slots: number;
  candidates: number;
  learningRate: number;
}

/** No seed, one slot, no candidate (the placeholder blueprint) up to five seeds in six slots and eight candidates;
 * learning rates at either end of the range close one lr factor. */
const SPECS: readonly Spec[] = [
  { seeds: [], slots: 1, candidates: 0, learningRate: 1e-3 },
  { seeds: [[Stage.SEED_STAGE_TRAINING, 1]], slots: 2, candidates: 1, learningRate: 0.08 },
  {
    seeds: [
      [Stage.SEED_STAGE_TRAINING, 1],
      [Stage.SEED_STAGE_FOSSILIZED, 2],
      [Stage.SEED_STAGE_BLENDING, 3],
    ],
    slots: 4,
    candidates: 3,
    learningRate: 1.5e-5,
  },
  {
    seeds: [
      [Stage.SEED_STAGE_GERMINATED, 1],
      [Stage.SEED_STAGE_CULLED, 2],
      [Stage.SEED_STAGE_PROBATIONARY, 4],
      [Stage.SEED_STAGE_TRAINING, 5],
      [Stage.SEED_STAGE_EMBARGOED, 6],
    ],
    slots: 6,
    candidates: 8,
    learningRate: 1e-3,
  },
  {
    seeds: [
      [Stage.SEED_STAGE_SHADOWING, 2],
      [Stage.SEED_STAGE_TRAINING, 3],
    ],
    slots: 3,
    candidates: 5,
    learningRate: 0.05,
  },
];

const slotsOf = (spec: Spec): SlotInfo[] =>
  Array.from({ length: spec.slots }, (_, i) => ({ id: `mlp.${i}`, dims: [16 * (1 + (i % 3))] }));
const worldOf = (spec: Spec) => ({ slots: slotsOf(spec), blueprints: ranked.slice(0, spec.candidates), costs: {} });

/** A state for `spec`, its activation statistics drawn from `states`. */
function packetOf(spec: Spec, states: PolicyStates, random: () => number): v1.SystemStatePacket {
  const metrics: Record<string, number> = {
    learning_rate: spec.learningRate,
    initial_learning_rate: 1e-3,
    epochs_total: 10,
    host_parameters: 20_000,
    gradient_norm: 0.5 + random(),
  };
  for (const slot of slotsOf(spec)) {
    metrics[`slot.${slot.id}.mean`] = random();
    metrics[`slot.${slot.id}.std`] = 0.5 + random();
    metrics[`slot.${slot.id}.abs_max`] = 3 + 5 * random();
  }
  const seedStates = spec.seeds.map(([stage, layerDepth], i) =>
    leyline.SeedState.create({
      seedId: `s${i}`,
      stage,
      layerDepth,
      riskScore: random(),
      gradientNorm: random(),
      ageEpochs: i,
      learningRate: 1e-3,
      metrics: { alpha: random() },
    }),
  );
  return states.next({ trainingMetrics: metrics, seedStates });
}

function graphs(rngSeed: number): PolicyGraphData[] {
  const states = new PolicyStates(rngSeed);
  const random = mulberry32(rngSeed);
  return [...SPECS, SPECS[2]!, SPECS[3]!].map(
    (spec) =>
      buildGraph({
        packet: packetOf(spec, states, random),
        slots: slotsOf(spec),
        candidates: ranked.slice(0, spec.candidates),
        validationLosses: [0.6, 0.5, 0.5],
      }).graph,
  );
}

/** A network whose every weight is moved off its initial value (the policy head starts at zero). */
function randomNetwork(rngSeed: number): TamiyoGnn {
  const gnn = new TamiyoGnn(undefined, rngSeed);
  tf.tidy(() =>
    gnn.variables.forEach((v, i) =>
      v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.3, 'float32', rngSeed * 1000 + i))),
    ),
  );
  gnn.weightsChanged();
  return gnn;
}

const read = (x: tf.Tensor): number[] => Array.from(x.dataSync());
const maxDifference = (a: readonly number[], b: readonly number[]): number =>
  a.length !== b.length ? Infinity : a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

/** Graph b's row of a [B, k] (or [B]) output. */
const rowOf = (x: tf.Tensor, b: number): number[] => {
  const width = x.shape.length === 1 ? 1 : x.shape[1]!;
  return read(x).slice(b * width, (b + 1) * width);
};

/** Graph b's segment of a flat score output. */
const segmentOf = (scores: tf.Tensor1D, segments: Int32Array, b: number): number[] =>
  read(scores).filter((_, i) => segments[i] === b);

const GRAPH_KEYS = [
  'policyLogits',
  'lrLogits',
  'paramDelta',
  'blendingLogits',
  'riskLogits',
  'value',
  'schedule',
  'breakerLogits',
] as const;
const SCORE_KEYS = [
  ['seedScores', 'seedSegments'],
  ['blueprintScores', 'blueprintSegments'],
  ['slotScores', 'slotSegments'],
] as const;

test('forwardBatch gives each graph what forward gives it, in any order and with repeats', (t) => {
  const gnn = randomNetwork(3);
  const all = graphs(5);
  for (const order of [all, [...all].reverse(), [all[3]!, all[0]!, all[3]!]]) {
    tf.tidy(() => {
      const packed = gnn.pack();
      const batch = gnn.forwardBatch(prepareBatch(order), packed);
      t.is(batch.graphCount, order.length);
      order.forEach((graph, b) => {
        const single = gnn.forward(prepareGraph(graph), packed);
        for (const key of GRAPH_KEYS) {
          const difference = maxDifference(rowOf(batch[key], b), read(single[key]));
          t.true(difference < 1e-4, `graph ${b} ${key}: off by ${difference}`);
        }
        for (const [key, segments] of SCORE_KEYS) {
          const mine = segmentOf(batch[key], batch[segments], b);
          t.is(mine.length, single[key].shape[0], `graph ${b} ${key}: its own nodes only`);
          t.true(maxDifference(mine, read(single[key])) < 1e-4, `graph ${b} ${key}`);
        }
      });
      for (const [, segments] of SCORE_KEYS)
        t.true(
          batch[segments].every((s, i) => i === 0 || s >= batch[segments][i - 1]!),
          'segments are graph-major',
        );
    });
  }
  // The value differs between graphs, so a batch mixing them up cannot pass.
  t.true(new Set(tf.tidy(() => read(gnn.forwardBatch(prepareBatch(all)).value)).map((v) => v.toFixed(5))).size > 3);
  gnn.dispose();
});

/** A decision on every action the graph's masks allow, each head choosing a different allowed index. */
function decisionsOn(graph: PolicyGraphData): Choices[] {
  const masks = masksOf(graph);
  const allowed = (mask: boolean[]): number[] => mask.flatMap((ok, i) => (ok ? [i] : []));
  const last = (mask: boolean[]): number => allowed(mask).at(-1)!;
  const out: Choices[] = [{ action: WAIT }];
  if (masks.actions[GERMINATE])
    out.push(
      { action: GERMINATE, slot: last(masks.slots), blueprint: allowed(masks.blueprints)[0]!, blending: 2 },
      { action: GERMINATE, slot: allowed(masks.slots)[0]!, blueprint: last(masks.blueprints), blending: 0 },
    );
  if (masks.actions[CULL]) out.push({ action: CULL, seed: last(masks.seeds) });
  if (masks.actions[OPTIMIZER]) out.push({ action: OPTIMIZER, lr: last(masks.lr) });
  return out;
}

test('jointLogProbBatch gives each experience the log-probability and entropy jointLogProb gives it', (t) => {
  const gnn = randomNetwork(7);
  const all = graphs(9);
  const temperatures = [1, 0.5, 2, 1.3];
  const items = all.flatMap((graph) =>
    decisionsOn(graph).map((choices, i) => ({
      graph,
      choices,
      masks: masksOf(graph),
      temperature: temperatures[i % temperatures.length]!,
    })),
  );
  const heads = new Set(items.flatMap((item) => Object.keys(item.choices)));
  t.deepEqual(
    [...heads].sort(),
    ['action', 'blending', 'blueprint', 'lr', 'seed', 'slot'],
    'every head is chosen on somewhere',
  );
  t.true(
    items.some((item) => item.masks.seeds.includes(false) && item.choices.seed !== undefined) &&
      items.some((item) => item.masks.slots.includes(false) && item.choices.slot !== undefined),
    'masks with closed choices',
  );
  const before = tf.memory().numTensors;
  const [batched, single] = tf.tidy(() => {
    const packed = gnn.pack();
    const outputs = gnn.forwardBatch(prepareBatch(items.map((item) => item.graph)), packed);
    const { logProb, entropy } = jointLogProbBatch(outputs, items);
    const perItem = items.map((item) =>
      jointLogProb(gnn.forward(prepareGraph(item.graph), packed), item.choices, item.masks, item.temperature),
    );
    return [
      [read(logProb), read(entropy)],
      [perItem.map((x) => x.logProb.dataSync()[0]!), perItem.map((x) => x.entropy.dataSync()[0]!)],
    ];
  });
  t.is(tf.memory().numTensors, before, 'no tensor outlives the tidy');
  items.forEach((item, i) => {
    const what = `${JSON.stringify(item.choices)} at ${item.temperature}`;
    t.true(
      Math.abs(batched[0]![i]! - single[0]![i]!) < 1e-4,
      `log-probability of ${what}: ${batched[0]![i]} vs ${single[0]![i]}`,
    );
    t.true(
      Math.abs(batched[1]![i]! - single[1]![i]!) < 1e-4,
      `entropy of ${what}: ${batched[1]![i]} vs ${single[1]![i]}`,
    );
  });
  t.true(
    new Set(single[0]!.map((x) => x.toFixed(3))).size > items.length / 2,
    'the log-probabilities differ between experiences',
  );
  gnn.dispose();
});

/** Decisions the network sampled (at two temperatures) on the varied states, in three runs. */
function sampled(gnn: TamiyoGnn, count: number, rngSeed: number): Experience[] {
  const weights = gnn.exportWeights();
  const policies = [1, 1.5].map(
    (temperature, i) =>
      new PolicyInstance({
        version: 'sampler',
        kind: 'network',
        weights,
        mode: 'sample',
        temperature,
        rngSeed: rngSeed + i,
      }),
  );
  const states = new PolicyStates(rngSeed);
  const random = mulberry32(rngSeed);
  const out = Array.from({ length: count }, (_, i): Experience => {
    const spec = SPECS[i % SPECS.length]!;
    const { decision } = policies[i % 2]!.decide(packetOf(spec, states, random), worldOf(spec));
    return {
      ...decisionExperience(decision, `decision ${i}`),
      reward: Math.sin(i) + (decision.choices.action === GERMINATE ? 0.5 : 0),
      runId: `run-${i % 3}`,
      epoch: i,
    };
  });
  for (const policy of policies) policy.dispose();
  return out;
}

/** PpoTrainer.update as it was before batching: one forward pass and one jointLogProb per experience. */
function referenceUpdate(
  gnn: TamiyoGnn,
  experiences: readonly Experience[],
  config: PpoConfig,
  rngSeed: number,
): { policyLoss: number; valueLoss: number; entropy: number; approxKl: number; clipFraction: number } {
  const byRun = new Map<string, Experience[]>();
  for (const e of experiences) byRun.set(e.runId, [...(byRun.get(e.runId) ?? []), e]);
  const prepared: Array<{ experience: Experience; advantage: number; return: number }> = [];
  for (const run of byRun.values()) {
    run.sort((a, b) => a.epoch - b.epoch);
    const { advantages, returns } = gae(
      run.map((e) => e.reward),
      run.map((e) => e.value),
      config.gamma,
      config.lambda,
    );
    run.forEach((experience, i) => prepared.push({ experience, advantage: advantages[i]!, return: returns[i]! }));
  }
  const mean = prepared.reduce((s, p) => s + p.advantage, 0) / prepared.length;
  const std = Math.sqrt(prepared.reduce((s, p) => s + (p.advantage - mean) ** 2, 0) / prepared.length);
  for (const p of prepared) p.advantage = (p.advantage - mean) / (std + 1e-8);
  const random = mulberry32(rngSeed);
  const optimizer = tf.train.adam(config.learningRate);
  const stats = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0 };
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const order = Array.from({ length: prepared.length }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    Object.assign(stats, { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0 });
    for (let start = 0; start < order.length; start += config.minibatch) {
      const batch = order.slice(start, start + config.minibatch).map((i) => prepared[i]!);
      const rows: number[][] = [];
      const { value, grads } = tf.variableGrads(
        () =>
          tf.tidy(() => {
            const packed = gnn.pack();
            const losses = batch.map((item) => {
              const outputs: GnnOutputs = gnn.forward(prepareGraph(item.experience.graph), packed);
              const { logProb, entropy } = jointLogProb(
                outputs,
                item.experience.choices,
                item.experience.masks,
                item.experience.temperature,
              );
              const ratio = tf.exp(tf.sub(logProb, item.experience.oldLogProb));
              const surrogate = tf.minimum(
                tf.mul(ratio, item.advantage),
                tf.mul(tf.clipByValue(ratio, 1 - config.clip, 1 + config.clip), item.advantage),
              );
              const valueError = tf.square(tf.sub(outputs.value, item.return));
              rows.push([ratio, logProb, valueError, entropy].map((x) => x.dataSync()[0]!));
              return tf.sub(
                tf.add(tf.neg(surrogate), tf.mul(config.valueCoef, valueError)),
                tf.mul(config.entropyCoef, entropy),
              ) as tf.Scalar;
            });
            return tf.div(tf.addN(losses), batch.length) as tf.Scalar;
          }),
        gnn.variables,
      );
      value.dispose();
      const clipped = clipByGlobalNorm(grads, config.maxGradNorm);
      optimizer.applyGradients(Object.entries(clipped).map(([name, tensor]) => ({ name, tensor })));
      tf.dispose([...Object.values(grads), ...Object.values(clipped)]);
      batch.forEach((item, i) => {
        const [r, lp, v, h] = rows[i]!;
        stats.policyLoss -= Math.min(
          r! * item.advantage,
          Math.min(Math.max(r!, 1 - config.clip), 1 + config.clip) * item.advantage,
        );
        stats.valueLoss += v!;
        stats.entropy += h!;
        stats.approxKl += item.experience.oldLogProb - lp!;
        if (r! < 1 - config.clip || r! > 1 + config.clip) stats.clipFraction += 1;
      });
    }
  }
  optimizer.dispose();
  gnn.weightsChanged();
  const n = prepared.length;
  return {
    policyLoss: stats.policyLoss / n,
    valueLoss: stats.valueLoss / n,
    entropy: stats.entropy / n,
    approxKl: stats.approxKl / n,
    clipFraction: stats.clipFraction / n,
  };
}

test('a batched PPO update moves the weights as the per-experience computation does, and leaks no tensor', (t) => {
  const config: PpoConfig = { ...DEFAULT_PPO_CONFIG, learningRate: 3e-3, epochs: 2, minibatch: 10 };
  const batched = randomNetwork(11);
  const reference = new TamiyoGnn();
  reference.loadWeights(batched.exportWeights());
  const experiences = sampled(batched, 20, 21);
  const actions = new Set(experiences.map((e) => e.choices.action));
  t.true(actions.size >= 3, `varied decisions (actions ${[...actions].join(', ')})`);
  t.true(new Set(experiences.map((e) => e.temperature)).size === 2);

  const flat = (gnn: TamiyoGnn): number[] =>
    tf.tidy(() => read(tf.concat(gnn.variables.map((v) => tf.reshape(v, [-1])))));
  const start = flat(batched);
  const trainer = new PpoTrainer(batched, config);
  const stats = trainer.update(experiences, 4);
  const expected = referenceUpdate(reference, experiences, config, 4);

  // Adam divides each step by the root of the gradient's second moment, so a weight whose gradient is nearly 0 steps
  // by up to the learning rate on float32 rounding alone (the two computations sum in different orders). The two
  // updates are compared as wholes: their distance relative to the update's size (about 0.0075 here; a wrong segment,
  // temperature or entropy mask gives 0.06 to 1).
  const [after, want] = [flat(batched), flat(reference)];
  const norm = (values: number[]): number => Math.sqrt(values.reduce((s, x) => s + x * x, 0));
  const moved = norm(after.map((x, i) => x - start[i]!));
  const off = norm(after.map((x, i) => x - want[i]!)) / moved;
  t.true(moved > 0.3, `the update moves the weights (by ${moved})`);
  t.true(off < 0.03, `batched and per-experience updates agree (relative distance ${off})`);
  // The statistics are the last epoch's, read after some steps, so they carry the same small differences.
  for (const key of ['policyLoss', 'valueLoss', 'entropy', 'approxKl', 'clipFraction'] as const) {
    t.true(
      Math.abs(stats[key] - expected[key]) < 1e-3 * Math.max(1, Math.abs(expected[key])),
      `${key}: ${stats[key]} vs ${expected[key]}`,
    );
  }
  t.true(stats.approxKl !== 0, 'the policy moved');

  // After the first update (Adam's slots exist), an update creates no lasting tensor.
  const before = tf.memory().numTensors;
  trainer.update(experiences, 5);
  t.is(tf.memory().numTensors, before, 'no tensor outlives an update');
  trainer.dispose();
  batched.dispose();
  reference.dispose();
});

test('the held-out estimate (batched) weighs each reward by its per-experience importance ratio', (t) => {
  const gnn = randomNetwork(13);
  const experiences = sampled(gnn, 12, 31);
  const candidate = randomNetwork(17);
  const before = tf.memory().numTensors;
  const estimate = heldOutEstimate(candidate, experiences);
  t.is(tf.memory().numTensors, before, 'no tensor outlives the estimate');
  const ratios = experiences.map((e) =>
    tf.tidy(() =>
      Math.min(
        10,
        Math.exp(
          jointLogProb(
            candidate.forward(prepareGraph(e.graph)),
            e.choices,
            e.masks,
            e.temperature,
          ).logProb.dataSync()[0]! - e.oldLogProb,
        ),
      ),
    ),
  );
  const expected = ratios.reduce((s, r, i) => s + r * experiences[i]!.reward, 0) / ratios.reduce((a, b) => a + b, 0);
  t.true(
    ratios.some((r) => Math.abs(r - 1) > 0.05),
    'the candidate differs from the policy that decided',
  );
  t.true(Math.abs(estimate.candidate - expected) < 1e-4, `${estimate.candidate} vs ${expected}`);
  t.true(Math.abs(estimate.active - experiences.reduce((s, e) => s + e.reward, 0) / experiences.length) < 1e-12);
  gnn.dispose();
  candidate.dispose();
});

test('attention logits far apart between rows (and between the graphs of a batch) give finite outputs: each row softmax is shifted by its own maximum', (t) => {
  const gnn = randomNetwork(4);
  // Large attention vectors spread the rows' attention logits by hundreds: one shift for all rows underflows whole
  // rows to 0/0.
  tf.tidy(() =>
    gnn.specs.forEach(
      (spec, i) => spec.name.startsWith('gat.att_') && gnn.variables[i]!.assign(tf.mul(gnn.variables[i]!, 400)),
    ),
  );
  gnn.weightsChanged();
  const all = graphs(6);
  tf.tidy(() => {
    const batch = gnn.forwardBatch(prepareBatch(all));
    for (const key of GRAPH_KEYS) t.true(read(batch[key]).every(Number.isFinite), key);
    for (const [key] of SCORE_KEYS) t.true(read(batch[key]).every(Number.isFinite), key);
  });
  gnn.dispose();
});

test('a minibatch whose loss is not finite is left out of the update (counted), so no weight turns NaN', (t) => {
  const config: PpoConfig = { ...DEFAULT_PPO_CONFIG, epochs: 2, minibatch: 5 };
  const gnn = randomNetwork(12);
  const experiences = sampled(gnn, 10, 22);
  const flat = (): number[] => tf.tidy(() => read(tf.concat(gnn.variables.map((v) => tf.reshape(v, [-1])))));
  const start = flat();
  const trainer = new PpoTrainer(gnn, config);
  // A NaN reward makes every advantage NaN (they are normalised over the batch): every minibatch's loss is NaN.
  const poisoned = experiences.map((e, i) => (i === 3 ? { ...e, reward: Number.NaN } : e));
  const stats = trainer.update(poisoned, 1);
  t.is(stats.skippedMinibatches, 4, '2 epochs × 2 minibatches');
  t.deepEqual(flat(), start, 'no step was applied');
  t.is(trainer.update(experiences, 2).skippedMinibatches, 0);
  t.true(flat().every(Number.isFinite));
  t.notDeepEqual(flat(), start, 'finite minibatches still train');
  trainer.dispose();
  gnn.dispose();
});
