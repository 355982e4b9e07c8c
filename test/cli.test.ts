// `esper run` end to end: boots the tree on the built-in defaults with no set-up, reports it, and shuts down
// cleanly on SIGTERM and SIGINT; bad input gets a clear error and a non-zero exit.
import test from 'ava';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leyline } from '../contracts/index.ts';
import { esper as spawnEsper, freshDir, quickConfig, type EsperRun } from './helpers/esper-cli.ts';

/** `esper args` in `cwd` at log level info (some tests read its log lines); `signal` is sent once it is ready. */
const esper = (args: string[], cwd: string, signal?: NodeJS.Signals): Promise<EsperRun> =>
  spawnEsper(args, cwd, { logLevel: 'info', ...(signal ? { signal } : {}) });

test('esper run boots the default tree with no set-up and stops cleanly on SIGTERM; --verbose prints the tree', async (t) => {
  const cwd = freshDir();
  const run = await esper(['run', '--verbose'], cwd, 'SIGTERM');
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /configuration from built-in defaults/);
  t.regex(run.stdout, /^weatherlight \[one_for_one\]\s+running/m);
  t.regex(run.stdout, /^ {2}kasmina \[one_for_one\]\s+running/m);
  t.regex(run.stdout, /esper: ready, 21 actors running/);
  t.notRegex(run.stdout, /^ {2}simic \[/m, 'the default experiment learns no policy during the run');
  t.regex(run.stdout, /^ {4}trainer\s+running/m);
  t.regex(run.stdout, /esper: training run mnist-mlp-\d{8}-\d{6} \(/);
  t.regex(
    run.stdout,
    /esper: received SIGTERM, shutting down\nesper: shutdown complete in \d+ ms\nesper: summary\n[\s\S]*\nesper: report written to \S+\/report\.html\n$/,
  );
  t.regex(run.stderr, /generated a signing secret in var\/leyline\.secret \(mode 0600\)/);
  t.is(statSync(join(cwd, 'var', 'leyline.secret')).mode & 0o777, 0o600);
});

test('esper run stops cleanly on SIGINT too, and exits 130 as an interrupted command does', async (t) => {
  const run = await esper(['run'], freshDir(), 'SIGINT');
  t.is(run.code, 130, run.stderr);
  t.regex(run.stdout, /received SIGINT[\s\S]*shutdown complete/);
  t.regex(
    run.stdout,
    /^esper: ready, \d+ actors running, tree: esper inspect /m,
    'without --verbose the tree is one line',
  );
  t.notRegex(run.stdout, /^ {2}kasmina \[/m);
});

test('a broken config file is refused with the field named', async (t) => {
  const cwd = freshDir();
  writeFileSync(join(cwd, 'package.json'), '{ "type": "module" }\n');
  const file = join(cwd, 'broken.config.ts');
  writeFileSync(file, 'export default { run: { name: "x", varDir: "var", multiProcess: "yes" } };\n');
  const run = await esper(['run', file], cwd);
  t.is(run.code, 1);
  t.regex(run.stderr, /esper: configuration: run\.multiProcess must be true or false/);
  const missing = await esper(['run', join(cwd, 'nope.ts')], cwd);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /nope\.ts: no such file/);
});

// Whether the first decision germinates depends on whether the policy's thread has started by then (a hold while it
// starts), so the progress lines are matched whatever the seeds column says.
test('esper run trains to the end with a line per epoch, and --resume continues the run from its checkpoint', async (t) => {
  const cwd = freshDir();
  const first = await esper(['run', quickConfig(cwd, 2)], cwd);
  t.is(first.code, 0, first.stderr);
  t.is(
    first.stdout.match(
      /^epoch \d\/2 {2}loss [\d.]+ {2}acc [\d.]+% {2}val_loss [\d.]+ {2}val_acc [\d.]+% {2}seeds \S+ {2}[\d,]+ samples\/s/gm,
    )?.length,
    2,
  );
  const id = /esper: training run (spirals-\d{8}-\d{6})/.exec(first.stdout)?.[1];
  t.truthy(id);
  t.regex(
    first.stdout,
    /esper: training complete: test accuracy \d+\.\d+% \(loss [\d.]+\) after 2 epochs in [\d.]+ s; run spirals-/,
  );
  t.regex(first.stdout, /shutdown complete/);

  const resumed = await esper(['run', quickConfig(cwd, 3), '--resume', id!], cwd);
  t.is(resumed.code, 0, resumed.stderr);
  t.regex(resumed.stdout, new RegExp(`esper: resuming run ${id}`));
  t.deepEqual(resumed.stdout.match(/^epoch \d\/3/gm), ['epoch 3/3'], 'only the epoch after the checkpoint is trained');
  t.regex(resumed.stdout, /after 3 epochs in [\d.]+ s \(resumed after epoch 2\)/);

  const unknown = await esper(['run', quickConfig(cwd, 3), '--resume', 'no-such-run'], cwd);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /--resume no run "no-such-run": neither a run id in .*var\/runs nor a run.s folder/);
});

