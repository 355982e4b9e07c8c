// Simic's PPO on the network Tamiyo runs, on decisions the network sampled on synthetic states (0–3 seeds on trial in
// a 4-slot host, 4 candidate blueprints).
// update_throughput: experience-epochs per second through PpoTrainer.update (3 epochs of minibatches of 16, each
//   minibatch one batched forward and backward pass, gradient clipping, Adam), for batches of 32 and 128
//   experiences; baseline: the same update computed one graph at a time (a forward pass and jointLogProb per
//   experience, as the trainer did before batching), in the same run. Median of 3 timed updates after a warm-up.
// inference_graphs_per_s: TamiyoGnn.infer, one graph at a time (what a decision costs the network), for scale.
import * as tf from '@tensorflow/tfjs';
import { leyline, type v1 } from '../contracts/index.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import {
  decisionExperience,
  DEFAULT_PPO_CONFIG,
  PpoTrainer,
  type Experience,
  type PpoConfig,
} from '../actors/simic/index.ts';
import { clipByGlobalNorm, jointLogProb } from '../actors/simic/ppo.ts';
import { PolicyInstance, prepareGraph, rankCandidates, TamiyoGnn } from '../policy/index.ts';
import { mulberry32 } from '../runtime/seeded-random.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { median, report } from './report.ts';

const BENCH = 'simic';
const SIZES = [32, 128];
const REPEATS = 3;
const CONFIG: PpoConfig = { ...DEFAULT_PPO_CONFIG, epochs: 3, minibatch: 16 };
const SLOTS = [0, 1, 2, 3].map((i) => ({ id: `mlp.${i}`, dims: [64] }));
const { catalog } = setUpKarn({});
const WORLD = { slots: SLOTS, blueprints: rankCandidates(catalog.all()).slice(0, 4) };

/** A state with `seeds` seeds on trial and activation statistics from `random`. */
function packet(seeds: number, step: number, random: () => number): v1.SystemStatePacket {
  const metrics: Record<string, number> = {
    learning_rate: 1e-3,
    initial_learning_rate: 1e-3,
    epochs_total: 10,
    host_parameters: 20_000,
    gradient_norm: random(),
  };
  for (const slot of SLOTS) {
    metrics[`slot.${slot.id}.mean`] = random();
    metrics[`slot.${slot.id}.std`] = 0.5 + random();
    metrics[`slot.${slot.id}.abs_max`] = 3 + 5 * random();
  }
  return leyline.SystemStatePacket.create({
    version: 1,
    packetId: `bench-${step}`,
    trainingRunId: 'bench',
    currentEpoch: step % 10,
    globalStep: BigInt(100 * step),
    validationLoss: 0.3 + 0.2 * random(),
    validationAccuracy: 0.8,
    trainingLoss: 0.42,
    trainingMetrics: metrics,
    seedStates: Array.from({ length: seeds }, (_, i) =>
      leyline.SeedState.create({
        seedId: `s${i}`,
        stage: leyline.SeedLifecycleStage.SEED_STAGE_TRAINING,
        layerDepth: i + 1,
        learningRate: 1e-3,
        riskScore: random(),
        ageEpochs: i,
      }),
    ),
  });
}

/** `count` decisions sampled by the network with `gnn`'s weights, in 4 runs, rewarded at random. */
function experiences(gnn: TamiyoGnn, count: number, rngSeed: number): Experience[] {
  const policy = new PolicyInstance({
    version: 'bench',
    kind: 'network',
    mode: 'sample',
    rngSeed,
    weights: gnn.exportWeights(),
  });
  const random = mulberry32(rngSeed);
  const out = Array.from({ length: count }, (_, i): Experience => {
    const { decision } = policy.decide(packet(i % 4, i, random), WORLD);
    return {
      ...decisionExperience(decision, `decision ${i}`),
      reward: random() * 2 - 1,
      runId: `run-${i % 4}`,
      epoch: i,
    };
  });
  policy.dispose();
  return out;
}

/** The baseline: the same epochs, minibatches, loss, clipping and Adam, one forward pass per experience. */
function perGraphUpdate(
  gnn: TamiyoGnn,
  optimizer: tf.Optimizer,
  batch: readonly Experience[],
  config: PpoConfig,
): void {
  const prepared = batch.map((e, i) => ({
    experience: e,
    graph: prepareGraph(e.graph),
    advantage: Math.sin(i),
    return: e.reward,
  }));
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    for (let start = 0; start < prepared.length; start += config.minibatch) {
      const minibatch = prepared.slice(start, start + config.minibatch);
      const { value, grads } = tf.variableGrads(
        () =>
          tf.tidy(() => {
            const packed = gnn.pack();
            const losses = minibatch.map((item) => {
              const outputs = gnn.forward(item.graph, packed);
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
              return tf.sub(
                tf.add(tf.neg(surrogate), tf.mul(config.valueCoef, valueError)),
                tf.mul(config.entropyCoef, entropy),
              ) as tf.Scalar;
            });
            return tf.div(tf.addN(losses), minibatch.length) as tf.Scalar;
          }),
        gnn.variables,
      );
      value.dispose();
      const clipped = clipByGlobalNorm(grads, config.maxGradNorm);
      optimizer.applyGradients(Object.entries(clipped).map(([name, tensor]) => ({ name, tensor })));
      tf.dispose([...Object.values(grads), ...Object.values(clipped)]);
    }
  }
  gnn.weightsChanged();
}

/** Experience-epochs per second of `update` on `size` experiences: the median of REPEATS runs after a warm-up. */
function throughput(size: number, update: () => void): number {
  update();
  const seconds: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const started = performance.now();
    update();
    seconds.push((performance.now() - started) / 1000);
  }
  return (size * CONFIG.epochs) / median(seconds);
}

export async function run(): Promise<void> {
  await selectTensorBackend('wasm');
  for (const size of SIZES) {
    const batched = new TamiyoGnn(undefined, 3);
    const batch = experiences(batched, size, 100 + size);
    const trainer = new PpoTrainer(batched, CONFIG);
    const fast = throughput(size, () => trainer.update(batch));
    trainer.dispose();
    batched.dispose();

    const single = new TamiyoGnn(undefined, 3);
    const optimizer = tf.train.adam(CONFIG.learningRate);
    const slow = throughput(size, () => perGraphUpdate(single, optimizer, batch, CONFIG));
    optimizer.dispose();
    single.dispose();
    report(BENCH, `update_throughput_${size}`, fast, 'experience-epochs/s', slow);
  }

  const gnn = new TamiyoGnn(undefined, 3);
  const graphs = experiences(gnn, 64, 7).map((e) => e.graph);
  for (const graph of graphs) gnn.infer(graph);
  const started = performance.now();
  for (const graph of graphs) gnn.infer(graph);
  report(BENCH, 'inference_graphs_per_s', graphs.length / ((performance.now() - started) / 1000), 'graphs/s');
  gnn.dispose();
}
