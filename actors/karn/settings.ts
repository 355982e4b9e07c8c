// Karn's part of the configuration (`karn` in esper.config.ts) and the catalog boot builds from it.
import { BlueprintCatalog, registerCustomBlueprints, type CustomBlueprintConfig } from './catalog.ts';
import { KarnConfigError } from './errors.ts';

export interface KarnConfig {
  /** Register the 50 default blueprints first. Default true. */
  loadDefaults?: boolean;
  /** Custom blueprints, registered after the defaults in this order. */
  blueprints?: readonly CustomBlueprintConfig[];
  /**
   * Blueprint ids the operator has approved once for all: queries for these approval_required blueprints need
   * no `approved_by`. Every id must be in the catalog.
   */
  approved?: readonly string[];
  /** How often Karn sends its TelemetryPacket. Default 10 000 ms. */
  telemetryIntervalMs?: number;
}

/** A checked configuration with its catalog built. */
export interface KarnSetup {
  catalog: BlueprintCatalog;
  approved: readonly string[];
  telemetryIntervalMs: number;
}

export const DEFAULT_TELEMETRY_INTERVAL_MS = 10_000;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks Karn's configuration (unknown input: config files are user code) and builds the catalog. The first
 * problem throws a KarnConfigError naming the field, e.g. `karn.blueprints[0].risk` or `karn.approved[1]`.
 */
export function setUpKarn(config: unknown = {}, field = 'karn'): KarnSetup {
  if (!isRecord(config)) throw new KarnConfigError(field, 'must be an object');
  const {
    loadDefaults = true,
    blueprints,
    approved = [],
    telemetryIntervalMs = DEFAULT_TELEMETRY_INTERVAL_MS,
  } = config;
  if (typeof loadDefaults !== 'boolean') throw new KarnConfigError(`${field}.loadDefaults`, 'must be true or false');
  if (typeof telemetryIntervalMs !== 'number' || !Number.isInteger(telemetryIntervalMs) || telemetryIntervalMs <= 0) {
    throw new KarnConfigError(
      `${field}.telemetryIntervalMs`,
      `must be an integer > 0, got ${JSON.stringify(telemetryIntervalMs)}`,
    );
  }
  const catalog = new BlueprintCatalog({ loadDefaults });
  registerCustomBlueprints(catalog, blueprints, `${field}.blueprints`);
  if (!Array.isArray(approved)) throw new KarnConfigError(`${field}.approved`, 'must be a list of blueprint ids');
  approved.forEach((id: unknown, index) => {
    if (typeof id !== 'string' || !catalog.has(id)) {
      throw new KarnConfigError(
        `${field}.approved[${index}]`,
        `must be the id of a blueprint in the catalog, got ${JSON.stringify(id)}`,
      );
    }
  });
  return { catalog, approved: [...(approved as string[])], telemetryIntervalMs };
}
