// Checkpoint store: the CRC, the file format, round trips of real TF.js variables, keep-N pruning, the manifest,
// and corrupted files (flipped byte, truncation, wrong magic) falling back to the checkpoint before.
import test from 'ava';
import { readFileSync, readdirSync, truncateSync, writeFileSync, appendFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { selectTensorBackend, tf } from '../tensor/index.ts';
import { crc32, crc32Table, nativeCrc32 } from '../actors/tolaria/checkpoint/crc32.ts';
import {
  CheckpointFileError,
  HEADER_BYTES,
  decodeCheckpoint,
  encodeCheckpoint,
} from '../actors/tolaria/checkpoint/checkpoint-format.ts';
import {
  CheckpointStore,
  MANIFEST_FILE,
  checkpointFileName,
  type Manifest,
} from '../actors/tolaria/checkpoint/checkpoint-store.ts';
import {
  StateMismatchError,
  captureVariables,
  restoreVariables,
  type TrainingState,
} from '../actors/tolaria/checkpoint/training-state.ts';
import { captureLogger, checkStateContent, makeState, tempDir } from './fixtures/tolaria-checkpoint-fixtures.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

test('CRC-32 test vector: crc32("123456789") = 0xCBF43926, native and table-driven alike', (t) => {
  t.is(crc32('123456789'), 0xcbf43926);
  t.is(crc32Table(Buffer.from('123456789')), 0xcbf43926);
  t.is(crc32(new Uint8Array(0)), 0);
  const random = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2_654_435_761) >>> 24));
  t.is(crc32(random), crc32Table(random), 'native and table agree on other bytes');
  t.is(crc32(random.subarray(1000), crc32(random.subarray(0, 1000))), crc32(random), 'continues from a previous value');
  t.log(`zlib.crc32 in use: ${nativeCrc32}`);
});

test('encode/decode round trip: same values, Float32Arrays back, header carries the CRC and length', (t) => {
  const state = makeState(7);
  const { bytes, crc } = encodeCheckpoint(state);
  t.is(Buffer.from(bytes.subarray(0, 8)).toString('latin1'), 'ESPERCKP');
  const { state: back, header } = decodeCheckpoint(bytes, 'x.ckpt');
  t.is(header.crc, crc);
  t.is(header.payloadBytes, bytes.length - HEADER_BYTES);
  t.true(back.weights['layer/w0']!.data instanceof Float32Array);
  t.is(checkStateContent(back), null);
  t.deepEqual(back.rng, state.rng);
  t.deepEqual(back.optimizer.hyper, state.optimizer.hyper);
  t.is(back.createdAt, state.createdAt);
});

test('save/load of real TF.js variables: values equal after restore, no tensors leaked', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const before = tf.memory().numTensors;
  const make = (rngSeed: number): Map<string, tf.Variable> =>
    new Map([
      // tidy disposes the initial values; variables survive a tidy.
      [
        'dense/kernel',
        tf.tidy(() => tf.variable(tf.randomNormal([8, 4], 0, 1, 'float32', rngSeed), true, `k${rngSeed}`)),
      ],
      [
        'dense/bias',
        tf.tidy(() => tf.variable(tf.randomNormal([4], 0, 1, 'float32', rngSeed + 1), true, `b${rngSeed}`)),
      ],
    ]);
  const live = make(1);
  const original = await captureVariables(live);
  const store = new CheckpointStore(dir, { logger: captureLogger().logger });
  const state: TrainingState = {
    ...makeState(3),
    weights: original,
    optimizer: { kind: 'sgd', step: 3, slots: {}, hyper: { lr: 0.1 } },
  };
  await store.save(state);

  // Scramble the live variables, then restore from disk.
  for (const variable of live.values()) tf.tidy(() => variable.assign(tf.zerosLike(variable)));
  const loaded = await new CheckpointStore(dir, { logger: captureLogger().logger }).loadLatest();
  t.truthy(loaded);
  t.deepEqual(loaded!.skipped, []);
  restoreVariables(live, loaded!.state.weights);
  const after = await captureVariables(live);
  t.deepEqual(Array.from(after['dense/kernel']!.data), Array.from(original['dense/kernel']!.data));
  t.deepEqual(Array.from(after['dense/bias']!.data), Array.from(original['dense/bias']!.data));

  // A shape mismatch names the variable and assigns nothing.
  const other = make(9);
  const otherBefore = await captureVariables(other);
  const wrong = {
    ...loaded!.state.weights,
    'dense/kernel': { shape: [4, 8], data: loaded!.state.weights['dense/kernel']!.data },
  };
  const error = t.throws(() => restoreVariables(other, wrong), { instanceOf: StateMismatchError });
  t.is(error?.variable, 'dense/kernel');
  t.regex(error?.message ?? '', /dense\/kernel.*\[4, 8\].*\[8, 4\]/);
  t.deepEqual(
    Array.from((await captureVariables(other))['dense/bias']!.data),
    Array.from(otherBefore['dense/bias']!.data),
    'nothing assigned',
  );
  t.throws(() => restoreVariables(new Map([['dense/bias', other.get('dense/bias')!]]), loaded!.state.weights), {
    message: /dense\/kernel.*no live variable/,
  });

  for (const variable of [...live.values(), ...other.values()]) variable.dispose();
  t.is(tf.memory().numTensors, before, 'tensor count back to the baseline');
});