test('esper simic train learns from a finished run; the next run sends the policy to Tamiyo, which shadows and promotes it', async (t) => {
  const cwd = freshDir();
  // A pipeline test: validation is loosened (the held-out tolerance too) so the policy is published whatever it
  // learned from 15 reports; what validation refuses is tested in simic-trainer.test.ts.
  const config = (epochs: number): string =>
    quickConfig(
      cwd,
      epochs,
      `tamiyo: { policy: 'heuristic', observationEpochs: 1, shadowDecisions: 1, inferenceTimeoutMs: 2000 }, simic: { validation: { minAverageReward: -10, minSamples: 8, tolerance: 10 } }`,
    );
  const first = await esper(['run', config(16)], cwd);
  t.is(first.code, 0, first.stderr);
  const id = /esper: training run (spirals-\d{8}-\d{6})/.exec(first.stdout)?.[1] ?? '';
  const learn = await esper(['simic', 'train', '--from', join('var', 'runs', id), config(16)], cwd);
  t.is(learn.code, 0, learn.stderr + learn.stdout);
  t.regex(learn.stdout, /16 field reports, 15 to learn from/);
  const version = /policy (simic-\S+) written to/.exec(learn.stdout)?.[1] ?? '';
  t.truthy(version, learn.stdout);
  const second = await esper(['run', config(3)], cwd);
  t.is(second.code, 0, second.stderr);
  t.true(existsSync(join(cwd, 'var', 'simic', 'updates', 'sent', `${version}.pb`)), 'Simic sent it at start');
  const promoted = leyline.PolicyUpdate.decode(readFileSync(join(cwd, 'var', 'tamiyo', 'policy.pb')));
  t.is(promoted.tamiyoPolicyVersion, version, 'Tamiyo shadowed it for one decision, then promoted it');
  const none = await esper(['simic', 'train', '--from', join('var', 'runs', 'no-such-run'), config(3)], cwd);
  t.is(none.code, 1);
  t.regex(none.stderr, /no completed field reports of run no-such-run/);
});

test('an unknown command prints the usage and exits 2', async (t) => {
  const run = await esper(['frobnicate'], freshDir());
  t.is(run.code, 2);
  t.regex(run.stderr, /unknown command "frobnicate"[\s\S]*usage: esper <command>/);
});

