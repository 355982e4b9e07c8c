// Nissa's part of the configuration (`nissa` in esper.config.ts), checked at boot with field names.
import { ConfigError } from '../../runtime/config-error.ts';

export interface NissaConfig {
  /** HTTP port for /metrics, /healthz, /metrics/summary and the query API (0: no HTTP). Default 9100. */
  port?: number;
  /** Listen address. Default 127.0.0.1 (localhost only). */
  host?: string;
  /** Documents are kept this long. Default 7 days. */
  retentionHours?: number;
  /** Prometheus cardinality bounds: metric names, and label sets per name. Defaults 2 000 and 200. */
  maxSeriesNames?: number;
  maxLabelSets?: number;
}

export interface NissaSettings {
  port: number;
  host: string;
  retentionMs: number;
  maxSeriesNames: number;
  maxLabelSets: number;
}

export class NissaConfigError extends ConfigError {
  override readonly name = 'NissaConfigError';
}

export function resolveNissaConfig(config: NissaConfig = {}, field = 'nissa'): NissaSettings {
  const integer = (value: number | undefined, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const n = value ?? fallback;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new NissaConfigError(`${field}.${name}`, `must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
    return n;
  };
  const host = config.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new NissaConfigError(`${field}.host`, `must be a host name or address, got ${JSON.stringify(host)}`);
  const hours = config.retentionHours ?? 168;
  if (typeof hours !== 'number' || !(hours > 0)) throw new NissaConfigError(`${field}.retentionHours`, `must be a number > 0, got ${JSON.stringify(config.retentionHours)}`);
  return {
    port: integer(config.port, 'port', 9100, 0, 65_535),
    host,
    retentionMs: hours * 3_600_000,
    maxSeriesNames: integer(config.maxSeriesNames, 'maxSeriesNames', 2_000, 1),
    maxLabelSets: integer(config.maxLabelSets, 'maxLabelSets', 200, 1),
  };
}
