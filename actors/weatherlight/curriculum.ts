// Curriculum files (`experiments/*-curriculum.ts`): `export default defineCurriculum({...})` names what `esper learn`
// trains the growth policy on — the tasks an episode draws from (dataset, host, training, epoch budget, control
// cadence), the blueprints on offer, the seed timings, the reward's prices, the learner's settings — and a separate
// list of held-out tasks it never trains on (the benchmark's). Checked when the file loads, like an experiment file:
// every problem named by its path, with what was expected and what was found.
//
// An episode is one task run as an experiment: `episodeExperiment` turns a task into one, so an episode is an
// ordinary Tolaria run with Tamiyo deciding and Kasmina grafting. Wall-clock budgets are set far above what a run
// needs, so an episode is the same on a loaded machine (a deadline that fires would change what happens).
import { leyline, type v1 } from '../../contracts/index.ts';
import { FileIssuesError } from '../../runtime/config-error.ts';
import * as s from '../../runtime/schema.ts';
import { SEED_IS_NOW_RNG_SEED } from '../../runtime/seeded-random.ts';
import type { DatasetConfig, HostConfig } from '../tolaria/index.ts';
import type { SeedTimings } from '../kasmina/index.ts';
import {
  DATASET,
  experimentConfig,
  fraction,
  HOST,
  positive,
  positiveInt,
  TRAINING,
  type Experiment,
} from './experiment.ts';
import type { EsperConfig, TreeNode } from './esper-config.ts';

export interface CurriculumTask {
  /** Names the task in records and reports (unique within the curriculum). */
  name: string;
  dataset: DatasetConfig;
  /** Use only the first N training / test samples. */
  limit?: { train?: number; test?: number };
  host: HostConfig;
  training?: Experiment['training'];
  /** The epoch budget. */
  epochs: number;
}

export interface RewardPrices {
  /**
   * Rent on what growth adds: the episode's return loses rent × 100 points per host's worth of weights the seeds
   * still in the network add at the end (a seed adding a quarter of the host costs rent × 25 points). Default 0.02.
   */
  rent?: number;
  /**
   * The price of culled work: a culled seed costs cullCost × 100 points × its share of the host's weights × the share
   * of the episode it lived. Default 0.02.
   */
  cullCost?: number;
}

export interface LearningSettings {
  /** Rounds of episodes. Default 30. */
  rounds?: number;
  /** Episode workers (processes): the episodes of a round run this many at a time. Default: the cores available. */
  envs?: number;
  /** Episodes each worker runs per round: a round is envs × episodesPerEnv episodes. Default 4. */
  episodesPerEnv?: number;
  /** Sampling temperature of the behaviour policy. Default 1. */
  temperature?: number;
  /** Episodes of each baseline (heuristic, random) on the training tasks, for the learning curve's lines. Default 8. */
  baselineEpisodes?: number;
  ppo?: {
    learningRate?: number;
    epochs?: number;
    minibatch?: number;
    clip?: number;
    entropyCoef?: number;
    valueCoef?: number;
    gamma?: number;
    lambda?: number;
  };
}

export interface Curriculum {
  /** Names the learning runs (`<name>-<yyyymmdd>-<hhmmss>`). */
  name: string;
  /** The random seed of the task draws, the episodes and the network's initial weights. Default 1. */
  rngSeed?: number;
  /** The blueprints on offer (Karn ids): what the policy may germinate. */
  blueprints: string[];
  /**
   * Seed settings for every episode: Kasmina's timings and impact tolerance, the riskiest blueprint allowed, and the
   * heuristic policy's plateau test (the baseline's trigger).
   */
  seeds?: {
    timings?: Partial<SeedTimings>;
    maxRisk?: number;
    impactTolerance?: number;
    plateau?: { epochs?: number; tolerance?: number };
  };
  tasks: CurriculumTask[];
  /** Tasks never trained on: where a learned policy is judged. */
  heldOut: CurriculumTask[];
  reward?: RewardPrices;
  learning?: LearningSettings;
}

/** Identity, for a typed curriculum file: `export default defineCurriculum({...})`. */
export function defineCurriculum(curriculum: Curriculum): Curriculum {
  return curriculum;
}

export class CurriculumError extends FileIssuesError {
  override readonly name = 'CurriculumError';
  constructor(issues: readonly s.Issue[], file = 'curriculum') {
    super(issues, file);
  }
}

const NAME = s.string({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, rule: '1–64 letters, digits, ".", "_" or "-"' });

export const TASK_SCHEMA: s.Schema = s.object(
  {
    name: NAME,
    dataset: DATASET,
    limit: s.optional(s.object({ train: s.optional(positiveInt), test: s.optional(positiveInt) })),
    host: HOST,
    training: s.optional(TRAINING),
    epochs: positiveInt,
  },
  'a task { name, dataset, host, epochs }',
);

