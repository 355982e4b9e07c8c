// `esper learn --bus` end to end over a private redis-server, on the quick curriculum: two `esper serve episodes
// --bus` workers play the episodes; one is killed (SIGKILL) as it starts a round's episode, the other claims that
// episode after the claim time and runs it, and the round is learned from every episode exactly once. A worker
// with another secret is refused: it exits 1 naming the signature, and the request it read stays pending. A learner
// killed in a round and resumed finishes that round, again each episode exactly once. `--concurrency 2` plays two
// episodes at once in two processes.
import test from 'ava';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leyline } from '../contracts/index.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { OonaClient } from '../actors/oona/index.ts';
import { EPISODE_WORKER_GROUP, episodeBusSettings, EpisodeQueue } from '../cli/learn/episode-queue.ts';
import { episodeRequest, planBaseline } from '../cli/learn/plan.ts';
import { createLogger } from '../runtime/log.ts';
import quick from '../experiments/quick-curriculum.ts';
import { runChild, type ChildRun } from './helpers/child-process.ts';
import { ESPER_BIN, esperEnv, freshDir } from './helpers/esper-cli.ts';
import { RedisServer, redisServerAvailable } from './helpers/redis-server.ts';

const CURRICULUM = fileURLToPath(new URL('../experiments/quick-curriculum.ts', import.meta.url));
const SECRET = 'learn-bus-test-secret';
/** A guard against a hung process, not a deadline: workers forge their kernels first, on a loaded machine. */
const GUARD_MS = 400_000;

function worker(cwd: string, name: string, url: string, secret: string): ChildRun {
  return runChild(
    [ESPER_BIN, 'serve', 'episodes', CURRICULUM, '--bus', url, '--claim-ms', '2000', '--worker-dir', join(cwd, name)],
    { cwd, env: { ...esperEnv('warn'), ESPER_LEYLINE_SECRET: secret } },
    GUARD_MS,
  );
}

/** Resolves with `child` once it prints a matching line; never, if it exits first (another child may win). */
const when = (child: ChildRun, match: (line: string) => boolean): Promise<ChildRun> =>
  child.waitFor(match).then(
    () => child,
    () => new Promise<ChildRun>(() => undefined),
  );