test('keep-N: only the newest N checkpoints stay, the manifest lists exactly them', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const store = new CheckpointStore(dir, { keep: 3, logger: captureLogger().logger });
  for (let epoch = 0; epoch < 6; epoch++) await store.save(makeState(epoch));
  t.deepEqual(
    store.listFiles().map((f) => f.epoch),
    [3, 4, 5],
  );
  const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
  t.is(manifest.manifestVersion, 1);
  t.deepEqual(
    manifest.checkpoints.map((entry) => entry.file),
    [3, 4, 5].map(checkpointFileName),
  );
  const last = manifest.checkpoints[2]!;
  t.is(last.bytes, readFileSync(join(dir, last.file)).length);
  t.is(last.crc, encodeCheckpoint(makeState(5)).crc);
  t.is(last.createdAt, makeState(5).createdAt);
  t.is(store.counters.pruned, 3);
  t.is(store.counters.saved, 6);
  t.deepEqual(readdirSync(dir).sort(), [...[3, 4, 5].map(checkpointFileName), MANIFEST_FILE].sort(), 'no temp files');
  const loaded = await store.loadLatest();
  t.is(loaded?.state.epoch, 5);
});

test('saving an earlier epoch (after a resume or rollback) removes the later, abandoned checkpoints', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const store = new CheckpointStore(dir, { keep: 5, logger: captureLogger().logger });
  for (let epoch = 0; epoch < 5; epoch++) await store.save(makeState(epoch));
  await store.save(makeState(2, { runId: 'resumed' }));
  t.deepEqual(
    store.listFiles().map((f) => f.epoch),
    [0, 1, 2],
  );
  t.is((await store.loadLatest())?.state.runId, 'resumed');
});

async function threeCheckpoints(t: {
  teardown(fn: () => void): void;
}): Promise<{ dir: string; log: ReturnType<typeof captureLogger>; store: CheckpointStore }> {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const writer = new CheckpointStore(dir, { keep: 3, logger: captureLogger().logger });
  for (let epoch = 1; epoch <= 3; epoch++) await writer.save(makeState(epoch));
  const log = captureLogger();
  return { dir, log, store: new CheckpointStore(dir, { keep: 3, logger: log.logger }) };
}

test('a flipped payload byte in the newest checkpoint: falls back to the one before, with a warning', async (t) => {
  const { dir, log, store } = await threeCheckpoints(t);
  const path = join(dir, checkpointFileName(3));
  const bytes = readFileSync(path);
  bytes[HEADER_BYTES + Math.floor((bytes.length - HEADER_BYTES) / 2)]! ^= 0x40;
  writeFileSync(path, bytes);
  const loaded = await store.loadLatest();
  t.is(loaded?.state.epoch, 2);
  t.is(checkStateContent(loaded!.state), null);
  t.deepEqual(
    loaded!.skipped.map((s) => [s.file, s.problem]),
    [[checkpointFileName(3), 'crc_mismatch']],
  );
  t.is(loaded!.warnings.length, 1);
  t.regex(loaded!.warnings[0]!, /ckpt-000003\.ckpt.*crc_mismatch.*falling back/);
  t.is(log.warnings.length, 1);
  t.is(log.warnings[0]!.fields?.file, checkpointFileName(3));
  t.is(store.counters.corrupt_skipped, 1);
});

test('a truncated newest checkpoint (and one with bytes appended): falls back, each reported', async (t) => {
  const { dir, store } = await threeCheckpoints(t);
  const newest = join(dir, checkpointFileName(3));
  truncateSync(newest, Math.floor(readFileSync(newest).length / 3));
  appendFileSync(join(dir, checkpointFileName(2)), Buffer.from([1, 2, 3]));
  const loaded = await store.loadLatest();
  t.is(loaded?.state.epoch, 1);
  t.deepEqual(
    loaded!.skipped.map((s) => s.problem),
    ['truncated', 'trailing_bytes'],
  );
  t.is(store.counters.corrupt_skipped, 2);
  // Truncated inside the header.
  truncateSync(join(dir, checkpointFileName(1)), 10);
  t.is(await store.loadLatest(), null, 'no usable checkpoint: null');
  t.is(store.counters.corrupt_skipped, 5);
});

