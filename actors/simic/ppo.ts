// PPO on the network Tamiyo runs, in the manner of CleanRL's single-file PPO: the clipped surrogate objective (ε 0.2),
// GAE along each run's decisions in time order (γ 0.99, λ 0.95; a run's last decision bootstraps 0), a value loss,
// an entropy bonus on the heads a decision chose on, gradients clipped to a global norm of 1.0, several epochs of
// shuffled minibatches, Adam. The joint log-probability of a decision is the sum over the heads it chose on, each a
// log-softmax of the logits over the temperature it was drawn at, over the choices its masks allowed — so before any
// update the importance ratio of a sampled decision is 1. All weights train; the trainer's network is its own copy
// (Tamiyo's is only ever replaced whole, by a PolicyUpdate or a policy file). A minibatch runs through the network as
// one batch of graphs (TamiyoGnn.forwardBatch): a pass is as many kernels for one graph as for many.
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../runtime/seeded-random.ts';
import {
  batchPrepared,
  HEAD_OUTPUT,
  HEADS,
  maskOf,
  prepareGraph,
  type Choices,
  type GnnBatchOutputs,
  type GnnOutputs,
  type Head,
  type Masks,
  type PackedWeights,
  type PreparedGraph,
  type TamiyoGnn,
} from '../../policy/index.ts';
import type { Experience } from './experience.ts';

export interface PpoConfig {
  learningRate: number;
  clip: number;
  gamma: number;
  lambda: number;
  valueCoef: number;
  entropyCoef: number;
  maxGradNorm: number;
  epochs: number;
  minibatch: number;
  /** The random seed of the minibatch shuffles. */
  rngSeed: number;
}

export const DEFAULT_PPO_CONFIG: PpoConfig = {
  learningRate: 5e-4,
  clip: 0.2,
  gamma: 0.99,
  lambda: 0.95,
  valueCoef: 0.5,
  entropyCoef: 0.01,
  maxGradNorm: 1,
  epochs: 5,
  minibatch: 16,
  rngSeed: 1,
};

export interface UpdateStats {
  experiences: number;
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  /** Mean of (old − new log-probability): how far the update moved the policy. */
  approxKl: number;
  /** Share of experiences whose ratio was clipped in the last epoch. */
  clipFraction: number;
  /** Minibatches (over all epochs) whose loss or gradients were not finite: not applied. */
  skippedMinibatches: number;
  averageReward: number;
}

/** GAE along one run's decisions (time order): advantages and returns (advantage + value). */
export function gae(
  rewards: readonly number[],
  values: readonly number[],
  gamma: number,
  lambda: number,
): { advantages: number[]; returns: number[] } {
  const advantages = new Array<number>(rewards.length).fill(0);
  let next = 0;
  for (let t = rewards.length - 1; t >= 0; t--) {
    const nextValue = t + 1 < values.length ? values[t + 1]! : 0;
    const delta = rewards[t]! + gamma * nextValue - values[t]!;
    next = delta + gamma * lambda * next;
    advantages[t] = next;
  }
  return { advantages, returns: advantages.map((a, t) => a + values[t]!) };
}

const NEG = -1e9;

/** log-softmax of `logits / temperature` over the allowed entries (the rest pushed to −1e9), as a tensor. */
function maskedLogSoftmax(logits: tf.Tensor1D, allowed: readonly boolean[], temperature: number): tf.Tensor1D {
  const scaled = temperature === 1 ? logits : tf.div(logits, temperature);
  return tf.logSoftmax(tf.add(scaled, tf.tensor1d(allowed.map((a) => (a ? 0 : NEG))))) as tf.Tensor1D;
}

const pick = (values: tf.Tensor1D, index: number): tf.Scalar =>
  tf.reshape(tf.slice(values, [index], [1]), []) as tf.Scalar;

/** The network's output for a head. */
const headOutput = (outputs: GnnOutputs, head: Head): tf.Tensor1D => outputs[HEAD_OUTPUT[head]];

/**
 * log π(choices) under `outputs` at `temperature`, and the entropy of the distributions the decision drew from
 * (each chosen head's, at temperature 1).
 */