test.serial(
  'a worker killed mid-episode: its episode is claimed by the other, and the round learns from every episode once',
  async (t) => {
    if (!redisServerAvailable()) return t.pass('redis-server not installed');
    t.timeout(GUARD_MS + 60_000);
    const redis = await RedisServer.start();
    const cwd = freshDir('esper-learn-bus-');
    const a = worker(cwd, 'a', redis.url, SECRET);
    const b = worker(cwd, 'b', redis.url, SECRET);
    let learner: ChildRun | null = null;
    try {
      await Promise.all([a, b].map((w) => w.waitFor((line) => line.includes('ready on'))));
      learner = runChild(
        [
          ESPER_BIN,
          'learn',
          CURRICULUM,
          '--rounds',
          '1',
          '--envs',
          '3',
          '--heldout-rng-seeds',
          '0',
          '--bus',
          redis.url,
          '--quiet',
        ],
        { cwd, env: { ...esperEnv('warn'), ESPER_LEYLINE_SECRET: SECRET } },
        GUARD_MS,
      );
      const roundEpisode = /episode (\S+-r1-e\d+) started/;
      const victim = await Promise.race([when(a, (l) => roundEpisode.test(l)), when(b, (l) => roundEpisode.test(l))]);
      victim.kill();
      const survivor = victim === a ? b : a;
      const killed = roundEpisode.exec(victim.lines.find((l) => roundEpisode.test(l))!)![1]!;

      const ended = await learner.exit;
      t.is(ended.code, 0, learner.stderr());
      // The survivor ran the killed worker's episode on a later delivery: it claimed it (XAUTOCLAIM), nobody re-sent it.
      t.true(
        survivor.lines.some((l) => l.includes(`episode ${killed} started (delivery `) && !l.includes('(delivery 1)')),
        survivor.lines.join('\n'),
      );

      const root = join(cwd, 'var', 'learn');
      const [learnId] = readdirSync(root);
      const lines = readFileSync(join(root, learnId!, 'learn.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              event: string;
              episodes?: Array<{ episodeId: string; ok: boolean }>;
              dropped?: Record<string, number>;
            },
        );
      const rounds = lines.filter((l) => l.event === 'round');
      t.is(rounds.length, 1);
      const episodes = rounds[0]!.episodes!;
      // Every episode of the round exactly once (in request order), each a real answer.
      t.deepEqual(
        episodes.map((e) => e.episodeId),
        [0, 1, 2].map((i) => `${learnId}-r1-e${i}`),
      );
      t.true(
        episodes.every((e) => e.ok),
        JSON.stringify(episodes),
      );
      // The round says what it did not learn from: no answer of another policy version here.
      t.is(rounds[0]!.dropped?.['wrong-version'], 0, JSON.stringify(rounds[0]!.dropped));
      for (const baseline of lines.filter((l) => l.event === 'baseline'))
        t.is(new Set(baseline.episodes!.map((e) => e.episodeId)).size, baseline.episodes!.length);
    } finally {
      const children = [...(learner ? [learner] : []), a, b];
      for (const child of children) child.kill();
      await Promise.all(children.map((child) => child.exit));
      await redis.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  },
);

test.serial('a learner killed mid-round and resumed with --bus finishes the round, each episode once', async (t) => {
  if (!redisServerAvailable()) return t.pass('redis-server not installed');
  t.timeout(GUARD_MS + 60_000);
  const redis = await RedisServer.start();
  const cwd = freshDir('esper-learn-bus-resume-');
  const env = { ...esperEnv('warn'), ESPER_LEYLINE_SECRET: SECRET };
  const a = worker(cwd, 'a', redis.url, SECRET);
  const b = worker(cwd, 'b', redis.url, SECRET);
  const learners: ChildRun[] = [];
  try {
    await Promise.all([a, b].map((w) => w.waitFor((line) => line.includes('ready on'))));
    const first = runChild(
      [
        ESPER_BIN,
        'learn',
        CURRICULUM,
        '--rounds',
        '2',
        '--envs',
        '3',
        '--heldout-rng-seeds',
        '0',
        '--bus',
        redis.url,
        '--quiet',
      ],
      { cwd, env },
      GUARD_MS,
    );
    learners.push(first);
    const secondRound = (l: string): boolean => /episode \S+-r2-e\d+ started/.test(l);
    await Promise.race([when(a, secondRound), when(b, secondRound)]);
    first.kill();
    await first.exit;
    const root = join(cwd, 'var', 'learn');
    const [learnId] = readdirSync(root);
    const resumed = runChild(
      [ESPER_BIN, 'learn', '--resume', learnId!, '--heldout-rng-seeds', '0', '--bus', redis.url, '--quiet'],
      { cwd, env },
      GUARD_MS,
    );
    learners.push(resumed);
    t.is((await resumed.exit).code, 0, resumed.stderr());
    const lines = readFileSync(join(root, learnId!, 'learn.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            event: string;
            round?: number;
            resumedAfter?: number;
            episodes?: Array<{ episodeId: string; ok: boolean }>;
          },
      );
    t.truthy(lines.find((l) => l.event === 'start' && l.resumedAfter === 1));
    t.deepEqual(
      lines.filter((l) => l.event === 'round').map((l) => l.round),
      [1, 2],
    );
    const second = lines.find((l) => l.event === 'round' && l.round === 2)!;
    t.deepEqual(
      second.episodes!.map((e) => e.episodeId),
      [0, 1, 2].map((i) => `${learnId}-r2-e${i}`),
    );
    t.true(
      second.episodes!.every((e) => e.ok),
      JSON.stringify(second.episodes),
    );
  } finally {
    for (const child of [...learners, a, b]) child.kill();
    await Promise.all([...learners, a, b].map((child) => child.exit));
    await redis.stop();
    rmSync(cwd, { recursive: true, force: true });
  }
});

test.serial(
  'a worker with another secret is refused: exit 1 naming the signature, and the request stays pending',
  async (t) => {
    if (!redisServerAvailable()) return t.pass('redis-server not installed');
    t.timeout(GUARD_MS + 60_000);
    const redis = await RedisServer.start();
    const cwd = freshDir('esper-learn-bus-secret-');
    const settings = episodeBusSettings(redis.url, 2_000);
    const client = new OonaClient({ settings, signing: new SignatureContext(SECRET), source: 'test' });
    try {
      t.true(await client.connect(5_000));
      await client.store.ensureGroup(settings.streams.episodeRequests, EPISODE_WORKER_GROUP);
      t.true(
        client.publish(leyline.EpisodeRequest.create({ episodeId: 'signed-by-the-learner', policyKind: 'none' })).ok,
      );
      await client.flush();
      const stranger = worker(cwd, 'stranger', redis.url, 'not-the-learners-secret');
      const ended = await stranger.exit;
      t.is(ended.code, 1);
      t.regex(stranger.stderr(), /refused an episode request: signature does not match the payload/);
      t.false(stranger.lines.some((l) => l.includes('started')));
      // Not acknowledged: the request is still the group's, for a worker with the learner's secret.
      t.is(await client.store.pending(settings.streams.episodeRequests, EPISODE_WORKER_GROUP), 1);
    } finally {
      await client.close();
      await redis.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  },
);

test.serial(
  'esper serve episodes --concurrency 2 plays episodes in two worker processes; SIGTERM stops them, exit 0',
  async (t) => {
    if (!redisServerAvailable()) return t.pass('redis-server not installed');
    t.timeout(GUARD_MS + 60_000);
    const redis = await RedisServer.start();
    const cwd = freshDir('esper-learn-bus-concurrency-');
    const served = runChild(
      [
        ESPER_BIN,
        'serve',
        'episodes',
        CURRICULUM,
        '--bus',
        redis.url,
        '--concurrency',
        '2',
        '--worker-dir',
        join(cwd, 'w'),
      ],
      { cwd, env: { ...esperEnv('warn'), ESPER_LEYLINE_SECRET: SECRET } },
      GUARD_MS,
    );
    let queue: EpisodeQueue | null = null;
    try {
      await served.waitFor((line) => line.includes('ready on'), 2);
      queue = await EpisodeQueue.start({
        url: redis.url,
        learnId: 'concurrency',
        signing: new SignatureContext(SECRET),
        log: createLogger('test'),
      });
      const planned = planBaseline(quick, 'concurrency', 1, 'heuristic', 4);
      const results = await queue.runAll(planned.map((p) => episodeRequest(p, { kind: 'heuristic' })));
      t.deepEqual(
        results.map((r) => r.episodeId),
        planned.map((p) => p.episodeId),
      );
      t.true(
        results.every((r) => r.ok),
        JSON.stringify(results.map((r) => r.error)),
      );
      // Both processes played: the first two requests went one to each waiting worker.
      const pids = new Set(
        served.lines.filter((l) => / started \(delivery \d+\) by pid \d+$/.test(l)).map((l) => l.split(' by pid ')[1]),
      );
      t.is(pids.size, 2, served.lines.join('\n'));
      process.kill(served.pid, 'SIGTERM');
      t.is((await served.exit).code, 0, served.stderr());
    } finally {
      await queue?.close();
      served.kill();
      await served.exit;
      await redis.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  },
);
