// `esper serve episodes <curriculum.ts> --worker-dir <dir>`: an episode worker. `esper learn` starts one per
// environment as a child process; it boots its tree once (the episode runner and the services episodes share) and
// then runs the episodes it is sent over the IPC channel, one at a time, until the channel closes. Requests and
// results cross as encoded Leyline messages.
//
// With `--bus redis://…` it is a worker of `esper learn --bus` on any machine instead: it forges the curriculum's
// kernels into its own Urza library, boots the same tree, and takes episodes from the workers' shared group on
// oona.episodes.requests (cli/learn/episode-queue.ts), one at a time, answering each on oona.episodes.results; a
// request is acknowledged once its answer is written, so one this worker held when it died is claimed by another
// after `--claim-ms` (while it runs, the worker keeps it every third of that: StreamStore.keep). A request whose signature does not verify (another secret) stops the worker, exit 1, and
// stays pending for the workers that hold the learner's secret. `--concurrency n` runs n such workers as child
// processes (an episode runner plays one episode at a time: episode-runner.ts), on one forged library.
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { leyline, type v1 } from '../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../contracts/codec.ts';
import { signatureContextFromEnv } from '../contracts/signing.ts';
import { OonaClient } from '../actors/oona/index.ts';
import {
  validateConfig,
  episodeWorkerConfig,
  failedEpisode,
  pathOfKind,
  startWeatherlight,
} from '../actors/weatherlight/index.ts';
import type { ActorRef } from '../runtime/logic.ts';
import embeddedDefaults from '../esper.config.ts';
import { UsageError } from './forge.ts';
import { loadCurriculum } from './learn/curriculum-file.ts';
import { EPISODE_WORKER_GROUP, episodeBusSettings } from './learn/episode-queue.ts';
import { ESPER } from './learn/episode-pool.ts';
import { copyLibrary, forgeCurriculum } from './learn/kernels.ts';

/** What crosses the IPC channel between the learner and a worker. */
export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'result'; id: number; result: Uint8Array }
  | { type: 'failed'; id: number; error: string };
export type LearnerMessage = { type: 'episode'; id: number; request: Uint8Array };

