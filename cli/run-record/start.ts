// The start line of a run record, from the run's configuration: what it trains on, with which random seed, and the
// budgets the report later holds the run's actuals against.
import { resolveTolariaConfig, type TolariaSettings } from '../../actors/tolaria/index.ts';
import { resolveTamiyoConfig } from '../../actors/tamiyo/index.ts';
import { type EsperConfig, pathOfKind } from '../../actors/weatherlight/index.ts';
import type { StartRecord } from './records.ts';

export function startRecord(
  config: EsperConfig,
  run: { id: string; resumed: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Omit<StartRecord, 'event' | 'at'> {
  // Both were checked at boot: these cannot throw here.
  const tolaria = resolveTolariaConfig(config.tolaria ?? {});
  const tamiyo = resolveTamiyoConfig(config.tamiyo ?? {}, env);
  return {
    runId: run.id,
    experiment: tolaria.experiment,
    resumed: run.resumed,
    dataset: describeDataset(tolaria),
    host: describeHost(tolaria.host),
    rngSeed: tolaria.rngSeed,
    budgets: {
      epochs: tolaria.epochs,
      hookBudgetMs: tolaria.control.hookBudgetMs,
      tamiyoDeadlineMs: tolaria.control.tamiyoDeadlineMs,
      inferenceTimeoutMs: tamiyo.inferenceTimeoutMs,
      haltAfterFailedEpochs: tolaria.emergency.haltAfterFailedEpochs,
    },
    // Served by another process or not, Simic is in the configured tree when the run learns its policy.
    policyLearning: pathOfKind(config.weatherlight.tree, 'simic-trainer') !== null,
  };
}

function describeDataset(settings: TolariaSettings): string {
  const { dataset, limit } = settings;
  const name = dataset.kind === 'idx' ? `idx ${dataset.dir}` : dataset.kind;
  const limits = [
    limit.train === null ? '' : `${limit.train} train`,
    limit.test === null ? '' : `${limit.test} test`,
  ].filter(Boolean);
  return limits.length > 0 ? `${name} (first ${limits.join(', ')} samples)` : name;
}

function describeHost(host: TolariaSettings['host']): string {
  return host.kind === 'mlp'
    ? `mlp ${[host.inputs, ...host.hidden, host.classes].join('-')}`
    : `cnn ${host.inputShape.join('×')}, conv ${host.channels.join('-')}, dense ${[...host.dense, host.classes].join('-')}`;
}
