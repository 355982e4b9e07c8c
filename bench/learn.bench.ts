// Does the learned policy earn its place (`npm run bench -- learn`)? One default `esper learn` on the default
// curriculum (experiments/growth-curriculum.ts), in a fresh folder, then its held-out evaluation with 3 random seeds
// per task: no growth, the random policy, the heuristic and the learned policy (greedy) on tasks never trained on.
// Lines (value: learned, baseline: the other; test accuracy in %, weights added):
//   heldout_accuracy_learned_vs_heuristic | _vs_random | _vs_no_growth, heldout_added_parameters_learned_vs_heuristic,
//   mean_return_last3_vs_first3 (the learning curve: the last 3 rounds' mean return against the first 3's),
//   learn_seconds (against the 20-minute target), per policy heldout_test_accuracy_<policy>,
//   heldout_added_parameters_<policy>, heldout_seconds_<policy> (mean episode seconds),
//   and episodes_per_s_k_workers_vs_1: the same batch of episodes on K episode workers against 1;
//   episodes_per_s_redis_<n>_workers_vs_in_process: the same batch on n `esper serve episodes --bus` workers over a
//   private redis-server (esper learn --bus's path, cli/learn/episode-queue.ts) against n local workers, n = 1, 2, 4.
// The held-out table and the curve go to stderr (they are the README's). LEARN_ROUNDS overrides the rounds;
// LEARN_BENCH=throughput measures only the throughput lines; LEARN_BENCH_EPISODES sets the batch (default 4 × K).
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../actors/weatherlight/index.ts';
import embeddedDefaults from '../esper.config.ts';
import { loadCurriculum } from '../cli/learn/curriculum-file.ts';
import { EpisodePool } from '../cli/learn/episode-pool.ts';
import { EpisodeQueue } from '../cli/learn/episode-queue.ts';
import { SignatureContext, SECRET_ENV_VAR } from '../contracts/signing.ts';
import { createLogger } from '../runtime/log.ts';
import { runChild, type ChildRun } from '../test/helpers/child-process.ts';
import { RedisServer, redisServerAvailable } from '../test/helpers/redis-server.ts';
import { copyLibrary, forgeCurriculum } from '../cli/learn/kernels.ts';
import { episodeRequest, planBaseline } from '../cli/learn/plan.ts';
import { readLearnRecord, type LearnHeldOutRecord, type LearnRoundRecord } from '../cli/learn/record.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { report } from './report.ts';

const BENCH = 'learn';
const root = fileURLToPath(new URL('..', import.meta.url));
const CURRICULUM = join(root, 'experiments', 'growth-curriculum.ts');
const TARGET_SECONDS = 20 * 60;

function learn(cwd: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(root, 'bin', 'esper.js'), 'learn', CURRICULUM, ...args], {
      cwd,
      env: { ...process.env, ESPER_LOG_LEVEL: 'error' },
    });
    child.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`esper learn exited ${code}`)),
    );
  });
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** Episodes per second of one batch of heuristic episodes on a pool of `size` workers. */
async function throughput(size: number, dir: string, urza: string, secret: string, count: number): Promise<number> {
  const curriculum = await loadCurriculum(CURRICULUM);
  for (let i = 0; i < size; i++) copyLibrary(urza, join(dir, `w${i}`, 'urza'));
  const pool = await EpisodePool.start({
    size,
    curriculumFile: CURRICULUM,
    dir,
    urza: (i) => join(dir, `w${i}`, 'urza'),
    secret,
  });
  try {
    const planned = planBaseline(curriculum, `bench-${size}`, 5, 'heuristic', count);
    const started = performance.now();
    const results = await pool.runAll(planned.map((p) => episodeRequest(p, { kind: 'heuristic' })));
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) throw new Error(`episodes failed: ${failed.map((r) => r.error).join('; ')}`);
    return count / ((performance.now() - started) / 1000);
  } finally {
    await pool.close();
  }
}

/** Episodes per second of the same batch on `size` bus workers (each with its copy of the library) over Redis. */
async function busThroughput(size: number, dir: string, urza: string, secret: string, count: number): Promise<number> {
  const curriculum = await loadCurriculum(CURRICULUM);
  const server = await RedisServer.start();
  const workers: ChildRun[] = [];
  let queue: EpisodeQueue | null = null;
  try {
    for (let i = 0; i < size; i++) {
      copyLibrary(urza, join(dir, `w${i}`, 'urza'));
      const args = [
        join(root, 'bin', 'esper.js'),
        'serve',
        'episodes',
        CURRICULUM,
        '--bus',
        server.url,
        '--worker-dir',
        join(dir, `w${i}`),
        '--urza',
        join(dir, `w${i}`, 'urza'),
      ];
      workers.push(
        runChild(
          args,
          { cwd: dir, env: { ...process.env, [SECRET_ENV_VAR]: secret, ESPER_LOG_LEVEL: 'error' } },
          1_800_000,
        ),
      );
    }
    await Promise.all(workers.map((w) => w.waitFor((line) => line.includes('ready on'))));
    queue = await EpisodeQueue.start({
      url: server.url,
      learnId: `bench-bus-${size}`,
      signing: new SignatureContext(secret),
      log: createLogger('bench'),
    });
    const planned = planBaseline(curriculum, `bench-bus-${size}`, 5, 'heuristic', count);
    const started = performance.now();
    const results = await queue.runAll(planned.map((p) => episodeRequest(p, { kind: 'heuristic' })));
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) throw new Error(`episodes failed: ${failed.map((r) => r.error).join('; ')}`);
    return count / ((performance.now() - started) / 1000);
  } finally {
    await queue?.close();
    for (const w of workers) w.kill();
    await Promise.all(workers.map((w) => w.exit));
    await server.stop();
  }
}

