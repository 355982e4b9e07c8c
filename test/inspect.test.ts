// `esper inspect` driven for real: a spirals `esper run` in a temporary folder serves its tree on
// <run dir>/inspect.sock; the tests talk to it with `esper inspect --exec` (spawned), the interactive REPL (spawned
// with piped stdin, and in process on a terminal for Tab completion) and the client module. Plus the socket itself:
// a stale one left by a killed run is replaced, a live one is not taken over.
import test from 'ava';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { InspectClient } from '../cli/inspect-client.ts';
import { InspectRunner } from '../cli/inspect-runner.ts';
import { answers, startInspectServer, type InspectServer } from '../cli/inspect-server.ts';
import { repl } from '../cli/inspect.ts';
import { inspectorLogic } from '../actors/weatherlight/inspector.ts';
import { EventLog, eventually } from './helpers/events.ts';
import { testSystem } from './helpers/actors.ts';
import { ESPER_BIN as bin, esper as spawnEsper, esperEnv as env } from './helpers/esper-cli.ts';

const esper = (args: string[], cwd: string, input = ''): ReturnType<typeof spawnEsper> =>
  spawnEsper(args, cwd, { input });

const defaults = fileURLToPath(new URL('../esper.config.ts', import.meta.url));
const TRAINER = '/weatherlight/tolaria/trainer';

/** A spirals run long enough to outlast the tests (they end it), whose seeds stay in TRAINING once germinated. */
interface LiveRun {
  cwd: string;
  dir: string;
  id: string;
  socket: string;
  lines: EventLog<string>;
  child: ChildProcessWithoutNullStreams;
  exit: Promise<number | null>;
}

let live: LiveRun;
let client: InspectClient;

const epochs = (): number => live.lines.count((line) => /^epoch \d+\//.test(line));

async function command(line: string): Promise<string> {
  const answer = await client.run(line);
  if (!answer.ok) throw new Error(`${line}: ${answer.error}`);
  return answer.text;
}

async function failure(line: string): Promise<string> {
  const answer = await client.run(line);
  return answer.ok ? `unexpectedly ok: ${answer.text}` : answer.error;
}

const globalStep = async (): Promise<number> =>
  Number(/global_step +(\d+)/.exec(await command(`actor ${TRAINER}`))?.[1]);

test.before(async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'esper-inspect-'));
  writeFileSync(join(cwd, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    join(cwd, 'long.config.ts'),
    `import defaults from ${JSON.stringify(defaults)};\n` +
      `export default { ...defaults, tolaria: { experiment: 'spirals', dataset: { kind: 'spirals' }, optimizer: { kind: 'adam', learningRate: 0.01 }, epochs: 100000, control: { hookBudgetMs: 10000 } }, kasmina: { timings: { trainingSteps: 1000000 } }, tamiyo: { ...defaults.tamiyo, policy: 'heuristic' } };\n`,
  );
  const child = spawn(process.execPath, [bin, 'run', 'long.config.ts', '--nissa-port', '0'], { cwd, env: env() });
  const lines = new EventLog<string>();
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) lines.push(line);
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  void exit.then(() => lines.push(`(exited) ${stderr}`));
  const started = await lines.waitFor((line) => line.startsWith('esper: training run') || line.startsWith('(exited)'), {
    timeoutMs: 50_000,
  });
  const match = /^esper: training run (\S+) \((.+)\)$/.exec(started);
  if (!match) throw new Error(`esper run did not start: ${started}`);
  const dir = match[2]!;
  live = { cwd, dir, id: match[1]!, socket: join(dir, 'inspect.sock'), lines, child, exit };
  client = await InspectClient.connect(live.socket);
});

test.after.always(() => {
  client?.close();
  if (live && live.child.exitCode === null) live.child.kill('SIGKILL');
});

test.serial(
  'esper inspect --exec prints the live tree of the newest run, or of the one named, and exits 0',
  async (t) => {
    t.true(existsSync(live.socket), 'the socket is in the run directory once the run reports ready');
    const newest = await esper(['inspect', '--exec', 'tree'], live.cwd);
    t.is(newest.code, 0, newest.stderr);
    t.regex(newest.stdout, /^weatherlight \[one_for_one\]\s+running\s+restarts=0\s+mailbox=\d+$/m);
    t.regex(newest.stdout, /^ {4}trainer +running +restarts=0 +mailbox=\d+$/m);
    const named = await esper(['inspect', live.id, '--exec', 'actor /weatherlight/tolaria'], live.cwd);
    t.is(named.code, 0, named.stderr);
    t.regex(named.stdout, /^\/weatherlight\/tolaria {2}running\n {2}restarts 0 {2}mailbox \d+\/10000/);
    t.regex(named.stdout, /children \/weatherlight\/tolaria\/trainer/);
  },
);

