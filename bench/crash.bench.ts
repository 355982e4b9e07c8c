// Crash safety of a whole run (`npm run bench -- crash`): the default experiment (`npx esper run`, MNIST) is run once
// to its end, then CRASH_KILLS times (default 20) started afresh in a folder of its own, killed with `kill -9` at a
// random moment between 3 and 25 s (seeded: CRASH_RNG_SEED, default 1), and resumed with `esper run --resume <run
// folder>`. Each resumed run is compared with the uninterrupted one (test/helpers/run-outcome.ts): decisions,
// epochs, summary, the final grown network's weights, Tamiyo's field reports.
//
// Prints, as JSON lines: crash_kills, crash_resumes_finished, crash_runs_identical (targets: every trial),
// crash_reports_lost and crash_seeds_lost (target 0; baseline: how many were at stake). A line per trial goes to
// stderr. Each trial starts with the uninterrupted run's Urza (the forge's first use is not what is measured).
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../runtime/seeded-random.ts';
import { compareOutcomes, runOutcome, type RunOutcome } from '../test/helpers/run-outcome.ts';
import { report } from './report.ts';

const ESPER = fileURLToPath(new URL('../bin/esper.js', import.meta.url));
const RUN = 'run-crash';
const KILL_WINDOW_S: [number, number] = [3, 25];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** `esper run` (default experiment) in `cwd`, its run in `<cwd>/run-crash`; killed after `killAfterMs` if given. */
function esperRun(cwd: string, resume: boolean, killAfterMs?: number): Promise<Exit> {
  const args = ['run', '--json', '--nissa-port', '0', resume ? '--resume' : '--run-dir', join(cwd, RUN)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ESPER, ...args], {
      cwd,
      env: { ...process.env, ESPER_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

function freshFolder(label: string): string {
  const cwd = mkdtempSync(join(tmpdir(), `esper-crash-${label}-`));
  writeFileSync(join(cwd, 'package.json'), '{ "type": "module" }\n');
  return cwd;
}

export async function run(): Promise<void> {
  const trials = Number(process.env.CRASH_KILLS ?? 20);
  if (process.env.CRASH_SEED !== undefined) throw new Error('CRASH_SEED is now CRASH_RNG_SEED (the random seed)');
  const draw = mulberry32(Number(process.env.CRASH_RNG_SEED ?? 1));
  const referenceDir = freshFolder('reference');
  const uninterrupted = await esperRun(referenceDir, false);
  if (uninterrupted.code !== 0)
    throw new Error(`the uninterrupted run failed (exit ${uninterrupted.code}): ${uninterrupted.stderr.slice(-2_000)}`);
  const reference: RunOutcome = await runOutcome(referenceDir, join(referenceDir, RUN));
  const seedsAtStake = reference.network?.seeds.length ?? 0;
  process.stderr.write(
    `crash: reference run: ${reference.epochs.length} epochs, ${reference.decisions.length} decisions, ${reference.reports.length} field reports, ${seedsAtStake} seeds\n`,
  );

  let kills = 0;
  let finished = 0;
  let identical = 0;
  let reportsLost = 0;
  let seedsLost = 0;
  for (let i = 1; i <= trials; i++) {
    const cwd = freshFolder(`trial-${i}`);
    cpSync(join(referenceDir, 'var', 'urza'), join(cwd, 'var', 'urza'), { recursive: true });
    const killAfterMs = Math.round((KILL_WINDOW_S[0] + draw() * (KILL_WINDOW_S[1] - KILL_WINDOW_S[0])) * 1000);
    const first = await esperRun(cwd, false, killAfterMs);
    const killed = first.signal === 'SIGKILL';
    if (killed) kills += 1;
    const resumed = await esperRun(cwd, true);
    if (resumed.code === 0) finished += 1;
    const outcome = await runOutcome(cwd, join(cwd, RUN)).catch(() => null);
    const difference = outcome ? compareOutcomes(reference, outcome) : null;
    if (difference?.identical) identical += 1;
    reportsLost += difference ? difference.reportsLost : reference.reports.length;
    seedsLost += difference ? difference.seedsLost : seedsAtStake;
    const verdict =
      difference === null
        ? 'no outcome'
        : difference.identical
          ? 'identical'
          : `differs: ${difference.differences.join(', ')}`;
    process.stderr.write(
      `crash: trial ${i}/${trials}: ${killed ? `killed at ${(killAfterMs / 1000).toFixed(1)} s` : `not killed (exit ${first.code} before ${(killAfterMs / 1000).toFixed(1)} s)`}; ` +
        `resume exit ${resumed.code}; ${verdict}${resumed.code === 0 ? '' : `: ${resumed.stderr.slice(-500)}`}\n`,
    );
  }
  report('crash', 'crash_kills', kills, 'runs', trials);
  report('crash', 'crash_resumes_finished', finished, 'runs', trials);
  report('crash', 'crash_runs_identical', identical, 'runs', trials);
  report('crash', 'crash_reports_lost', reportsLost, 'reports', reference.reports.length * trials);
  report('crash', 'crash_seeds_lost', seedsLost, 'seeds', seedsAtStake * trials);
}
