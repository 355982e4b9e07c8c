// Proof that growth pays (`npm run bench -- growth`): on MNIST, with fixed random seeds and the same epoch budget,
// the default experiment (experiments/mnist-mlp.ts) is trained three ways, each a real `esper run` in a fresh folder:
//   (a) the under-sized host alone (no seeds),
//   (b) the same host with Esper's seeds (Tamiyo decides with the default, the learned policy shipped in policies/;
//       Kasmina grafts, the forge fills Urza first),
//   (h) the same with the heuristic deciding (`policy: 'heuristic'`), beside the learned policy,
//   (c) a static host with (b)'s final parameter count (a wider hidden layer), trained from scratch.
// One JSON line per result; the side-by-side table goes to stderr (it is the README's). Random seeds:
// GROWTH_RNG_SEEDS (default 1,2,3); the means are what the targets are read against: (b) beats (a) clearly and is
// within 0.5 points of (c). Every run is made on one replica and again on two (`--replicas`): the table's accuracies
// are one replica's, its time column both.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report } from './report.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const EXPERIMENT = join(root, 'experiments', 'mnist-mlp.ts');
const INPUTS = 784;
const CLASSES = 10;

interface Outcome {
  testAccuracy: number;
  parameters: number;
  seconds: number;
  decisions: string[];
  fossilized: number;
}

interface Line {
  event: string;
  decision?: string | null;
  parameters?: { host: number; seeds: number };
  seedsByStage?: Record<string, number>;
  result?: { testAccuracy: number; seconds: number };
}