test.serial('a bad command, or no run to attach to, is a one-line error and exit 1', async (t) => {
  const bad = await esper(['inspect', '--exec', 'frobnicate'], live.cwd);
  t.is(bad.code, 1);
  t.is(bad.stdout, '');
  t.regex(
    bad.stderr,
    /^esper inspect: unknown command "frobnicate"; commands: tree, actor, seeds, alerts, tail, send, restart, stop, pause, resume, help\n$/,
  );
  const usage = await esper(['inspect', '--exec', 'actor'], live.cwd);
  t.is(usage.code, 1);
  t.is(usage.stderr, 'esper inspect: usage: actor <path>\n');
  const elsewhere = mkdtempSync(join(tmpdir(), 'esper-inspect-none-'));
  const none = await esper(['inspect', '--exec', 'tree'], elsewhere);
  t.is(none.code, 1);
  t.regex(none.stderr, /^esper: no running esper run under .*var\/runs \(none has a live inspect\.sock\)/);
  const unknown = await esper(['inspect', 'no-such-run', '--exec', 'tree'], live.cwd);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /no live run at "no-such-run"/);
});

test.serial('actor shows the state summary: status, mailbox, the logic facts and its last messages', async (t) => {
  const text = await command(`actor ${TRAINER}`);
  t.regex(
    text,
    /^\/weatherlight\/tolaria\/trainer {2}running\n {2}restarts 0 {2}mailbox \d+\/10000 {2}handled \d+ {2}up [\d.]+ s\n/,
  );
  t.regex(text, /^ {4}status +training$/m);
  t.regex(text, /^ {4}global_step +\d+$/m);
  t.regex(
    text,
    /last messages, newest first\n {4}\d\d:\d\d:\d\d\.\d{3} {2}TimerFired/,
    'the trainer drives itself with its slice timer',
  );
  t.regex(await failure('actor /weatherlight/nope'), /no live actor at "\/weatherlight\/nope"/);
});

test.serial('seeds lists the germinated seed: id, slot, blueprint, stage, α, age', async (t) => {
  const decided = await live.lines.waitFor((line) => / germinate \S+ at \S+ as \S+/.test(line), { timeoutMs: 50_000 });
  const [, blueprint, slot, id] = / germinate (\S+) at (\S+) as (\S+)/.exec(decided)!;
  const text = await command('seeds');
  const [header, ...rows] = text.split('\n');
  t.regex(header!, /^id +slot +blueprint +stage +α +age$/);
  const row = rows.find((r) => r.startsWith(`${id} `));
  t.truthy(row, text);
  t.regex(row!, new RegExp(`^${id} +${slot!.replace('.', '\\.')} +${blueprint} +[A-Z_]+ +\\d\\.\\d{4} +\\d+$`));
});

