// The `esper` command. `esper run [config.ts]` boots the supervision tree (from the given file, else
// ./esper.config.ts, else the embedded defaults), reports it, and shuts down cleanly on SIGINT or SIGTERM.
import { leyline, type v1 } from '../contracts/index.ts';
import { startWeatherlight } from '../actors/weatherlight/weatherlight.ts';
import { resolveConfig } from './config.ts';
import { formatEpoch, formatResult } from './training-progress.ts';
import type { RunResult } from '../actors/tolaria/index.ts';
import { forge, FORGE_USAGE, UsageError } from './forge.ts';
import { simic, SIMIC_USAGE } from './simic.ts';

const USAGE = `usage: esper <command>

commands:
  run [config.ts] [--resume <run-id>]
                    boot the supervision tree and train (config: the given file, else
                    ./esper.config.ts, else the built-in defaults: MNIST, 3 epochs); ends
                    when the run ends, or on SIGINT/SIGTERM. --resume continues a run from its
                    newest good checkpoint (var/runs/<run-id>)
${FORGE_USAGE}${SIMIC_USAGE}  help              this text
`;

/** The tree as indented lines: name, status, restarts, mailbox depth. */
export function formatTree(actors: readonly v1.WorkerState[]): string {
  return actors
    .map((actor) => {
      const depth = actor.path.split('/').length - 2;
      const status = (leyline.ActorStatus[actor.status] ?? '?').replace('ACTOR_STATUS_', '').toLowerCase();
      const kind = actor.strategy ? ` [${(leyline.SupervisionStrategy[actor.strategy] ?? '').replace('SUPERVISION_STRATEGY_', '').toLowerCase()}]` : '';
      return `${'  '.repeat(depth)}${actor.name}${kind}  ${status}  restarts=${actor.restartCount}  mailbox=${actor.mailboxDepth}`;
    })
    .join('\n');
}

function parseRunArgs(args: readonly string[]): { file: string | undefined; resume: string | undefined } {
  let file: string | undefined;
  let resume: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--resume') {
      resume = args[++i];
      if (resume === undefined) throw new UsageError('--resume needs a run id');
    } else if (arg.startsWith('--')) throw new UsageError(`esper run: unknown option ${arg}`);
    else if (file === undefined) file = arg;
    else throw new UsageError(`esper run: one configuration file, got ${file} and ${arg}`);
  }
  return { file, resume };
}

async function run(args: readonly string[]): Promise<number> {
  const { file, resume } = parseRunArgs(args);
  // Listen before announcing anything: a signal that arrives before a listener exists kills the process.
  // Actor timers are unref'd and signal handlers do not hold the event loop: this does, until shutdown.
  const keepAlive = setInterval(() => undefined, 60_000);
  const signalled = new Promise<NodeJS.Signals>((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      resolveSignal(signal);
      // A second signal while shutting down means "now".
      process.once(signal, () => {
        process.stderr.write(`esper: second ${signal}, exiting without waiting\n`);
        process.exit(130);
      });
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const { config, source } = await resolveConfig(file);
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
    signalled.then((signal) => ({ code: 0, why: `received ${signal}` })),
    weatherlight.gaveUp.then((reason) => ({ code: 1, why: `the root supervisor gave up: ${reason}` })),
    finished.then((result) => ({ code: result.status === 'completed' ? 0 : 3, why: formatResult(result) })),
  ]);
  process.stdout.write(`esper: ${outcome.why}, shutting down\n`);
  const result = await weatherlight.shutdown();
  clearInterval(keepAlive);
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
