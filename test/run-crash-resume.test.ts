// kill -9 of `esper run experiments/quick.ts` at three random points — before the germination, while the seed is
// on trial, after it was fossilized — then `esper run --resume <run folder>`: each resumed run must end exactly as
// the uninterrupted run did (the same decisions, the same epochs, the same final weights of host and seed) with
// every field report once. The points are drawn at random and logged, so a failure names its point.
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { esper, ESPER_BIN, esperEnv, freshDir } from './helpers/esper-cli.ts';
import { runChild } from './helpers/child-process.ts';
import { compareOutcomes, runOutcome, type RunOutcome } from './helpers/run-outcome.ts';

const QUICK = fileURLToPath(new URL('../experiments/quick.ts', import.meta.url));
const RUN = 'run-quick';
const args = (cwd: string, resume: boolean): string[] => [
  'run',
  QUICK,
  '--json',
  resume ? '--resume' : '--run-dir',
  join(cwd, RUN),
];

interface EpochLine {
  epoch: number;
  seeds: Array<{ id: string; stage: string }>;
}

let uninterrupted: Promise<RunOutcome> | null = null;
/** The run every crash is compared with, run once. */
function reference(): Promise<RunOutcome> {
  uninterrupted ??= (async () => {
    const cwd = freshDir('esper-crash-ref-');
    const run = await esper(args(cwd, false), cwd);
    if (run.code !== 0) throw new Error(`the uninterrupted run failed: ${run.stderr}`);
    return runOutcome(cwd, join(cwd, RUN));
  })();
  return uninterrupted;
}

const pick = (from: number, to: number): number => from + Math.floor(Math.random() * (to - from + 1));

async function killAndResume(
  t: ExecutionContext,
  choose: (epochs: readonly EpochLine[]) => [number, number],
  options: { wipeKernels?: boolean } = {},
): Promise<void> {
  t.timeout(240_000);
  const expected = await reference();
  const [from, to] = choose(expected.epochs);
  t.true(from <= to, `a point to kill at exists (epochs ${from}..${to})`);
  const epoch = pick(from, to);
  const delayMs = pick(0, 150);
  t.log(`kill -9 ${delayMs} ms after epoch ${epoch} was printed`);
  const cwd = freshDir('esper-crash-');
  const child = runChild([ESPER_BIN, ...args(cwd, false)], { cwd, env: esperEnv('error') }, 170_000);
  await child.waitFor(
    (line) => line.startsWith(`{"event":"epoch",`) && (JSON.parse(line) as EpochLine).epoch === epoch,
  );
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  child.kill();
  t.is((await child.exit).signal, 'SIGKILL');
  // Urza's kernels gone too: the resumed run forges them again, to the same digests the checkpoint recorded.
  if (options.wipeKernels) rmSync(join(cwd, 'var', 'urza'), { recursive: true, force: true });

  const resumed = await esper(args(cwd, true), cwd);
  t.is(resumed.code, 0, resumed.stderr);
  const got = await runOutcome(cwd, join(cwd, RUN));
  t.true(got.finished);
  t.deepEqual(got.decisions, expected.decisions, 'the same decisions, each once');
  t.deepEqual(got.epochs, expected.epochs, 'the same epochs: validation losses and seeds');
  t.deepEqual(got.summary, expected.summary);
  t.deepEqual(got.network, expected.network, 'the same final weights, host and seeds');
  t.deepEqual(got.reports, expected.reports, 'every field report once, as the uninterrupted run wrote it');
  t.like(compareOutcomes(expected, got), { identical: true, reportsLost: 0, reportsExtra: 0, seedsLost: 0 });
}

const germinated = (epochs: readonly EpochLine[]): number => epochs.findIndex((e) => e.seeds.length > 0);
const fossilized = (epochs: readonly EpochLine[]): number =>
  epochs.findIndex((e) => e.seeds.some((s) => s.stage === 'fossilized'));

test.serial('kill -9 before the germination, then --resume: the run ends as the uninterrupted one', (t) =>
  killAndResume(t, (epochs) => [1, germinated(epochs) - 1]),
);
test.serial(
  'kill -9 while the seed is on trial, Urza emptied, then --resume: the kernel is forged again and the seed comes back in its stage; the run ends as the uninterrupted one',
  (t) => killAndResume(t, (epochs) => [germinated(epochs), fossilized(epochs) - 1], { wipeKernels: true }),
);
test.serial('kill -9 after the seed was fossilized, then --resume: the run ends as the uninterrupted one', (t) =>
  killAndResume(t, (epochs) => [fossilized(epochs), epochs.length - 3]),
);
test.serial(
  'a run folder killed before anything was saved (empty) resumes from the beginning: the run ends as the uninterrupted one',
  async (t) => {
    t.timeout(240_000);
    const expected = await reference();
    const cwd = freshDir('esper-crash-');
    // What `esper run --run-dir` leaves when killed at once: the folder, made before anything else.
    mkdirSync(join(cwd, RUN));
    const resumed = await esper(args(cwd, true), cwd);
    t.is(resumed.code, 0, resumed.stderr);
    t.like(compareOutcomes(expected, await runOutcome(cwd, join(cwd, RUN))), { identical: true, differences: [] });
  },
);
