// `esper learn --ship <learn-dir>`: packs a finished learning run's final policy for the package (`policies/`): its
// weights and a manifest naming the curriculum, rngSeed, rounds, the commands that made it and the held-out table
// (policy/shipped.ts). The policy file is read with the learn folder's secret, as `esper run --policy` would.
import { basename, dirname, join, resolve } from 'node:path';
import { resolveSigningSecret } from '../../actors/weatherlight/index.ts';
import {
  readPolicyFile,
  SHIPPED_POLICY_DIR,
  writeShippedPolicy,
  type HeldOutFigures,
  type PolicyManifest,
} from '../../policy/index.ts';
import { createLogger } from '../../runtime/log.ts';
import { UsageError } from '../forge.ts';
import {
  LEARN_RECORD_FILE,
  readLearnRecord,
  type LearnFinishedRecord,
  type LearnHeldOutRecord,
  type LearnStartRecord,
} from './record.ts';

const mean = (values: readonly number[]): number => values.reduce((s, x) => s + x, 0) / Math.max(1, values.length);

/** Mean test accuracy and added weights per held-out task and policy. */
export function heldOutTable(lines: readonly LearnHeldOutRecord[]): HeldOutFigures[] {
  const ok = lines.filter((l) => l.ok);
  const keys = [...new Set(ok.map((l) => `${l.task}\u0000${l.policy}`))];
  return keys.map((key) => {
    const [task, policy] = key.split('\u0000') as [string, string];
    const own = ok.filter((l) => l.task === task && l.policy === policy);
    const round = (x: number): number => Math.round(x * 100) / 100;
    return {
      task,
      policy,
      testAccuracy: round(mean(own.map((l) => l.testAccuracy))),
      addedParameters: round(mean(own.map((l) => l.addedParameters))),
    };
  });
}

/** The curriculum as a user of the package names it (`experiments/<file>` for the package's own). */
const curriculumName = (file: string): string =>
  basename(dirname(file)) === 'experiments' ? `experiments/${basename(file)}` : file;

/** `esper learn --ship <learn-dir> [--out <dir>]`: prints where the policy went. */
export function ship(args: readonly string[]): number {
  const [learnDir, flag, out] = args;
  if (!learnDir || (flag !== undefined && (flag !== '--out' || !out)) || args.length > 3)
    throw new UsageError('usage: esper learn --ship <learn-dir> [--out <dir>]');
  const outDir = out ? resolve(out) : SHIPPED_POLICY_DIR;
  const manifest = shipLearnedPolicy(learnDir, outDir);
  process.stdout.write(
    `esper learn: shipped ${manifest.version} (${manifest.curriculum}, random seed ${manifest.rngSeed}, ${manifest.rounds} rounds) as ${join(outDir, manifest.file)}, sha256 ${manifest.sha256}\n`,
  );
  return 0;
}

export function shipLearnedPolicy(learnDir: string, outDir = SHIPPED_POLICY_DIR, name = 'growth'): PolicyManifest {
  const dir = resolve(learnDir);
  const lines = readLearnRecord(join(dir, LEARN_RECORD_FILE));
  const start = lines.find((l): l is LearnStartRecord => l.event === 'start');
  const finished = lines.filter((l): l is LearnFinishedRecord => l.event === 'finished').at(-1);
  if (!start) throw new UsageError(`--ship: ${join(dir, LEARN_RECORD_FILE)} holds no learning run`);
  if (finished?.code !== 0 || !finished.policyFile)
    throw new UsageError(`--ship: the learning run in ${dir} did not finish: nothing to ship`);
  // The learn folder is <varDir>/learn/<id>: its policies are signed with that folder's secret.
  const signing = resolveSigningSecret({
    env: process.env,
    varDir: dirname(dirname(dir)),
    multiProcess: false,
    log: createLogger('learn'),
  });
  const { weights } = readPolicyFile(resolve(dir, finished.policyFile), signing);
  const heldOut = lines.filter((l): l is LearnHeldOutRecord => l.event === 'heldout');
  const rngSeedsPerTask = Math.max(
    1,
    ...heldOut
      .filter((l) => l.policy === 'learned')
      .map((l) => heldOut.filter((m) => m.policy === 'learned' && m.task === l.task).length),
  );
  const curriculum = curriculumName(start.curriculum.file);
  return writeShippedPolicy(outDir, name, weights, {
    curriculum,
    rngSeed: start.rngSeed,
    rounds: finished.rounds,
    command: `npx esper learn ${curriculum} --rng-seed ${start.rngSeed} --rounds ${finished.rounds} --heldout-rng-seeds ${rngSeedsPerTask} && npx esper learn --ship var/learn/<id>`,
    heldOut: heldOutTable(heldOut),
  });
}
