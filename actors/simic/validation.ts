// Whether a trained policy may be published (as the prototype, with this project's decisions): the last update's
// figures against thresholds (average reward ≥ 0, policy loss ≤ 5, value loss ≤ 50, entropy ≥ 0), at least
// `minSamples` experiences seen (an untrained policy is never published), and no worse than the active policy on
// held-out experiences: the candidate's reward there, estimated by self-normalised importance sampling from the
// decisions the active policy made (ratios capped at 10), must not fall below what the active policy earned by more
// than `tolerance`. Every failed check is reported by name.
import * as tf from '@tensorflow/tfjs';
import { prepareBatch, type TamiyoGnn } from '../../policy/index.ts';
import type { Experience } from './experience.ts';
import { jointLogProbBatch, type UpdateStats } from './ppo.ts';

export interface ValidationThresholds {
  minSamples: number;
  minAverageReward: number;
  maxPolicyLoss: number;
  maxValueLoss: number;
  minEntropy: number;
  /** How much worse than the active policy on held-out experiences is still acceptable (reward units). */
  tolerance: number;
}

export const DEFAULT_VALIDATION: ValidationThresholds = {
  minSamples: 32,
  minAverageReward: 0,
  maxPolicyLoss: 5,
  maxValueLoss: 50,
  minEntropy: 0,
  tolerance: 0.05,
};

export interface HeldOut {
  /** What the decisions earned under the active policy. */
  active: number;
  /** The candidate's estimated reward on the same states. */
  candidate: number;
}

const RATIO_CAP = 10;
/** Experiences per forward pass (bounds the batched graph's size). */
const CHUNK = 128;

/** The held-out comparison (see the header). */
export function heldOutEstimate(candidate: TamiyoGnn, experiences: readonly Experience[]): HeldOut {
  let weighted = 0;
  let weights = 0;
  for (let start = 0; start < experiences.length; start += CHUNK) {
    const chunk = experiences.slice(start, start + CHUNK);
    const logProbs = tf.tidy(() =>
      jointLogProbBatch(candidate.forwardBatch(prepareBatch(chunk.map((e) => e.graph))), chunk).logProb.dataSync(),
    );
    chunk.forEach((e, i) => {
      const ratio = Math.min(RATIO_CAP, Math.exp(logProbs[i]! - e.oldLogProb));
      weighted += ratio * e.reward;
      weights += ratio;
    });
  }
  const n = Math.max(1, experiences.length);
  return { active: experiences.reduce((s, e) => s + e.reward, 0) / n, candidate: weights > 0 ? weighted / weights : 0 };
}

export function validate(
  stats: UpdateStats,
  heldOut: HeldOut | null,
  thresholds: ValidationThresholds = DEFAULT_VALIDATION,
): { passed: boolean; reasons: string[] } {
  const reasons: string[] = [];
  const f = (x: number): string => x.toFixed(4);
  if (stats.experiences < thresholds.minSamples)
    reasons.push(`trained on ${stats.experiences} experiences, fewer than ${thresholds.minSamples}`);
  if (stats.averageReward < thresholds.minAverageReward)
    reasons.push(`average_reward ${f(stats.averageReward)} below min ${f(thresholds.minAverageReward)}`);
  if (stats.policyLoss > thresholds.maxPolicyLoss)
    reasons.push(`policy_loss ${f(stats.policyLoss)} above max ${f(thresholds.maxPolicyLoss)}`);
  if (stats.valueLoss > thresholds.maxValueLoss)
    reasons.push(`value_loss ${f(stats.valueLoss)} above max ${f(thresholds.maxValueLoss)}`);
  if (stats.entropy < thresholds.minEntropy)
    reasons.push(`policy_entropy ${f(stats.entropy)} below min ${f(thresholds.minEntropy)}`);
  if (!heldOut) reasons.push('no held-out experiences to compare with the active policy');
  else if (heldOut.candidate < heldOut.active - thresholds.tolerance)
    reasons.push(`held-out reward ${f(heldOut.candidate)} below the active policy's ${f(heldOut.active)}`);
  return { passed: reasons.length === 0, reasons };
}
