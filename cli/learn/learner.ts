// The steps of a learning run once its episode workers are up: the baselines' levels, the rounds (episodes, PPO,
// the saved policy, the checkpoint), and the held-out evaluation. Each step appends its lines to the record.
import { join } from 'node:path';
import { leyline, type v1 } from '../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import type { SignatureContext } from '../../contracts/signing.ts';
import { toTimestamp } from '../../contracts/time.ts';
import type { Curriculum } from '../../actors/weatherlight/index.ts';
import {
  episodeExperiences,
  episodeReward,
  PpoTrainer,
  summarizeEpisode,
  summarizeRound,
  type EpisodeReward,
  type EpisodeSummary,
  type PpoConfig,
  type RewardPrices,
  type RoundFigures,
} from '../../actors/simic/index.ts';
import { signPolicyUpdate, TamiyoGnn } from '../../policy/index.ts';
import { writeFileAtomic } from '../../runtime/atomic-file.ts';
import type { Logger } from '../../runtime/logic.ts';
import { stableHash32 } from '../../runtime/stable-hash.ts';
import type { EpisodeSource } from './episode-source.ts';
import {
  episodeRequest,
  planBaseline,
  planHeldOut,
  planRound,
  type EpisodePolicy,
  type PlannedEpisode,
} from './plan.ts';
import type { LearnHeldOutRecord, LearnRecord, LearnRoundRecord } from './record.ts';
import { LEARN_STATE_FILE, saveLearnState, type LearnState } from './state.ts';

export interface LearnSettings {
  learnId: string;
  dir: string;
  curriculum: Curriculum;
  curriculumFile: string;
  rngSeed: number;
  rounds: number;
  envs: number;
  episodesPerEnv: number;
  temperature: number;
  prices: RewardPrices;
  ppo: PpoConfig;
  baselineEpisodes: number;
}

export interface Played {
  result: v1.EpisodeResult;
  reward: EpisodeReward | null;
  summary: EpisodeSummary;
}

export type Baselines = Partial<Record<'heuristic' | 'random', RoundFigures>>;

/** Where round `round`'s policy is kept. */
export const policyFile = (dir: string, round: number): string =>
  join(dir, 'policies', `round-${String(round).padStart(3, '0')}.pb`);

export class Learner {
  readonly gnn: TamiyoGnn;
  readonly #trainer: PpoTrainer;

  constructor(
    readonly settings: LearnSettings,
    readonly pool: EpisodeSource,
    readonly record: LearnRecord,
    readonly signing: SignatureContext,
    readonly log: Logger,
  ) {
    // The initial network is seeded: the same curriculum and rngSeed start from the same weights everywhere.
    this.gnn = new TamiyoGnn(undefined, settings.rngSeed);
    this.#trainer = new PpoTrainer(this.gnn, { ...settings.ppo, rngSeed: settings.rngSeed });
  }

  /** Continues from a checkpoint: its weights and Adam's state. */
  async restore(state: LearnState): Promise<void> {
    const weights = decodeLeyline(leyline.PolicyWeights, state.weights);
    if (!weights.ok) throw weights.error;
    this.gnn.loadWeights(weights.message);
    await this.#trainer.restoreOptimizer(state.optimizer);
  }

  async play(planned: readonly PlannedEpisode[], policy: EpisodePolicy): Promise<Played[]> {
    const results = await this.pool.runAll(planned.map((p) => episodeRequest(p, policy)));
    return results.map((result) => {
      const reward = result.ok ? episodeReward(result, this.settings.prices, this.settings.ppo.gamma) : null;
      if (!result.ok) this.log.warn('episode failed', { episode: result.episodeId, error: result.error });
      return { result, reward, summary: summarizeEpisode(result, reward) };
    });
  }

  /** A baseline policy's level on the training tasks (the curve's reference line), recorded. */
  async baseline(policy: 'heuristic' | 'random'): Promise<RoundFigures> {
    const { curriculum, learnId, rngSeed, baselineEpisodes } = this.settings;
    const played = await this.play(planBaseline(curriculum, learnId, rngSeed, policy, baselineEpisodes), {
      kind: policy,
    });
    const figures = summarizeRound(played.map((p) => p.summary));
    this.record.append({
      event: 'baseline',
      at: new Date().toISOString(),
      policy,
      figures,
      episodes: played.map((p) => p.summary),
    });
    return figures;
  }

