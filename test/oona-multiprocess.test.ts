// One run across processes on one Redis: the trainer (Tolaria, Kasmina, Tamiyo) in one `esper run`, Simic and
// Nissa each in an `esper serve` of their own, and Tezzeret workers serving a forge; each process has its own
// working directory (nothing shared but the bus). Field reports travel to Simic and Nissa over Redis; the policy
// Simic learns travels back, and the next run's Tamiyo takes it up; Nissa serves what the trainer reported.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { leyline } from '../contracts/index.ts';
import { freePort, RedisServer, redisServerAvailable } from './helpers/redis-server.ts';

const bin = fileURLToPath(new URL('../bin/esper.js', import.meta.url));
const defaults = fileURLToPath(new URL('../esper.config.ts', import.meta.url));
const run = redisServerAvailable() ? test.serial : test.skip;
const env = { ...process.env, ESPER_LEYLINE_SECRET: 'multi-process-secret', ESPER_LOG_LEVEL: 'warn' };

interface Child {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  waitFor(pattern: RegExp): Promise<void>;
}

function esper(args: string[], cwd: string): Child {
  const child = spawn(process.execPath, [bin, ...args], { cwd, env });
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  const guard = setTimeout(() => child.kill('SIGKILL'), 170_000);
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(guard);
      for (const wake of waiters.splice(0)) wake();
      resolve(code);
    }),
  );
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitFor: async (pattern) => {
      while (!pattern.test(stdout)) {
        if (child.exitCode !== null)
          throw new Error(`esper ${args[0]} exited (${child.exitCode}) before ${pattern}:\n${stdout}\n${stderr}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

function workDir(config: string): string {
  const cwd = mkdtempSync(join(tmpdir(), 'esper-mp-'));
  writeFileSync(join(cwd, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(cwd, 'esper.config.ts'), config);
  return cwd;
}

run(
  'the trainer, Simic, Nissa and Tezzeret run in separate processes over one Redis: reports go out, a learned policy comes back, Nissa serves the run, kernels arrive',
  async (t) => {
    t.timeout(180_000);
    const server = await RedisServer.start();
    const nissaPort = await freePort();
    const common =
      `import defaults from ${JSON.stringify(defaults)};\n` +
      `const tree = { ...defaults.weatherlight.tree, children: defaults.weatherlight.tree.children.filter((c) => c.id !== 'simic' && c.id !== 'nissa') };\n` +
      `const base = { ...defaults, run: { ...defaults.run, multiProcess: true }, oona: { url: ${JSON.stringify(server.url)} },\n` +
      `  tolaria: { experiment: 'spirals', dataset: { kind: 'spirals' }, optimizer: { kind: 'adam', learningRate: 0.01 }, epochs: 16, control: { hookBudgetMs: 10000 } },\n` +
      `  tamiyo: { policy: 'heuristic', observationEpochs: 1, shadowDecisions: 1, inferenceTimeoutMs: 2000 },\n` +
      `  simic: { trainEvery: 6, batch: 16, thread: 'inline', validation: { minAverageReward: -10, minSamples: 4, tolerance: 10 } }, nissa: { port: ${nissaPort} } };\n`;
    const trainerDir = workDir(`${common}export default { ...base, weatherlight: { ...base.weatherlight, tree } };\n`);
    const simicDir = workDir(`${common}export default base;\n`);
    const nissaDir = workDir(`${common}export default base;\n`);
    const redis = new Redis(server.url);
    const simic = esper(['serve', 'simic', '--bus', server.url], simicDir);
    const nissa = esper(['serve', 'nissa', '--bus', server.url], nissaDir);
    try {
      await simic.waitFor(/esper serve: simic ready on redis:/);
      await nissa.waitFor(/esper serve: nissa ready on redis:/);
      t.regex(simic.stdout(), /trainer/, 'the served tree has Simic');
      t.notRegex(simic.stdout(), /tolaria/, 'and no trainer');

      const first = esper(['run'], trainerDir);
      t.is(await first.exited, 0, first.stderr());
      t.notRegex(first.stdout(), /^\s+simic\b/m, 'the trainer process runs no Simic of its own (its tree has none)');
      // Simic learns from the reports it received over Redis and publishes a policy on oona.policy.
      for (;;) {
        if ((await redis.xlen('oona.policy')) > 0) break;
        if (simic.process.exitCode !== null) throw new Error(`simic exited: ${simic.stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const [[, fields]] = (await redis.xrangeBuffer('oona.policy', '-', '+')) as [Buffer, Buffer[]][] as [
        [Buffer, Buffer[]],
      ];
      const update = leyline.PolicyUpdate.decode(leyline.BusEnvelope.decode(fields[1] as Buffer).payload);
      t.regex(update.tamiyoPolicyVersion, /^simic-/);
      const simicGroup = ((await redis.call('XINFO', 'GROUPS', 'oona.normal')) as unknown[][]).map((flat) =>
        String(flat[1]),
      );
      t.true(simicGroup.includes('simic'), 'Simic reads oona.normal in its own group');
      t.false(
        existsSync(join(simicDir, 'var', 'tamiyo', 'field_reports.db')),
        'Simic never touched a report store: all came by bus',
      );

      // Nissa, in its own process, serves what the trainer reported.
      const nissaUrl = `http://127.0.0.1:${nissaPort}`;
      for (;;) {
        const summary = (await (await fetch(`${nissaUrl}/metrics/summary`)).json()) as {
          ingested: { field_report: number };
        };
        if (summary.ingested.field_report >= 15) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const exposition = await (await fetch(`${nissaUrl}/metrics`)).text();
      t.regex(exposition, /^esper_telemetry_packets_total\{source="tolaria"\} [1-9]\d*$/m, "the trainer's telemetry");
      t.regex(exposition, /^esper_tolaria_\w+\{source="tolaria"\} /m, 'its metrics as series');
      t.regex(
        exposition,
        /^esper_telemetry_packets_total\{source="simic"\} [1-9]/m,
        "and Simic's, from a third process",
      );
      t.is((await fetch(`${nissaUrl}/healthz`)).status, 200);
      const runId = /esper: training run (spirals-\d{8}-\d{6})/.exec(first.stdout())?.[1] ?? '';
      const reports = (await (
        await fetch(`${nissaUrl}/api/documents?kind=field_report&run=${runId}&limit=1000`)
      ).json()) as { documents: unknown[] };
      t.is(reports.documents.length, 15, 'every completed field report of the run, queryable by run');
      // The fault drills, through the bus into that Nissa: each default alert fires and clears.
      const drills = esper(['drills', '--bus', server.url, '--nissa', nissaUrl], trainerDir);
      t.is(await drills.exited, 0, drills.stdout() + drills.stderr());
      t.regex(drills.stdout(), /esper drills: 5\/5 alerts triggered and cleared through redis:/);

      // A Tezzeret worker in a fourth process compiles a kernel a forge in a fifth asked for; the trainer's Urza
      // (its group on oona.kernels.artifacts has existed since its first run) takes it in too when it next runs.
      const tezzeret = esper(['serve', 'tezzeret', '--bus', server.url], workDir(`${common}export default base;\n`));
      await tezzeret.waitFor(/esper serve: tezzeret ready on redis:/);
      const forge = esper(
        ['forge', '--only', 'BP002', '--slots', '24', '--bus', server.url],
        workDir(`${common}export default base;\n`),
      );
      t.is(await forge.exited, 0, forge.stdout() + forge.stderr());
      tezzeret.process.kill('SIGTERM');
      t.is(await tezzeret.exited, 0, tezzeret.stderr());

      // The next run's Tamiyo (group "tamiyo" on oona.policy) receives the update, shadows it, promotes it.
      const second = esper(['run'], trainerDir);
      t.is(await second.exited, 0, second.stderr());
      const stored = esper(['forge', '--only', 'BP002', '--slots', '24'], trainerDir);
      t.is(await stored.exited, 0, stored.stderr());
      t.regex(
        stored.stdout(),
        /esper forge: 0 compiled, 1 already stored, 0 failed/,
        "the trainer's Urza has the kernel compiled elsewhere",
      );
      const promoted = leyline.PolicyUpdate.decode(readFileSync(join(trainerDir, 'var', 'tamiyo', 'policy.pb')));
      // Simic may have learned again from the second run's reports: Tamiyo runs one of the policies it published.
      const published = ((await redis.xrangeBuffer('oona.policy', '-', '+')) as [Buffer, Buffer[]][]).map(
        ([, f]) => leyline.PolicyUpdate.decode(leyline.BusEnvelope.decode(f[1] as Buffer).payload).tamiyoPolicyVersion,
      );
      t.true(
        published.includes(promoted.tamiyoPolicyVersion),
        `${promoted.tamiyoPolicyVersion} in ${published.join(', ')}`,
      );
    } finally {
      simic.process.kill('SIGTERM');
      nissa.process.kill('SIGTERM');
      t.is(await simic.exited, 0, simic.stderr());
      t.is(await nissa.exited, 0, nissa.stderr());
      redis.disconnect();
      await server.stop();
    }
  },
);

run(
  'two Tezzeret worker processes share the compile jobs of a forge in a third; its Urza stores what they send',
  async (t) => {
    t.timeout(180_000);
    const server = await RedisServer.start();
    const config = `import defaults from ${JSON.stringify(defaults)};\nexport default { ...defaults, run: { ...defaults.run, multiProcess: true } };\n`;
    const workers = [workDir(config), workDir(config)].map((dir) =>
      esper(['serve', 'tezzeret', '--bus', server.url], dir),
    );
    const forgeDir = workDir(config);
    const redis = new Redis(server.url);
    try {
      for (const worker of workers) await worker.waitFor(/esper serve: tezzeret ready on redis:/);
      const forge = esper(['forge', '--only', 'BP001,BP021', '--slots', '32,16', '--bus', server.url], forgeDir);
      t.is(await forge.exited, 0, forge.stdout() + forge.stderr());
      t.regex(forge.stdout(), /esper forge: 4 compiled, 0 already stored, 0 failed/);
      const group = ((await redis.call('XINFO', 'GROUPS', 'oona.kernels.compile')) as unknown[][]).map((flat) => ({
        name: String(flat[1]),
        consumers: Number(flat[3]),
        pending: Number(flat[5]),
      }));
      t.deepEqual(
        group,
        [{ name: 'tezzeret', consumers: 2, pending: 0 }],
        'both workers read one group; every job acknowledged',
      );
      const artifacts = ((await redis.xrangeBuffer('oona.kernels.artifacts', '-', '+')) as [Buffer, Buffer[]][]).map(
        ([, f]) => leyline.KernelArtifact.decode(leyline.BusEnvelope.decode(f[1] as Buffer).payload),
      );
      t.is(artifacts.length, 4);
      t.is(new Set(artifacts.map((a) => a.tags.compiled_by)).size, 2, 'each worker compiled some of the jobs');
      t.false(existsSync(join(forgeDir, 'var', 'tezzeret')), 'the forge compiled nothing itself (no job journal)');
      // The forge's own library now has them: a local forge finds all four stored.
      const again = esper(['forge', '--only', 'BP001,BP021', '--slots', '32,16'], forgeDir);
      t.is(await again.exited, 0, again.stderr());
      t.regex(again.stdout(), /esper forge: 0 compiled, 4 already stored, 0 failed/);
    } finally {
      for (const worker of workers) worker.process.kill('SIGTERM');
      for (const worker of workers) t.is(await worker.exited, 0, worker.stderr());
      redis.disconnect();
      await server.stop();
    }
  },
);
