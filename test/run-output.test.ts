// `esper run`'s terminal and log file, without a run: RunLog routes log entries (every one to the run's esper.log,
// warnings and errors to the terminal, all of them under --verbose; held until the run has a folder), and RunOutput
// says the tree in one line unless --verbose.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leyline } from '../contracts/index.ts';
import { RunLog, RUN_LOG_FILE } from '../cli/run-log.ts';
import { RunOutput } from '../cli/run-output.ts';
import type { LogEntry, LogLevel } from '../runtime/log.ts';

const entry = (level: LogLevel, message: string, fields?: Record<string, unknown>): LogEntry => ({
  time: '2026-01-02T03:04:05.678Z',
  level,
  scope: 'test',
  message,
  ...(fields ? { fields } : {}),
});

function withDir(run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'esper-run-log-'));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fileEntries = (dir: string): LogEntry[] =>
  readFileSync(join(dir, RUN_LOG_FILE), 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as LogEntry);

test('RunLog: every entry to the file, in order, those logged before the folder was known first; only warnings and errors on the terminal', (t) => {
  withDir((dir) => {
    const terminal: string[] = [];
    const log = new RunLog(false, (line) => terminal.push(line));
    log.write(entry('info', 'booting', { backend: 'wasm' }));
    log.write(entry('warn', 'slow start'));
    t.deepEqual(terminal, ['2026-01-02T03:04:05.678Z WARN  test slow start'], 'the warning at once, the info not');
    log.open(dir);
    log.write(entry('info', 'checkpoint saved'));
    log.write(entry('error', 'store failed', { file: 'x.db' }));
    log.close();
    t.deepEqual(
      fileEntries(dir).map((e) => [e.level, e.message]),
      [
        ['info', 'booting'],
        ['warn', 'slow start'],
        ['info', 'checkpoint saved'],
        ['error', 'store failed'],
      ],
    );
    t.deepEqual(fileEntries(dir)[0]?.fields, { backend: 'wasm' });
    t.deepEqual(terminal, [
      '2026-01-02T03:04:05.678Z WARN  test slow start',
      '2026-01-02T03:04:05.678Z ERROR test store failed {"file":"x.db"}',
    ]);
  });
});

test('RunLog: --verbose puts every entry on the terminal as well; a resumed run appends to its log', (t) => {
  withDir((dir) => {
    const first = new RunLog(false, () => undefined);
    first.open(dir);
    first.write(entry('info', 'first session'));
    first.close();
    const terminal: string[] = [];
    const second = new RunLog(true, (line) => terminal.push(line));
    second.open(dir);
    second.write(entry('info', 'second session'));
    second.close();
    t.deepEqual(terminal, ['2026-01-02T03:04:05.678Z INFO  test second session']);
    t.deepEqual(
      fileEntries(dir).map((e) => e.message),
      ['first session', 'second session'],
    );
  });
});

test('RunLog: entries held for a folder that never came (boot failed) go to the terminal when it closes, once', (t) => {
  const terminal: string[] = [];
  const log = new RunLog(false, (line) => terminal.push(line));
  log.write(entry('info', 'configuration'));
  log.write(entry('warn', 'port taken'));
  log.close();
  t.deepEqual(
    terminal.map((line) => line.replace(/^\S+ /, '')),
    ['WARN  test port taken', 'INFO  test configuration'],
  );
});

const tree = [
  leyline.WorkerState.create({
    path: '/weatherlight',
    name: 'weatherlight',
    status: leyline.ActorStatus.ACTOR_STATUS_RUNNING,
  }),
  leyline.WorkerState.create({
    path: '/weatherlight/tolaria',
    name: 'tolaria',
    status: leyline.ActorStatus.ACTOR_STATUS_RUNNING,
  }),
  leyline.WorkerState.create({
    path: '/weatherlight/tolaria/trainer',
    name: 'trainer',
    status: leyline.ActorStatus.ACTOR_STATUS_RUNNING,
  }),
];

test('RunOutput.ready: the tree as one line by default, the whole tree under --verbose, nothing with --quiet or --json', (t) => {
  const printed = (mode: 'human' | 'quiet' | 'json', verbose: boolean): string => {
    let text = '';
    new RunOutput(mode, verbose, (chunk) => (text += chunk)).ready(tree);
    return text;
  };
  t.is(printed('human', false), 'esper: ready, 3 actors running, tree: esper inspect (Ctrl-C to stop)\n');
  const verbose = printed('human', true);
  t.regex(verbose, /^weatherlight +running/m);
  t.regex(verbose, /^ {4}trainer +running/m);
  t.regex(verbose, /^esper: ready, 3 actors running \(Ctrl-C to stop\)\n$/m);
  t.is(printed('quiet', false), '');
  t.is(printed('json', true), '');
});
