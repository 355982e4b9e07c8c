// Tezzeret's part of the configuration (`tezzeret` in esper.config.ts), checked at boot with field names.
import { ConfigError } from '../../runtime/config-error.ts';
import type { BackendPreference } from '../../tensor/index.ts';

export interface TezzeretConfig {
  /** Compile jobs (and worker threads) at once. Default 2 (one per core of the reference machine). */
  concurrency?: number;
  /** One attempt's time limit; a job past it is stopped by terminating its worker. Default 30 000 ms. */
  timeoutMs?: number;
  /** Retries after a failed attempt. Default 1. */
  maxRetries?: number;
  /** First retry delay, doubling. Default 500 ms. */
  retryBaseMs?: number;
  /** Timed executions after the first (prewarm_ms is their median). Default 20. */
  prewarmSamples?: number;
  /** Failed jobs in a row that open the breaker and switch to the conservative strategy. Default 3. */
  breakerThreshold?: number;
  /** How long the breaker stays open before a probe job. Default 60 000 ms. */
  breakerTimeoutMs?: number;
  /** TensorFlow.js backend of the compile workers. Default "auto". */
  backend?: BackendPreference;
  /** The slot shapes `esper forge` compiles every blueprint for. */
  slots?: ReadonlyArray<{ slotId: string; dims: readonly number[] }>;
  telemetryIntervalMs?: number;
}

export type TezzeretSettings = Required<TezzeretConfig>;

export const TEZZERET_DEFAULTS: TezzeretSettings = {
  concurrency: 2,
  timeoutMs: 30_000,
  maxRetries: 1,
  retryBaseMs: 500,
  prewarmSamples: 20,
  breakerThreshold: 3,
  breakerTimeoutMs: 60_000,
  backend: 'auto',
  slots: [
    { slotId: 'dense-32', dims: [32] },
    { slotId: 'conv-8x8x16', dims: [8, 8, 16] },
  ],
  telemetryIntervalMs: 10_000,
};

export class TezzeretConfigError extends ConfigError {
  override readonly name = 'TezzeretConfigError';
}

const BACKENDS: readonly string[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export function resolveTezzeretConfig(config: unknown = {}, field = 'tezzeret'): TezzeretSettings {
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new TezzeretConfigError(field, 'must be an object');
  const merged = { ...TEZZERET_DEFAULTS, ...(config as TezzeretConfig) };
  const integer = (key: keyof TezzeretConfig, min: number): void => {
    const value = merged[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new TezzeretConfigError(`${field}.${key}`, `must be an integer >= ${min}, got ${JSON.stringify(value)}`);
    }
  };
  integer('concurrency', 1);
  integer('timeoutMs', 1);
  integer('maxRetries', 0);
  integer('retryBaseMs', 1);
  integer('prewarmSamples', 1);
  integer('breakerThreshold', 1);
  integer('breakerTimeoutMs', 1);
  integer('telemetryIntervalMs', 1);
  if (!BACKENDS.includes(merged.backend))
    throw new TezzeretConfigError(`${field}.backend`, `must be one of ${BACKENDS.join(', ')}`);
  merged.slots.forEach((slot, i) => {
    const dims = slot?.dims;
    if (
      !Array.isArray(dims) ||
      (dims.length !== 1 && dims.length !== 3) ||
      dims.some((d) => !Number.isInteger(d) || d < 1)
    ) {
      throw new TezzeretConfigError(`${field}.slots[${i}].dims`, 'must be [D] or [H, W, C] of positive integers');
    }
    if (typeof slot.slotId !== 'string' || slot.slotId === '')
      throw new TezzeretConfigError(`${field}.slots[${i}].slotId`, 'must be a non-empty string');
  });
  return merged;
}
