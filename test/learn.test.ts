// `esper learn` end to end on the quick curriculum (the spirals task, seconds an episode): two rounds of two episodes
// on two episode workers change the policy's weights and decisions; a saved policy runs with `esper run --policy`
// and the report says it decided; a learn killed with SIGKILL after a round resumes from it and ends where an
// uninterrupted learn ends; a curriculum with mistakes is refused, every problem named, and so are the old names of
// the random seed (`seed`, `--seed`, `--heldout-seeds`).
import test from 'ava';
import { spawn } from 'node:child_process';
import { pack } from 'msgpackr';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leyline } from '../contracts/index.ts';
import { decodeLeyline } from '../contracts/codec.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { CurriculumError, validateCurriculum } from '../actors/weatherlight/curriculum.ts';
import { PolicyInstance, rankCandidates, TamiyoGnn, weightsChecksum, type PolicyWorld } from '../policy/index.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import quick from '../experiments/quick-curriculum.ts';
import { loadLearnState } from '../cli/learn/state.ts';
import { ESPER_BIN, esper, esperEnv, freshDir } from './helpers/esper-cli.ts';
import { PolicyStates, STATE_SLOTS } from './helpers/policy-states.ts';

const CURRICULUM = fileURLToPath(new URL('../experiments/quick-curriculum.ts', import.meta.url));
const QUICK_EXPERIMENT = fileURLToPath(new URL('../experiments/quick.ts', import.meta.url));
const { catalog } = setUpKarn({});

test.before(async () => {
  await selectTensorBackend('wasm');
});

interface Learned {
  dir: string;
  learnId: string;
  lines: Array<Record<string, unknown>>;
}

