// An episode's decisions as PPO experiences: each sampled decision's graph, choices, behaviour log-probability and
// value, paid with its shaped reward (reward.ts) scaled for the value head, in the episode's order.
import { leyline, type v1 } from '../../../contracts/index.ts';
import { decisionExperience, type Experience } from '../experience.ts';
import type { EpisodeReward } from './reward.ts';

/**
 * Rewards are in accuracy points; the value head learns returns in tenths of them, so its regression target stays
 * near the policy loss's scale (returns span tens of points).
 */
export const REWARD_SCALE = 0.1;

export function episodeExperiences(result: v1.EpisodeResult, reward: EpisodeReward): Experience[] {
  const experiences: Experience[] = [];
  result.reports.forEach((report, t) => {
    const decision = report.decision;
    // Only the behaviour policy's own draws are on-policy (a decision the risk engine or a deadline replaced still
    // counts: the policy chose, the environment answered).
    if (decision?.mode !== 'sample') return;
    experiences.push({
      ...decisionExperience(leyline.PolicyDecision.create(decision), `episode ${result.episodeId} decision ${t}`),
      reward: reward.rewards[t]! * REWARD_SCALE,
      runId: result.episodeId,
      epoch: t,
    });
  });
  return experiences;
}
