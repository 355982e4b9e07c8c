// Which episodes a learning run plays: every draw derives from the learning run's rngSeed, so the same curriculum and
// rngSeed give the same episodes (the same tasks, the same random seeds) in the same order, however many workers run
// them.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { Curriculum, CurriculumTask } from '../../actors/weatherlight/index.ts';
import { stableHash32 } from '../../runtime/stable-hash.ts';
import { mulberry32 } from '../../runtime/seeded-random.ts';

export interface PlannedEpisode {
  episodeId: string;
  round: number;
  task: CurriculumTask;
  rngSeed: number;
}

/** The random stream of one named part of a learning run (a round, a baseline, the held-out evaluation). */
const stream = (rngSeed: number, part: string): (() => number) => mulberry32(stableHash32(`${rngSeed}/${part}`));
/** An episode's random seed, drawn from its part's stream. */
const episodeRngSeed = (random: () => number): number => Math.floor(random() * 0x7fffffff);

/**
 * A round's episodes: the training tasks in turn, starting where the last round stopped (every task as often as
 * the others, so a round's mean return moves with the policy rather than with which tasks came up), each with a
 * fresh random seed.
 */
export function planRound(
  curriculum: Curriculum,
  learnId: string,
  rngSeed: number,
  round: number,
  count: number,
): PlannedEpisode[] {
  const random = stream(rngSeed, `round-${round}`);
  const tasks = curriculum.tasks;
  return Array.from({ length: count }, (_, i) => ({
    episodeId: `${learnId}-r${round}-e${i}`,
    round,
    task: tasks[((round - 1) * count + i) % tasks.length]!,
    rngSeed: episodeRngSeed(random),
  }));
}

/** A baseline's episodes on the training tasks, each task in turn (the same draws for every baseline policy). */
export function planBaseline(
  curriculum: Curriculum,
  learnId: string,
  rngSeed: number,
  policy: string,
  count: number,
): PlannedEpisode[] {
  const random = stream(rngSeed, 'baseline');
  return Array.from({ length: count }, (_, i) => ({
    episodeId: `${learnId}-${policy}-e${i}`,
    round: 0,
    task: curriculum.tasks[i % curriculum.tasks.length]!,
    rngSeed: episodeRngSeed(random),
  }));
}

/** Every held-out task with random seeds 1 … `rngSeeds` (the same for every policy compared). */
export function planHeldOut(
  curriculum: Curriculum,
  learnId: string,
  policy: string,
  rngSeeds: number,
): PlannedEpisode[] {
  return curriculum.heldOut.flatMap((task) =>
    Array.from({ length: rngSeeds }, (_, i) => ({
      episodeId: `${learnId}-heldout-${policy}-${task.name}-s${i + 1}`,
      round: 0,
      task,
      rngSeed: i + 1,
    })),
  );
}

export interface EpisodePolicy {
  kind: 'network' | 'heuristic' | 'random' | 'none';
  /** Kind network: the signed policy. */
  update?: v1.PolicyUpdate;
  mode?: 'greedy' | 'sample';
  temperature?: number;
}

export function episodeRequest(planned: PlannedEpisode, policy: EpisodePolicy): v1.EpisodeRequest {
  return leyline.EpisodeRequest.create({
    episodeId: planned.episodeId,
    round: planned.round,
    taskName: planned.task.name,
    taskJson: JSON.stringify(planned.task),
    rngSeed: planned.rngSeed,
    policyKind: policy.kind,
    ...(policy.update ? { policy: policy.update } : {}),
    mode: policy.mode ?? 'greedy',
    temperature: policy.temperature ?? 1,
  });
}
