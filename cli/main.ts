// The `esper` command. `esper run [config.ts]` boots the supervision tree (from the given file, else
// ./esper.config.ts, else the embedded defaults), reports it, and shuts down cleanly on SIGINT or SIGTERM.
import { existsSync, mkdirSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { startWeatherlight } from '../actors/weatherlight/index.ts';
import { resolveConfig } from './config.ts';
import { formatResult } from './training-progress.ts';
import { RunOutput, type OutputMode } from './run-output.ts';
import type { RunResult } from '../actors/tolaria/index.ts';
import { forge, FORGE_USAGE, renamedSeedFlag, UsageError } from './forge.ts';
import { simic, SIMIC_USAGE } from './simic.ts';
import { learn, LEARN_USAGE } from './learn/command.ts';
import { serve, SERVE_USAGE } from './serve.ts';
import { drills, DRILLS_USAGE } from './drills.ts';
import { listenForStop } from './signals.ts';
import { inspect, INSPECT_USAGE } from './inspect.ts';
import { serveInspection } from './inspect-server.ts';
import { missingKernels, prefillUrza } from './urza-prefill.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { report, REPORT_USAGE } from './report/index.ts';
import { RunRecord, startRecord } from './run-record/index.ts';
import { endRunRecord } from './run-ending.ts';
import { RunLog } from './run-log.ts';
import { setLogSink } from '../runtime/log.ts';

const USAGE = `usage: esper <command>

commands:
  run [config.ts] [--resume <run-id|dir> | --run-dir <dir>] [--policy <file|heuristic|random>] [--bus redis://host:port] [--nissa-port <port>] [--rng-seed <n>] [--replicas <n>] [--quiet | --json] [--verbose]
                    boot the supervision tree and train (config: the given file, else
                    ./esper.config.ts, else the built-in defaults: MNIST, 3 epochs); ends
                    when the run ends, or on SIGINT/SIGTERM. --resume continues a run from its
                    newest good checkpoint (var/runs/<run-id>, or the run's folder); --run-dir puts a new run's
                    checkpoints in <dir> (empty or new; its name is the run id); --rng-seed sets
                    the run's random seed (weights, shuffles, validation split); --replicas shares each
                    batch among n threads (default: the cores for a CNN host, 1 for an MLP); --policy chooses who decides
                    (a policy file esper learn saved, run greedily; heuristic; random); --bus puts Oona's streams in
                    Redis (the secret must then come from ESPER_LEYLINE_SECRET); --nissa-port moves
                    Nissa's HTTP (0: off); --quiet prints only the outcome, --json one JSON object
                    per epoch and one at the end; the run's record, report and log are written to its
                    folder (run.jsonl, report.html, esper.log: a JSON line per log entry); the
                    terminal shows progress on stdout, warnings and errors on stderr; --verbose
                    adds every log entry (stderr) and the actor tree; Ctrl-C stops gracefully and
                    exits 130
${LEARN_USAGE}${INSPECT_USAGE}${REPORT_USAGE}${SERVE_USAGE}${DRILLS_USAGE}${FORGE_USAGE}${SIMIC_USAGE}  help              this text
`;

interface RunArgs {
  file: string | undefined;
  resume: string | undefined;
  bus: string | undefined;
  nissaPort: number | undefined;
  runDir: string | undefined;
  rngSeed: number | undefined;
  replicas: number | undefined;
  policy: string | undefined;
  mode: OutputMode;
  verbose: boolean;
}

function parseRunArgs(args: readonly string[]): RunArgs {
  let file: string | undefined;
  let resume: string | undefined;
  let bus: string | undefined;
  let nissaPort: number | undefined;
  let runDir: string | undefined;
  let rngSeed: number | undefined;
  let replicas: number | undefined;
  let policy: string | undefined;
  let mode: OutputMode = 'human';
  let verbose = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--quiet' || arg === '--json') {
      if (mode !== 'human') throw new UsageError('esper run: --quiet and --json exclude each other');
      mode = arg === '--quiet' ? 'quiet' : 'json';
    } else if (arg === '--verbose') {
      verbose = true;
    } else if (arg === '--nissa-port') {
      nissaPort = Number(args[++i]);
      if (!Number.isInteger(nissaPort) || nissaPort < 0 || nissaPort > 65_535)
        throw new UsageError(`--nissa-port needs a port in 0..65535 (0: no HTTP), got ${JSON.stringify(args[i])}`);
    } else if (arg === '--rng-seed') {
      rngSeed = Number(args[++i]);
      if (!Number.isInteger(rngSeed) || rngSeed < 0)
        throw new UsageError(`--rng-seed needs an integer ≥ 0, got ${JSON.stringify(args[i])}`);
    } else if (arg === '--replicas') {
      replicas = Number(args[++i]);
      if (!Number.isInteger(replicas) || replicas < 1)
        throw new UsageError(`--replicas needs an integer ≥ 1, got ${JSON.stringify(args[i])}`);
    } else if (arg === '--seed') {
      throw renamedSeedFlag('esper run', arg, '--rng-seed');
    } else if (arg === '--policy') {
      policy = args[++i];
      if (policy === undefined || policy === '')
        throw new UsageError('--policy needs a policy file, heuristic or random');
    } else if (arg === '--run-dir') {
      runDir = args[++i];
      if (runDir === undefined) throw new UsageError('--run-dir needs a folder');
    } else if (arg === '--resume') {
      resume = args[++i];
      if (resume === undefined) throw new UsageError('--resume needs a run id or a run folder');
    } else if (arg === '--bus') {
      bus = args[++i];
      if (bus === undefined) throw new UsageError('--bus needs a URL (redis://host:port)');
    } else if (arg.startsWith('--')) throw new UsageError(`esper run: unknown option ${arg}`);
    else if (file === undefined) file = arg;
    else throw new UsageError(`esper run: one configuration file, got ${file} and ${arg}`);
  }
  if (verbose && mode === 'quiet') throw new UsageError('esper run: --quiet and --verbose exclude each other');
  return { file, resume, bus, nissaPort, runDir, rngSeed, replicas, policy, mode, verbose };
}