export function jointLogProb(
  outputs: GnnOutputs,
  choices: Choices,
  masks: Masks,
  temperature = 1,
): { logProb: tf.Scalar; entropy: tf.Scalar } {
  const logProbs: tf.Scalar[] = [];
  const entropies: tf.Scalar[] = [];
  for (const [head, index] of Object.entries(choices) as Array<[Head, number]>) {
    const logits = headOutput(outputs, head);
    const allowed = maskOf(masks, head).slice(0, logits.shape[0]);
    logProbs.push(pick(maskedLogSoftmax(logits, allowed, temperature), index));
    const log = maskedLogSoftmax(logits, allowed, 1);
    entropies.push(
      tf.neg(tf.sum(tf.mul(tf.exp(log), tf.where(tf.tensor1d(allowed, 'bool'), log, tf.zerosLike(log))))) as tf.Scalar,
    );
  }
  return { logProb: tf.addN(logProbs) as tf.Scalar, entropy: tf.addN(entropies) as tf.Scalar };
}

/** What scoring a decision needs of an experience. */
export type ScoredDecision = Pick<Experience, 'choices' | 'masks' | 'temperature'>;

/**
 * A head's logits over the batch as [B, K] and each graph's own count of them: graph-level heads as they are, score
 * heads (flat, graph-major segments) laid out one graph per row, padded to the largest segment.
 */
function batchHeadLogits(outputs: GnnBatchOutputs, head: Head): { logits: tf.Tensor2D; sizes: number[] } {
  const B = outputs.graphCount;
  const graphLevel = (logits: tf.Tensor2D): { logits: tf.Tensor2D; sizes: number[] } => ({
    logits,
    sizes: new Array<number>(B).fill(logits.shape[1]),
  });
  const scored = (scores: tf.Tensor1D, segments: Int32Array): { logits: tf.Tensor2D; sizes: number[] } => {
    const sizes = new Array<number>(B).fill(0);
    for (const b of segments) sizes[b]! += 1;
    const K = Math.max(0, ...sizes);
    // Entry j of graph b is at (start of b) + j; padding reads an appended 0 (masked out below).
    const index = new Int32Array(B * K).fill(segments.length);
    let start = 0;
    sizes.forEach((size, b) => {
      for (let j = 0; j < size; j++) index[b * K + j] = start + j;
      start += size;
    });
    const padded = tf.gather(tf.concat([scores, tf.zeros([1])]), tf.tensor1d(index, 'int32'));
    return { logits: tf.reshape(padded, [B, K]) as tf.Tensor2D, sizes };
  };
  switch (head) {
    case 'action':
      return graphLevel(outputs.policyLogits);
    case 'slot':
      return scored(outputs.slotScores, outputs.slotSegments);
    case 'blueprint':
      return scored(outputs.blueprintScores, outputs.blueprintSegments);
    case 'blending':
      return graphLevel(outputs.blendingLogits);
    case 'seed':
      return scored(outputs.seedScores, outputs.seedSegments);
    case 'lr':
      return graphLevel(outputs.lrLogits);
  }
}

/**
 * `jointLogProb` for a batch (`forwardBatch` outputs, experience b on graph b): [B] log-probabilities and [B]
 * entropies. Per head, one masked log-softmax over all rows at once; rows that did not choose on the head add 0.
 */
export function jointLogProbBatch(
  outputs: GnnBatchOutputs,
  experiences: readonly ScoredDecision[],
): { logProb: tf.Tensor1D; entropy: tf.Tensor1D } {
  const B = outputs.graphCount;
  if (experiences.length !== B)
    throw new RangeError(`jointLogProbBatch: ${experiences.length} experiences for ${B} graphs`);
  const temperatures = tf.tensor2d(
    experiences.map((e) => e.temperature),
    [B, 1],
  );
  const logProbs: tf.Tensor1D[] = [];
  const entropies: tf.Tensor1D[] = [];
  for (const head of HEADS) {
    if (!experiences.some((e) => e.choices[head] !== undefined)) continue;
    const { logits, sizes } = batchHeadLogits(outputs, head);
    const K = logits.shape[1];
    const offset = new Float32Array(B * K).fill(NEG); // 0 where allowed, −1e9 elsewhere (padding included)
    const chosen = new Float32Array(B * K); // one-hot of the choice, rows that chose on the head
    const counted = new Float32Array(B * K); // allowed entries of rows that chose on the head (entropy)
    experiences.forEach((e, b) => {
      const allowed = maskOf(e.masks, head);
      for (let j = 0; j < sizes[b]!; j++) if (allowed[j]) offset[b * K + j] = 0;
      const index = e.choices[head];
      if (index === undefined) return;
      if (!(index >= 0 && index < sizes[b]!))
        throw new RangeError(
          `jointLogProbBatch: choice ${index} of the ${head} head is out of range (${sizes[b]} choices)`,
        );
      chosen[b * K + index] = 1;
      for (let j = 0; j < sizes[b]!; j++) if (allowed[j]) counted[b * K + j] = 1;
    });
    const mask = tf.tensor2d(offset, [B, K]);
    const tempered = tf.logSoftmax(tf.add(tf.div(logits, temperatures), mask));
    logProbs.push(tf.sum(tf.mul(tempered, tf.tensor2d(chosen, [B, K])), 1) as tf.Tensor1D);
    const log = tf.logSoftmax(tf.add(logits, mask));
    entropies.push(tf.neg(tf.sum(tf.mul(tf.exp(log), tf.mul(log, tf.tensor2d(counted, [B, K]))), 1)) as tf.Tensor1D);
  }
  return { logProb: tf.addN(logProbs), entropy: tf.addN(entropies) };
}

