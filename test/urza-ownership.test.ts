// One writer, many readers per Urza root: the owner lock, two libraries on one root (as two processes would open
// it), a real second process that owns the root and is killed -9 (its lock is taken over), a stale owner record of a
// dead pid, and `esper serve nissa` beside `esper run` in one folder.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UrzaLibrary } from '../actors/urza/library.ts';
import { CatalogLockedError, OWNER_LOCK_FILE, OWNER_PID_FILE, OwnerLock } from '../actors/urza/owner-lock.ts';
import { runTsChild } from './helpers/child-process.ts';
import { ESPER_BIN, esper, esperEnv, freshDir } from './helpers/esper-cli.ts';
import { EventLog } from './helpers/events.ts';
import { freePort, RedisServer, redisServerAvailable } from './helpers/redis-server.ts';
import { bytesOf, descriptor, saveInput, tempRoot } from './fixtures/urza-fixtures.ts';

const SAVE_LOOP = fileURLToPath(new URL('./fixtures/urza-save-loop.ts', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));

test('the owner lock: one holder at a time; released, it is taken again; the holder is named by its pid', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const first = OwnerLock.tryAcquire(root);
  t.truthy(first);
  t.is(OwnerLock.tryAcquire(root), null, 'held: a second connection (or process) does not get it');
  t.is(OwnerLock.ownerPid(root), process.pid);
  first?.release();
  const second = OwnerLock.tryAcquire(root);
  t.truthy(second, 'released: free again');
  second?.release();
});

test('two libraries on one root: the owner writes, the other reads what it wrote and refuses to write, then takes over when the owner closes', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const owner = new UrzaLibrary({ root });
  t.is(owner.role, 'owner');
  t.true(owner.save(saveInput(descriptor('BP001'), [32], bytesOf('first kernel'))).ok);

  const reader = new UrzaLibrary({ root, ownership: 'preferred' });
  t.is(reader.role, 'reader', 'the root is owned: the second opens as a reader');
  const found = reader.get('BP001', [32], { fromDisk: true });
  t.is(found.status, 'found', 'a reader resolves kernels the owner stored');
  const refused = reader.save(saveInput(descriptor('BP002'), [32], bytesOf('second kernel')));
  t.false(refused.ok);
  if (!refused.ok) {
    t.is(refused.error.code, 'unavailable');
    t.regex(
      refused.error.message,
      new RegExp(`catalog\\.db is owned by process ${process.pid}: this process only reads it`),
    );
  }
  t.like(reader.evict('BP001'), { status: 'unavailable', cause: 'not_owner' }, 'nor may it evict');
  t.like(reader.maintenance(), { status: 'ok', expired: 0, missing: 0, corrupt: 0 });
  t.is(reader.metricsSnapshot()['urza.library.catalog_owner'], 0);
  t.is(owner.metricsSnapshot()['urza.library.catalog_owner'], 1);
  t.throws(
    () => new UrzaLibrary({ root }),
    { instanceOf: CatalogLockedError, message: /owned by process \d+: one writer per Urza root/ },
    'an open that must own fails, naming the owner',
  );

  owner.close();
  t.true(
    reader.save(saveInput(descriptor('BP002'), [32], bytesOf('second kernel'))).ok,
    'the owner gone, the reader takes over at its next write',
  );
  t.is(reader.role, 'owner');
  t.is(reader.get('BP001', [32]).status, 'found');
  reader.close();
});

