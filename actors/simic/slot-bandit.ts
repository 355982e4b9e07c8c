// A simulated environment with a known best action per state, to prove that Simic's updates teach Tamiyo's network:
// a host with four equal slots whose activation statistics are drawn at random per state; one of them, also at
// random, is starved: a few units carry everything (its spread is a twentieth of its largest magnitude, against
// 0.3–0.5 elsewhere). No raw magnitude gives it away, only the shape of its statistics. Germinating at the starved
// slot earns +1, anywhere else −0.5; an optimizer change −0.2; a hold 0. The untrained policy germinates at an
// arbitrary slot (the best action about a quarter of the time); a policy that reads the statistics finds it.
import * as tf from '@tensorflow/tfjs';
import { leyline, type v1 } from '../../contracts/index.ts';
import { mulberry32 } from '../../runtime/seeded-random.ts';
import { decode } from '../tamiyo/decode.ts';
import { FeatureNormalizer } from '../tamiyo/feature-normalizer.ts';
import { ARCHITECTURE, prepareGraph, type TamiyoGnn } from '../tamiyo/gnn.ts';
import { buildGraph } from '../tamiyo/graph.ts';
import type { SlotInfo } from '../tamiyo/observation.ts';
import { masksOf, type Choices, type Experience } from './experience.ts';
import { jointLogProb } from './ppo.ts';

export const BANDIT_SLOTS: readonly SlotInfo[] = [0, 1, 2, 3].map((i) => ({ id: `mlp.${i}`, dims: [64] }));

export interface BanditState {
  packet: v1.SystemStatePacket;
  starved: number;
}

export class SlotBandit {
  readonly #random: () => number;
  #step = 0;

  constructor(seed: number) {
    this.#random = mulberry32(seed);
  }

  state(): BanditState {
    const starved = Math.floor(this.#random() * BANDIT_SLOTS.length);
    const between = (lo: number, hi: number): number => lo + (hi - lo) * this.#random();
    const metrics: Record<string, number> = { loss: 0.4, learning_rate: 1e-3, epochs_total: 10 };
    BANDIT_SLOTS.forEach((slot, i) => {
      const absMax = between(3, 12);
      metrics[`slot.${slot.id}.mean`] = between(0.3, 2.5);
      metrics[`slot.${slot.id}.std`] = (i === starved ? 0.05 : between(0.3, 0.5)) * absMax;
      metrics[`slot.${slot.id}.abs_max`] = absMax;
    });
    this.#step += 1;
    const packet = leyline.SystemStatePacket.create({
      version: 1,
      packetId: `bandit-${this.#step}`,
      trainingRunId: `bandit-${this.#step}`,
      currentEpoch: 5,
      globalStep: 1000,
      validationLoss: 0.4,
      trainingLoss: 0.42,
      trainingMetrics: metrics,
    });
    return { packet, starved };
  }

  /** The reward of a decision (its action and, for GERMINATE, its slot) in a state. */
  static reward(state: BanditState, action: number, slot: number | undefined): number {
    if (action === 0) return slot === state.starved ? 1 : -0.5;
    return action === 1 ? -0.2 : 0;
  }
}

/** Draws an index from log-probabilities (−1e9 entries never). */
function sample(logProbs: readonly number[], random: () => number): number {
  let u = random();
  for (let i = 0; i < logProbs.length; i++) {
    u -= Math.exp(logProbs[i]!);
    if (u <= 0) return i;
  }
  // Rounding left a sliver: the last allowed index.
  let last = 0;
  logProbs.forEach((lp, i) => {
    if (lp > -1e8) last = i;
  });
  return last;
}

/**
 * Decisions in the environment with the policy's own distribution (sampled, for exploration), as experiences:
 * what PPO learns from. Each is its own one-step run. Also returns how often the sampled action was the best one.
 */
export function collect(gnn: TamiyoGnn, bandit: SlotBandit, count: number, candidates: readonly v1.BlueprintDescriptor[], random: () => number): Experience[] {
  const normalizer = new FeatureNormalizer();
  const experiences: Experience[] = [];
  for (let i = 0; i < count; i++) {
    const state = bandit.state();
    const { graph } = buildGraph({ packet: state.packet, slots: BANDIT_SLOTS, candidates, validationLosses: [] }, normalizer);
    const masks = masksOf(graph);
    const choices: Choices = { action: 0 };
    const { logProb, value } = tf.tidy(() => {
      const outputs = gnn.forward(prepareGraph(graph));
      const logSoftmax = (x: tf.Tensor1D, allowed: readonly boolean[] | null): number[] =>
        Array.from((tf.logSoftmax(allowed ? tf.add(x, tf.tensor1d(allowed.map((a) => (a ? 0 : -1e9)))) : x) as tf.Tensor1D).dataSync());
      choices.action = sample(logSoftmax(outputs.policyLogits, null), random);
      if (choices.action === 0) {
        choices.slot = sample(logSoftmax(outputs.slotScores, masks.slots), random);
        choices.blueprint = sample(logSoftmax(outputs.blueprintScores, masks.blueprints), random);
        choices.blending = sample(logSoftmax(outputs.blendingLogits, null), random);
      }
      return { logProb: jointLogProb(outputs, choices, masks).logProb.dataSync()[0]!, value: outputs.value.dataSync()[0]! };
    });
    experiences.push({ graph, masks, choices, oldLogProb: logProb, value, reward: SlotBandit.reward(state, choices.action, choices.slot), runId: state.packet.trainingRunId, epoch: 0 });
  }
  return experiences;
}

/** Tamiyo's own (greedy) decisions on fresh states: the mean reward and the share of best actions. */
export function evaluate(gnn: TamiyoGnn, bandit: SlotBandit, count: number, candidates: readonly v1.BlueprintDescriptor[]): { averageReward: number; bestRate: number } {
  const normalizer = new FeatureNormalizer();
  let reward = 0;
  let best = 0;
  for (let i = 0; i < count; i++) {
    const state = bandit.state();
    const { graph, context } = buildGraph({ packet: state.packet, slots: BANDIT_SLOTS, candidates, validationLosses: [] }, normalizer);
    const decided = decode(gnn.infer(graph), context, state.packet, null, { policyVersion: 'eval', architecture: ARCHITECTURE, minLearningRate: 1e-6, maxLearningRate: 1 });
    const r = SlotBandit.reward(state, decided.choices.action!, decided.choices.slot);
    reward += r;
    if (r === 1) best += 1;
  }
  return { averageReward: reward / count, bestRate: best / count };
}
