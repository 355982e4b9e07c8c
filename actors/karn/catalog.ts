// Karn's blueprint catalog: an insertion-ordered map blueprint_id → descriptor. The order matters (selection
// filters in it, the conservative pool is "the first 10 SAFE"), so re-registering an id keeps its place.
// Every descriptor in and out is a deep copy: no caller can change the catalog by mutating what it holds.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { ParameterRange } from '../../blueprints/index.ts';
import { copyDescriptor, type DescriptorFields } from './descriptor.ts';
import { KarnConfigError } from './errors.ts';
import { defaultBlueprints } from './templates.ts';

const { BlueprintTier } = leyline;

/**
 * What other subsystems (Tezzeret, Urza, Tamiyo) may read of Karn's catalog, in process. Every answer is a copy.
 * The catalog is fixed once boot has built it, so reading it from another actor is safe.
 */
export interface KarnCatalogReader {
  get(blueprintId: string): v1.BlueprintDescriptor | null;
  has(blueprintId: string): boolean;
  /** Every descriptor in catalog order. */
  all(): v1.BlueprintDescriptor[];
  listByTier(tier: v1.BlueprintTier): v1.BlueprintDescriptor[];
  readonly size: number;
}

/** A custom blueprint as written in configuration (plain fields; becomes a BlueprintDescriptor). */
export interface CustomBlueprintConfig {
  blueprintId: string;
  name: string;
  tier: v1.BlueprintTier;
  /** In [0, 1]; stored as float32, as the wire carries it. */
  risk: number;
  /** Maturity marker, a non-negative integer. Default 0. */
  stage?: number;
  /** Declared parameters and their inclusive bounds, in the order they are checked. */
  allowedParameters?: Readonly<Record<string, ParameterRange>>;
  quarantineOnly?: boolean;
  approvalRequired?: boolean;
  description?: string;
}

/** Letters, digits, `_`, `.`, `-`; starts with a letter or digit; at most 64. Safe in actor names and file names. */
export const BLUEPRINT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const KNOWN_TIERS: ReadonlySet<number> = new Set([
  BlueprintTier.BLUEPRINT_TIER_SAFE,
  BlueprintTier.BLUEPRINT_TIER_EXPERIMENTAL,
  BlueprintTier.BLUEPRINT_TIER_HIGH_RISK,
]);

export class BlueprintCatalog implements KarnCatalogReader {
  readonly #entries = new Map<string, v1.BlueprintDescriptor>();

  /** With `loadDefaults` (the default) the 50 default blueprints are registered, BP001…BP050. */
  constructor({ loadDefaults = true }: { loadDefaults?: boolean } = {}) {
    if (loadDefaults)
      for (const descriptor of defaultBlueprints()) this.#entries.set(descriptor.blueprintId, descriptor);
  }

  /** Stores a copy. An existing id is replaced in place (it keeps its position). Throws KarnConfigError when invalid. */
  register(descriptor: DescriptorFields): void {
    const copy = copyDescriptor(descriptor);
    checkDescriptor(copy, `descriptor ${JSON.stringify(copy.blueprintId)}`);
    this.#entries.set(copy.blueprintId, copy);
  }

  get(blueprintId: string): v1.BlueprintDescriptor | null {
    const found = this.#entries.get(blueprintId);
    return found ? copyDescriptor(found) : null;
  }

  has(blueprintId: string): boolean {
    return this.#entries.has(blueprintId);
  }

  /** Removes an id; false (and nothing else) when it is absent. */
  remove(blueprintId: string): boolean {
    return this.#entries.delete(blueprintId);
  }

