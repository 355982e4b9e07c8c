// What an episode and a round of episodes came to, in the figures the learning record and progress lines show.
import { actionName, ACTIONS } from '../../../policy/index.ts';
import type { v1 } from '../../../contracts/index.ts';
import type { EpisodeReward } from './reward.ts';

export interface EpisodeSummary {
  episodeId: string;
  task: string;
  ok: boolean;
  error: string;
  /** The objective (reward.ts): accuracy points less rent and cull cost. */
  objective: number;
  /** Final validation and test accuracy, in %. */
  validationAccuracy: number;
  testAccuracy: number;
  addedParameters: number;
  /** Added weights as a share of the host's. */
  addedShare: number;
  /** The policy's choices by action name. */
  actions: Record<string, number>;
  /** Every seed of the episode: `<blueprint>@<slot> e<first epoch>–<last> <final stage>`. */
  seeds: string[];
  seconds: number;
}

export function summarizeEpisode(result: v1.EpisodeResult, reward: EpisodeReward | null): EpisodeSummary {
  const actions: Record<string, number> = {};
  for (const report of result.reports) {
    const choice = report.decision?.choices?.action;
    if (choice === undefined) continue;
    const name = actionName(ACTIONS[choice] ?? 0);
    actions[name] = (actions[name] ?? 0) + 1;
  }
  return {
    episodeId: result.episodeId,
    task: result.taskName,
    ok: result.ok,
    error: result.error,
    objective: reward?.objective ?? 0,
    validationAccuracy: 100 * result.finalValidationAccuracy,
    testAccuracy: 100 * result.testAccuracy,
    addedParameters: result.addedParameters,
    addedShare: result.hostParameters > 0 ? result.addedParameters / result.hostParameters : 0,
    actions,
    seeds: result.seeds.map((s) => `${s.blueprintId}@${s.slot} e${s.firstEpoch}–${s.lastEpoch} ${s.stage}`),
    seconds: result.seconds,
  };
}

export interface RoundFigures {
  episodes: number;
  failed: number;
  meanObjective: number;
  meanValidationAccuracy: number;
  meanTestAccuracy: number;
  meanAddedParameters: number;
  meanAddedShare: number;
  /** Share of the decisions that chose each action. */
  actions: Record<string, number>;
}

const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;

/** Means over the episodes that finished (failed ones are counted, not averaged). */
export function summarizeRound(episodes: readonly EpisodeSummary[]): RoundFigures {
  const done = episodes.filter((e) => e.ok);
  const counts: Record<string, number> = {};
  for (const episode of done)
    for (const [name, n] of Object.entries(episode.actions)) counts[name] = (counts[name] ?? 0) + n;
  const decisions = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    episodes: episodes.length,
    failed: episodes.length - done.length,
    meanObjective: mean(done.map((e) => e.objective)),
    meanValidationAccuracy: mean(done.map((e) => e.validationAccuracy)),
    meanTestAccuracy: mean(done.map((e) => e.testAccuracy)),
    meanAddedParameters: mean(done.map((e) => e.addedParameters)),
    meanAddedShare: mean(done.map((e) => e.addedShare)),
    actions: Object.fromEntries(
      ACTIONS.map((a) => [actionName(a), decisions > 0 ? (counts[actionName(a)] ?? 0) / decisions : 0]),
    ),
  };
}
