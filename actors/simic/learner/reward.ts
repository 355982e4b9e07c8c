// The reward of an episode's decisions (README "The reward"). Units: accuracy points (0–100).
//
//   objective  = 100 · final validation accuracy − rent − cull cost
//   rent       = 100 · rent   · (weights the seeds still in the network add) / (the host's weights)
//   cull cost  = 100 · cullCost · Σ over culled seeds (its weights / the host's) · (epochs it lived / epochs)
//
// Decision t (of T, one per control boundary) is paid with potential-based shaping on the validation accuracy at the
// decision, Φ_t = 100 · accuracy_t, and the objective at the end:
//
//   r_t = γ·Φ_{t+1} − Φ_t          (t < T − 1)
//   r_{T−1} = objective − Φ_{T−1}   (the terminal state's potential is 0)
//
// The shaping telescopes: Σ γ^t r_t = γ^{T−1}·objective − Φ_0, so it cannot change which policy is best (Ng, Harada
// and Russell 1999), but it tells each decision promptly what the accuracy did after it. Growing pays only when the
// accuracy it buys is worth more than its rent.
import type { v1 } from '../../../contracts/index.ts';

export interface RewardPrices {
  rent: number;
  cullCost: number;
}

export const DEFAULT_REWARD_PRICES: RewardPrices = { rent: 0.02, cullCost: 0.02 };

/** Seed stages that mean the seed left the network before the end. */
const CULLED: ReadonlySet<string> = new Set(['culled', 'embargoed', 'resetting', 'dormant', 'terminated', 'gone']);

export interface EpisodeReward {
  /** Per decision, in order. */
  rewards: number[];
  /** The episode's objective (unshaped): what the policy is judged by. */
  objective: number;
  finalAccuracy: number;
  rent: number;
  cullCost: number;
}

export function episodeReward(
  result: v1.EpisodeResult,
  prices: RewardPrices = DEFAULT_REWARD_PRICES,
  gamma = 0.99,
): EpisodeReward {
  const host = Math.max(1, result.hostParameters);
  const epochs = Math.max(1, result.epochs.length);
  const finalAccuracy = 100 * result.finalValidationAccuracy;
  const rent = 100 * prices.rent * (result.addedParameters / host);
  const cullCost = result.seeds
    .filter((seed) => CULLED.has(seed.stage ?? ''))
    .reduce(
      (sum, seed) =>
        sum +
        100 *
          prices.cullCost *
          ((seed.parameters ?? 0) / host) *
          (Math.max(0, (seed.lastEpoch ?? 0) - (seed.firstEpoch ?? 0) + 1) / epochs),
      0,
    );
  const objective = finalAccuracy - rent - cullCost;
  const potentials = result.reports.map((report) => 100 * (report.metrics?.['decision.validation_accuracy'] ?? 0));
  const rewards = potentials.map((phi, t) =>
    t + 1 < potentials.length ? gamma * potentials[t + 1]! - phi : objective - phi,
  );
  return { rewards, objective, finalAccuracy, rent, cullCost };
}