  all(): v1.BlueprintDescriptor[] {
    return [...this.#entries.values()].map(copyDescriptor);
  }

  listByTier(tier: v1.BlueprintTier): v1.BlueprintDescriptor[] {
    return [...this.#entries.values()].filter((d) => d.tier === tier).map(copyDescriptor);
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Registers custom blueprints from configuration, after the defaults, in list order. Every entry is checked
 * before any is registered; the first problem throws a KarnConfigError naming the field
 * (e.g. `karn.blueprints[1].allowedParameters.alpha`). An id already in the catalog (a default, or an earlier
 * entry) is a duplicate: configuration adds blueprints, it does not silently replace them.
 */
export function registerCustomBlueprints(
  catalog: BlueprintCatalog,
  blueprints: unknown,
  field = 'karn.blueprints',
): void {
  if (blueprints === undefined) return;
  if (!Array.isArray(blueprints)) throw new KarnConfigError(field, 'must be a list of blueprints');
  const seen = new Set<string>();
  const descriptors = blueprints.map((entry: unknown, index) => {
    const at = `${field}[${index}]`;
    const descriptor = customDescriptor(entry, at);
    if (catalog.has(descriptor.blueprintId) || seen.has(descriptor.blueprintId)) {
      throw new KarnConfigError(
        `${at}.blueprintId`,
        `duplicates the id ${JSON.stringify(descriptor.blueprintId)} already in the catalog`,
      );
    }
    seen.add(descriptor.blueprintId);
    return descriptor;
  });
  for (const descriptor of descriptors) catalog.register(descriptor);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const show = (value: unknown): string =>
  typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));

/** A configured blueprint (unknown input: config files are user code) → a checked descriptor. */
function customDescriptor(entry: unknown, at: string): v1.BlueprintDescriptor {
  if (!isRecord(entry)) throw new KarnConfigError(at, 'must be an object');
  const {
    blueprintId,
    name,
    tier,
    risk,
    stage = 0,
    allowedParameters = {},
    quarantineOnly = false,
    approvalRequired = false,
    description = '',
  } = entry;
  if (typeof blueprintId !== 'string')
    throw new KarnConfigError(`${at}.blueprintId`, `must be a string, got ${show(blueprintId)}`);
  if (typeof name !== 'string') throw new KarnConfigError(`${at}.name`, `must be a string, got ${show(name)}`);
  if (typeof tier !== 'number') throw new KarnConfigError(`${at}.tier`, `must be a BlueprintTier, got ${show(tier)}`);
  if (typeof risk !== 'number')
    throw new KarnConfigError(`${at}.risk`, `must be a number in [0, 1], got ${show(risk)}`);
  if (typeof stage !== 'number')
    throw new KarnConfigError(`${at}.stage`, `must be a non-negative integer, got ${show(stage)}`);
  if (typeof quarantineOnly !== 'boolean') throw new KarnConfigError(`${at}.quarantineOnly`, 'must be true or false');
  if (typeof approvalRequired !== 'boolean')
    throw new KarnConfigError(`${at}.approvalRequired`, 'must be true or false');
  if (typeof description !== 'string') throw new KarnConfigError(`${at}.description`, 'must be a string');
  if (!isRecord(allowedParameters))
    throw new KarnConfigError(`${at}.allowedParameters`, 'must be an object of {min, max} bounds');
  const bounds: Record<string, { minValue: number; maxValue: number }> = {};
  for (const [key, range] of Object.entries(allowedParameters)) {
    const where = `${at}.allowedParameters.${key}`;
    if (!isRecord(range) || typeof range.min !== 'number' || typeof range.max !== 'number') {
      throw new KarnConfigError(where, `must be {min, max} with numbers, got ${show(range)}`);
    }
    bounds[key] = { minValue: range.min, maxValue: range.max };
  }
  const descriptor = copyDescriptor({
    blueprintId,
    name,
    tier,
    risk,
    stage,
    allowedParameters: bounds,
    quarantineOnly,
    approvalRequired,
    description,
  });
  // Risk is checked before float32 rounding, so 1.0000001 is refused rather than rounded into range.
  checkDescriptor(descriptor, at, risk);
  return descriptor;
}

/** The rules every catalog entry obeys; `field` prefixes the bad field's name in the error. */
function checkDescriptor(descriptor: v1.BlueprintDescriptor, field: string, rawRisk: number = descriptor.risk): void {
  if (!BLUEPRINT_ID_PATTERN.test(descriptor.blueprintId)) {
    throw new KarnConfigError(
      `${field}.blueprintId`,
      `must be 1–64 letters, digits, "_", "." or "-", starting with a letter or digit; got ${show(descriptor.blueprintId)}`,
    );
  }
  if (descriptor.name.trim() === '') throw new KarnConfigError(`${field}.name`, 'must not be empty');
  if (!KNOWN_TIERS.has(descriptor.tier)) {
    throw new KarnConfigError(
      `${field}.tier`,
      `must be BLUEPRINT_TIER_SAFE, _EXPERIMENTAL or _HIGH_RISK (1–3), got ${show(descriptor.tier)}`,
    );
  }
  if (!Number.isFinite(rawRisk) || rawRisk < 0 || rawRisk > 1)
    throw new KarnConfigError(`${field}.risk`, `must be in [0, 1], got ${show(rawRisk)}`);
  if (!Number.isInteger(descriptor.stage) || descriptor.stage < 0 || descriptor.stage > 0xffff_ffff) {
    throw new KarnConfigError(`${field}.stage`, `must be a non-negative integer, got ${show(descriptor.stage)}`);
  }
  for (const [key, bounds] of Object.entries(descriptor.allowedParameters)) {
    const where = `${field}.allowedParameters.${key}`;
    const { minValue, maxValue } = bounds;
    if (key === '') throw new KarnConfigError(where, 'has an empty parameter name');
    if (
      typeof minValue !== 'number' ||
      typeof maxValue !== 'number' ||
      !Number.isFinite(minValue) ||
      !Number.isFinite(maxValue)
    ) {
      throw new KarnConfigError(where, `bounds must be finite numbers, got [${show(minValue)}, ${show(maxValue)}]`);
    }
    if (minValue > maxValue) throw new KarnConfigError(where, `min ${minValue} must be ≤ max ${maxValue}`);
  }
}
