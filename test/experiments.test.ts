// Experiment files: `defineExperiment({...})` checked at load (each problem named by its path, with what was expected,
// before anything starts), compiled onto the default configuration; the examples in experiments/ load; the old name
// of the random seed (`seed`, now `rngSeed`) is refused with the new one; the quick experiment run twice with one
// rngSeed gives the same run, and the first run of a library forges its kernels.
import test from 'ava';
import { loadShippedPolicy } from '../policy/index.ts';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  experimentConfig,
  ExperimentError,
  validateExperiment,
  type Experiment,
} from '../actors/weatherlight/experiment.ts';
import { validateConfig } from '../actors/weatherlight/esper-config.ts';
import { resolveConfig } from '../cli/config.ts';
import { resolveTolariaConfig } from '../actors/tolaria/index.ts';
import { resolveSimicConfig } from '../actors/simic/index.ts';
import defaults from '../esper.config.ts';
import { spawn } from 'node:child_process';
import { esper, ESPER_BIN, esperEnv, freshDir } from './helpers/esper-cli.ts';
import { EventLog } from './helpers/events.ts';
import { RedisServer, redisServerAvailable } from './helpers/redis-server.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = ['mnist-mlp', 'mnist-cnn', 'quick', 'mnist-redis'];

const minimal = (): Record<string, unknown> => ({
  name: 'x',
  dataset: { kind: 'spirals' },
  host: { kind: 'mlp', inputs: 16, hidden: [8], classes: 4 },
});

