// Oona's part of the configuration (`oona` in esper.config.ts, or `--bus <url>`), checked at boot with field names.
// Defaults are the prototype's deployed values (Weatherlight's client) unless a line says otherwise.
import { ConfigError } from '../../runtime/config-error.ts';

export interface StreamNames {
  normal: string;
  emergency: string;
  telemetry: string;
  policy: string;
  kernelRequests: string;
  kernelReady: string;
  kernelErrors: string;
  /** This project's: compile jobs for Tezzeret workers. */
  kernelCompile: string;
  /**
   * This project's: compiled kernels with their bytes (KernelArtifact). Not on the ready stream: the prototype's
   * Kasmina parses every entry there as a KernelArtifactReady, whose field 4 is a string where ours holds bytes.
   */
  kernelArtifacts: string;
  /** This project's: `esper learn --bus` episodes, and their results. */
  episodeRequests: string;
  episodeResults: string;
  deadLetter: string;
}

export const DEFAULT_STREAMS: Readonly<StreamNames> = {
  normal: 'oona.normal',
  emergency: 'oona.emergency',
  telemetry: 'oona.telemetry',
  policy: 'oona.policy',
  kernelRequests: 'oona.kernels.requests',
  kernelReady: 'oona.kernels.ready',
  kernelErrors: 'oona.kernels.errors',
  kernelCompile: 'oona.kernels.compile',
  kernelArtifacts: 'oona.kernels.artifacts',
  episodeRequests: 'oona.episodes.requests',
  episodeResults: 'oona.episodes.results',
  deadLetter: 'oona.deadletter',
};

export interface OonaConfig {
  /** "embedded" (default) or redis://host:port[/db]. */
  url?: string;
  streams?: Partial<StreamNames>;
  /** Approximate MAXLEN on the normal and kernel-request streams. Default 10 000. */
  maxStreamLength?: number;
  /** Reroute normal traffic to the emergency stream when the normal backlog reaches this (0: never). Default 0. */
  emergencyThreshold?: number;
  /** Refuse normal and kernel-request publishes when their backlog reaches this (0: never). Default 0. */
  backpressureDropThreshold?: number;
  /** Deliveries of one message before it goes to the dead-letter stream. Default 5 (the prototype's). */
  retryMaxAttempts?: number;
  /** A failed or abandoned message is delivered again after this idle time (XAUTOCLAIM min idle). Default 30 000. */
  retryIdleMs?: number;
  retryBatchSize?: number;
  /** Housekeeping drops entries older than this from every stream but the dead-letter one. Default 900 000. */
  messageTtlMs?: number;
  /** The dead-letter stream keeps entries this long. Default 7 days. */
  deadLetterTtlMs?: number;
  housekeepingIntervalMs?: number;
  kernelFreshnessWindowMs?: number;
  kernelNonceCacheSize?: number;
  /** Emergency publishes per minute (token bucket). Default 120. */
  emergencyMaxPerMin?: number;
  /** Conservative mode ends after this long without a new trigger. Default 60 000. */
  conservativeStableMs?: number;
  /** Publishes kept in process while Redis cannot take them; beyond it the lowest priority goes first. */
  bufferCapacity?: number;
  /** Largest BusEnvelope accepted for publishing. Default 256 KiB (the design's limit). */
  maxEnvelopeBytes?: number;
  /** Largest envelope of a bulk message: a PolicyUpdate (the policy's weights, ~0.7 MB) or a KernelArtifact. Default 16 MiB. */
  maxBulkEnvelopeBytes?: number;
  /** Publish and consume breakers: failures in a row to open, and how long they stay open. */
  breaker?: { failureThreshold?: number; timeoutMs?: number };
  /** Accept envelopes without nonce/issued_at (the Python prototype writes none). Default true. */
  acceptUnstamped?: boolean;
}