export const CURRICULUM_SCHEMA: s.Schema = s.object(
  {
    name: NAME,
    rngSeed: s.optional(s.number({ integer: true, min: 0 })),
    seed: s.retired(SEED_IS_NOW_RNG_SEED),
    blueprints: s.array(s.string({ pattern: /^[A-Za-z0-9_.-]+$/, rule: 'a blueprint id such as "BP021"' }), {
      minLength: 1,
    }),
    seeds: s.optional(
      s.object({
        timings: s.optional(s.unknownValue('seed stage timings (checked by Kasmina)')),
        maxRisk: s.optional(fraction),
        impactTolerance: s.optional(s.number({ min: 0 })),
        plateau: s.optional(s.object({ epochs: s.optional(positiveInt), tolerance: s.optional(fraction) })),
      }),
    ),
    tasks: s.array(TASK_SCHEMA, { minLength: 1 }),
    heldOut: s.array(TASK_SCHEMA, { minLength: 1 }),
    reward: s.optional(
      s.object({ rent: s.optional(s.number({ min: 0 })), cullCost: s.optional(s.number({ min: 0 })) }),
    ),
    learning: s.optional(
      s.object({
        rounds: s.optional(positiveInt),
        envs: s.optional(positiveInt),
        episodesPerEnv: s.optional(positiveInt),
        temperature: s.optional(positive),
        baselineEpisodes: s.optional(s.number({ integer: true, min: 0 })),
        ppo: s.optional(
          s.object({
            learningRate: s.optional(positive),
            epochs: s.optional(positiveInt),
            minibatch: s.optional(positiveInt),
            clip: s.optional(s.number({ above: 0, below: 1 })),
            entropyCoef: s.optional(s.number({ min: 0 })),
            valueCoef: s.optional(s.number({ min: 0 })),
            gamma: s.optional(fraction),
            lambda: s.optional(fraction),
          }),
        ),
      }),
    ),
  },
  'a curriculum (the default export of the file: defineCurriculum({...}))',
);

/**
 * Checks `value` as a curriculum: its shape, then what the shape cannot say — task names unique, no held-out task
 * among the training tasks, blueprints listed once and known (`known`, Karn's catalog). Every problem is listed.
 */
export function validateCurriculum(
  value: unknown,
  file?: string,
  known?: (blueprintId: string) => boolean,
): Curriculum {
  const issues = s.validate(CURRICULUM_SCHEMA, value);
  if (issues.length === 0) {
    const c = value as Curriculum;
    const seen = new Map<string, string>();
    const check = (list: readonly CurriculumTask[], field: 'tasks' | 'heldOut'): void =>
      list.forEach((task, i) => {
        const earlier = seen.get(task.name);
        if (earlier)
          issues.push({
            path: `${field}[${i}].name`,
            message: `${JSON.stringify(task.name)} is already the name of ${earlier}${field === 'heldOut' && earlier.startsWith('tasks') ? ' (a held-out task must not be trained on)' : ''}`,
          });
        else seen.set(task.name, `${field}[${i}]`);
      });
    check(c.tasks, 'tasks');
    check(c.heldOut, 'heldOut');
    c.blueprints.forEach((id, i) => {
      if (c.blueprints.indexOf(id) !== i) issues.push({ path: `blueprints[${i}]`, message: `${id} is listed twice` });
      else if (known && !known(id))
        issues.push({ path: `blueprints[${i}]`, message: `${id} is not in Karn's catalog` });
    });
  }
  if (issues.length > 0) throw new CurriculumError(issues, file);
  return value as Curriculum;
}

/** Checks one task (an episode request carries its task as JSON: a worker checks what it is asked to run). */
export function validateTask(value: unknown, what = 'task'): CurriculumTask {
  const issues = s.validate(TASK_SCHEMA, value);
  if (issues.length > 0) throw new CurriculumError(issues, what);
  return value as CurriculumTask;
}

/** Whether a file's default export is a curriculum (it has tasks and held-out tasks). */
export const isCurriculum = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && 'tasks' in value && 'heldOut' in value;

// Far above what an episode's control work takes: a deadline that fires would make an episode depend on the load.
const EPISODE_BUDGETS = { hookMs: 600_000, decisionMs: 60_000, kernelFetchMs: 60_000 };

/** The result of an episode that could not be played: the request's identity, `ok: false` and why. */
export const failedEpisode = (request: v1.EpisodeRequest, error: string): v1.EpisodeResult =>
  leyline.EpisodeResult.create({
    episodeId: request.episodeId,
    round: request.round,
    taskName: request.taskName,
    rngSeed: request.rngSeed,
    ok: false,
    error,
  });

/** A task as the experiment an episode runs: the curriculum's blueprints and seed settings, with `rngSeed`. */
export function episodeExperiment(
  curriculum: Curriculum,
  task: CurriculumTask,
  rngSeed: number,
  growth = true,
): Experiment {
  return {
    name: task.name,
    rngSeed,
    dataset: task.dataset,
    ...(task.limit ? { limit: task.limit } : {}),
    host: task.host,
    // Episodes already share the cores among themselves (esper learn runs them side by side): one replica each.
    training: { replicas: 1, ...task.training },
    budgets: { epochs: task.epochs, ...EPISODE_BUDGETS },
    seeds: growth ? { blueprints: curriculum.blueprints, ...curriculum.seeds } : false,
    simic: false,
    nissaPort: 0,
  };
}

/**
 * The configuration an episode worker boots with: the shared services of `esper run`'s tree (telemetry, inspector,
 * health, the bus, Urza, Karn, Tezzeret) and, under `tolaria`, the episode runner in place of the trainer; the
 * curriculum's Tamiyo and Kasmina settings, which every episode's own Tamiyo and Kasmina use.
 */
export function episodeWorkerConfig(curriculum: Curriculum, base: EsperConfig): EsperConfig {
  const task = curriculum.tasks[0]!;
  const compiled = experimentConfig(episodeExperiment(curriculum, task, curriculum.rngSeed ?? 1), base);
  const perEpisode = new Set(['tamiyo', 'kasmina', 'simic', 'nissa']);
  const children: TreeNode[] = (compiled.weatherlight.tree.children ?? [])
    .filter((node) => !perEpisode.has(node.id))
    .map((node) =>
      node.id === 'tolaria'
        ? { ...node, children: [{ id: 'episodes', worker: 'episode-runner', shutdownMs: 30_000 }] }
        : node,
    );
  return { ...compiled, weatherlight: { ...compiled.weatherlight, tree: { ...compiled.weatherlight.tree, children } } };
}
