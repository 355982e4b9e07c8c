// `esper learn <curriculum.ts>`: trains the growth policy by PPO over rounds of real training runs. Each round, K
// episode workers (child processes, each booted once) play the round's episodes — real Tolaria runs with Tamiyo
// sampling from the current policy and Kasmina grafting what it chooses — and Simic's PPO learns from every
// decision, rewarded by what the episode came to (actors/simic/learner/reward.ts). Each round's policy is saved,
// signed, under `var/learn/<id>/policies/`, with a checkpoint `--resume` continues from; the record is learn.jsonl,
// the report report.html. At the end the final policy, the heuristic, the random policy and no growth at all are
// evaluated on the curriculum's held-out tasks.
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { SignatureContext } from '../../contracts/signing.ts';
import { validateConfig, type Curriculum, sharedSecret } from '../../actors/weatherlight/index.ts';
import {
  DEFAULT_PPO_CONFIG,
  DEFAULT_REWARD_PRICES,
  type PpoConfig,
  type RewardPrices,
} from '../../actors/simic/index.ts';
import { createLogger } from '../../runtime/log.ts';
import { selectTensorBackend } from '../../tensor/index.ts';
import { defaultRunId } from '../../actors/tolaria/index.ts';
import embeddedDefaults from '../../esper.config.ts';
import { renamedSeedFlag, UsageError } from '../forge.ts';
import { listenForStop } from '../signals.ts';
import { loadCurriculum } from './curriculum-file.ts';
import { EpisodePool } from './episode-pool.ts';
import { EpisodeQueue } from './episode-queue.ts';
import type { EpisodeSource } from './episode-source.ts';
import { copyLibrary, forgeCurriculum } from './kernels.ts';
import { Learner, policyFile, type Baselines, type LearnSettings } from './learner.ts';
import { formatHeldOut, formatRound } from './progress.ts';
import { LEARN_RECORD_FILE, LearnRecord, type LearnRoundRecord } from './record.ts';
import { writeLearnReport } from './report.ts';
import { LEARN_STATE_FILE, loadLearnState } from './state.ts';
import { ship } from './ship.ts';

export const LEARN_USAGE = `  learn <curriculum.ts> [--rounds N] [--envs K] [--rng-seed n] [--resume <id>] [--heldout-rng-seeds n] [--bus redis://host:port] [--quiet]
                    train the growth policy by PPO: each round K episode workers play real training
                    runs of the curriculum's tasks with Tamiyo sampling from the policy, then PPO
                    learns from every decision; a progress line per round; each round's policy
                    is saved, signed, in var/learn/<id>/policies/ (run one with esper run --policy);
                    at the end the policy, the heuristic, random and no growth are evaluated on the
                    held-out tasks (--heldout-rng-seeds random seeds each, default 1); record
                    learn.jsonl, report report.html; --resume continues a stopped learn after its
                    last finished round; --rng-seed sets the random seed (default: the curriculum's);
                    --bus puts the episodes on that bus for esper serve episodes --bus workers on
                    any machine (K then only sizes a round)
  learn --ship <learn-dir> [--out <dir>]
                    packs a finished learn's final policy for the package: policies/growth.pb and
                    its manifest growth.json (version, curriculum, rngSeed, rounds, the commands, the
                    held-out table, SHA-256); esper run decides with it by default
`;

interface LearnArgs {
  file: string | undefined;
  rounds: number | undefined;
  envs: number | undefined;
  rngSeed: number | undefined;
  resume: string | undefined;
  heldOutRngSeeds: number;
  bus: string | undefined;
  quiet: boolean;
}