async function run(args: readonly string[]): Promise<number> {
  const parsed = parseRunArgs(args);
  const log = new RunLog(parsed.verbose);
  const previousSink = setLogSink(log.write);
  try {
    return await runTree(parsed, log);
  } finally {
    setLogSink(previousSink);
    log.close();
  }
}

async function runTree(
  { file, resume, bus, nissaPort, runDir, rngSeed, replicas, policy, mode, verbose }: RunArgs,
  log: RunLog,
): Promise<number> {
  // A run named by its folder exists from the start: killed at any moment after this, `--resume <dir>` continues it
  // (from its newest checkpoint, or from the beginning when it has none yet).
  if (runDir !== undefined && resume === undefined && !existsSync(resolvePath(runDir)))
    mkdirSync(resolvePath(runDir), { recursive: true });
  const out = new RunOutput(mode, verbose);
  const stop = listenForStop();
  const resolved = await resolveConfig(file);
  const { source } = resolved;
  let config = bus
    ? {
        ...resolved.config,
        run: { ...resolved.config.run, multiProcess: true },
        oona: { ...resolved.config.oona, url: bus },
      }
    : resolved.config;
  if (nissaPort !== undefined) config = { ...config, nissa: { ...config.nissa, port: nissaPort } };
  // The random seed of weights, shuffles and the validation split (the rest of a run follows from them).
  if (rngSeed !== undefined) config = { ...config, tolaria: { ...(config.tolaria as object), rngSeed } };
  if (replicas !== undefined) {
    const tolaria = (config.tolaria ?? {}) as { parallel?: object };
    config = { ...config, tolaria: { ...tolaria, parallel: { ...tolaria.parallel, replicas } } };
  }
  // A policy file's path is taken as given on the command line (relative to where esper runs).
  if (policy !== undefined)
    config = {
      ...config,
      tamiyo: {
        ...config.tamiyo,
        policy: ['shipped', 'heuristic', 'random', 'promoted'].includes(policy) ? policy : resolvePath(policy),
      },
    };
  out.info(`esper: configuration from ${source}`);
  // The kernels the run's seeds may need that Urza lacks: looked up before boot, forged by the tree's forge after it.
  const missing = missingKernels(config, setUpKarn(config.karn ?? {}, 'karn').catalog);
  let reportFinished!: (result: RunResult) => void;
  const finished = new Promise<RunResult>((resolveFinished) => {
    reportFinished = resolveFinished;
  });
  const record = new RunRecord();
  let forged!: () => void;
  const startAfter = new Promise<void>((resolveForged) => {
    forged = resolveForged;
  });
  const weatherlight = await startWeatherlight(config, {
    run: { ...(resume !== undefined ? { resume } : {}), ...(runDir !== undefined ? { dir: runDir } : {}) },
    training: {
      epoch: (summary) => {
        record.epoch(summary);
        out.epoch(summary);
      },
      finished: reportFinished,
      startAfter,
    },
    alerts: (event) => record.alert(event),
  });
  if (weatherlight.run) log.open(weatherlight.run.dir);
  // Progress goes to stderr when stdout is reserved for the outcome (--quiet) or JSON lines (--json).
  try {
    await prefillUrza(weatherlight, config, missing, mode === 'human' ? process.stdout : process.stderr, (line) =>
      mode === 'human' ? out.info(line) : process.stderr.write(`${line}\n`),
    );
  } finally {
    forged();
  }
  const inspection = await serveInspection(weatherlight, config.weatherlight.tree);
  out.ready(weatherlight.system.tree());
  if (weatherlight.run) {
    out.info(
      `esper: ${weatherlight.run.resumed ? 'resuming' : 'training'} run ${weatherlight.run.id} (${weatherlight.run.dir})`,
    );
    record.open(weatherlight.run.dir, startRecord(config, weatherlight.run));
  }

  const outcome = await Promise.race([
    // Ctrl-C ends with 130 (128 + SIGINT), as a shell expects of an interrupted command; SIGTERM is a clean stop.
    stop.signalled.then((signal) => ({ code: signal === 'SIGINT' ? 130 : 0, why: `received ${signal}`, result: null })),
    weatherlight.gaveUp.then((reason) => ({ code: 1, why: `the root supervisor gave up: ${reason}`, result: null })),
    finished.then((result) => ({ code: result.status === 'completed' ? 0 : 3, why: formatResult(result), result })),
  ]);
  out.info(`esper: ${outcome.why}, shutting down`);
  await inspection?.close();
  const shutdown = await weatherlight.shutdown();
  stop.release();
  const forced = shutdown.forced.length > 0 ? `; forced: ${shutdown.forced.join(', ')}` : '';
  out.info(`esper: shutdown complete in ${shutdown.elapsedMs} ms${forced}`);
  out.outcome(
    outcome.code,
    outcome.why,
    outcome.result,
    weatherlight.run ? endRunRecord(record, config, weatherlight.run, outcome) : { summary: null, report: null },
  );
  // The run failed: the error goes to stderr in every output mode (stdout may be a pipe of JSON lines or nothing).
  if (outcome.code === 1) process.stderr.write(`esper: error: ${outcome.why}\n`);
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
    case 'learn':
      return learn(rest);
    case 'serve':
      return serve(rest);
    case 'drills':
      return drills(rest);
    case 'inspect':
      return inspect(rest);
    case 'report':
      return report(rest);
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
