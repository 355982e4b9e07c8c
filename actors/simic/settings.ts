// Simic's part of the configuration (`simic` in esper.config.ts), checked at boot with field names.
import { ConfigError } from '../../runtime/config-error.ts';
import { SEED_IS_NOW_RNG_SEED } from '../../runtime/seeded-random.ts';
import { DEFAULT_PPO_CONFIG, type PpoConfig } from './ppo.ts';
import { DEFAULT_REPLAY_OPTIONS } from './replay.ts';
import { DEFAULT_VALIDATION, type ValidationThresholds } from './validation.ts';

export interface SimicConfig {
  /** How often the trainer looks for newly completed field reports. Default 10 s. */
  pollMs?: number;
  /** New experiences that trigger a training job. Default 64. */
  trainEvery?: number;
  /** Experiences sampled per job. Default 256. */
  batch?: number;
  replay?: { capacity?: number; ttlHours?: number };
  ppo?: Partial<PpoConfig>;
  validation?: Partial<ValidationThresholds>;
  /** Where training jobs run: a worker thread (default) or the training thread ("inline"). */
  thread?: 'worker' | 'inline';
}

export interface SimicSettings {
  pollMs: number;
  trainEvery: number;
  batch: number;
  replay: { capacity: number; ttlMs: number };
  ppo: PpoConfig;
  validation: ValidationThresholds;
  thread: 'worker' | 'inline';
}

export class SimicConfigError extends ConfigError {
  override readonly name = 'SimicConfigError';
}

export function resolveSimicConfig(config: SimicConfig = {}, field = 'simic'): SimicSettings {
  const check = (value: number | undefined, name: string, fallback: number, integer: boolean): number => {
    const n = value ?? fallback;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new SimicConfigError(
        `${field}.${name}`,
        `must be ${integer ? 'an integer' : 'a number'} > 0, got ${JSON.stringify(value)}`,
      );
    }
    return n;
  };
  if (config.ppo && 'seed' in config.ppo) throw new SimicConfigError(`${field}.ppo.seed`, SEED_IS_NOW_RNG_SEED);
  const ppo = { ...DEFAULT_PPO_CONFIG, ...config.ppo };
  for (const key of ['learningRate', 'clip', 'gamma', 'lambda', 'maxGradNorm'] as const)
    check(ppo[key], `ppo.${key}`, 1, false);
  for (const key of ['epochs', 'minibatch'] as const) check(ppo[key], `ppo.${key}`, 1, true);
  const thread = config.thread ?? 'worker';
  if (thread !== 'worker' && thread !== 'inline')
    throw new SimicConfigError(`${field}.thread`, `must be "worker" or "inline", got ${JSON.stringify(thread)}`);
  return {
    pollMs: check(config.pollMs, 'pollMs', 10_000, false),
    trainEvery: check(config.trainEvery, 'trainEvery', 64, true),
    batch: check(config.batch, 'batch', 256, true),
    replay: {
      capacity: check(config.replay?.capacity, 'replay.capacity', DEFAULT_REPLAY_OPTIONS.capacity, true),
      ttlMs: check(config.replay?.ttlHours, 'replay.ttlHours', 24, false) * 3_600_000,
    },
    ppo,
    validation: { ...DEFAULT_VALIDATION, ...config.validation },
    thread,
  };
}