function parseArgs(args: readonly string[]): LearnArgs {
  const parsed: LearnArgs = {
    file: undefined,
    rounds: undefined,
    envs: undefined,
    rngSeed: undefined,
    resume: undefined,
    heldOutRngSeeds: 1,
    bus: undefined,
    quiet: false,
  };
  const integer = (flag: string, text: string | undefined, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min)
      throw new UsageError(`${flag} needs an integer ≥ ${min}, got ${JSON.stringify(text)}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--rounds') parsed.rounds = integer(arg, args[++i], 1);
    else if (arg === '--envs') parsed.envs = integer(arg, args[++i], 1);
    else if (arg === '--rng-seed') parsed.rngSeed = integer(arg, args[++i], 0);
    else if (arg === '--heldout-rng-seeds') parsed.heldOutRngSeeds = integer(arg, args[++i], 0);
    else if (arg === '--seed') throw renamedSeedFlag('esper learn', arg, '--rng-seed');
    else if (arg === '--heldout-seeds') throw renamedSeedFlag('esper learn', arg, '--heldout-rng-seeds');
    else if (arg === '--quiet') parsed.quiet = true;
    else if (arg === '--bus') {
      parsed.bus = args[++i];
      if (!parsed.bus?.startsWith('redis://'))
        throw new UsageError(`--bus needs redis://host:port, got ${JSON.stringify(parsed.bus)}`);
    } else if (arg === '--resume') {
      parsed.resume = args[++i];
      if (!parsed.resume) throw new UsageError('--resume needs a learn id (a folder of var/learn)');
    } else if (arg.startsWith('--')) throw new UsageError(`esper learn: unknown option ${arg}`);
    else if (parsed.file === undefined) parsed.file = arg;
    else throw new UsageError(`esper learn: one curriculum file, got ${parsed.file} and ${arg}`);
  }
  return parsed;
}

/** PPO's settings for a curriculum: the learner's defaults under the curriculum's own. */
export function learnerPpo(curriculum: Curriculum): PpoConfig {
  return { ...DEFAULT_PPO_CONFIG, learningRate: 5e-4, epochs: 4, minibatch: 32, ...curriculum.learning?.ppo };
}

export function rewardPrices(curriculum: Curriculum): RewardPrices {
  return { ...DEFAULT_REWARD_PRICES, ...curriculum.reward };
}

const VAR_DIR = 'var';