test.serial(
  'send delivers a valid message and refuses bad ones; tail telemetry --source filters; alerts shows what fired',
  async (t) => {
    t.is(
      await command(
        'send /weatherlight/telemetry TelemetryPacket {"sourceSubsystem": "inspect-test", "metrics": [{"name": "inspect.check", "value": 7}]}',
      ),
      'sent TelemetryPacket to /weatherlight/telemetry; handled',
    );
    const mine = await command('tail telemetry --source inspect-test');
    t.is(mine, '--:--:--.---  inspect-test  unspecified  inspect.check=7', 'one packet, without a timestamp');
    await live.lines.waitFor((line) => /^epoch \d+\//.test(line));
    const tolaria = (await command('tail telemetry --source tolaria --limit 3')).split('\n');
    t.true(tolaria.length >= 1 && tolaria.length <= 3);
    t.true(
      tolaria.every((line) => / {2}tolaria {2}/.test(line)),
      tolaria.join('\n'),
    );
    t.true((await command('tail telemetry --limit 500')).includes('inspect-test'), 'unfiltered: every source');

    t.regex(await failure('send /weatherlight/telemetry NoSuchType {}'), /^unknown Leyline message type "NoSuchType"$/);
    t.regex(await failure('send /weatherlight/telemetry TelemetryPacket {"sourceSubsystem": '), /^invalid JSON: /);
    t.regex(
      await failure('send /weatherlight/nowhere TelemetryPacket {}'),
      /^no live actor at \/weatherlight\/nowhere/,
    );
    t.regex(
      await failure('send /weatherlight/telemetry TelemetryPacket {"colour": 1}'),
      /TelemetryPacket has no field "colour"/,
    );
    t.regex(
      await failure('send /weatherlight/karn/catalog TelemetryPacket {}'),
      /^refused payload for \/weatherlight\/karn\/catalog: it does not accept esper\.leyline\.v1\.TelemetryPacket \(accepts esper\.leyline\.v1\.BlueprintQuery/,
    );

    // A compile retry count over 1 fires tezzeret_compile_retry_high (routed to the inspector) for this source.
    await command(
      'send /weatherlight/nissa/ingest TelemetryPacket {"sourceSubsystem": "inspect-drill", "metrics": [{"name": "tezzeret.compile.retry_count", "value": 5}]}',
    );
    const alerts = await command('alerts');
    // Columns are padded to the widest row, which depends on what else fired: match the fields, not the widths.
    t.regex(
      alerts,
      /^firing now:\n(.*\n)* {2}tezzeret_compile_retry_high +source inspect-drill +tezzeret\.compile\.retry_count = 5 \(threshold 1\) +since /,
    );
    t.regex(
      alerts,
      /latest events, oldest first:\n(.*\n)* {2}\S+ {2}fired +tezzeret_compile_retry_high +source inspect-drill/,
    );
  },
);

test.serial(
  "send prints the actor's answer: a command Kasmina applies exits 0, one it rejects prints the reason and exits 1",
  async (t) => {
    const kasmina = '/weatherlight/kasmina/manager';
    const accepted = await esper(
      [
        'inspect',
        '--exec',
        `send ${kasmina} AdaptationCommand {"commandId": "inspect-hold", "annotations": {"mode": "no_decision"}}`,
      ],
      live.cwd,
    );
    t.is(accepted.code, 0, accepted.stderr);
    t.regex(
      accepted.stdout,
      new RegExp(
        `^sent AdaptationCommand to ${kasmina}; answered AdaptationReceipt \\{"commandId":"inspect-hold","applied":true,"reason":"no_decision: nothing to do"`,
      ),
    );
    const rejected = await esper(
      [
        'inspect',
        '--exec',
        `send ${kasmina} AdaptationCommand {"commandId": "inspect-unsigned", "commandType": "COMMAND_SEED", "targetSeedId": "s1", "seedOperation": {"operation": "SEED_OP_GERMINATE"}}`,
      ],
      live.cwd,
    );
    t.is(rejected.code, 1, rejected.stdout);
    t.is(rejected.stdout, '');
    t.regex(
      rejected.stderr,
      new RegExp(
        `^esper inspect: ${kasmina} refused AdaptationCommand: missing_signature \\(answered AdaptationReceipt \\{"commandId":"inspect-unsigned","reason":"missing_signature"`,
      ),
    );
  },
);

test.serial('restart of a worker: its restart count goes up', async (t) => {
  t.regex(await command('actor /weatherlight/karn/catalog'), /restarts 0 /);
  t.is(await command('restart /weatherlight/karn/catalog'), 'restarted /weatherlight/karn/catalog (restarts 1)');
  t.regex(await command('tree'), /^ {4}catalog +running +restarts=1 +mailbox=\d+$/m);
  t.regex(await failure('restart /weatherlight/inspector'), /contains the inspector itself/);
});

test.serial('pause stops the training (the step and epoch stand still), resume lets it go on', async (t) => {
  t.regex(
    await command('pause'),
    /^paused \/weatherlight\/tolaria\/trainer: its messages wait \(\d+ queued\) until resume$/,
  );
  const stepAtPause = await globalStep();
  const epochsAtPause = epochs();
  // A second look from a process of its own: a second or so later, time in which an unpaused trainer takes steps.
  const later = await esper(['inspect', live.dir, '--exec', `actor ${TRAINER}`], live.cwd);
  t.is(later.code, 0, later.stderr);
  t.regex(later.stdout, /^\/weatherlight\/tolaria\/trainer {2}running, paused\n/);
  t.is(Number(/global_step +(\d+)/.exec(later.stdout)?.[1]), stepAtPause);
  t.is(epochs(), epochsAtPause, 'no epoch ended while paused');
  t.regex(await command('tree'), /^ {4}trainer +running paused +restarts=0/m);

  t.is(await command('resume'), `resumed ${TRAINER}`);
  await eventually(async () => (await globalStep()) > stepAtPause, 'the trainer to take steps again');
  await live.lines.waitFor((line) => /^epoch \d+\//.test(line), { from: live.lines.seen.length, timeoutMs: 30_000 });
  t.notRegex(await command('tree'), /trainer +running paused/);
});

test.serial('completion over the socket: command names, live actor paths, Leyline types', async (t) => {
  t.deepEqual(await client.complete('actor /weatherlight/tolaria/tr'), [
    ['/weatherlight/tolaria/trainer'],
    '/weatherlight/tolaria/tr',
  ]);
  t.deepEqual(await client.complete('send /weatherlight/telemetry TelemetryPa'), [['TelemetryPacket'], 'TelemetryPa']);
  t.deepEqual(await client.complete('ta'), [['tail'], 'ta']);
});

test.serial(
  'the REPL on a terminal: Tab completes a path through the socket, the line runs, exit leaves',
  async (t) => {
    const session = await InspectClient.connect(live.socket);
    const input = new PassThrough();
    const output = new PassThrough();
    const written = new EventLog<string>();
    let text = '';
    output.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      written.push(text);
    });
    const done = repl(session, input, output, true);
    input.write('actor /weatherlight/tolaria/tr\t');
    await written.waitFor((all) => all.includes('ainer'));
    input.write('\r');
    await written.waitFor((all) => /global_step +\d+/.test(all));
    t.regex(text, /\/weatherlight\/tolaria\/trainer {2}running/);
    input.write('exit\r');
    t.is(await done, 0);
  },
);

test.serial('the REPL with piped input: answers in order, errors inline, exits 0 at exit', async (t) => {
  const session = await esper(
    ['inspect', live.dir],
    live.cwd,
    'help tree\nbogus\n\nactor /weatherlight/health\nexit\ntree\n',
  );
  t.is(session.code, 0, session.stderr);
  const blocks = session.stdout.split('esper> ');
  t.is(blocks[0], 'esper inspect: attached (help lists the commands, exit leaves)\n');
  t.is(blocks[1], 'tree\n  the live supervision tree: status, restarts, mailbox depth\n');
  t.regex(blocks[2]!, /^error: unknown command "bogus"/);
  t.regex(blocks[4]!, /^\/weatherlight\/health {2}running\n/);
  t.is(blocks.length, 6, 'nothing after exit');
});

test.serial('the run stops cleanly (SIGTERM) and takes its socket with it', async (t) => {
  live.child.kill('SIGTERM');
  t.is(await live.exit, 0);
  t.false(existsSync(live.socket));
  t.false(await answers(live.socket));
});

test('a stale socket left by a killed process is replaced; a live one is not taken over', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'esper-inspect-sock-'));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'inspect.sock');
  // A process that listens on the path and is killed: its socket file stays, and nothing answers on it.
  const killed = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  await new Promise((resolve) => killed.on('close', resolve));
  t.true(existsSync(path));
  t.false(await answers(path));

  const system = testSystem();
  const inspector = system.spawn(null, inspectorLogic(system, null, null), { name: 'inspector' });
  const runner = new InspectRunner({ system, inspector, trainer: null, seedManager: null });
  let server: InspectServer | null = null;
  try {
    server = await startInspectServer(path, runner);
    const session = await InspectClient.connect(path);
    t.deepEqual(await session.run('tree'), { ok: true, text: 'inspector  running  restarts=0  mailbox=0' });
    t.deepEqual(await session.run('pause'), { ok: false, error: 'pause needs a path: this tree has no trainer' });
    t.deepEqual(await session.run('seeds'), { ok: false, error: 'this tree has no seed manager (kasmina-manager)' });
    t.deepEqual(await session.run('alerts'), {
      ok: false,
      error: 'this tree has no Nissa (nissa-ingest), which keeps the alerts',
    });
    await t.throwsAsync(startInspectServer(path, runner), { message: /another process is serving .*inspect\.sock/ });
    session.close();
  } finally {
    await server?.close();
    await system.shutdown();
  }
  t.false(existsSync(path));
});
