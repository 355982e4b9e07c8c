// `esper learn <curriculum.ts>`: trains the growth policy by PPO over rounds of real training runs. Each round, K
// episode workers (child processes, each booted once) play the round's episodes — real Tolaria runs with Tamiyo
// sampling from the current policy and Kasmina grafting what it chooses — and Simic's PPO learns from every
// decision, rewarded by what the episode came to (actors/simic/learner/reward.ts). Each round's policy is saved,
// signed, under `var/learn/<id>/policies/`, with a checkpoint `--resume` continues from; the record is learn.jsonl,
// the report report.html. At the end the final policy, the heuristic, the random policy and no growth at all are
// evaluated on the curriculum's held-out tasks.
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { leyline, type v1 } from '../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import { SignatureContext } from '../../contracts/signing.ts';
import { toTimestamp } from '../../contracts/time.ts';
import { validateConfig } from '../../actors/weatherlight/config.ts';
import type { Curriculum } from '../../actors/weatherlight/curriculum.ts';
import { sharedSecret } from '../../actors/weatherlight/secret.ts';
import {
  DEFAULT_PPO_CONFIG,
  DEFAULT_REWARD_PRICES,
  episodeExperiences,
  episodeReward,
  PpoTrainer,
  summarizeEpisode,
  summarizeRound,
  type EpisodeSummary,
  type PpoConfig,
  type RewardPrices,
  type RoundFigures,
} from '../../actors/simic/index.ts';
import { signPolicyUpdate, TamiyoGnn } from '../../policy/index.ts';
import { writeFileAtomic } from '../../runtime/atomic-file.ts';
import { createLogger } from '../../runtime/log.ts';
import { stableHash32 } from '../../runtime/stable-hash.ts';
import { selectTensorBackend } from '../../runtime/tensor-backend.ts';
import { defaultRunId } from '../../actors/tolaria/index.ts';
import embeddedDefaults from '../../esper.config.ts';
import { UsageError } from '../forge.ts';
import { listenForStop } from '../signals.ts';
import { loadCurriculum } from './curriculum-file.ts';
import { EpisodePool } from './episode-pool.ts';
import { copyLibrary, forgeCurriculum } from './kernels.ts';
import { episodeRequest, planBaseline, planHeldOut, planRound, type EpisodePolicy, type PlannedEpisode } from './plan.ts';
import { formatHeldOut, formatRound } from './progress.ts';
import { LEARN_RECORD_FILE, LearnRecord, type LearnHeldOutRecord, type LearnRoundRecord } from './record.ts';
import { writeLearnReport } from './report.ts';
import { LEARN_STATE_FILE, loadLearnState, saveLearnState } from './state.ts';

export const LEARN_USAGE = `  learn <curriculum.ts> [--rounds N] [--envs K] [--seed n] [--resume <id>] [--heldout-seeds n] [--quiet]
                    train the growth policy by PPO: each round K episode workers play real training
                    runs of the curriculum's tasks with Tamiyo sampling from the policy, then PPO
                    learns from every decision; a progress line per round; each round's policy
                    is saved, signed, in var/learn/<id>/policies/ (run one with esper run --policy);
                    at the end the policy, the heuristic, random and no growth are evaluated on the
                    held-out tasks; record learn.jsonl, report report.html; --resume continues a
                    stopped learn after its last finished round
`;

interface LearnArgs {
  file: string | undefined;
  rounds: number | undefined;
  envs: number | undefined;
  seed: number | undefined;
  resume: string | undefined;
  heldOutSeeds: number;
  quiet: boolean;
}