export async function learn(args: readonly string[]): Promise<number> {
  if (args[0] === '--ship') return ship(args.slice(1));
  const parsed = parseArgs(args);
  const stop = listenForStop();
  const say = (line: string): void => void (parsed.quiet ? undefined : process.stdout.write(`${line}\n`));
  const log = createLogger('learn');
  const started = performance.now();

  const saved = parsed.resume ? loadLearnState(join(resolve(VAR_DIR, 'learn', parsed.resume), LEARN_STATE_FILE)) : null;
  if (parsed.resume && !saved)
    throw new UsageError(
      `--resume: no learning run ${JSON.stringify(parsed.resume)} with a finished round in ${resolve(VAR_DIR, 'learn')}`,
    );
  const file = saved?.curriculumFile ?? parsed.file;
  if (!file) throw new UsageError('esper learn: which curriculum file?');
  const curriculum = await loadCurriculum(file);
  const learning = curriculum.learning ?? {};
  const learnId = saved?.learnId ?? defaultRunId(curriculum.name);
  const settings: LearnSettings = {
    learnId,
    dir: resolve(VAR_DIR, 'learn', learnId),
    curriculum,
    curriculumFile: resolve(file),
    rngSeed: saved?.rngSeed ?? parsed.rngSeed ?? curriculum.rngSeed ?? 1,
    rounds: parsed.rounds ?? saved?.rounds ?? learning.rounds ?? 30,
    envs: saved?.envs ?? parsed.envs ?? learning.envs ?? availableParallelism(),
    episodesPerEnv: saved?.episodesPerEnv ?? learning.episodesPerEnv ?? 4,
    temperature: learning.temperature ?? 1,
    prices: rewardPrices(curriculum),
    ppo: learnerPpo(curriculum),
    baselineEpisodes: learning.baselineEpisodes ?? 8,
  };
  const { dir, rounds, envs } = settings;
  const record = new LearnRecord(join(dir, LEARN_RECORD_FILE));
  const earlier = record.lines();
  // Over the bus, workers elsewhere must hold the same secret: it comes from the environment, never a folder's file.
  const secret = sharedSecret({ env: process.env, varDir: VAR_DIR, multiProcess: parsed.bus !== undefined, log });
  await selectTensorBackend();
  say(`esper learn: ${saved ? `resuming ${learnId} after round ${saved.round}` : `learning run ${learnId}`} (${dir})`);
  say(
    `esper learn: ${rounds} rounds × ${envs * settings.episodesPerEnv} episodes (${envs} workers × ${settings.episodesPerEnv}), curriculum ${curriculum.name}: ${curriculum.tasks.length} tasks, ${curriculum.heldOut.length} held out`,
  );

  let pool: EpisodeSource;
  if (parsed.bus) {
    // The workers on the bus forge their own kernels (esper serve episodes --bus): nothing to prepare here.
    pool = await EpisodeQueue.start({ url: parsed.bus, learnId, signing: new SignatureContext(secret), log });
    say(
      `esper learn: episodes go on the bus at ${parsed.bus}; workers: esper serve episodes ${file} --bus ${parsed.bus}`,
    );
  } else {
    const base = validateConfig({ ...embeddedDefaults, run: { ...embeddedDefaults.run, varDir: VAR_DIR } });
    await forgeCurriculum(curriculum, base, join(dir, 'urza'), parsed.quiet ? process.stderr : process.stdout, say);
    for (let i = 0; i < envs; i++) copyLibrary(join(dir, 'urza'), join(dir, 'workers', `w${i}`, 'urza'));
    pool = await EpisodePool.start({
      size: envs,
      curriculumFile: settings.curriculumFile,
      dir: join(dir, 'workers'),
      urza: (i) => join(dir, 'workers', `w${i}`, 'urza'),
      secret,
    });
    say(`esper learn: ${envs} episode workers ready`);
  }
  record.append({
    event: 'start',
    at: new Date().toISOString(),
    learnId,
    curriculum: { file, name: curriculum.name },
    rngSeed: settings.rngSeed,
    rounds,
    envs,
    episodesPerRound: envs * settings.episodesPerEnv,
    temperature: settings.temperature,
    tasks: curriculum.tasks.map((t) => t.name),
    heldOut: curriculum.heldOut.map((t) => t.name),
    blueprints: curriculum.blueprints,
    prices: settings.prices,
    ...(saved ? { resumedAfter: saved.round } : {}),
  });

  let interrupted = false;
  void stop.signalled.then((signal) => {
    interrupted = true;
    say(`esper learn: received ${signal}; stopping (the last finished round is kept: --resume ${learnId})`);
    void pool.close();
  });

  const learner = new Learner(settings, pool, record, new SignatureContext(secret), log);
  let code = 0;
  let why = 'finished';
  let lastPolicy: string | null = saved ? policyFile(dir, saved.round) : null;
  try {
    // The baselines' levels on the training tasks (once per learning run: a resumed learn keeps its own).
    const baselines: Baselines = {};
    for (const line of earlier) if (line.event === 'baseline') baselines[line.policy] = line.figures;
    for (const policy of ['heuristic', 'random'] as const) {
      if (baselines[policy] || settings.baselineEpisodes === 0 || interrupted) continue;
      const figures = await learner.baseline(policy);
      baselines[policy] = figures;
      say(
        `esper learn: baseline ${policy}: return ${figures.meanObjective.toFixed(2)}, validation accuracy ${figures.meanValidationAccuracy.toFixed(2)}%, +${(100 * figures.meanAddedShare).toFixed(1)}% weights (${figures.episodes} episodes)`,
      );
    }
    if (saved) await learner.restore(saved);
    const seconds: number[] = [];
    for (let round = (saved?.round ?? 0) + 1; round <= rounds && !interrupted; round++) {
      const line = await learner.round(round);
      lastPolicy = line.policyFile;
      seconds.push(line.seconds);
      say(
        formatRound(line, rounds, baselines, (rounds - round) * (seconds.reduce((a, b) => a + b, 0) / seconds.length)),
      );
    }
    if (!interrupted && parsed.heldOutRngSeeds > 0) {
      say(
        `esper learn: held-out tasks (${curriculum.heldOut.map((t) => t.name).join(', ')}), ${parsed.heldOutRngSeeds} random seed${parsed.heldOutRngSeeds === 1 ? '' : 's'} each`,
      );
      const lines = await learner.heldOut(parsed.heldOutRngSeeds, `${learnId}-r${rounds}`, () => interrupted);
      if (!interrupted) say(formatHeldOut(lines));
    }
  } catch (error) {
    // Ctrl-C closes the workers under a round in flight: that is the interruption, not a failure.
    if (!interrupted) {
      code = 1;
      why = (error as Error).message;
      process.stderr.write(`esper learn: ${why}\n`);
    }
  } finally {
    learner.dispose();
    await pool.close();
  }
  if (interrupted) {
    code = 130;
    why = 'interrupted';
  }
  const done = record.lines().filter((l): l is LearnRoundRecord => l.event === 'round');
  record.append({
    event: 'finished',
    at: new Date().toISOString(),
    code,
    why,
    rounds: done.at(-1)?.round ?? 0,
    policyFile: lastPolicy,
    seconds: (performance.now() - started) / 1000,
  });
  say(`esper learn: ${why}; policy ${lastPolicy ?? '(none yet)'}; report ${writeLearnReport(dir)}`);
  stop.release();
  return code;
}