test('a wrong magic: a typed error naming the file; loadLatest skips it', async (t) => {
  const { dir, store } = await threeCheckpoints(t);
  const file = checkpointFileName(3);
  const bytes = readFileSync(join(dir, file));
  bytes.write('NOTACKPT', 0, 'latin1');
  writeFileSync(join(dir, file), bytes);
  const error = await t.throwsAsync(store.load(file), { instanceOf: CheckpointFileError });
  t.is(error?.file, file);
  t.is(error?.problem, 'bad_magic');
  t.true(error?.message.includes(file));
  t.is((await store.loadLatest())?.state.epoch, 2);
});

test('a future format version and a well-checksummed payload of the wrong shape are typed errors too', (t) => {
  const { bytes } = encodeCheckpoint(makeState(1));
  const future = Buffer.from(bytes);
  future.writeUInt32LE(2, 8);
  t.is(
    t.throws(() => decodeCheckpoint(future, 'f.ckpt'), { instanceOf: CheckpointFileError })?.problem,
    'unsupported_version',
  );
  const bad = { ...makeState(1), epoch: -1 } as TrainingState;
  const error = t.throws(() => decodeCheckpoint(encodeCheckpoint(bad).bytes, 'b.ckpt'), {
    instanceOf: CheckpointFileError,
  });
  t.is(error?.problem, 'invalid_state');
  t.regex(error?.message ?? '', /b\.ckpt.*epoch/);
});

test('a format 1 state (an older checkpoint: the host only) still decodes, with no seeds and empty history; an unknown state format is refused', (t) => {
  const { seeds: _seeds, history: _history, ...host } = makeState(2);
  const older = decodeCheckpoint(
    encodeCheckpoint({ ...host, format: 1 } as unknown as TrainingState).bytes,
    'old.ckpt',
  ).state;
  t.is(older.format, 1);
  t.deepEqual(older.seeds, []);
  t.deepEqual(older.history, { validationLosses: [], recentLosses: [], recentLossSum: 0, judge: {} });
  t.is(checkStateContent(older), null, 'the host weights are all there');
  const unknown = t.throws(
    () =>
      decodeCheckpoint(encodeCheckpoint({ ...makeState(2), format: 3 } as unknown as TrainingState).bytes, 'new.ckpt'),
    { instanceOf: CheckpointFileError },
  );
  t.regex(unknown?.message ?? '', /new\.ckpt.*unknown format 3/);
});

test('a checkpoint written while the random seed was rng.seed decodes with rng.rngSeed', (t) => {
  const state = makeState(2);
  const { rngSeed, ...rest } = state.rng;
  const older = decodeCheckpoint(
    encodeCheckpoint({ ...state, rng: { ...rest, seed: rngSeed } } as unknown as TrainingState).bytes,
    'old.ckpt',
  ).state;
  t.deepEqual(older.rng, state.rng);
  t.is(older.rng.rngSeed, 42);
});

test('open recovers: temp files removed, extra checkpoints pruned, a stale or missing manifest rebuilt', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const writer = new CheckpointStore(dir, { keep: 5, logger: captureLogger().logger });
  for (let epoch = 0; epoch < 5; epoch++) await writer.save(makeState(epoch));
  writeFileSync(join(dir, `.${checkpointFileName(5)}.1234-abcd.tmp`), Buffer.from('partial'));
  writeFileSync(join(dir, `.${MANIFEST_FILE}.1234-abcd.tmp`), '{"manif');
  unlinkSync(join(dir, MANIFEST_FILE));
  const store = new CheckpointStore(dir, { keep: 2, logger: captureLogger().logger });
  t.deepEqual(store.recovery, { tempFilesRemoved: 2, prunedAtOpen: 3, manifestRebuilt: true });
  t.deepEqual(store.listTempFiles(), []);
  t.deepEqual(
    store.list().map((entry) => entry.epoch),
    [3, 4],
  );
  t.is(store.list()[1]!.crc, encodeCheckpoint(makeState(4)).crc);
  const again = new CheckpointStore(dir, { keep: 2, logger: captureLogger().logger });
  t.deepEqual(
    again.recovery,
    { tempFilesRemoved: 0, prunedAtOpen: 0, manifestRebuilt: false },
    'a clean directory is left alone',
  );
});

test('concurrent saves are serialised: all complete, the newest N remain', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const store = new CheckpointStore(dir, { keep: 2, logger: captureLogger().logger });
  await Promise.all([1, 2, 3, 4].map((epoch) => store.save(makeState(epoch))));
  t.deepEqual(
    store.listFiles().map((f) => f.epoch),
    [3, 4],
  );
  t.deepEqual(
    store.list().map((e) => e.epoch),
    [3, 4],
  );
});
