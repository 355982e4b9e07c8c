// `esper simic train --from <run-dir> [config.ts]`: trains the policy offline from a finished run's field reports
// (Tamiyo's store, `<varDir>/tamiyo/field_reports.db`, the reports of that run), starting from Tamiyo's active
// weights; a policy that passes validation is signed and kept under `<varDir>/simic/updates/`, and Simic sends it to
// Tamiyo when the tree next runs (Tamiyo shadows it, then promotes it). Exit 0: published; 3: validation failed.
import { basename, join, resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { leyline } from '../contracts/index.ts';
import { decodeLeyline } from '../contracts/codec.ts';
import {
  keepUpdate,
  policyUpdate,
  ReplayBuffer,
  resolveSimicConfig,
  runTrainingJob,
  weightsOf,
} from '../actors/simic/index.ts';
import { FieldReportLog, fieldReportsPath } from '../actors/tamiyo/index.ts';
import { resolveSigningSecret } from '../actors/weatherlight/index.ts';
import { createLogger } from '../runtime/log.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { resolveConfig } from './config.ts';
import { UsageError } from './forge.ts';

export const SIMIC_USAGE = `  simic train --from <run-dir> [config.ts]
                    learn the policy from a finished run's field reports (PPO on Tamiyo's
                    network, from its active weights); a policy that passes validation is
                    signed and sent to Tamiyo when the tree next runs
`;

export async function simic(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'train') throw new UsageError(`esper simic: unknown command ${JSON.stringify(sub ?? '')}`);
  let from: string | undefined;
  let file: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--from') {
      from = rest[++i];
      if (from === undefined) throw new UsageError('--from needs a run directory');
    } else if (arg.startsWith('--')) throw new UsageError(`esper simic train: unknown option ${arg}`);
    else if (file === undefined) file = arg;
    else throw new UsageError(`esper simic train: one configuration file, got ${file} and ${arg}`);
  }
  if (!from) throw new UsageError('esper simic train needs --from <run-dir>');
  const { config } = await resolveConfig(file);
  const settings = resolveSimicConfig(config.simic ?? {}, 'simic');
  const runId = basename(resolve(from));
  const tamiyoDir = join(config.run.varDir, 'tamiyo');
  const store = fieldReportsPath(tamiyoDir);
  if (!existsSync(store)) throw new Error(`no field reports: ${store} does not exist`);
  const log = new FieldReportLog(store);
  const replay = new ReplayBuffer({ capacity: settings.replay.capacity, ttlMs: settings.replay.ttlMs, rngSeed: 11 });
  const reports = log.reports().filter((r) => r.trainingRunId === runId);
  log.close();
  replay.addReports(reports);
  process.stdout.write(
    `esper simic: run ${runId}: ${reports.length} field reports, ${replay.size} to learn from (${replay.counters.skipped} waiting for their outcome, ${replay.counters.malformed} malformed${replay.lastProblem ? `: ${replay.lastProblem}` : ''})\n`,
  );
  if (replay.size === 0) throw new Error(`no completed field reports of run ${runId} in ${store}`);
  const promoted = join(tamiyoDir, 'policy.pb');
  const active = existsSync(promoted) ? decodeLeyline(leyline.PolicyUpdate, readFileSync(promoted)) : null;
  if (active && !active.ok)
    throw new Error(`Tamiyo's active policy ${promoted} does not decode: ${active.error.message}`);
  await selectTensorBackend();
  const outcome = runTrainingJob({
    experiences: replay.sample(settings.batch),
    activeWeights: weightsOf(active?.message ?? null),
    ppo: settings.ppo,
    validation: settings.validation,
  });
  const s = outcome.stats;
  process.stdout.write(
    `esper simic: PPO on ${s.experiences} experiences (from ${active ? active.message.tamiyoPolicyVersion : 'the untrained policy'}): reward ${s.averageReward.toFixed(4)}, policy loss ${s.policyLoss.toFixed(4)}, value loss ${s.valueLoss.toFixed(4)}, entropy ${s.entropy.toFixed(4)}, approx KL ${s.approxKl.toFixed(4)}` +
      (outcome.heldOut
        ? `; held out: ${outcome.heldOut.candidate.toFixed(4)} vs the active policy's ${outcome.heldOut.active.toFixed(4)}`
        : '') +
      '\n',
  );
  if (!outcome.passed || !outcome.weights) {
    process.stdout.write(`esper simic: not published — ${outcome.reasons.join('; ')}\n`);
    return 3;
  }
  const signing = resolveSigningSecret({
    env: process.env,
    varDir: config.run.varDir,
    multiProcess: config.run.multiProcess,
    log: createLogger('simic'),
  });
  const version = `simic-${runId}-${Date.now()}`;
  const path = keepUpdate(join(config.run.varDir, 'simic'), policyUpdate(outcome.weights, version, runId, signing));
  process.stdout.write(
    `esper simic: policy ${version} written to ${path}; Simic sends it to Tamiyo when the tree next runs\n`,
  );
  return 0;
}