/** Runs the default experiment with `changes` applied (a TypeScript expression spread over it) and `rngSeed`. */
function train(label: string, rngSeed: number, changes: string, replicas = 1): Promise<Outcome> {
  const cwd = mkdtempSync(join(tmpdir(), `esper-growth-${label}-`));
  writeFileSync(join(cwd, 'package.json'), '{ "type": "module" }\n');
  const file = join(cwd, 'experiment.ts');
  writeFileSync(file, `import base from ${JSON.stringify(EXPERIMENT)};\nexport default { ...base, ${changes} };\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(root, 'bin', 'esper.js'),
        'run',
        file,
        '--json',
        '--rng-seed',
        String(rngSeed),
        '--replicas',
        String(replicas),
        '--nissa-port',
        '0',
      ],
      {
        cwd,
        env: { ...process.env, ESPER_LOG_LEVEL: 'error' },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0)
        return reject(new Error(`growth ${label} (rngSeed ${rngSeed}) exited ${code}: ${stderr.slice(-2_000)}`));
      const lines = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Line);
      const epochs = lines.filter((l) => l.event === 'epoch');
      const last = epochs.at(-1);
      const finished = lines.find((l) => l.event === 'finished');
      if (!last?.parameters || !finished?.result)
        return reject(new Error(`growth ${label}: no epochs or no result in its output`));
      resolve({
        testAccuracy: finished.result.testAccuracy * 100,
        parameters: last.parameters.host + last.parameters.seeds,
        seconds: finished.result.seconds,
        decisions: epochs.map((l) => l.decision ?? '').filter((d) => d.startsWith('germinate')),
        fossilized: last.seedsByStage?.fossilized ?? 0,
      });
    });
  });
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

type Rows = Record<'a' | 'b' | 'h' | 'c', Outcome[]>;

/** The four runs for every random seed, each on `replicas` replicas; (c)'s widths follow (b)'s grown size. */
async function trainAll(rngSeeds: readonly number[], replicas: number): Promise<{ rows: Rows; widths: number[] }> {
  const rows: Rows = { a: [], b: [], h: [], c: [] };
  const widths: number[] = [];
  for (const rngSeed of rngSeeds) {
    rows.a.push(await train('host', rngSeed, 'seeds: false', replicas));
    const grown = await train('seeds', rngSeed, '', replicas);
    rows.b.push(grown);
    rows.h.push(await train('heuristic', rngSeed, "tamiyo: { policy: 'heuristic' }", replicas));
    // A single hidden layer of width h holds (INPUTS + 1)·h + (h + 1)·CLASSES weights: the width nearest (b)'s count.
    const width = Math.round((grown.parameters - CLASSES) / (INPUTS + 1 + CLASSES));
    widths.push(width);
    rows.c.push(
      await train(
        'static',
        rngSeed,
        `seeds: false, host: { kind: 'mlp', inputs: ${INPUTS}, hidden: [${width}], classes: ${CLASSES} }`,
        replicas,
      ),
    );
  }
  return { rows, widths };
}

const figures = (rows: Rows, k: keyof Rows) => ({
  accuracy: mean(rows[k].map((r) => r.testAccuracy)),
  parameters: mean(rows[k].map((r) => r.parameters)),
  seconds: mean(rows[k].map((r) => r.seconds)),
});

export async function run(): Promise<void> {
  if (process.env.GROWTH_SEEDS !== undefined)
    throw new Error('GROWTH_SEEDS is now GROWTH_RNG_SEEDS (the random seeds)');
  const rngSeeds = (process.env.GROWTH_RNG_SEEDS ?? '1,2,3').split(',').map(Number);
  // The table's accuracies are one replica's (comparable with every earlier table); the time column is given for
  // one replica and for two (the default on this 2-core machine: actors/tolaria/parallel/).
  const { rows, widths } = await trainAll(rngSeeds, 1);
  const parallel = await trainAll(rngSeeds, 2);
  const [a, b, h, c] = [figures(rows, 'a'), figures(rows, 'b'), figures(rows, 'h'), figures(rows, 'c')];
  const n2 = {
    a: figures(parallel.rows, 'a'),
    b: figures(parallel.rows, 'b'),
    h: figures(parallel.rows, 'h'),
    c: figures(parallel.rows, 'c'),
  };
  report('growth', 'host_alone_test_accuracy', a.accuracy, '%');
  report('growth', 'grown_test_accuracy', b.accuracy, '%', a.accuracy);
  report('growth', 'static_same_size_test_accuracy', c.accuracy, '%');
  report('growth', 'grown_vs_static_test_accuracy', b.accuracy, '%', c.accuracy);
  report('growth', 'grown_minus_host_points', b.accuracy - a.accuracy, 'points');
  report('growth', 'grown_minus_static_points', b.accuracy - c.accuracy, 'points');
  report('growth', 'host_alone_parameters', a.parameters, 'weights');
  report('growth', 'grown_parameters', b.parameters, 'weights', a.parameters);
  report('growth', 'static_parameters', c.parameters, 'weights', b.parameters);
  report('growth', 'host_alone_seconds', a.seconds, 's');
  report('growth', 'grown_seconds', b.seconds, 's', a.seconds);
  report('growth', 'static_seconds', c.seconds, 's', a.seconds);
  report('growth', 'grown_seeds_fossilized', mean(rows.b.map((r) => r.fossilized)), 'seeds');
  report('growth', 'heuristic_grown_test_accuracy', h.accuracy, '%', a.accuracy);
  report('growth', 'learned_vs_heuristic_test_accuracy', b.accuracy, '%', h.accuracy);
  report('growth', 'learned_vs_heuristic_parameters', b.parameters, 'weights', h.parameters);
  // Two replicas against one, run by run: the time, and what the accuracy became (float sums in another order).
  const names = { a: 'host_alone', b: 'grown', h: 'heuristic_grown', c: 'static' } as const;
  for (const [k, one] of Object.entries({ a, b, h, c }) as Array<[keyof Rows, ReturnType<typeof figures>]>) {
    report('growth', `${names[k]}_seconds_n2_vs_n1`, n2[k].seconds, 's', one.seconds);
    report('growth', `${names[k]}_test_accuracy_n2`, n2[k].accuracy, '%', one.accuracy);
  }

  const pct = (x: number): string => `${x.toFixed(2)} %`;
  const each = (k: keyof Rows): string => rows[k].map((r) => r.testAccuracy.toFixed(2)).join(' / ');
  const time = (k: keyof Rows): string => `${{ a, b, h, c }[k].seconds.toFixed(1)} s / ${n2[k].seconds.toFixed(1)} s`;
  const decisions = (k: 'b' | 'h'): string =>
    rows[k]
      .map((r, i) => `rngSeed ${rngSeeds[i]}: ${r.decisions.join('; ') || 'none'} (${r.fossilized} fossilized)`)
      .join('<br>');
  process.stderr.write(
    [
      `| run (MNIST, ${rngSeeds.length} random seeds: ${rngSeeds.join(', ')}) | test accuracy (mean) | per random seed | parameters | training time, 1 / 2 replicas | decisions |`,
      '| --- | --- | --- | --- | --- | --- |',
      `| (a) host 784-16-10 alone | ${pct(a.accuracy)} | ${each('a')} | ${Math.round(a.parameters).toLocaleString('en-US')} | ${time('a')} | — |`,
      `| (b) the same host with Esper's seeds, the learned policy deciding (default) | **${pct(b.accuracy)}** | ${each('b')} | ${Math.round(b.parameters).toLocaleString('en-US')} | ${time('b')} | ${decisions('b')} |`,
      `| (b) with the heuristic deciding (\`--policy heuristic\`) | ${pct(h.accuracy)} | ${each('h')} | ${Math.round(h.parameters).toLocaleString('en-US')} | ${time('h')} | ${decisions('h')} |`,
      `| (c) static host 784-${widths.join('/')}-10, (b)'s size | ${pct(c.accuracy)} | ${each('c')} | ${Math.round(c.parameters).toLocaleString('en-US')} | ${time('c')} | — |`,
      `(with 2 replicas the mean test accuracies were ${(['a', 'b', 'h', 'c'] as const).map((k) => `(${k}) ${pct(n2[k].accuracy)}`).join(', ')})`,
      '',
    ].join('\n'),
  );
}