/** The learning run under `cwd/var/learn` and its record. */
function learned(cwd: string): Learned {
  const root = join(cwd, 'var', 'learn');
  const [learnId] = readdirSync(root);
  const dir = join(root, learnId!);
  const lines = readFileSync(join(dir, 'learn.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { dir, learnId: learnId!, lines };
}

function policyWeights(file: string) {
  const update = decodeLeyline(leyline.PolicyUpdate, readFileSync(file));
  if (!update.ok) throw update.error;
  const weights = decodeLeyline(leyline.PolicyWeights, update.message.payload);
  if (!weights.ok) throw weights.error;
  return { version: update.message.tamiyoPolicyVersion, weights: weights.message };
}

/** The choices a policy draws on fixed synthetic states with a fixed random stream: they move with its weights. */
function sampledChoices(weights: ReturnType<TamiyoGnn['exportWeights']>): string[] {
  const world: PolicyWorld = {
    slots: STATE_SLOTS,
    blueprints: rankCandidates(catalog.all().filter((d) => quick.blueprints.includes(d.blueprintId))),
  };
  const policy = new PolicyInstance({
    version: 'probe',
    kind: 'network',
    weights,
    mode: 'sample',
    rngSeed: 5,
    graph: { maxCandidates: 8, maxParameters: 8, plateauEpochs: 1, plateauTolerance: 0.05 },
  });
  const states = new PolicyStates(77);
  const choices = Array.from({ length: 48 }, (_, i) =>
    JSON.stringify(policy.decide(states.next({ currentEpoch: i % 5 }), world).decision.choices),
  );
  policy.dispose();
  return choices;
}

test('a curriculum with mistakes is refused before anything starts, every problem named by its path', async (t) => {
  const broken = {
    ...quick,
    blueprints: ['BP009', 'BP009', 'BP999'],
    tasks: [
      { ...quick.tasks[0]!, epochs: 0 },
      { ...quick.tasks[1]!, name: quick.tasks[0]!.name },
    ],
    heldOut: [
      { ...quick.heldOut[0]!, name: quick.tasks[1]!.name, host: { kind: 'mlp', inputs: 16, hiden: [8], classes: 4 } },
    ],
    learning: { rounds: -1 },
  };
  const error = t.throws(() => validateCurriculum(broken, 'broken.ts', (id) => catalog.has(id)), {
    instanceOf: CurriculumError,
  });
  for (const expected of [
    /tasks\[0\]\.epochs: expected an integer ≥ 1, got 0/,
    /heldOut\[0\]\.host\.hiden: unknown field \(did you mean "hidden"\?\)/,
    /heldOut\[0\]\.host\.hidden: is missing/,
    /learning\.rounds: expected an integer ≥ 1, got -1/,
  ]) {
    t.regex(error.message, expected);
  }
  // The shape is right here, so the rules the shape cannot say are checked: names unique, none held out and trained.
  const twice = {
    ...quick,
    blueprints: ['BP009', 'BP009', 'BP999'],
    tasks: [quick.tasks[0]!, { ...quick.tasks[1]!, name: quick.tasks[0]!.name }],
    heldOut: [{ ...quick.heldOut[0]!, name: quick.tasks[0]!.name }],
  };
  const rules = t.throws(() => validateCurriculum(twice, 'twice.ts', (id) => catalog.has(id)), {
    instanceOf: CurriculumError,
  });
  t.regex(rules.message, /tasks\[1\]\.name: "spirals-a" is already the name of tasks\[0\]/);
  t.regex(
    rules.message,
    /heldOut\[0\]\.name: "spirals-a" is already the name of tasks\[0\] \(a held-out task must not be trained on\)/,
  );
  t.regex(rules.message, /blueprints\[1\]: BP009 is listed twice/);
  t.regex(rules.message, /blueprints\[2\]: BP999 is not in Karn's catalog/);

  const cwd = freshDir('esper-learn-broken-');
  writeFileSync(
    join(cwd, 'broken.ts'),
    `import quick from ${JSON.stringify(CURRICULUM)};\nexport default { ...quick, tasks: [{ ...quick.tasks[0], epochs: 0 }] };\n`,
  );
  const run = await esper(['learn', 'broken.ts'], cwd);
  t.is(run.code, 1);
  t.regex(run.stderr, /broken\.ts: tasks\[0\]\.epochs: expected an integer ≥ 1, got 0/);
  t.false(existsSync(join(cwd, 'var', 'learn')), 'nothing was started');
});

test("the random seed is rngSeed: a curriculum (or a task's spirals data) saying seed, and esper learn --seed or --heldout-seeds, are refused with the new name", async (t) => {
  const told = 'is now "rngSeed" (the random seed; a seed is a module grown in the host)';
  const { rngSeed: _rngSeed, ...unseeded } = quick;
  const old = {
    ...unseeded,
    seed: 1,
    tasks: [{ ...quick.tasks[0]!, dataset: { kind: 'spirals', seed: 2 } }, ...quick.tasks.slice(1)],
  };
  const error = t.throws(() => validateCurriculum(old, 'old.ts', (id) => catalog.has(id)), {
    instanceOf: CurriculumError,
  });
  t.deepEqual(
    error.issues.map((i) => `${i.path}: ${i.message}`),
    [`seed: ${told}`, `tasks[0].dataset.seed: ${told}`],
  );

  const cwd = freshDir('esper-learn-old-');
  for (const [flag, now] of [
    ['--seed', '--rng-seed'],
    ['--heldout-seeds', '--heldout-rng-seeds'],
  ] as const) {
    const run = await esper(['learn', CURRICULUM, flag, '1'], cwd);
    t.is(run.code, 2);
    t.regex(run.stderr, new RegExp(`esper learn: ${flag} is now ${now} \\(the random seed`));
  }
  t.false(existsSync(join(cwd, 'var', 'learn')), 'nothing was started');
});

test('a learning checkpoint written while the random seed was `seed` still loads for --resume, with rngSeed', (t) => {
  const file = join(freshDir('esper-learn-state-'), 'state.bin');
  const saved = {
    learnId: 'old',
    curriculumFile: CURRICULUM,
    rounds: 3,
    envs: 2,
    episodesPerEnv: 2,
    round: 1,
    optimizer: [],
  };
  writeFileSync(file, pack({ ...saved, weights: Uint8Array.of(1), seed: 4, format: 1 }));
  const state = loadLearnState(file)!;
  t.like(state, { ...saved, rngSeed: 4 });
  t.deepEqual([...state.weights], [1]);
  t.false('seed' in state);
});

test('two rounds of two episodes on two workers change the policy’s weights and decisions; the saved policy runs with esper run --policy', async (t) => {
  t.timeout(300_000);
  const cwd = freshDir('esper-learn-');
  const run = await esper(['learn', CURRICULUM, '--rounds', '2', '--envs', '2', '--heldout-rng-seeds', '1'], cwd);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /^round 1\/2 {2}return -?\d+\.\d+ \(heuristic -?\d+\.\d+, random -?\d+\.\d+\) {2}val \d+\.\d%/m);
  t.regex(run.stdout, /^round 2\/2 /m);
  t.regex(run.stdout, /held-out tasks\n {2}learned +test accuracy \d+\.\d+%/);
  const { dir, learnId, lines } = learned(cwd);
  t.deepEqual(
    lines.map((l) => l.event),
    ['start', 'baseline', 'baseline', 'round', 'round', 'heldout', 'heldout', 'heldout', 'heldout', 'finished'],
  );
  const rounds = lines.filter((l) => l.event === 'round');
  t.deepEqual(
    rounds.map((r) => (r.figures as { episodes: number }).episodes),
    [2, 2],
    'a round is envs × episodesPerEnv episodes',
  );
  t.true(
    rounds.every((r) => (r.update as { experiences: number }).experiences > 0),
    'PPO learned from the sampled decisions',
  );
  t.true(existsSync(join(dir, 'report.html')));

  // The weights moved from the initial network's (seeded by the curriculum's rngSeed), and with them the decisions.
  const initial = new TamiyoGnn(undefined, quick.rngSeed).exportWeights();
  const last = policyWeights(join(dir, 'policies', 'round-002.pb'));
  t.is(last.version, `${learnId}-r2`);
  t.not(weightsChecksum(last.weights), weightsChecksum(initial));
  t.notDeepEqual(
    sampledChoices(last.weights),
    sampledChoices(initial),
    'the same draws on the same states choose differently',
  );

  // The saved policy decides a run, greedily, and the run's record and report name it.
  const withPolicy = await esper(
    ['run', QUICK_EXPERIMENT, '--policy', join(dir, 'policies', 'round-002.pb'), '--json', '--nissa-port', '0'],
    cwd,
  );
  t.is(withPolicy.code, 0, withPolicy.stderr);
  const runs = join(cwd, 'var', 'runs');
  const record = readFileSync(join(runs, readdirSync(runs)[0]!, 'run.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const decisions = record.filter((l) => l.event === 'decision');
  t.true(decisions.length > 0);
  t.true(
    decisions.every((d) => d.decidedBy === `${learnId}-r2`),
    'every decision by the learned policy',
  );
  t.true(readFileSync(join(runs, readdirSync(runs)[0]!, 'report.html'), 'utf8').includes(`${learnId}-r2`));
});

/** Runs `esper learn`, sends `signal` once its stdout shows `after`, and resolves with its exit code and output. */
function learnSignalledAfter(
  args: readonly string[],
  cwd: string,
  after: RegExp,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ESPER_BIN, 'learn', ...args], { cwd, env: esperEnv() });
    let stdout = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!sent && after.test(stdout)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code) =>
      sent ? resolve({ code, stdout }) : reject(new Error(`esper learn ended before ${after}: ${stdout}`)),
    );
  });
}