export async function serveEpisodes(args: readonly string[]): Promise<number> {
  let file: string | undefined;
  let workerDir: string | undefined;
  let urza: string | undefined;
  let bus: string | undefined;
  let claimMs = 30_000;
  let concurrency = 1;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--worker-dir') workerDir = args[++i];
    else if (arg === '--urza') urza = args[++i];
    else if (arg === '--bus') bus = args[++i];
    else if (arg === '--concurrency') {
      concurrency = Number(args[++i]);
      if (!Number.isInteger(concurrency) || concurrency < 1)
        throw new UsageError(`--concurrency needs an integer ≥ 1, got ${JSON.stringify(args[i])}`);
    } else if (arg === '--claim-ms') {
      claimMs = Number(args[++i]);
      if (!Number.isInteger(claimMs) || claimMs < 100)
        throw new UsageError(`--claim-ms needs an integer ≥ 100, got ${JSON.stringify(args[i])}`);
    } else if (arg.startsWith('--')) throw new UsageError(`esper serve episodes: unknown option ${arg}`);
    else if (file === undefined) file = arg;
    else throw new UsageError(`esper serve episodes: unexpected argument ${arg}`);
  }
  if (bus !== undefined) {
    if (!file || !bus.startsWith('redis://'))
      throw new UsageError('esper serve episodes --bus: needs a curriculum file and --bus redis://host:port');
    const dir = resolve(workerDir ?? join('var', 'episodes', `${hostname()}-${process.pid}`));
    if (concurrency > 1) return serveConcurrently(file, bus, dir, urza, claimMs, concurrency);
    return serveBusEpisodes(file, bus, dir, urza, claimMs);
  }
  if (concurrency > 1)
    throw new UsageError(
      'esper serve episodes: --concurrency is for --bus workers (esper learn sizes its own pool with --envs)',
    );
  if (!file || !workerDir) throw new UsageError('esper serve episodes: needs a curriculum file and --worker-dir <dir>');
  const send = process.send?.bind(process);
  if (!send)
    throw new UsageError(
      "esper serve episodes runs as esper learn's child process (its episodes come over the IPC channel)",
    );
  const curriculum = await loadCurriculum(file);
  const base = episodeWorkerConfig(curriculum, validateConfig(embeddedDefaults));
  const dir = resolve(workerDir);
  const config = validateConfig({
    ...base,
    run: { ...base.run, name: `esper-episodes-${process.pid}`, varDir: dir },
    urza: { ...base.urza, root: urza ? resolve(urza) : join(dir, 'urza') },
  });
  const weatherlight = await startWeatherlight(config, { curriculum });
  const runner: ActorRef<v1.EpisodeRequest> = {
    path: pathOfKind(config.weatherlight.tree, 'episode-runner')!,
    system: weatherlight.system.name,
  };

  let closing = false;
  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await weatherlight.shutdown();
    process.exit(0);
  };
  process.on('disconnect', () => void close());
  process.on('SIGTERM', () => void close());
  process.on('SIGINT', () => undefined); // the learner handles Ctrl-C and closes the channel
  void weatherlight.gaveUp.then((reason) => {
    process.stderr.write(`esper serve episodes: the root supervisor gave up: ${reason}\n`);
    process.exit(1);
  });
  process.on('message', (message: LearnerMessage) => {
    if (message.type !== 'episode') return;
    const decoded = decodeLeyline(leyline.EpisodeRequest, message.request);
    if (!decoded.ok) {
      send({
        type: 'failed',
        id: message.id,
        error: `undecodable EpisodeRequest: ${decoded.error.message}`,
      } satisfies WorkerMessage);
      return;
    }
    weatherlight.system.ask(runner, decoded.message, leyline.EpisodeResult, config.runtime.maxAskDeadlineMs).then(
      (result: v1.EpisodeResult) =>
        send({ type: 'result', id: message.id, result: encodeLeyline(result) } satisfies WorkerMessage),
      (error: unknown) =>
        send({ type: 'failed', id: message.id, error: (error as Error).message } satisfies WorkerMessage),
    );
  });
  send({ type: 'ready', pid: process.pid } satisfies WorkerMessage);
  return new Promise<number>(() => undefined);
}

/** A worker of `esper learn --bus` (see the top of this file); runs until SIGINT/SIGTERM. */
async function serveBusEpisodes(
  file: string,
  url: string,
  dir: string,
  urza: string | undefined,
  claimMs: number,
): Promise<number> {
  // The secret is the learner's: from the environment (a missing or blank one is named and exits 1).
  const signing = signatureContextFromEnv();
  const say = (line: string): void => void process.stdout.write(`esper serve episodes: ${line}\n`);
  const curriculum = await loadCurriculum(file);
  const base = episodeWorkerConfig(curriculum, validateConfig(embeddedDefaults));
  const urzaRoot = urza ? resolve(urza) : join(dir, 'urza');
  await forgeCurriculum(
    curriculum,
    validateConfig({ ...embeddedDefaults, run: { ...embeddedDefaults.run, varDir: dir } }),
    urzaRoot,
    process.stderr,
    say,
  );
  const config = validateConfig({
    ...base,
    run: { ...base.run, name: `esper-episodes-${process.pid}`, varDir: dir },
    urza: { ...base.urza, root: urzaRoot },
  });
  const weatherlight = await startWeatherlight(config, { curriculum });
  const runner: ActorRef<v1.EpisodeRequest> = {
    path: pathOfKind(config.weatherlight.tree, 'episode-runner')!,
    system: weatherlight.system.name,
  };
  const settings = episodeBusSettings(url, claimMs);
  const client = new OonaClient({
    settings,
    signing,
    source: 'episodes',
    consumer: `episodes-${hostname()}-${process.pid}`,
  });
  const fail = async (why: string): Promise<never> => {
    process.stderr.write(`esper serve episodes: ${why}\n`);
    await Promise.race([
      Promise.all([client.close(), weatherlight.shutdown()]),
      new Promise((r) => setTimeout(r, 5_000).unref()),
    ]);
    process.exit(1);
  };
  if (!(await client.connect(5_000))) await fail(`the bus at ${url} does not answer`);
  let closing = false;
  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await client.close();
    await weatherlight.shutdown();
    process.exit(0);
  };
  process.on('SIGTERM', () => void close());
  process.on('SIGINT', () => void close());
  void weatherlight.gaveUp.then((reason) => fail(`the root supervisor gave up: ${reason}`));
  client.subscribe({
    stream: settings.streams.episodeRequests,
    group: EPISODE_WORKER_GROUP,
    types: [leyline.BusMessageType.BUS_MESSAGE_TYPE_EPISODE_REQUEST],
    // One at a time: a batch read would hold requests other workers could be running.
    count: 1,
    onBadSignature: (detail) =>
      void fail(`refused an episode request: ${detail} (is ESPER_LEYLINE_SECRET the learner's?)`),
    handler: async (message, delivery) => {
      const request = message as v1.EpisodeRequest;
      say(`episode ${request.episodeId} started (delivery ${delivery.attempt}) by pid ${process.pid}`);
      // The heartbeat: while it runs, the request stays this worker's (not idle), so only a dead worker's is claimed.
      const heartbeat = setInterval(
        () =>
          void client.store
            .keep(delivery.stream, EPISODE_WORKER_GROUP, client.consumer, [delivery.id])
            .catch(() => undefined),
        Math.max(50, claimMs / 3),
      );
      const result = await weatherlight.system
        .ask(runner, request, leyline.EpisodeResult, config.runtime.maxAskDeadlineMs)
        .catch((error: unknown) => failedEpisode(request, (error as Error).message))
        .finally(() => clearInterval(heartbeat));
      const sent = client.publish(result);
      // Not sent: the request stays pending (the handler failed) and is run again, here or elsewhere.
      if (!sent.ok) throw new Error(`episode ${request.episodeId}: result not sent: ${sent.detail}`);
      await client.flush();
      say(`episode ${request.episodeId} answered (${result.ok ? 'ok' : `failed: ${result.error}`})`);
    },
  });
  say(`ready on ${url} (group ${EPISODE_WORKER_GROUP}, claims after ${claimMs} ms)`);
  return new Promise<number>(() => undefined);
}

