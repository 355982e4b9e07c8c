// What `esper run` puts where, end to end on the quick experiment (heuristic, no Nissa port): stdout holds the set-up
// and progress lines and the summary, stderr only warnings and errors, and the run's `esper.log` every log entry as a
// JSON line; `--verbose` brings the log entries back to stderr and prints the whole actor tree.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { esper, freshDir } from './helpers/esper-cli.ts';

const QUICK = fileURLToPath(new URL('../experiments/quick.ts', import.meta.url));
/** A log line on a terminal: `2026-01-02T03:04:05.678Z INFO  scope message`. */
const LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARN|ERROR) /;

const levels = (text: string): string[] => text.split('\n').flatMap((line) => LOG_LINE.exec(line)?.[1] ?? []);

interface LogRecord {
  time: string;
  level: string;
  scope: string;
  message: string;
  fields?: Record<string, unknown>;
}

function runLog(dir: string): LogRecord[] {
  const file = join(dir, 'esper.log');
  if (!existsSync(file)) throw new Error(`no ${file}`);
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as LogRecord);
}

const runDirOf = (stdout: string): string => {
  const dir = /^esper: training run \S+ \((.+)\)$/m.exec(stdout)?.[1];
  if (!dir) throw new Error(`no run line in:\n${stdout}`);
  return dir;
};

test('esper run: progress and summary on stdout, no INFO on stderr, every log entry in <run-dir>/esper.log; --verbose shows them and the tree', async (t) => {
  t.timeout(300_000, 'two quick runs (the first forges its kernel) on a loaded machine');
  const cwd = freshDir('esper-output-');
  const run = await esper(['run', QUICK], cwd, { logLevel: 'info' });
  t.is(run.code, 0, run.stderr);

  t.deepEqual(levels(run.stdout), [], 'no log line on stdout');
  const epochs = [...run.stdout.matchAll(/^epoch (\d+)\/16 {2}loss [\d.]+ /gm)].map((m) => Number(m[1]));
  t.deepEqual(
    epochs,
    Array.from({ length: 16 }, (_, i) => i + 1),
    'a progress line per epoch',
  );
  t.regex(run.stdout, /^esper: summary\n {2}test accuracy {2}[\d.]+%\n/m);
  t.regex(run.stdout, /^esper: ready, \d+ actors running, tree: esper inspect /m, 'the tree as one line');
  t.notRegex(run.stdout, /^ {4}trainer +running/m);
  t.false(levels(run.stderr).includes('INFO'), run.stderr);

  const dir = runDirOf(run.stdout);
  const log = runLog(dir);
  for (const entry of log) {
    t.true(['debug', 'info', 'warn', 'error'].includes(entry.level), JSON.stringify(entry));
    t.false(Number.isNaN(Date.parse(entry.time)), entry.time);
    t.is(typeof entry.message, 'string');
  }
  const id = /^esper: training run (\S+) /m.exec(run.stdout)?.[1];
  t.truthy(
    log.find((e) => e.level === 'info' && e.message === 'training' && e.fields?.run_id === id),
    "the trainer's start, with this run's id",
  );
  t.true(
    log.some((e) => e.level === 'info' && e.scope === 'tolaria.checkpoint' && e.message === 'checkpoint saved'),
    'the checkpoints, off the terminal',
  );
  t.true(
    log.some((e) => e.message.startsWith('ESPER_LEYLINE_SECRET is not set')),
    'entries logged before the run had a folder are in it too',
  );

  const verbose = await esper(['run', QUICK, '--verbose'], cwd, { logLevel: 'info' });
  t.is(verbose.code, 0, verbose.stderr);
  t.deepEqual(levels(verbose.stdout), [], 'no log line on stdout');
  t.true(levels(verbose.stderr).includes('INFO'), verbose.stderr);
  t.regex(verbose.stderr, / INFO {2}tolaria\.checkpoint checkpoint saved /);
  t.regex(verbose.stdout, /^weatherlight \[one_for_one\] +running/m);
  t.regex(verbose.stdout, /^ {4}trainer +running/m, 'the whole tree');
  t.true(
    runLog(runDirOf(verbose.stdout)).some((e) => e.message === 'checkpoint saved'),
    'the log file is written with --verbose too',
  );

  const refused = await esper(['run', QUICK, '--quiet', '--verbose'], cwd);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /--quiet and --verbose exclude each other/);
});

test('esper run --replicas 2: the quick experiment grows on two replicas — the worker joins, seeds graft, the run completes', async (t) => {
  t.timeout(300_000, 'a quick run on a loaded machine');
  const cwd = freshDir('esper-replicas-');
  const run = await esper(['run', QUICK, '--replicas', '2'], cwd, { logLevel: 'info' });
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /^ {2}seeds +[1-9]\d* germinated/m, 'seeds were grafted');
  const log = runLog(runDirOf(run.stdout));
  t.like(log.find((entry) => entry.message === 'training')?.fields, { replicas: 2 });
  t.true(
    log.some((entry) => entry.message === 'training replica started'),
    'the worker replica joined the run',
  );
  t.false(log.some((entry) => /training replica (failed|abandoned)/.test(entry.message)));
});