interface Prepared {
  experience: Experience;
  graph: PreparedGraph;
  advantage: number;
  return: number;
}

/** A tensor of the optimizer's state, as plain data (a learning run's checkpoint keeps them). */
export interface SavedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

export class PpoTrainer {
  readonly #optimizer: tf.AdamOptimizer;
  #random: () => number;

  constructor(
    readonly gnn: TamiyoGnn,
    readonly config: PpoConfig = DEFAULT_PPO_CONFIG,
  ) {
    this.#optimizer = tf.train.adam(config.learningRate);
    this.#random = mulberry32(config.rngSeed);
  }

  /** One PPO update on a batch of experiences; `rngSeed` (when given) seeds its minibatch shuffles. */
  update(experiences: readonly Experience[], rngSeed?: number): UpdateStats {
    const { config } = this;
    if (rngSeed !== undefined) this.#random = mulberry32(rngSeed);
    const prepared = this.#advantages(experiences);
    let policyLoss = 0;
    let valueLoss = 0;
    let entropy = 0;
    let approxKl = 0;
    let clipped = 0;
    let skipped = 0;
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const order = this.#shuffled(prepared.length);
      policyLoss = valueLoss = entropy = approxKl = clipped = 0;
      for (let start = 0; start < order.length; start += config.minibatch) {
        const batch = order.slice(start, start + config.minibatch).map((i) => prepared[i]!);
        const figures: { rows: tf.Tensor | null } = { rows: null };
        const { value: loss, grads } = tf.variableGrads(() => this.#loss(batch, figures), this.gnn.variables);
        const lossValue = loss.dataSync()[0]!;
        loss.dispose();
        const norm = globalNorm(grads);
        const rows = figures.rows!.dataSync();
        figures.rows!.dispose();
        // A step from a non-finite loss or gradient would make every weight NaN (and every later decision): left out.
        if (!Number.isFinite(lossValue) || !Number.isFinite(norm)) {
          tf.dispose(Object.values(grads));
          skipped += 1;
          continue;
        }
        const clippedGrads = clipByGlobalNorm(grads, config.maxGradNorm, norm);
        this.#optimizer.applyGradients(Object.entries(clippedGrads).map(([name, tensor]) => ({ name, tensor })));
        tf.dispose([...Object.values(grads), ...Object.values(clippedGrads)]);
        batch.forEach((item, i) => {
          const [r, lp, v, h] = [rows[i * 4]!, rows[i * 4 + 1]!, rows[i * 4 + 2]!, rows[i * 4 + 3]!];
          policyLoss -= Math.min(
            r * item.advantage,
            Math.min(Math.max(r, 1 - config.clip), 1 + config.clip) * item.advantage,
          );
          valueLoss += v;
          entropy += h;
          approxKl += item.experience.oldLogProb - lp;
          if (r < 1 - config.clip || r > 1 + config.clip) clipped += 1;
        });
      }
    }
    this.gnn.weightsChanged();
    const n = Math.max(1, prepared.length);
    return {
      experiences: prepared.length,
      policyLoss: policyLoss / n,
      valueLoss: valueLoss / n,
      entropy: entropy / n,
      approxKl: approxKl / n,
      clipFraction: clipped / n,
      skippedMinibatches: skipped,
      averageReward: experiences.reduce((s, e) => s + e.reward, 0) / n,
    };
  }

