// Nissa's part of the configuration (`nissa` in esper.config.ts), checked at boot with field names.
import { ConfigError } from '../../runtime/config-error.ts';
import { DEFAULT_ALERT_RULES, validateRules, type AlertRule, type ResolvedRule } from './alert-rules.ts';

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
  /** The alert rules (replacing the defaults, DEFAULT_ALERT_RULES). */
  alerts?: AlertRule[];
  /** Where the `webhook` route POSTs each alert event as JSON (none: the route is skipped). */
  webhookUrl?: string;
}

export interface NissaSettings {
  port: number;
  host: string;
  retentionMs: number;
  maxSeriesNames: number;
  maxLabelSets: number;
  alerts: ResolvedRule[];
  webhookUrl: string | null;
}

export class NissaConfigError extends ConfigError {
  override readonly name = 'NissaConfigError';
}

export function resolveNissaConfig(config: NissaConfig = {}, field = 'nissa'): NissaSettings {
  const integer = (
    value: number | undefined,
    name: string,
    fallback: number,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
  ): number => {
    const n = value ?? fallback;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
      throw new NissaConfigError(
        `${field}.${name}`,
        `must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`,
      );
    return n;
  };
  // The burn-rate windows and objective were settings here once; a config that still sets them is told where they went.
  if ('slo' in config)
    throw new NissaConfigError(
      `${field}.slo`,
      'is not a setting: SLO objectives and burn-rate windows are fields of the slo_burn_rate rule in nissa.alerts',
    );
  const host = config.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '')
    throw new NissaConfigError(`${field}.host`, `must be a host name or address, got ${JSON.stringify(host)}`);
  return {
    port: integer(config.port, 'port', 9100, 0, 65_535),
    host,
    retentionMs: positive(config.retentionHours, 168, `${field}.retentionHours`) * 3_600_000,
    maxSeriesNames: integer(config.maxSeriesNames, 'maxSeriesNames', 2_000, 1),
    maxLabelSets: integer(config.maxLabelSets, 'maxLabelSets', 200, 1),
    alerts: validateRules(config.alerts ?? DEFAULT_ALERT_RULES, `${field}.alerts`),
    webhookUrl: webhook(config.webhookUrl, `${field}.webhookUrl`),
  };
}

function positive(value: number | undefined, fallback: number, field: string): number {
  const n = value ?? fallback;
  if (typeof n !== 'number' || !(n > 0))
    throw new NissaConfigError(field, `must be a number > 0, got ${JSON.stringify(value)}`);
  return n;
}

function webhook(value: string | undefined, field: string): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || !/^https?:\/\/\S+$/.test(value))
    throw new NissaConfigError(field, `must be an http(s) URL, got ${JSON.stringify(value)}`);
  return value;
}