test('a learn killed with SIGKILL after a round resumes from it and ends with the weights of an uninterrupted learn', async (t) => {
  t.timeout(400_000);
  const args = [CURRICULUM, '--rounds', '3', '--envs', '2', '--heldout-rng-seeds', '0'];
  const killed = freshDir('esper-learn-killed-');
  await learnSignalledAfter(args, killed, /^round 1\/3 /m, 'SIGKILL');
  const { dir, learnId } = learned(killed);
  t.true(existsSync(join(dir, 'policies', 'round-001.pb')), 'the round is saved before its line is printed');
  const resumed = await esper(['learn', '--resume', learnId], killed);
  t.is(resumed.code, 0, resumed.stderr);
  t.regex(resumed.stdout, new RegExp(`resuming ${learnId} after round [12]`));
  const { lines } = learned(killed);
  const rounds = lines.filter((l) => l.event === 'round').map((l) => l.round as number);
  t.deepEqual(
    [...new Set(rounds)],
    [1, 2, 3],
    'every round, once each (a round in flight at the kill is played again)',
  );
  t.is(lines.filter((l) => l.event === 'baseline').length, 2, 'the baselines are not played again');

  const whole = freshDir('esper-learn-whole-');
  const uninterrupted = await esper(['learn', ...args], whole);
  t.is(uninterrupted.code, 0, uninterrupted.stderr);
  const a = policyWeights(join(dir, 'policies', 'round-003.pb')).weights;
  const b = policyWeights(join(learned(whole).dir, 'policies', 'round-003.pb')).weights;
  t.is(weightsChecksum(a), weightsChecksum(b), 'the same curriculum and seed: the same policy, killed or not');
});

test('Ctrl-C stops a learn after what is finished: exit 130, the record ends, the workers go, and it can be resumed', async (t) => {
  t.timeout(300_000);
  const cwd = freshDir('esper-learn-interrupted-');
  const { code, stdout } = await learnSignalledAfter(
    [CURRICULUM, '--rounds', '5', '--envs', '2', '--heldout-rng-seeds', '0'],
    cwd,
    /^round 1\/5 /m,
    'SIGINT',
  );
  t.is(code, 130, stdout);
  t.regex(stdout, /received SIGINT; stopping \(the last finished round is kept: --resume \S+\)/);
  const { lines, learnId } = learned(cwd);
  const last = lines.at(-1)!;
  t.like(last, { event: 'finished', code: 130, why: 'interrupted' });
  t.true((last.rounds as number) >= 1);
  const resumed = await esper(
    ['learn', '--resume', learnId, '--rounds', String(last.rounds as number), '--heldout-rng-seeds', '0'],
    cwd,
  );
  t.is(resumed.code, 0, resumed.stderr);
  t.regex(resumed.stdout, /finished; policy /);
});
