// `esper serve episodes <curriculum.ts> --worker-dir <dir>`: an episode worker. `esper learn` starts one per
// environment as a child process; it boots its tree once (the episode runner and the services episodes share) and
// then runs the episodes it is sent over the IPC channel, one at a time, until the channel closes. Requests and
// results cross as encoded Leyline messages.
import { join, resolve } from 'node:path';
import { leyline, type v1 } from '../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../contracts/codec.ts';
import { validateConfig } from '../actors/weatherlight/config.ts';
import { episodeWorkerConfig } from '../actors/weatherlight/curriculum.ts';
import { pathOfKind } from '../actors/weatherlight/tree.ts';
import { startWeatherlight } from '../actors/weatherlight/weatherlight.ts';
import type { ActorRef } from '../runtime/logic.ts';
import embeddedDefaults from '../esper.config.ts';
import { UsageError } from './forge.ts';
import { loadCurriculum } from './learn/curriculum-file.ts';

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
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--worker-dir') workerDir = args[++i];
    else if (arg === '--urza') urza = args[++i];
    else if (arg.startsWith('--')) throw new UsageError(`esper serve episodes: unknown option ${arg}`);
    else if (file === undefined) file = arg;
    else throw new UsageError(`esper serve episodes: unexpected argument ${arg}`);
  }
  if (!file || !workerDir) throw new UsageError('esper serve episodes: needs a curriculum file and --worker-dir <dir>');
  const send = process.send?.bind(process);
  if (!send) throw new UsageError('esper serve episodes runs as esper learn\'s child process (its episodes come over the IPC channel)');
  const curriculum = await loadCurriculum(file);
  const base = episodeWorkerConfig(curriculum, validateConfig(embeddedDefaults));
  const dir = resolve(workerDir);
  const config = validateConfig({
    ...base,
    run: { ...base.run, name: `esper-episodes-${process.pid}`, varDir: dir },
    urza: { ...base.urza, root: urza ? resolve(urza) : join(dir, 'urza') },
  });
  const weatherlight = await startWeatherlight(config, { curriculum });
  const runner: ActorRef<v1.EpisodeRequest> = { path: pathOfKind(config.weatherlight.tree, 'episode-runner')!, system: weatherlight.system.name };

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
      send({ type: 'failed', id: message.id, error: `undecodable EpisodeRequest: ${decoded.error.message}` } satisfies WorkerMessage);
      return;
    }
    weatherlight.system.ask(runner, decoded.message, leyline.EpisodeResult, config.runtime.maxAskDeadlineMs).then(
      (result: v1.EpisodeResult) => send({ type: 'result', id: message.id, result: encodeLeyline(result) } satisfies WorkerMessage),
      (error: unknown) => send({ type: 'failed', id: message.id, error: (error as Error).message } satisfies WorkerMessage),
    );
  });
  send({ type: 'ready', pid: process.pid } satisfies WorkerMessage);
  return new Promise<number>(() => undefined);
}