  /** Adam's state (step count and both moments of every weight), to resume learning exactly where it was. */
  async optimizerState(): Promise<SavedTensor[]> {
    const weights = await this.#optimizer.getWeights();
    return weights.map(({ name, tensor }) => ({
      name,
      shape: [...tensor.shape],
      values: Float32Array.from(tensor.dataSync()),
    }));
  }

  async restoreOptimizer(saved: readonly SavedTensor[]): Promise<void> {
    const tensors = saved.map(({ name, shape, values }) => ({ name, tensor: tf.tensor(values, shape) }));
    await this.#optimizer.setWeights(tensors);
    tf.dispose(tensors.map((t) => t.tensor));
  }

  dispose(): void {
    this.#optimizer.dispose();
  }

  /**
   * The minibatch's loss (mean over it), the minibatch through the network as one batch. Per experience [ratio,
   * log-probability, squared value error, entropy] are kept in `figures.rows` ([n, 4]) for the caller to read in one
   * transfer after the step.
   */
  #loss(batch: readonly Prepared[], figures: { rows: tf.Tensor | null }): tf.Scalar {
    const { clip, valueCoef, entropyCoef } = this.config;
    return tf.tidy(() => {
      const packed: PackedWeights = this.gnn.pack();
      const outputs = this.gnn.forwardBatch(batchPrepared(batch.map((item) => item.graph)), packed);
      const { logProb, entropy } = jointLogProbBatch(
        outputs,
        batch.map((item) => item.experience),
      );
      const column = (values: number[]): tf.Tensor1D => tf.tensor1d(values);
      const advantage = column(batch.map((item) => item.advantage));
      const ratio = tf.exp(tf.sub(logProb, column(batch.map((item) => item.experience.oldLogProb))));
      const surrogate = tf.minimum(
        tf.mul(ratio, advantage),
        tf.mul(tf.clipByValue(ratio, 1 - clip, 1 + clip), advantage),
      );
      const valueError = tf.square(tf.sub(outputs.value, column(batch.map((item) => item.return))));
      figures.rows = tf.keep(tf.stack([ratio, logProb, valueError, entropy], 1));
      const losses = tf.sub(tf.add(tf.neg(surrogate), tf.mul(valueCoef, valueError)), tf.mul(entropyCoef, entropy));
      return tf.div(tf.sum(losses), batch.length) as tf.Scalar;
    });
  }

  /** GAE per run (decisions in epoch order), advantages normalised over the batch. */
  #advantages(experiences: readonly Experience[]): Prepared[] {
    const byRun = new Map<string, Experience[]>();
    for (const e of experiences) byRun.set(e.runId, [...(byRun.get(e.runId) ?? []), e]);
    const out: Prepared[] = [];
    for (const run of byRun.values()) {
      run.sort((a, b) => a.epoch - b.epoch);
      const { advantages, returns } = gae(
        run.map((e) => e.reward),
        run.map((e) => e.value),
        this.config.gamma,
        this.config.lambda,
      );
      run.forEach((e, i) =>
        out.push({ experience: e, graph: prepareGraph(e.graph), advantage: advantages[i]!, return: returns[i]! }),
      );
    }
    const mean = out.reduce((s, p) => s + p.advantage, 0) / Math.max(1, out.length);
    const std = Math.sqrt(out.reduce((s, p) => s + (p.advantage - mean) ** 2, 0) / Math.max(1, out.length));
    for (const p of out) p.advantage = (p.advantage - mean) / (std + 1e-8);
    return out;
  }

  #shuffled(n: number): number[] {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  }
}

/** The gradients' global L2 norm. */
export function globalNorm(grads: tf.NamedTensorMap): number {
  return tf.tidy(() => Math.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
}

/** Scales the gradients so their global L2 norm is at most `maxNorm` (tfjs has no clipByGlobalNorm). */
export function clipByGlobalNorm(
  grads: tf.NamedTensorMap,
  maxNorm: number,
  norm = globalNorm(grads),
): tf.NamedTensorMap {
  return tf.tidy(() => {
    const scale = norm > maxNorm ? maxNorm / norm : 1;
    return Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, tf.mul(g, scale)]));
  });
}
