// kill -9 of `esper run experiments/quick.ts` at three random points — before the germination, while the seed is
// on trial, after it was fossilized — then `esper run --resume <run folder>`: each resumed run must end exactly as
// the uninterrupted run did (the same decisions, the same epochs, the same final weights of host and seed) with
// every field report once. The points are drawn at random and logged, so a failure names its point.
import test, { type ExecutionContext } from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leyline, type v1 } from '../contracts/index.ts';
import { decodeLeyline } from '../contracts/codec.ts';
import { CheckpointStore } from '../actors/tolaria/checkpoint/checkpoint-store.ts';
import type { TrainingState } from '../actors/tolaria/checkpoint/training-state.ts';
import { FieldReportLog } from '../actors/tamiyo/index.ts';
import { decisions, readRunRecord } from '../cli/run-record/index.ts';
import { esper, ESPER_BIN, esperEnv, freshDir } from './helpers/esper-cli.ts';
import { runChild } from './helpers/child-process.ts';

const QUICK = fileURLToPath(new URL('../experiments/quick.ts', import.meta.url));
const RUN = 'run-quick';
const args = (cwd: string, resume: boolean): string[] => ['run', QUICK, '--json', resume ? '--resume' : '--run-dir', join(cwd, RUN)];

interface EpochLine {
  epoch: number;
  validationLoss: number;
  seeds: Array<{ id: string; stage: string }>;
}

interface Outcome {
  decisions: string[];
  epochs: EpochLine[];
  summary: Record<string, unknown>;
  checkpoint: TrainingState;
  reports: string[];
}

/** What a finished run left: its record's decisions and epochs, its last checkpoint, Tamiyo's field reports. */
async function outcome(cwd: string): Promise<Outcome> {
  const lines = readFileSync(join(cwd, RUN, 'run.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  const byEpoch = new Map<number, EpochLine>();
  for (const line of lines) if (line.event === 'epoch') byEpoch.set(line.epoch as number, line as unknown as EpochLine);
  const finished = lines.filter((line) => line.event === 'finished').at(-1)!;
  const { seconds: _seconds, ...summary } = finished.summary as Record<string, unknown>;
  const loaded = await new CheckpointStore(join(cwd, RUN, 'checkpoints')).loadLatest();
  const log = new FieldReportLog(join(cwd, 'var', 'tamiyo', 'field_reports.db'));
  const reports = log.reports().map((r: v1.FieldReport) => `${r.reportId} ${r.outcome} ${r.seedId} ${r.blueprintId}`);
  log.close();
  return {
    decisions: decisions(readRunRecord(join(cwd, RUN, 'run.jsonl'))).map((d) => `${d.epoch} ${d.action} ${d.seedId} ${d.blueprintId} ${d.slot} ${d.outcome}`),
    epochs: [...byEpoch.values()].map(({ epoch, validationLoss, seeds }) => ({ epoch, validationLoss, seeds: seeds.map(({ id, stage }) => ({ id, stage })) })),
    summary,
    checkpoint: loaded!.state,
    reports: reports.sort(),
  };
}

/** The grown network of a checkpoint as comparable data: host weights, and each seed's record and weights. */
function network(state: TrainingState): unknown {
  const weights = (map: TrainingState['weights']): Record<string, number[]> => Object.fromEntries(Object.entries(map).map(([k, v]) => [k, [...v.data]]));
  return {
    epoch: state.epoch,
    globalStep: state.globalStep,
    host: weights(state.weights),
    seeds: state.seeds.map(({ record, weights: w }) => {
      const decoded = decodeLeyline(leyline.SeedRecord, record);
      if (!decoded.ok) throw decoded.error;
      const { seedId, stage, alpha, blueprintId } = decoded.message;
      return { seedId, stage, alpha, blueprintId, weights: weights(w) };
    }),
  };
}

let uninterrupted: Promise<Outcome> | null = null;
/** The run every crash is compared with, run once. */
function reference(): Promise<Outcome> {
  uninterrupted ??= (async () => {
    const cwd = freshDir('esper-crash-ref-');
    const run = await esper(args(cwd, false), cwd);
    if (run.code !== 0) throw new Error(`the uninterrupted run failed: ${run.stderr}`);
    return outcome(cwd);
  })();
  return uninterrupted;
}

const pick = (from: number, to: number): number => from + Math.floor(Math.random() * (to - from + 1));

async function killAndResume(t: ExecutionContext, choose: (epochs: readonly EpochLine[]) => [number, number], options: { wipeKernels?: boolean } = {}): Promise<void> {
  t.timeout(240_000);
  const expected = await reference();
  const [from, to] = choose(expected.epochs);
  t.true(from <= to, `a point to kill at exists (epochs ${from}..${to})`);
  const epoch = pick(from, to);
  const delayMs = pick(0, 150);
  t.log(`kill -9 ${delayMs} ms after epoch ${epoch} was printed`);
  const cwd = freshDir('esper-crash-');
  const child = runChild([ESPER_BIN, ...args(cwd, false)], { cwd, env: esperEnv('error') }, 170_000);
  await child.waitFor((line) => line.startsWith(`{"event":"epoch",`) && (JSON.parse(line) as EpochLine).epoch === epoch);
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  child.kill();
  t.is((await child.exit).signal, 'SIGKILL');
  // Urza's kernels gone too: the resumed run forges them again, to the same digests the checkpoint recorded.
  if (options.wipeKernels) rmSync(join(cwd, 'var', 'urza'), { recursive: true, force: true });

  const resumed = await esper(args(cwd, true), cwd);
  t.is(resumed.code, 0, resumed.stderr);
  const got = await outcome(cwd);
  t.deepEqual(got.decisions, expected.decisions, 'the same decisions, each once');
  t.deepEqual(got.epochs, expected.epochs, 'the same epochs: validation losses and seeds');
  t.deepEqual(got.summary, expected.summary);
  t.deepEqual(network(got.checkpoint), network(expected.checkpoint), 'the same final weights, host and seeds');
  t.deepEqual(got.reports, expected.reports, 'every field report once, as the uninterrupted run wrote it');
}

const germinated = (epochs: readonly EpochLine[]): number => epochs.findIndex((e) => e.seeds.length > 0);
const fossilized = (epochs: readonly EpochLine[]): number => epochs.findIndex((e) => e.seeds.some((s) => s.stage === 'fossilized'));

test.serial('kill -9 before the germination, then --resume: the run ends as the uninterrupted one', (t) => killAndResume(t, (epochs) => [1, germinated(epochs) - 1]));
test.serial('kill -9 while the seed is on trial, Urza emptied, then --resume: the kernel is forged again and the seed comes back in its stage; the run ends as the uninterrupted one', (t) =>
  killAndResume(t, (epochs) => [germinated(epochs), fossilized(epochs) - 1], { wipeKernels: true }),
);
test.serial('kill -9 after the seed was fossilized, then --resume: the run ends as the uninterrupted one', (t) => killAndResume(t, (epochs) => [fossilized(epochs), epochs.length - 3]));