/** The episode throughput lines: K local workers against 1, and n bus workers against n local ones. */
async function throughputs(cwd: string): Promise<void> {
  await selectTensorBackend();
  const curriculum = await loadCurriculum(CURRICULUM);
  const urza = join(cwd, 'bench-urza');
  await forgeCurriculum(
    curriculum,
    validateConfig({ ...embeddedDefaults, run: { ...embeddedDefaults.run, varDir: join(cwd, 'var') } }),
    urza,
    process.stderr,
    () => undefined,
  );
  const secret = 'bench-learn-secret-bench-learn-secret';
  const k = curriculum.learning?.envs ?? availableParallelism();
  const count = Number(process.env.LEARN_BENCH_EPISODES) || 4 * k;
  const local = new Map<number, number>();
  const inProcess = async (n: number): Promise<number> => {
    if (!local.has(n)) local.set(n, await throughput(n, join(cwd, `pool-${n}`), urza, secret, count));
    return local.get(n)!;
  };
  report(BENCH, 'episodes_per_s_k_workers_vs_1', await inProcess(k), `episodes/s (K=${k})`, await inProcess(1));
  if (!redisServerAvailable()) return;
  for (const n of [1, 2, 4]) {
    report(
      BENCH,
      `episodes_per_s_redis_${n}_workers_vs_in_process`,
      await busThroughput(n, join(cwd, `bus-${n}`), urza, secret, count),
      'episodes/s',
      await inProcess(n),
    );
  }
}

export async function run(): Promise<void> {
  const cwd = mkdtempSync(join(tmpdir(), 'esper-bench-learn-'));
  writeFileSync(join(cwd, 'package.json'), '{ "type": "module" }\n');
  if (process.env.LEARN_BENCH === 'throughput') {
    await throughputs(cwd);
    rmSync(cwd, { recursive: true, force: true });
    return;
  }
  const roundArgs = process.env.LEARN_ROUNDS ? ['--rounds', process.env.LEARN_ROUNDS] : [];
  const seconds = await learn(cwd, [...roundArgs, '--heldout-rng-seeds', '3']);
  const learnRoot = join(cwd, 'var', 'learn');
  const dir = join(learnRoot, readdirSync(learnRoot)[0]!);
  const lines = readLearnRecord(join(dir, 'learn.jsonl'));
  const heldOut = lines.filter((l): l is LearnHeldOutRecord => l.event === 'heldout' && l.ok);
  const played = lines.filter((l): l is LearnRoundRecord => l.event === 'round');

  const policies = ['learned', 'heuristic', 'random', 'none'] as const;
  const figures = Object.fromEntries(
    policies.map((policy) => {
      const own = heldOut.filter((l) => l.policy === policy);
      return [
        policy,
        {
          accuracy: mean(own.map((l) => l.testAccuracy)),
          added: mean(own.map((l) => l.addedParameters)),
          seconds: mean(own.map((l) => l.seconds)),
          episodes: own.length,
        },
      ];
    }),
  ) as Record<(typeof policies)[number], { accuracy: number; added: number; seconds: number; episodes: number }>;
  const { learned, heuristic, random, none } = figures;
  report(BENCH, 'heldout_accuracy_learned_vs_heuristic', learned.accuracy, '%', heuristic.accuracy);
  report(BENCH, 'heldout_accuracy_learned_vs_random', learned.accuracy, '%', random.accuracy);
  report(BENCH, 'heldout_accuracy_learned_vs_no_growth', learned.accuracy, '%', none.accuracy);
  report(BENCH, 'heldout_added_parameters_learned_vs_heuristic', learned.added, 'weights', heuristic.added);
  const returns = played.map((r) => r.figures.meanObjective);
  report(BENCH, 'mean_return_last3_vs_first3', mean(returns.slice(-3)), 'points', mean(returns.slice(0, 3)));
  report(BENCH, 'learn_seconds', seconds, 's', TARGET_SECONDS);
  for (const policy of policies) {
    const f = figures[policy];
    report(BENCH, `heldout_test_accuracy_${policy}`, f.accuracy, '%');
    report(BENCH, `heldout_added_parameters_${policy}`, f.added, 'weights');
    report(BENCH, `heldout_seconds_${policy}`, f.seconds, 's');
  }

  // The held-out table (per task and policy) and the curve, for the README.
  const tasks = [...new Set(heldOut.map((l) => l.task))];
  const cell = (task: string, policy: string): string => {
    const own = heldOut.filter((l) => l.task === task && l.policy === policy);
    return `${mean(own.map((l) => l.testAccuracy)).toFixed(2)} % (+${Math.round(mean(own.map((l) => l.addedParameters)))})`;
  };
  process.stderr.write(
    `\n| held-out task | ${policies.join(' | ')} |\n| --- | ${policies.map(() => '---').join(' | ')} |\n`,
  );
  for (const task of tasks) process.stderr.write(`| ${task} | ${policies.map((p) => cell(task, p)).join(' | ')} |\n`);
  process.stderr.write(
    `| mean | ${policies.map((p) => `${figures[p].accuracy.toFixed(2)} % (+${Math.round(figures[p].added)})`).join(' | ')} |\n`,
  );
  process.stderr.write(
    `\ncurve (round: mean return): ${played.map((r) => `${r.round}: ${r.figures.meanObjective.toFixed(1)}`).join(', ')}\n`,
  );

  // Episode throughput, after the learn (the machine is otherwise idle).
  await throughputs(cwd);
  rmSync(cwd, { recursive: true, force: true });
}
