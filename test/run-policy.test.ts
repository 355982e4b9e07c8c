// `esper run` decides with the policy it was given: what earlier runs left in the folder (field reports, a policy
// Simic learned from them and keeps for Tamiyo) changes nothing unless the experiment turns policy learning on; a
// run that learns says which policies decided.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decisions, readRunRecord, summarizeRun } from '../cli/run-record/index.ts';
import { esper, freshDir } from './helpers/esper-cli.ts';

const define = fileURLToPath(new URL('../actors/weatherlight/experiment.ts', import.meta.url));

// The quick spirals experiment (experiments/quick.ts), written out so that no default of another file decides
// whether Simic runs. Reports complete after one epoch, and a policy update is promoted after one shadowed decision.
const EXPERIMENT = `{
  name: 'same',
  rngSeed: 3,
  dataset: { kind: 'spirals' },
  host: { kind: 'mlp', inputs: 16, hidden: [32, 32], classes: 4 },
  training: { optimizer: { kind: 'adam', learningRate: 0.01 } },
  budgets: { epochs: 16, hookMs: 10_000, decisionMs: 2_000, kernelFetchMs: 1_000 },
  seeds: { blueprints: ['BP009'] },
  tamiyo: { policy: 'heuristic', observationEpochs: 1, shadowDecisions: 1 },
  nissaPort: 0,
}`;
// Validation loosened so that what Simic learns from one run is published whatever it is (a pipeline test; what
// validation refuses is tested in simic-trainer.test.ts).
const LEARNING = `simic: { validation: { minAverageReward: -10, minSamples: 8, tolerance: 10 } }`;

function experimentFile(cwd: string, name: string, extra = ''): string {
  const file = join(cwd, `${name}.ts`);
  writeFileSync(
    file,
    `import { defineExperiment } from ${JSON.stringify(define)};\nconst base = ${EXPERIMENT};\nexport default defineExperiment({ ...base${extra ? `, ${extra}` : ''} });\n`,
  );
  return file;
}

/** `epoch action seed blueprint slot decided-by`, one per decision of the run in `dir`. */
const decided = (dir: string): string[] =>
  decisions(readRunRecord(join(dir, 'run.jsonl'))).map(
    (d) => `${d.epoch} ${d.action} ${d.seedId} ${d.blueprintId} ${d.slot} ${d.decidedBy}`,
  );

test('two runs of one experiment and seed in one folder decide the same, whatever the first left; a learning run says which policies decided', async (t) => {
  t.timeout(600_000, 'three quick runs and a Simic training on a loaded machine');
  const cwd = freshDir('esper-policy-');
  const plain = experimentFile(cwd, 'plain');
  const learning = experimentFile(cwd, 'learning', LEARNING);

  const first = await esper(['run', plain, '--run-dir', join('runs', 'first'), '--verbose'], cwd);
  t.is(first.code, 0, first.stderr);
  t.notRegex(first.stdout, /^ {2}simic \[/m, 'no Simic in the tree');
  // What an earlier session may leave: a policy Simic learned from the first run's field reports, kept for Tamiyo.
  const learn = await esper(['simic', 'train', '--from', join('runs', 'first'), learning], cwd);
  t.is(learn.code, 0, learn.stderr + learn.stdout);
  const version = /policy (simic-\S+) written to/.exec(learn.stdout)?.[1];
  t.truthy(version, learn.stdout);

  const second = await esper(['run', plain, '--run-dir', join('runs', 'second')], cwd);
  t.is(second.code, 0, second.stderr);
  const firstDecisions = decided(join(cwd, 'runs', 'first'));
  t.true(firstDecisions.length > 0);
  t.deepEqual(decided(join(cwd, 'runs', 'second')), firstDecisions, 'the same decisions, by the same policy');
  const sent = join(cwd, 'var', 'simic', 'updates', 'sent');
  t.false(existsSync(sent) && readdirSync(sent).length > 0, 'the kept policy was not sent to Tamiyo');
  const plainSummary = summarizeRun(readRunRecord(join(cwd, 'runs', 'second', 'run.jsonl')));
  t.deepEqual([plainSummary.policies, plainSummary.policyLearning], [['heuristic'], false]);
  t.regex(second.stdout, /\n {2}decided by {5}heuristic\n/);

  // With learning on, Simic sends the kept policy at start; Tamiyo shadows it for a decision, then promotes it.
  const third = await esper(['run', learning, '--run-dir', join('runs', 'third'), '--verbose'], cwd);
  t.is(third.code, 0, third.stderr);
  t.regex(third.stdout, /^ {2}simic \[/m, 'Simic in the tree');
  const summary = summarizeRun(readRunRecord(join(cwd, 'runs', 'third', 'run.jsonl')));
  t.deepEqual([summary.policies, summary.policyLearning], [['heuristic', version], true]);
  t.true(
    third.stdout.includes(`\n  decided by     heuristic, then ${version} (Simic learning during the run)\n`),
    third.stdout,
  );
  const report = readFileSync(join(cwd, 'runs', 'third', 'report.html'), 'utf8');
  t.true(report.includes(`<dt>decided by</dt><dd>heuristic, then ${version} (Simic learning during the run)</dd>`));
});