function parseArgs(args: readonly string[]): LearnArgs {
  const parsed: LearnArgs = { file: undefined, rounds: undefined, envs: undefined, seed: undefined, resume: undefined, heldOutSeeds: 1, quiet: false };
  const integer = (flag: string, text: string | undefined, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} needs an integer ≥ ${min}, got ${JSON.stringify(text)}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--rounds') parsed.rounds = integer(arg, args[++i], 1);
    else if (arg === '--envs') parsed.envs = integer(arg, args[++i], 1);
    else if (arg === '--seed') parsed.seed = integer(arg, args[++i], 0);
    else if (arg === '--heldout-seeds') parsed.heldOutSeeds = integer(arg, args[++i], 0);
    else if (arg === '--quiet') parsed.quiet = true;
    else if (arg === '--resume') {
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
  const parsed = parseArgs(args);
  const stop = listenForStop();
  const say = (line: string): void => void (parsed.quiet ? undefined : process.stdout.write(`${line}\n`));
  const log = createLogger('learn');
  const started = performance.now();

  const saved = parsed.resume ? loadLearnState(join(resolve(VAR_DIR, 'learn', parsed.resume), LEARN_STATE_FILE)) : null;
  if (parsed.resume && !saved) throw new UsageError(`--resume: no learning run ${JSON.stringify(parsed.resume)} with a finished round in ${resolve(VAR_DIR, 'learn')}`);
  const file = saved?.curriculumFile ?? parsed.file;
  if (!file) throw new UsageError('esper learn: which curriculum file?');
  const curriculumFile = resolve(file);
  const curriculum = await loadCurriculum(file);
  const learning = curriculum.learning ?? {};
  const seed = saved?.seed ?? parsed.seed ?? curriculum.seed ?? 1;
  const rounds = parsed.rounds ?? saved?.rounds ?? learning.rounds ?? 30;
  const envs = saved?.envs ?? parsed.envs ?? learning.envs ?? availableParallelism();
  const episodesPerEnv = saved?.episodesPerEnv ?? learning.episodesPerEnv ?? 4;
  const perRound = envs * episodesPerEnv;
  const temperature = learning.temperature ?? 1;
  const prices = rewardPrices(curriculum);
  const ppo = learnerPpo(curriculum);
  const learnId = saved?.learnId ?? defaultRunId(curriculum.name);
  const dir = resolve(VAR_DIR, 'learn', learnId);
  const record = new LearnRecord(join(dir, LEARN_RECORD_FILE));
  const earlier = record.lines();

  const signing = new SignatureContext(sharedSecret({ env: process.env, varDir: VAR_DIR, multiProcess: false, log }));
  await selectTensorBackend();
  say(`esper learn: ${saved ? `resuming ${learnId} after round ${saved.round}` : `learning run ${learnId}`} (${dir})`);
  say(`esper learn: ${rounds} rounds × ${perRound} episodes (${envs} workers × ${episodesPerEnv}), curriculum ${curriculum.name}: ${curriculum.tasks.length} tasks, ${curriculum.heldOut.length} held out`);

  const base = validateConfig({ ...embeddedDefaults, run: { ...embeddedDefaults.run, varDir: VAR_DIR } });
  const urza = join(dir, 'urza');
  await forgeCurriculum(curriculum, base, urza, parsed.quiet ? process.stderr : process.stdout, say);
  for (let i = 0; i < envs; i++) copyLibrary(urza, join(dir, 'workers', `w${i}`, 'urza'));
  const pool = await EpisodePool.start({
    size: envs,
    curriculumFile,
    dir: join(dir, 'workers'),
    urza: (i) => join(dir, 'workers', `w${i}`, 'urza'),
    secret: sharedSecret({ env: process.env, varDir: VAR_DIR, multiProcess: false, log }),
  });
  say(`esper learn: ${envs} episode workers ready`);
  record.append({
    event: 'start',
    at: new Date().toISOString(),
    learnId,
    curriculum: { file, name: curriculum.name },
    seed,
    rounds,
    envs,
    episodesPerRound: perRound,
    temperature,
    tasks: curriculum.tasks.map((t) => t.name),
    heldOut: curriculum.heldOut.map((t) => t.name),
    blueprints: curriculum.blueprints,
    prices,
    ...(saved ? { resumedAfter: saved.round } : {}),
  });

  let interrupted = false;
  void stop.signalled.then((signal) => {
    interrupted = true;
    say(`esper learn: received ${signal}; stopping (the last finished round is kept: --resume ${learnId})`);
    void pool.close();
  });

  const play = async (planned: readonly PlannedEpisode[], policy: EpisodePolicy): Promise<Array<{ result: v1.EpisodeResult; summary: EpisodeSummary; reward: ReturnType<typeof episodeReward> | null }>> => {
    const results = await pool.runAll(planned.map((p) => episodeRequest(p, policy)));
    return results.map((result) => {
      const reward = result.ok ? episodeReward(result, prices, ppo.gamma) : null;
      if (!result.ok) log.warn('episode failed', { episode: result.episodeId, error: result.error });
      return { result, reward, summary: summarizeEpisode(result, reward) };
    });
  };

  let code = 0;
  let why = 'finished';
  let lastPolicy: string | null = null;
  const gnn = new TamiyoGnn(undefined, seed);
  const trainer = new PpoTrainer(gnn, { ...ppo, seed });
  try {
    // The baselines' levels on the training tasks: the learning curve's reference lines (once per learning run).
    const baselines: Partial<Record<'heuristic' | 'random', RoundFigures>> = {};
    for (const line of earlier) if (line.event === 'baseline') baselines[line.policy] = line.figures;
    for (const policy of ['heuristic', 'random'] as const) {
      const count = learning.baselineEpisodes ?? 8;
      if (baselines[policy] || count === 0 || interrupted) continue;
      const played = await play(planBaseline(curriculum, learnId, seed, policy, count), { kind: policy });
      const figures = summarizeRound(played.map((p) => p.summary));
      baselines[policy] = figures;
      record.append({ event: 'baseline', at: new Date().toISOString(), policy, figures, episodes: played.map((p) => p.summary) });
      say(`esper learn: baseline ${policy}: return ${figures.meanObjective.toFixed(2)}, validation accuracy ${figures.meanValidationAccuracy.toFixed(2)}%, +${(100 * figures.meanAddedShare).toFixed(1)}% weights (${figures.episodes} episodes)`);
    }

    if (saved) {
      const weights = decodeLeyline(leyline.PolicyWeights, saved.weights);
      if (!weights.ok) throw weights.error;
      gnn.loadWeights(weights.message);
      await trainer.restoreOptimizer(saved.optimizer);
      lastPolicy = policyFile(dir, saved.round);
    }
    const roundSeconds: number[] = [];
    for (let round = (saved?.round ?? 0) + 1; round <= rounds && !interrupted; round++) {
      const roundStarted = performance.now();
      const playing = signedPolicy(gnn, `${learnId}-r${round - 1}`, learnId, signing);
      const played = await play(planRound(curriculum, learnId, seed, round, perRound), { kind: 'network', update: playing, mode: 'sample', temperature });
      if (interrupted) break;
      const experiences = played.flatMap((p) => (p.reward ? episodeExperiences(p.result, p.reward) : []));
      const update = trainer.update(experiences, stableHash32(`${seed}/ppo-${round}`));
      const kept = policyFile(dir, round);
      writeFileAtomic(kept, encodeLeyline(signedPolicy(gnn, `${learnId}-r${round}`, learnId, signing)));
      const seconds = (performance.now() - roundStarted) / 1000;
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
      record.append(line);
      saveLearnState(join(dir, LEARN_STATE_FILE), { learnId, curriculumFile, seed, rounds, envs, episodesPerEnv, round, weights: encodeLeyline(gnn.exportWeights()), optimizer: await trainer.optimizerState() });
      lastPolicy = kept;
      roundSeconds.push(seconds);
      const eta = (rounds - round) * (roundSeconds.reduce((a, b) => a + b, 0) / roundSeconds.length);
      say(formatRound(line, rounds, baselines, eta));
    }

    if (!interrupted && parsed.heldOutSeeds > 0) {
      say(`esper learn: held-out tasks (${curriculum.heldOut.map((t) => t.name).join(', ')}), ${parsed.heldOutSeeds} seed${parsed.heldOutSeeds === 1 ? '' : 's'} each`);
      const learned = signedPolicy(gnn, `${learnId}-r${rounds}`, learnId, signing);
      const policies: Array<[LearnHeldOutRecord['policy'], EpisodePolicy]> = [
        ['learned', { kind: 'network', update: learned, mode: 'greedy' }],
        ['heuristic', { kind: 'heuristic' }],
        ['random', { kind: 'random' }],
        ['none', { kind: 'none' }],
      ];
      const lines: LearnHeldOutRecord[] = [];
      for (const [name, policy] of policies) {
        if (interrupted) break;
        for (const { result, reward, summary } of await play(planHeldOut(curriculum, learnId, name, parsed.heldOutSeeds), policy)) {
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
          record.append(line);
          lines.push(line);
        }
      }
      if (!interrupted) say(formatHeldOut(lines));
    }
    if (interrupted) {
      code = 130;
      why = 'interrupted';
    }
  } catch (error) {
    code = 1;
    why = (error as Error).message;
    process.stderr.write(`esper learn: ${why}\n`);
  } finally {
    trainer.dispose();
    gnn.dispose();
    await pool.close();
  }
  const done = record.lines().filter((l): l is LearnRoundRecord => l.event === 'round');
  record.append({ event: 'finished', at: new Date().toISOString(), code, why, rounds: done.at(-1)?.round ?? 0, policyFile: lastPolicy, seconds: (performance.now() - started) / 1000 });
  const report = writeLearnReport(dir);
  say(`esper learn: ${why}; policy ${lastPolicy ?? '(none yet)'}; report ${report}`);
  stop.release();
  return code;
}

/** Where round `round`'s policy is kept. */
export const policyFile = (dir: string, round: number): string => join(dir, 'policies', `round-${String(round).padStart(3, '0')}.pb`);

/** The network's current weights as a signed PolicyUpdate (what workers run and what a policy file holds). */
function signedPolicy(gnn: TamiyoGnn, version: string, learnId: string, signing: SignatureContext): v1.PolicyUpdate {
  return signPolicyUpdate(
    leyline.PolicyUpdate.create({ version: 1, policyId: 'esper-learn', trainingRunId: learnId, issuedAt: toTimestamp(Date.now()), tamiyoPolicyVersion: version, payload: encodeLeyline(gnn.exportWeights()) }),
    signing,
  );
}
