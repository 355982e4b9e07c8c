// Crash safety of checkpoint writes, with a real kill -9: a child process (fixtures/tolaria-checkpoint-save-loop.ts)
// saves a checkpoint per epoch and is SIGKILLed right after each durable step, and at random points (inside writes
// too), several times over the same directory. Before any recovery, every checkpoint file on disk must be complete
// and valid; after reopening, the newest good checkpoint is loaded (never a partial one, no fallback needed) and no
// temp file is left.
import test, { type ExecutionContext } from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTsChild, type ChildRun } from './helpers/child-process.ts';
import { decodeCheckpoint } from '../actors/tolaria/checkpoint/checkpoint-format.ts';
import { CheckpointStore, type CheckpointStep } from '../actors/tolaria/checkpoint/checkpoint-store.ts';
import { captureLogger, checkStateContent, tempDir } from './fixtures/tolaria-checkpoint-fixtures.ts';

const SCRIPT = fileURLToPath(new URL('./fixtures/tolaria-checkpoint-save-loop.ts', import.meta.url));
const STEPS: readonly CheckpointStep[] = [
  'temp_written',
  'temp_synced',
  'renamed',
  'dir_synced',
  'manifest_written',
  'pruned',
];

const runChild = (args: string[]): ChildRun => runTsChild(SCRIPT, args, 40_000);

/** Every checkpoint file present is complete: header, CRC, decode and content all check out. Before recovery. */
function checkRawFiles(t: ExecutionContext, dir: string): number[] {
  const epochs: number[] = [];
  for (const name of listCheckpointNames(dir)) {
    const { state } = decodeCheckpoint(readFileSync(join(dir, name)), name);
    t.is(checkStateContent(state), null, `${name}: its content is that of epoch ${state.epoch}`);
    epochs.push(state.epoch);
  }
  return epochs;
}

const listCheckpointNames = (dir: string): string[] => readdirSync(dir).filter((name) => /^ckpt-\d+\.ckpt$/.test(name));
const listTemps = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith('.tmp'));

/** Last epoch whose save completed, and the one in flight when killed (if any), from the child's output. */
function progress(lines: readonly string[]): { saved: number; begun: number } {
  let saved = -1;
  let begun = -1;
  for (const line of lines) {
    const [kind, value] = line.split(' ');
    if (kind === 'saved') saved = Number(value);
    if (kind === 'begin') begun = Number(value);
  }
  return { saved, begun };
}

async function reopenAndCheck(t: ExecutionContext, dir: string, allowed: readonly number[]): Promise<number> {
  const log = captureLogger();
  const store = new CheckpointStore(dir, { keep: 3, logger: log.logger });
  t.deepEqual(store.listTempFiles(), [], 'no temp file after recovery');
  const loaded = await store.loadLatest();
  t.truthy(loaded, 'a checkpoint loads');
  t.deepEqual(loaded?.skipped ?? [], [], 'the newest checkpoint is good: no fallback needed');
  t.deepEqual(log.warnings, []);
  t.true(allowed.includes(loaded!.state.epoch), `loaded epoch ${loaded!.state.epoch} is one of ${allowed.join(', ')}`);
  t.is(checkStateContent(loaded!.state), null);
  t.deepEqual(
    store.list().map((entry) => entry.file),
    listCheckpointNames(dir).sort(),
    'the manifest lists the files on disk',
  );
  t.true(store.listFiles().length <= 3, 'keep-N holds after recovery');
  return loaded!.state.epoch;
}

for (const step of STEPS) {
  // Serial: each test spawns a child that loads tsx and TF.js; seven at once on a small machine crowd the timeout.
  test.serial(
    `kill -9 right after "${step}" of a checkpoint save: the old or the new checkpoint loads, never a partial one`,
    async (t) => {
      t.timeout(60_000);
      const { dir, cleanup } = tempDir('tolaria-ckpt-crash-');
      t.teardown(cleanup);
      // Epochs 0..3 complete; epoch 4's save stops after `step`.
      const run = runChild([dir, '6', step, '4']);
      await run.waitFor((line) => line === 'paused');
      run.kill();
      t.is((await run.exit).signal, 'SIGKILL');
      t.is(
        listTemps(dir).length > 0,
        step === 'temp_written' || step === 'temp_synced',
        'a temp file exists exactly until the rename',
      );
      const epochs = checkRawFiles(t, dir);
      t.true(epochs.includes(3), 'the last completed checkpoint is there');
      const renamed = !(step === 'temp_written' || step === 'temp_synced');
      t.is(epochs.includes(4), renamed, 'the new checkpoint exists exactly from the rename on');
      t.is(await reopenAndCheck(t, dir, [renamed ? 4 : 3]), renamed ? 4 : 3);
    },
  );
}

test.serial(
  'kill -9 at random points, six times over the same directory: always a valid checkpoint, resumes from it',
  async (t) => {
    t.timeout(180_000);
    const { dir, cleanup } = tempDir('tolaria-ckpt-crash-');
    t.teardown(cleanup);
    let seed = 20_261_125;
    const random = (below: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % below;
    };
    let lastSaved = -1;
    let loadedEpoch = -1;
    for (let round = 0; round < 6; round++) {
      const run = runChild([dir, '1000']);
      await run.waitFor((line) => line.startsWith('resumed '));
      const resumed = run.lines.find((line) => line.startsWith('resumed '))!.split(' ')[1];
      if (round > 0) t.is(resumed, String(loadedEpoch), `round ${round} resumes from the checkpoint the parent saw`);
      // Wait for a random number of saves to start, then a random few milliseconds: the kill lands between steps or
      // inside a write.
      // At least two: the first save has completed, so there is always a checkpoint to load.
      await run.waitFor((line) => line.startsWith('begin '), 2 + random(4));
      await new Promise((resolve) => setTimeout(resolve, random(25)));
      run.kill();
      t.is((await run.exit).signal, 'SIGKILL');
      const { saved, begun } = progress(run.lines);
      t.log(
        `round ${round}: saved up to ${saved}, killed during epoch ${begun}'s save, ${listTemps(dir).length} temp file(s) left`,
      );
      if (saved >= 0) lastSaved = saved;
      checkRawFiles(t, dir);
      const allowed = [lastSaved, begun].filter((epoch) => epoch >= 0);
      loadedEpoch = await reopenAndCheck(t, dir, allowed);
      t.true(loadedEpoch >= lastSaved, 'no completed save is lost');
      lastSaved = loadedEpoch;
    }
  },
);
