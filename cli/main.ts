// The `esper` command. `esper run [config.ts]` boots the supervision tree (from the given file, else
// ./esper.config.ts, else the embedded defaults), reports it, and shuts down cleanly on SIGINT or SIGTERM.
import { startWeatherlight } from '../actors/weatherlight/weatherlight.ts';
import { resolveConfig } from './config.ts';
import { formatEpoch, formatResult } from './training-progress.ts';
import type { RunResult } from '../actors/tolaria/index.ts';
import { forge, FORGE_USAGE, UsageError } from './forge.ts';
import { simic, SIMIC_USAGE } from './simic.ts';
import { serve, SERVE_USAGE } from './serve.ts';
import { drills, DRILLS_USAGE } from './drills.ts';
import { listenForStop } from './signals.ts';
import { formatTree } from './format-tree.ts';

const USAGE = `usage: esper <command>

commands:
  run [config.ts] [--resume <run-id>] [--bus redis://host:port]
                    boot the supervision tree and train (config: the given file, else
                    ./esper.config.ts, else the built-in defaults: MNIST, 3 epochs); ends
                    when the run ends, or on SIGINT/SIGTERM. --resume continues a run from its
                    newest good checkpoint (var/runs/<run-id>); --bus puts Oona's streams in
                    Redis (the secret must then come from ESPER_LEYLINE_SECRET)
${SERVE_USAGE}${DRILLS_USAGE}${FORGE_USAGE}${SIMIC_USAGE}  help              this text
`;

function parseRunArgs(args: readonly string[]): { file: string | undefined; resume: string | undefined; bus: string | undefined } {
  let file: string | undefined;
  let resume: string | undefined;
  let bus: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--resume') {
      resume = args[++i];
      if (resume === undefined) throw new UsageError('--resume needs a run id');
    } else if (arg === '--bus') {
      bus = args[++i];
      if (bus === undefined) throw new UsageError('--bus needs a URL (redis://host:port)');
    } else if (arg.startsWith('--')) throw new UsageError(`esper run: unknown option ${arg}`);
    else if (file === undefined) file = arg;
    else throw new UsageError(`esper run: one configuration file, got ${file} and ${arg}`);
  }
  return { file, resume, bus };
}

async function run(args: readonly string[]): Promise<number> {
  const { file, resume, bus } = parseRunArgs(args);
  const stop = listenForStop();
  const resolved = await resolveConfig(file);
  const { source } = resolved;
  const config = bus ? { ...resolved.config, run: { ...resolved.config.run, multiProcess: true }, oona: { ...resolved.config.oona, url: bus } } : resolved.config;
  process.stdout.write(`esper: configuration from ${source}\n`);
  let reportFinished!: (result: RunResult) => void;
  const finished = new Promise<RunResult>((resolveFinished) => {
    reportFinished = resolveFinished;
  });
  const weatherlight = await startWeatherlight(config, {
    ...(resume !== undefined ? { run: { resume } } : {}),
    training: {
      epoch: (summary) => process.stdout.write(`${formatEpoch(summary)}\n`),
      finished: reportFinished,
    },
  });
  const tree = weatherlight.system.tree();
  process.stdout.write(`${formatTree(tree)}\n`);
  process.stdout.write(`esper: ready, ${tree.length} actors running (Ctrl-C to stop)\n`);
  if (weatherlight.run) {
    process.stdout.write(`esper: ${weatherlight.run.resumed ? 'resuming' : 'training'} run ${weatherlight.run.id} (${weatherlight.run.dir})\n`);
  }

  const outcome = await Promise.race([
    stop.signalled.then((signal) => ({ code: 0, why: `received ${signal}` })),
    weatherlight.gaveUp.then((reason) => ({ code: 1, why: `the root supervisor gave up: ${reason}` })),
    finished.then((result) => ({ code: result.status === 'completed' ? 0 : 3, why: formatResult(result) })),
  ]);
  process.stdout.write(`esper: ${outcome.why}, shutting down\n`);
  const result = await weatherlight.shutdown();
  stop.release();
  const forced = result.forced.length > 0 ? `; forced: ${result.forced.join(', ')}` : '';
  process.stdout.write(`esper: shutdown complete in ${result.elapsedMs} ms${forced}\n`);
  return outcome.code;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(rest);
    case 'forge':
      return forge(rest);
    case 'simic':
      return simic(rest);
    case 'serve':
      return serve(rest);
    case 'drills':
      return drills(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`esper: unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`esper: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof UsageError) process.stderr.write(USAGE);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
