// A trainer that fails the same way at every start (here: a checkpoint whose shapes no longer fit the host) must not
// restart forever: the failure reaches the root supervisor, which gives up, and `esper run` exits 1 naming the error
// on stderr (supervision/supervisor-logic.ts, flags.maxRepeats).
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { esper, freshDir } from './helpers/esper-cli.ts';

const define = fileURLToPath(new URL('../actors/weatherlight/experiment.ts', import.meta.url));

/** A one-epoch spirals experiment with no seeds, whose host has one hidden layer of `hidden` units. */
function experiment(cwd: string, hidden: number): string {
  const file = join(cwd, `spirals-${hidden}.ts`);
  writeFileSync(
    file,
    `import { defineExperiment } from ${JSON.stringify(define)};\n` +
      `export default defineExperiment({ name: 'storm', rngSeed: 1, dataset: { kind: 'spirals' }, host: { kind: 'mlp', inputs: 16, hidden: [${hidden}], classes: 4 }, ` +
      `training: { optimizer: { kind: 'adam', learningRate: 0.01 } }, budgets: { epochs: 1, hookMs: 10_000, decisionMs: 2_000, kernelFetchMs: 1_000 }, seeds: false, simic: false, nissaPort: 0 });\n`,
  );
  return file;
}

test('a trainer that fails at every start escalates to the root, which gives up: esper run exits 1 and names the error on stderr', async (t) => {
  const cwd = freshDir();
  const runDir = join(cwd, 'storm-run');
  const first = await esper(['run', experiment(cwd, 8), '--run-dir', runDir, '--quiet'], cwd);
  t.is(first.code, 0, first.stderr);

  // The same run resumed on a wider host: its checkpoint cannot be restored, at the first start or any restart.
  const storm = await esper(['run', experiment(cwd, 16), '--resume', runDir], cwd);
  t.is(storm.code, 1, storm.stdout);
  const error = /^esper: error: the root supervisor gave up: (.*)$/m.exec(storm.stderr)?.[1];
  t.truthy(error, storm.stderr);
  t.regex(
    error!,
    /^EscalationError: tolaria failed 3 times in a row with the same error: EscalationError: trainer failed 3 times in a row with the same error: StateMismatchError: .*stored shape \[16, 8\] differs from the variable's \[16, 16\]/,
  );
});
