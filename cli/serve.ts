// `esper serve <subsystem> [config.ts] --bus redis://…`: one subsystem in this process, on a shared bus.
import { startWeatherlight, SERVABLE, servingConfig } from '../actors/weatherlight/index.ts';
import { resolveConfig } from './config.ts';
import { UsageError } from './forge.ts';
import { formatTree } from './format-tree.ts';
import { listenForStop } from './signals.ts';
import { serveEpisodes } from './serve-episodes.ts';

export const SERVE_USAGE = `  serve <subsystem> [config.ts] --bus redis://host:port
                    run one subsystem in this process on a shared bus, until SIGINT/SIGTERM
                    (${Object.keys(SERVABLE).join(', ')}); ESPER_LEYLINE_SECRET must be set
  serve episodes <curriculum.ts> --bus redis://host:port [--concurrency n] [--claim-ms n]
                    an episode worker of esper learn --bus (same curriculum file and secret),
                    on any machine; n episodes at once in n processes
`;

export async function serve(args: readonly string[]): Promise<number> {
  if (args[0] === 'episodes') return serveEpisodes(args.slice(1));
  let subsystem: string | undefined;
  let file: string | undefined;
  let bus: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--bus') {
      bus = args[++i];
      if (bus === undefined) throw new UsageError('--bus needs a URL (redis://host:port)');
    } else if (arg.startsWith('--')) throw new UsageError(`esper serve: unknown option ${arg}`);
    else if (subsystem === undefined) subsystem = arg;
    else if (file === undefined) file = arg;
    else throw new UsageError(`esper serve: unexpected argument ${arg}`);
  }
  if (!subsystem) throw new UsageError('esper serve: which subsystem?');
  const stop = listenForStop();
  const { config: base, source } = await resolveConfig(file);
  const config = servingConfig(base, subsystem, bus);
  process.stdout.write(`esper serve: configuration from ${source}\n`);
  const weatherlight = await startWeatherlight(config);
  process.stdout.write(`${formatTree(weatherlight.system.tree())}\n`);
  process.stdout.write(`esper serve: ${subsystem} ready on ${config.oona?.url} — ${SERVABLE[subsystem]}\n`);
  const outcome = await Promise.race([
    stop.signalled.then((signal) => ({ code: 0, why: `received ${signal}` })),
    weatherlight.gaveUp.then((reason) => ({ code: 1, why: `the root supervisor gave up: ${reason}` })),
  ]);
  process.stdout.write(`esper serve: ${outcome.why}, shutting down\n`);
  await weatherlight.shutdown();
  stop.release();
  return outcome.code;
}