function problems(value: unknown): string[] {
  try {
    validateExperiment(value);
  } catch (error) {
    if (error instanceof ExperimentError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

test('every example experiment loads and compiles onto the defaults', async (t) => {
  for (const name of EXAMPLES) {
    const { config, source } = await resolveConfig(join(root, 'experiments', `${name}.ts`));
    t.true(source.endsWith(`${name}.ts`));
    t.is(config.tolaria?.experiment, name);
  }
  const cnn = (await resolveConfig(join(root, 'experiments', 'mnist-cnn.ts'))).config;
  t.like(cnn.tolaria?.host, { kind: 'cnn', channels: [4] });
  const redis = (await resolveConfig(join(root, 'experiments', 'mnist-redis.ts'))).config;
  t.like(redis.run, { multiProcess: true, servedElsewhere: ['simic', 'nissa'] });
  t.is(redis.oona?.url, 'redis://127.0.0.1:6379');
});

test('an experiment sets the run: dataset, host, budgets, seed policy, bus, alerts — and no seeds means no seed subsystems', (t) => {
  const base = validateConfig(defaults);
  const config = experimentConfig(
    {
      ...minimal(),
      rngSeed: 9,
      training: { replicas: 2 },
      budgets: { epochs: 4, hookMs: 100, decisionMs: 30, kernelFetchMs: 20 },
      seeds: { blueprints: ['BP009'], plateau: { epochs: 3, tolerance: 0.02 }, maxRisk: 0.4, impactTolerance: 0.1 },
      alerts: [
        { name: 'slow', metric: 'tolaria.epoch_hook.latency_ms', threshold: 5, comparator: '>', routes: ['log'] },
      ],
      nissaPort: 0,
    },
    base,
  );
  t.like(config.tolaria, {
    experiment: 'x',
    rngSeed: 9,
    epochs: 4,
    control: { hookBudgetMs: 100 },
    parallel: { replicas: 2 },
  });
  t.like(config.tamiyo, {
    inferenceTimeoutMs: 30,
    blueprints: ['BP009'],
    prior: { plateauEpochs: 3, plateauTolerance: 0.02, maxRisk: 0.4 },
    risk: { hookBudgetMs: 100 },
  });
  t.like(config.kasmina, { impactTolerance: 0.1, latencyBudgetMs: 20 });
  t.is(config.nissa?.alerts?.[0]?.name, 'slow');
  t.is(config.nissa?.port, 0);
  t.is(config.run.multiProcess, false);
  const ids = (c: typeof config): string[] => (c.weatherlight.tree.children ?? []).map((n) => n.id);
  t.deepEqual(
    ['tamiyo', 'kasmina', 'simic'].filter((id) => ids(config).includes(id)),
    ['tamiyo', 'kasmina'],
    'no policy learning unless the experiment asks for it',
  );
  const bare = experimentConfig({ ...minimal(), seeds: false }, base);
  t.false(
    ['tamiyo', 'kasmina', 'simic'].some((id) => ids(bare).includes(id)),
    'no seeds: no policy, no seed manager, no policy learning',
  );
  t.true(ids(bare).includes('tolaria'));
  const noSimic = experimentConfig({ ...minimal(), simic: false }, base);
  t.deepEqual(
    ['tamiyo', 'kasmina', 'simic'].filter((id) => ids(noSimic).includes(id)),
    ['tamiyo', 'kasmina'],
  );
  const learning = experimentConfig({ ...minimal(), simic: true }, base);
  t.true(
    ['tamiyo', 'kasmina', 'simic'].every((id) => ids(learning).includes(id)),
    'simic: true turns policy learning on',
  );
  t.is(learning.simic, base.simic, "with Simic's defaults");
  const tuned = experimentConfig({ ...minimal(), simic: { trainEvery: 8 } }, base);
  t.true(ids(tuned).includes('simic'), "Simic's settings turn it on too");
  t.like(tuned.simic, { trainEvery: 8 });
});

test('a broken experiment is reported field by field: the path, what was expected, what was found', (t) => {
  t.deepEqual(problems(minimal()), []);
  t.deepEqual(problems({ ...minimal(), host: { kind: 'mlp', inputs: 16, hidden: [8, '64'], classes: 4 } }), [
    'host.hidden[1]: expected an integer ≥ 1, got "64"',
  ]);
  t.deepEqual(problems({ ...minimal(), budgets: { epoch: 3 } }), [
    'budgets.epoch: unknown field (did you mean "epochs"?); known: epochs, hookMs, decisionMs, kernelFetchMs',
  ]);
  const { host: _host, ...noHost } = minimal();
  t.deepEqual(problems(noHost), ['host: is missing (expected an object with kind: "mlp" | "cnn")']);
  t.deepEqual(problems({ ...minimal(), dataset: { kind: 'cifar' } }), [
    'dataset.kind: expected "mnist" or "idx" or "spirals", got "cifar"',
  ]);
  t.deepEqual(problems({ ...minimal(), seeds: { blueprints: [] } }), [
    'seeds.blueprints: expected a list of at least 1 (each a blueprint id such as "BP021"), got a list',
  ]);
  t.deepEqual(problems({ ...minimal(), seeds: 'yes' }), ['seeds: expected false, or an object, got "yes"']);
  t.deepEqual(problems({ ...minimal(), bus: 'nats://x' }), [
    'bus: expected "embedded" or redis://host:port, got "nats://x"',
  ]);
  t.deepEqual(problems({ ...minimal(), simic: { trainEvry: 3 } }), [
    'simic.trainEvry: unknown field (did you mean "trainEvery"?); known: pollMs, trainEvery, batch, replay, ppo, validation, thread',
  ]);
  t.deepEqual(problems({ ...minimal(), simic: 'on' }), [
    'simic: expected true or false, or Simic\'s settings, got "on"',
  ]);
  t.deepEqual(problems({ ...minimal(), seeds: false, simic: true }), [
    'simic: policy learning needs seeds (seeds is false: there is no policy to learn)',
  ]);
  t.deepEqual(problems({ ...minimal(), servedElsewhere: ['nissa', 'simic'] }), [
    'servedElsewhere[1]: Simic is served elsewhere only when the run learns its policy (simic: true)',
  ]);
  t.deepEqual(problems({ ...minimal(), servedElsewhere: ['nissa', 'simic'], simic: true }), []);
  t.deepEqual(problems({ ...minimal(), tamiyo: { inferenceTimeout: 5 } }), [
    'tamiyo.inferenceTimeout: unknown field (did you mean "inferenceTimeoutMs"?); known: inferenceTimeoutMs, policyAnswerMs, metadataTimeoutMs, observationEpochs, retentionHours, conservativeMode, risk, shadowDecisions, policyThread, persistEvery, prior, graph, outcome, blueprints, policy, mode, temperature',
  ]);
  // Every problem is listed, not only the first.
  t.is(
    problems({
      name: 'no spaces allowed',
      dataset: { kind: 'mnist' },
      host: { kind: 'cnn', inputShape: [28, 28], channels: [], dense: [], classes: 10 },
    }).length,
    3,
  );
  t.deepEqual(problems([]), [
    '(root): expected an experiment (the default export of the file: defineExperiment({...})), got a list',
  ]);
});

test('esper run refuses a broken experiment file with the field named, before anything starts', async (t) => {
  const cwd = freshDir();
  const file = join(cwd, 'broken.ts');
  const define = join(root, 'actors', 'weatherlight', 'experiment.ts');
  writeFileSync(
    file,
    `import { defineExperiment } from ${JSON.stringify(define)};\n` +
      // A file that does not type-check still runs through tsx: the check at load is what stops it.
      `export default defineExperiment({ name: 'broken', dataset: { kind: 'mnist' }, host: { kind: 'mlp', inputs: 784, hidden: [16, 0], classes: 10 }, budgets: { epoch: 3 } } as never);\n`,
  );
  const run = await esper(['run', file], cwd);
  t.is(run.code, 1);
  t.regex(
    run.stderr,
    /broken\.ts: host\.hidden\[1\]: expected an integer ≥ 1, got 0\n\s+budgets\.epoch: unknown field \(did you mean "epochs"\?\)/,
  );
  t.false(existsSync(join(cwd, 'var')), 'nothing started: no run state written');
  const unknown = join(cwd, 'unknown-blueprint.ts');
  writeFileSync(
    unknown,
    `import { defineExperiment } from ${JSON.stringify(define)};\n` +
      `export default defineExperiment({ name: 'u', dataset: { kind: 'spirals' }, host: { kind: 'mlp', inputs: 16, hidden: [8], classes: 4 }, seeds: { blueprints: ['BP999'] } });\n`,
  );
  const refused = await esper(['run', unknown, '--nissa-port', '0'], cwd);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /tamiyo\.blueprints not in Karn's catalog: BP999/);
});

test('the random seed is rngSeed: an experiment (or its spirals data, or a full configuration) still saying seed is refused, told the new name', async (t) => {
  const told = 'is now "rngSeed" (the random seed; a seed is a module grown in the host)';
  t.deepEqual(problems({ ...minimal(), rngSeed: 3, dataset: { kind: 'spirals', rngSeed: 2 } }), []);
  t.deepEqual(problems({ ...minimal(), seed: 3 }), [`seed: ${told}`]);
  t.deepEqual(problems({ ...minimal(), dataset: { kind: 'spirals', seed: 2 } }), [`dataset.seed: ${told}`]);
  // The old name is not offered as a known field.
  t.deepEqual(problems({ ...minimal(), rngseed: 3 }), [
    'rngseed: unknown field (did you mean "rngSeed"?); known: name, rngSeed, dataset, limit, host, training, budgets, seeds, tamiyo, simic, alerts, bus, servedElsewhere, nissaPort',
  ]);
  // A full configuration's sections (no schema there: each subsystem's resolver refuses the old name).
  t.throws(() => resolveTolariaConfig({ seed: 3 } as never), { message: `configuration: tolaria.seed ${told}` });
  t.throws(() => resolveTolariaConfig({ dataset: { kind: 'spirals', seed: 2 } } as never), {
    message: `configuration: tolaria.dataset.seed ${told}`,
  });
  t.throws(() => resolveSimicConfig({ ppo: { seed: 2 } } as never), {
    message: `configuration: simic.ppo.seed ${told}`,
  });

  const cwd = freshDir();
  const file = join(cwd, 'old.ts');
  writeFileSync(
    file,
    `import { defineExperiment } from ${JSON.stringify(join(root, 'actors', 'weatherlight', 'experiment.ts'))};\nexport default defineExperiment({ ...${JSON.stringify(minimal())}, seed: 3 } as never);\n`,
  );
  const run = await esper(['run', file], cwd);
  t.is(run.code, 1);
  t.regex(run.stderr, /old\.ts: seed: is now "rngSeed"/);
  t.false(existsSync(join(cwd, 'var')), 'nothing started');
});

interface EpochLine {
  event: string;
  epoch: number;
  trainLoss: number;
  validationAccuracy: number;
  decision: string | null;
  seedsByStage: Record<string, number>;
  result?: { testAccuracy: number };
}

test('the same experiment and seed give the same run: decisions, seeds, losses and accuracy; another seed another', async (t) => {
  const quick = join(root, 'experiments', 'quick.ts');
  const runOnce = async (rngSeed: string, cwd = freshDir()): Promise<{ lines: EpochLine[]; stderr: string }> => {
    const run = await esper(['run', quick, '--json', '--rng-seed', rngSeed], cwd);
    t.is(run.code, 0, run.stderr);
    return {
      lines: run.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as EpochLine),
      stderr: run.stderr,
    };
  };
  // Two at once: each loads the machine while the other runs, as CI does.
  const [a, b] = await Promise.all([runOnce('3'), runOnce('3')]);
  const view = (lines: EpochLine[]) =>
    lines.map((l) =>
      l.event === 'epoch'
        ? { epoch: l.epoch, loss: l.trainLoss, acc: l.validationAccuracy, decision: l.decision, seeds: l.seedsByStage }
        : { test: l.result?.testAccuracy },
    );
  t.deepEqual(view(b.lines), view(a.lines));
  t.true(
    a.lines.some((l) => l.decision?.startsWith('germinate')),
    'seeds were germinated on the way',
  );
  t.regex(a.stderr, /first use: forging \d+ kernels? into Urza/, 'a new library is filled by the forge first');
  const other = await runOnce('4');
  t.notDeepEqual(view(other.lines), view(a.lines));
});

test('the forge fills a library once: a second run in the same folder compiles nothing', async (t) => {
  const cwd = freshDir();
  const quick = join(root, 'experiments', 'quick.ts');
  const config = join(cwd, 'short.ts');
  writeFileSync(
    config,
    `import quick from ${JSON.stringify(quick)};\nexport default { ...quick, budgets: { ...quick.budgets, epochs: 1 } };\n`,
  );
  const first = await esper(['run', config], cwd);
  t.is(first.code, 0, first.stderr);
  t.regex(
    first.stdout,
    /esper: first use: forging 1 kernel into Urza with \/weatherlight\/tezzeret\/forge[\s\S]*esper: forge: 1 compiled, 0 failed/,
  );
  const second = await esper(['run', config], cwd);
  t.is(second.code, 0, second.stderr);
  t.notRegex(second.stdout, /forging/);
});

test('defineExperiment is typed: a well-formed experiment object passes through unchanged', (t) => {
  const experiment: Experiment = {
    name: 'typed',
    dataset: { kind: 'mnist' },
    host: { kind: 'mlp', inputs: 784, hidden: [16], classes: 10 },
  };
  t.is(validateExperiment(experiment), experiment);
});

test('npx esper run with no set-up trains the default experiment to the end: the host grows, a summary, a report', async (t) => {
  t.timeout(240_000, 'ten MNIST epochs on a loaded machine');
  const cwd = freshDir();
  const run = await esper(['run', '--nissa-port', '0'], cwd);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /configuration from built-in defaults \(experiments\/mnist-mlp\.ts\)/);
  t.regex(run.stdout, /esper: first use: forging 1 kernel into Urza/);
  t.is(
    run.stdout.match(/^epoch \d+\/10 .* ETA \S+/gm)?.length,
    9,
    'a progress line per epoch, with an ETA until the last',
  );
  t.regex(run.stdout, /tamiyo: germinate BP021 at mlp\.0 as seed-e\d+-s\d+/);
  t.regex(
    run.stdout,
    /esper: summary\n {2}test accuracy {2}9\d\.\d\d%\n {2}parameters {5}12,730 → 15,946 \(\+3,216, \+25\.3%\)\n {2}seeds {10}1 germinated, 1 fossilized, 0 culled\n/,
  );
  // By default the policy shipped in policies/ decides (test/policy-shipped.test.ts checks the file itself).
  t.regex(run.stdout, new RegExp(`\\n {2}decided by {5}${loadShippedPolicy().manifest.version}\\n`));
  const report = /esper: report written to (\S+report\.html)/.exec(run.stdout)?.[1];
  t.truthy(report && existsSync(report), 'the run report is written');
});

test("with no file: a project's own esper.config.ts, else the default experiment (also in this package's folder)", async (t) => {
  const cwd = process.cwd();
  try {
    process.chdir(root);
    t.is(
      (await resolveConfig(undefined)).source,
      'built-in defaults (experiments/mnist-mlp.ts)',
      "this package's esper.config.ts is the built-in one",
    );
    const project = freshDir();
    writeFileSync(
      join(project, 'esper.config.ts'),
      `import defaults from ${JSON.stringify(join(root, 'esper.config.ts'))};\nexport default { ...defaults, run: { ...defaults.run, name: 'mine' } };\n`,
    );
    process.chdir(project);
    const own = await resolveConfig(undefined);
    t.is(own.config.run.name, 'mine');
    t.true(own.source.endsWith('esper.config.ts'));
  } finally {
    process.chdir(cwd);
  }
});

const withRedis = redisServerAvailable() ? test.serial : test.skip;

withRedis(
  'the multi-process example runs over Redis: this process trains without Simic and Nissa, which esper serve runs',
  async (t) => {
    t.timeout(240_000, 'MNIST epochs in two processes on a loaded machine');
    const redis = await RedisServer.start();
    const env = { ESPER_LEYLINE_SECRET: 'experiments-multi-process' };
    const cwd = freshDir();
    const file = join(cwd, 'short-redis.ts');
    writeFileSync(
      file,
      `import base from ${JSON.stringify(join(root, 'experiments', 'mnist-redis.ts'))};\nexport default { ...base, budgets: { ...base.budgets, epochs: 2 } };\n`,
    );
    const simicDir = freshDir();
    const simic = spawn(process.execPath, [ESPER_BIN, 'serve', 'simic', file, '--bus', redis.url], {
      cwd: simicDir,
      env: { ...esperEnv(), ...env },
    });
    // Each event is the whole output so far: a line split across chunks still matches.
    const simicOut = new EventLog<string>();
    let printed = '';
    simic.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      simicOut.push(printed);
    });
    try {
      await simicOut.waitFor((text) => text.includes('simic ready on'), { timeoutMs: 120_000 });
      const run = await esper(['run', file, '--bus', redis.url, '--nissa-port', '0', '--verbose'], cwd, { env });
      t.is(run.code, 0, run.stderr);
      t.regex(run.stdout, /esper: training complete/);
      t.regex(run.stdout, /^ {2}tamiyo \[one_for_one\]/m, 'this process decides');
      t.notRegex(run.stdout, /^ {2}(simic|nissa) \[/m, 'Simic and Nissa are served elsewhere');
    } finally {
      simic.kill('SIGTERM');
      await new Promise((resolve) => simic.once('close', resolve));
      await redis.stop();
    }
  },
);

test('the policy sees every blueprint an experiment offers (its graph shows as many candidates)', (t) => {
  const offered = ['BP009', 'BP010', 'BP012', 'BP013', 'BP014', 'BP016', 'BP021', 'BP022'];
  const base = validateConfig(defaults);
  const config = experimentConfig({ ...minimal(), seeds: { blueprints: offered } }, base);
  t.is(config.tamiyo?.graph?.maxCandidates, offered.length);
  t.deepEqual(config.tamiyo?.blueprints, offered);
  t.is(experimentConfig(minimal(), base).tamiyo?.graph?.maxCandidates, undefined, 'without a list, the default few');
});