/**
 * `--concurrency n`: n bus workers as child processes, each with its copy of one library forged here. SIGINT/SIGTERM
 * stops them all (exit 0); a worker that ends by itself (refused, or crashed) stops the rest: exit 1, named.
 */
async function serveConcurrently(
  file: string,
  url: string,
  dir: string,
  urza: string | undefined,
  claimMs: number,
  n: number,
): Promise<number> {
  signatureContextFromEnv(); // a missing secret is named here, not n times
  const say = (line: string): void => void process.stdout.write(`esper serve episodes: ${line}\n`);
  const curriculum = await loadCurriculum(file);
  const library = urza ? resolve(urza) : join(dir, 'urza');
  await forgeCurriculum(
    curriculum,
    validateConfig({ ...embeddedDefaults, run: { ...embeddedDefaults.run, varDir: dir } }),
    library,
    process.stderr,
    say,
  );
  let stopping = false;
  const children: ChildProcess[] = [];
  const exits: Array<Promise<void>> = [];
  return new Promise<number>((resolveCode) => {
    const stopAll = (code: number): void => {
      if (stopping) return;
      stopping = true;
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      void Promise.all(exits).then(() => resolveCode(code));
    };
    for (let i = 0; i < n; i++) {
      const own = join(dir, `c${i}`);
      copyLibrary(library, join(own, 'urza'));
      const child = spawn(
        process.execPath,
        [
          ESPER,
          'serve',
          'episodes',
          file,
          '--bus',
          url,
          '--claim-ms',
          String(claimMs),
          '--worker-dir',
          own,
          '--urza',
          join(own, 'urza'),
        ],
        { stdio: ['ignore', 'inherit', 'inherit'] },
      );
      children.push(child);
      exits.push(
        new Promise<void>((done) =>
          child.once('exit', (code, signal) => {
            if (!stopping) {
              process.stderr.write(
                `esper serve episodes: worker ${i} (pid ${child.pid}) ended (${signal ?? `code ${code}`}); stopping the others\n`,
              );
              stopAll(1);
            }
            done();
          }),
        ),
      );
    }
    process.on('SIGTERM', () => stopAll(0));
    process.on('SIGINT', () => stopAll(0));
  });
}