test('esper forge compiles into Urza with a progress line per kernel, and a second run compiles nothing', async (t) => {
  const cwd = freshDir();
  const first = await esper(['forge', '--only', 'BP001,BP021', '--slots', '32,4x4x8'], cwd);
  t.is(first.code, 0, first.stderr + first.stdout);
  t.regex(first.stdout, /2 blueprints × 2 slot shapes = 4 kernels/);
  t.is(first.stdout.match(/^\[#*-*\] \d\/4 /gm)?.length, 4, 'one progress line per kernel (not a terminal)');
  t.regex(first.stdout, /BP021@32 gated_feed_forward/);
  t.regex(first.stdout, /esper forge: 4 compiled, 0 already stored, 0 failed/);
  const second = await esper(['forge', '--only', 'BP001,BP021', '--slots', '32,4x4x8'], cwd);
  t.is(second.code, 0);
  t.regex(second.stdout, /esper forge: 0 compiled, 4 already stored, 0 failed/);
  const bad = await esper(['forge', '--only', 'BP999'], cwd);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--only: not in the catalog: BP999/);
});

test('esper run --json prints one JSON object per epoch and one at the end; --quiet prints only the outcome', async (t) => {
  const cwd = freshDir();
  const file = quickConfig(cwd, 3);
  const json = await esper(['run', file, '--json', '--nissa-port', '0'], cwd);
  t.is(json.code, 0, json.stderr);
  const events = json.stdout
    .trim()
    .split('\n')
    .map(
      (line) =>
        JSON.parse(line) as {
          event: string;
          epoch?: number;
          code?: number;
          result?: { status: string; epochs: number };
        },
    );
  t.deepEqual(
    events.map((e) => e.event),
    ['epoch', 'epoch', 'epoch', 'finished'],
    'nothing but JSON lines on stdout',
  );
  t.deepEqual(
    events.slice(0, 3).map((e) => e.epoch),
    [0, 1, 2],
  );
  t.like(events[3], { code: 0, result: { status: 'completed', epochs: 3 } });
  const quiet = await esper(['run', file, '--quiet', '--nissa-port', '0'], cwd);
  t.is(quiet.code, 0, quiet.stderr);
  t.regex(
    quiet.stdout,
    /^esper: training complete: test accuracy [\d.]+% \(loss [\d.]+\) after 3 epochs in [\d.]+ s; run spirals-\d{8}-\d{6}\n$/,
  );
  const dir = join(cwd, 'runs-elsewhere', 'quick-1');
  const placed = await esper(['run', file, '--quiet', '--nissa-port', '0', '--run-dir', dir], cwd);
  t.is(placed.code, 0, placed.stderr);
  t.regex(placed.stdout, /; run quick-1\n$/, 'the folder names the run');
  t.true(existsSync(join(dir, 'checkpoints')), 'its checkpoints are in the folder given');
  const again = await esper(['run', file, '--quiet', '--nissa-port', '0', '--run-dir', dir], cwd);
  t.is(again.code, 1);
  t.regex(again.stderr, /--run-dir .*quick-1 already holds a run/);
  const bad = await esper(['run', file, '--quiet', '--json'], cwd);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--quiet and --json exclude each other/);
});

test("--rng-seed sets the run's random seed: the same rngSeed trains the same first epoch, another another; --seed is refused", async (t) => {
  t.timeout(180_000, 'three short runs on a loaded machine');
  const cwd = freshDir();
  const file = quickConfig(cwd, 1);
  // The first epoch, before any control boundary, is training alone: weights, shuffles and split follow rngSeed.
  const firstEpoch = async (rngSeed: number): Promise<{ trainLoss: number; validationLoss: number }> => {
    const run = await esper(['run', file, '--json', '--nissa-port', '0', '--rng-seed', String(rngSeed)], cwd);
    t.is(run.code, 0, run.stderr);
    return JSON.parse(run.stdout.split('\n')[0] ?? '{}') as { trainLoss: number; validationLoss: number };
  };
  const [a, b, c] = [await firstEpoch(7), await firstEpoch(7), await firstEpoch(8)];
  t.is(b.trainLoss, a.trainLoss);
  t.is(b.validationLoss, a.validationLoss);
  t.not(c.trainLoss, a.trainLoss, 'the random seed matters');
  const bad = await esper(['run', file, '--rng-seed', 'x'], cwd);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--rng-seed needs an integer ≥ 0, got "x"/);
  const noReplicas = await esper(['run', file, '--replicas', '0'], cwd);
  t.is(noReplicas.code, 2);
  t.regex(noReplicas.stderr, /--replicas needs an integer ≥ 1, got "0"/);
  const elsewhere = freshDir();
  const old = await esper(['run', file, '--seed', '3'], elsewhere);
  t.is(old.code, 2);
  t.regex(old.stderr, /esper run: --seed is now --rng-seed/);
  t.false(existsSync(join(elsewhere, 'var')), 'refused before anything started');
});