export interface OonaSettings {
  url: string;
  streams: StreamNames;
  maxStreamLength: number;
  emergencyThreshold: number;
  backpressureDropThreshold: number;
  retryMaxAttempts: number;
  retryIdleMs: number;
  retryBatchSize: number;
  messageTtlMs: number;
  deadLetterTtlMs: number;
  housekeepingIntervalMs: number;
  kernelFreshnessWindowMs: number;
  kernelNonceCacheSize: number;
  emergencyMaxPerMin: number;
  conservativeStableMs: number;
  bufferCapacity: number;
  maxEnvelopeBytes: number;
  maxBulkEnvelopeBytes: number;
  breaker: { failureThreshold: number; timeoutMs: number };
  acceptUnstamped: boolean;
}

export class OonaConfigError extends ConfigError {
  override readonly name = 'OonaConfigError';
}

export function resolveOonaConfig(config: OonaConfig = {}, field = 'oona'): OonaSettings {
  const count = (value: number | undefined, name: string, fallback: number, min = 0): number => {
    const n = value ?? fallback;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
      throw new OonaConfigError(`${field}.${name}`, `must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
  const url = config.url ?? 'embedded';
  if (url !== 'embedded' && !/^rediss?:\/\/[^/\s]+(\/\d+)?$/.test(url)) {
    throw new OonaConfigError(
      `${field}.url`,
      `must be "embedded" or redis://host:port[/db], got ${JSON.stringify(url)}`,
    );
  }
  const streams = { ...DEFAULT_STREAMS, ...config.streams };
  for (const [key, name] of Object.entries(streams)) {
    if (typeof name !== 'string' || name.trim() === '')
      throw new OonaConfigError(
        `${field}.streams.${key}`,
        `must be a non-empty stream name, got ${JSON.stringify(name)}`,
      );
  }
  const acceptUnstamped = config.acceptUnstamped ?? true;
  if (typeof acceptUnstamped !== 'boolean')
    throw new OonaConfigError(
      `${field}.acceptUnstamped`,
      `must be true or false, got ${JSON.stringify(acceptUnstamped)}`,
    );
  return {
    url,
    streams,
    maxStreamLength: count(config.maxStreamLength, 'maxStreamLength', 10_000),
    emergencyThreshold: count(config.emergencyThreshold, 'emergencyThreshold', 0),
    backpressureDropThreshold: count(config.backpressureDropThreshold, 'backpressureDropThreshold', 0),
    retryMaxAttempts: count(config.retryMaxAttempts, 'retryMaxAttempts', 5, 1),
    retryIdleMs: count(config.retryIdleMs, 'retryIdleMs', 30_000, 1),
    retryBatchSize: count(config.retryBatchSize, 'retryBatchSize', 50, 1),
    messageTtlMs: count(config.messageTtlMs, 'messageTtlMs', 900_000),
    deadLetterTtlMs: count(config.deadLetterTtlMs, 'deadLetterTtlMs', 7 * 86_400_000),
    housekeepingIntervalMs: count(config.housekeepingIntervalMs, 'housekeepingIntervalMs', 60_000, 1),
    kernelFreshnessWindowMs: count(config.kernelFreshnessWindowMs, 'kernelFreshnessWindowMs', 60_000),
    kernelNonceCacheSize: count(config.kernelNonceCacheSize, 'kernelNonceCacheSize', 4_096, 1),
    // The prototype turned a negative budget into "drop every emergency publish"; here it is a configuration error.
    emergencyMaxPerMin: count(config.emergencyMaxPerMin, 'emergencyMaxPerMin', 120),
    conservativeStableMs: count(config.conservativeStableMs, 'conservativeStableMs', 60_000, 1),
    bufferCapacity: count(config.bufferCapacity, 'bufferCapacity', 10_000, 1),
    maxEnvelopeBytes: count(config.maxEnvelopeBytes, 'maxEnvelopeBytes', 262_144, 64),
    maxBulkEnvelopeBytes: count(config.maxBulkEnvelopeBytes, 'maxBulkEnvelopeBytes', 16_777_216, 64),
    breaker: {
      failureThreshold: count(config.breaker?.failureThreshold, 'breaker.failureThreshold', 3, 1),
      timeoutMs: count(config.breaker?.timeoutMs, 'breaker.timeoutMs', 30_000, 1),
    },
    acceptUnstamped,
  };
}
