// Kasmina's part of the configuration (`kasmina` in esper.config.ts), checked at boot with field names.
import { ConfigError } from '../../runtime/config-error.ts';
import { validateAlphaSchedule, type AlphaSchedule } from './alpha-schedule.ts';
import { DEFAULT_SEED_TIMINGS, type SeedTimings } from './lifecycle.ts';

export interface KasminaConfig {
  /** Steps per stage, the blending schedule, the embargo, auto-fossilization. */
  timings?: Partial<SeedTimings>;
  /** Kernel fetch budget (G2 and the fallback rule). Default 10 ms. */
  latencyBudgetMs?: number;
  fallbackBlueprintId?: string;
  /** G1: a seed gradient norm above this fails. Default 1000. */
  maxGradNorm?: number;
  /** Measure isolation on every Nth step report of a seed (0: never). Default 5. */
  isolationEvery?: number;
  /** G4: allowed relative worsening of the probe loss with the seed. Default 0.02. */
  impactTolerance?: number;
}

export interface KasminaSettings {
  timings: SeedTimings;
  latencyBudgetMs: number;
  fallbackBlueprintId: string;
  maxGradNorm: number;
  isolationEvery: number;
  impactTolerance: number;
}

export class KasminaConfigError extends ConfigError {
  override readonly name = 'KasminaConfigError';
}

export function resolveKasminaConfig(config: KasminaConfig = {}, field = 'kasmina'): KasminaSettings {
  const timings = { ...DEFAULT_SEED_TIMINGS, ...config.timings };
  for (const key of ['trainingSteps', 'shadowingSteps', 'probationSteps', 'embargoMs'] as const) {
    const value = timings[key];
    if (!Number.isInteger(value) || value < 1)
      throw new KasminaConfigError(`${field}.timings.${key}`, `must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  const schedule: AlphaSchedule = timings.blending;
  const problem = validateAlphaSchedule(schedule, `${field}.timings.blending`);
  if (problem) throw new KasminaConfigError(problem.split(' ')[0]!, problem.slice(problem.indexOf(' ') + 1));
  const positive = (value: number | undefined, name: string, fallback: number, allowZero = false): number => {
    const n = value ?? fallback;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0))
      throw new KasminaConfigError(
        `${field}.${name}`,
        `must be a number ${allowZero ? '>= 0' : '> 0'}, got ${JSON.stringify(value)}`,
      );
    return n;
  };
  return {
    timings,
    latencyBudgetMs: positive(config.latencyBudgetMs, 'latencyBudgetMs', 10),
    fallbackBlueprintId: config.fallbackBlueprintId ?? 'BP001',
    maxGradNorm: positive(config.maxGradNorm, 'maxGradNorm', 1_000),
    isolationEvery: positive(config.isolationEvery, 'isolationEvery', 5, true),
    impactTolerance: positive(config.impactTolerance, 'impactTolerance', 0.02, true),
  };
}