test('a second process owns the root: this one reads its kernels; after kill -9 the dead owner is taken over and its debris recovered', async (t) => {
  const { root, cleanup } = tempRoot('urza-owner-');
  t.teardown(cleanup);
  // Two saves complete; the third stops after writing its temp file, and the child waits there, owning the root.
  const child = runTsChild(SAVE_LOOP, [root, '3', 'temp_written', '2'], 30_000);
  t.teardown(() => child.kill());
  await child.waitFor((line) => line === 'paused');

  const reader = new UrzaLibrary({ root, ownership: 'on-write' });
  t.is(reader.role, 'reader');
  t.is(reader.get('BP000', [32], { fromDisk: true }).status, 'found', "the other process's kernels resolve here");
  t.is(reader.has('BP001', [8, 8, 4]).status, 'found');
  t.throws(() => new UrzaLibrary({ root }), {
    instanceOf: CatalogLockedError,
    message: new RegExp(`owned by process ${child.pid}:`),
  });
  const refused = reader.save(saveInput(descriptor('BP009'), [32], bytesOf('mine')));
  t.false(refused.ok, 'a live owner keeps the root');

  child.kill();
  t.is((await child.exit).signal, 'SIGKILL');
  t.true(existsSync(join(root, OWNER_LOCK_FILE)), 'the dead owner left its lock file behind');
  const saved = reader.save(saveInput(descriptor('BP009'), [32], bytesOf('mine')));
  t.true(saved.ok, 'the next write takes the dead owner’s place');
  t.is(reader.role, 'owner');
  t.is(
    reader.recovery.tempFilesRemoved,
    1,
    "taking over ran recovery: the dead owner's half-written temp file is gone",
  );
  t.is(readFileSync(join(root, OWNER_PID_FILE), 'utf8').trim(), String(process.pid));
  reader.close();
});

test('a stale owner record from a dead pid is not an owner: the next open takes the root', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  writeFileSync(join(root, OWNER_PID_FILE), `${deadPid}\n`);
  writeFileSync(join(root, OWNER_LOCK_FILE), '');
  t.is(OwnerLock.ownerPid(root), null, 'a dead pid is nobody');
  const library = new UrzaLibrary({ root });
  t.is(library.role, 'owner');
  t.is(readFileSync(join(root, OWNER_PID_FILE), 'utf8').trim(), String(process.pid));
  library.close();
});

const withRedis = redisServerAvailable() ? test.serial : test.skip;

withRedis(
  'esper serve nissa and esper run share one folder: the run owns Urza, Nissa only reads it, both work',
  async (t) => {
    t.timeout(240_000, 'a served Nissa and a quick run with its first-use forge on a loaded machine');
    const redis = await RedisServer.start();
    const env = { ESPER_LEYLINE_SECRET: 'shared-folder-secret' };
    const cwd = freshDir('esper-shared-');
    const file = join(cwd, 'shared.ts');
    writeFileSync(
      file,
      `import base from ${JSON.stringify(join(repo, 'experiments', 'quick.ts'))};\n` +
        `export default { ...base, budgets: { ...base.budgets, epochs: 2 }, bus: ${JSON.stringify(redis.url)}, servedElsewhere: ['nissa'], nissaPort: ${await freePort()} };\n`,
    );
    const nissa = spawn(process.execPath, [ESPER_BIN, 'serve', 'nissa', file], { cwd, env: { ...esperEnv(), ...env } });
    // Each event is the whole output so far: a line split across chunks still matches.
    const output = new EventLog<string>();
    let printed = '';
    let errors = '';
    nissa.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      output.push(printed);
    });
    nissa.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => nissa.once('close', resolve));
    try {
      await output.waitFor((text) => text.includes('nissa ready on'), { timeoutMs: 120_000 });
      const run = await esper(['run', file, '--nissa-port', '0'], cwd, { env });
      t.is(run.code, 0, run.stderr);
      t.regex(run.stdout, /esper: training complete/);
      t.notRegex(run.stdout + run.stderr, /owned by/);
      t.regex(run.stdout, /esper: first use: forging 1 kernel/, 'the run stored its kernel in the shared library');
      t.is(nissa.exitCode, null, 'Nissa is still serving');
    } finally {
      nissa.kill('SIGTERM');
      t.is(await closed, 0, errors);
      await redis.stop();
    }
  },
);