  /**
   * One round: the episodes sampled from the current policy, PPO on every decision, the new policy signed and saved,
   * the record's line, then the checkpoint (a kill between the two replays the round, which ends the same).
   */
  async round(round: number): Promise<LearnRoundRecord> {
    const { curriculum, learnId, rngSeed, dir, envs, episodesPerEnv, temperature } = this.settings;
    const started = performance.now();
    const playing = this.signed(`${learnId}-r${round - 1}`);
    const droppedBefore = this.pool.dropped?.();
    const played = await this.play(planRound(curriculum, learnId, rngSeed, round, envs * episodesPerEnv), {
      kind: 'network',
      update: playing,
      mode: 'sample',
      temperature,
    });
    // A round with nothing to learn from is a broken set-up (a worker that cannot run tasks), not a bad round.
    if (played.every((p) => !p.result.ok))
      throw new Error(`every episode of round ${round} failed; the first: ${played[0]?.result.error ?? 'none'}`);
    const experiences = played.flatMap((p) => (p.reward ? episodeExperiences(p.result, p.reward) : []));
    const update = this.#trainer.update(experiences, stableHash32(`${rngSeed}/ppo-${round}`));
    const kept = policyFile(dir, round);
    writeFileAtomic(kept, encodeLeyline(this.signed(`${learnId}-r${round}`)));
    const seconds = (performance.now() - started) / 1000;
    const line: LearnRoundRecord = {
      event: 'round',
      at: new Date().toISOString(),
      round,
      policyVersion: playing.tamiyoPolicyVersion,
      figures: summarizeRound(played.map((p) => p.summary)),
      update,
      seconds,
      episodesPerSecond: played.length / seconds,
      policyFile: kept,
      episodes: played.map((p) => p.summary),
    };
    const droppedAfter = this.pool.dropped?.();
    if (droppedBefore && droppedAfter) {
      line.dropped = {
        duplicate: droppedAfter.duplicate - droppedBefore.duplicate,
        'wrong-version': droppedAfter['wrong-version'] - droppedBefore['wrong-version'],
        unknown: droppedAfter.unknown - droppedBefore.unknown,
      };
    }
    this.record.append(line);
    const { curriculumFile, rounds } = this.settings;
    saveLearnState(join(dir, LEARN_STATE_FILE), {
      learnId,
      curriculumFile,
      rngSeed,
      rounds,
      envs,
      episodesPerEnv,
      round,
      weights: encodeLeyline(this.gnn.exportWeights()),
      optimizer: await this.#trainer.optimizerState(),
    });
    return line;
  }

  /**
   * The final policy (greedy), the heuristic, random and no growth on every held-out task, `rngSeeds` random seeds each.
   */
  async heldOut(rngSeeds: number, version: string, stopped: () => boolean): Promise<LearnHeldOutRecord[]> {
    const { curriculum, learnId } = this.settings;
    const policies: Array<[LearnHeldOutRecord['policy'], EpisodePolicy]> = [
      ['learned', { kind: 'network', update: this.signed(version), mode: 'greedy' }],
      ['heuristic', { kind: 'heuristic' }],
      ['random', { kind: 'random' }],
      ['none', { kind: 'none' }],
    ];
    const lines: LearnHeldOutRecord[] = [];
    for (const [name, policy] of policies) {
      if (stopped()) break;
      for (const { result, reward, summary } of await this.play(
        planHeldOut(curriculum, learnId, name, rngSeeds),
        policy,
      )) {
        const line: LearnHeldOutRecord = {
          event: 'heldout',
          at: new Date().toISOString(),
          policy: name,
          policyVersion: result.policyVersion,
          task: result.taskName,
          rngSeed: result.rngSeed,
          ok: result.ok,
          testAccuracy: summary.testAccuracy,
          validationAccuracy: summary.validationAccuracy,
          addedParameters: summary.addedParameters,
          addedShare: summary.addedShare,
          objective: reward?.objective ?? 0,
          seconds: result.seconds,
        };
        this.record.append(line);
        lines.push(line);
      }
    }
    return lines;
  }

  dispose(): void {
    this.#trainer.dispose();
    this.gnn.dispose();
  }

  /** The network's current weights as a signed PolicyUpdate (what workers run and what a policy file holds). */
  signed(version: string): v1.PolicyUpdate {
    return signPolicyUpdate(
      leyline.PolicyUpdate.create({
        version: 1,
        policyId: 'esper-learn',
        trainingRunId: this.settings.learnId,
        issuedAt: toTimestamp(Date.now()),
        tamiyoPolicyVersion: version,
        payload: encodeLeyline(this.gnn.exportWeights()),
      }),
      this.signing,
    );
  }
}
