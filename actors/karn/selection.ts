// Deterministic blueprint selection: the same catalog, criteria and context always give the same blueprint, in
// every process and language (the prototype's golden vectors are the tests). Steps, in this order:
//   1. candidates = the catalog in insertion order;
//   2. a tier, when given, keeps that tier only (UNSPECIFIED, 0, matches nothing: callers map "any" to no tier);
//   3. HIGH_RISK is dropped unless adversarial blueprints are allowed, even when HIGH_RISK was the tier asked for;
//   4. conservative: the first 10 SAFE candidates in insertion order, unless there are none (then ignored);
//   5. none left → NO_CANDIDATES;
//   6. sort by blueprint_id (plain string order);
//   7. no context (or "") → the first; else SHA-256(UTF-8 context), first 4 bytes big-endian u32, mod n.
import { stableHash32 } from '../../runtime/stable-hash.ts';
import { leyline, type v1 } from '../../contracts/index.ts';
import type { KarnCatalogReader } from './catalog.ts';
import { describeBlueprint, tierName } from './descriptor.ts';
import { BlueprintRequestError } from './errors.ts';

const { BlueprintTier: Tier, BlueprintRejection: Rejection } = leyline;

/** The design's conservative pool: the first 10 SAFE blueprints (BP001–BP010 with the defaults). */
export const CONSERVATIVE_POOL_SIZE = 10;

export interface SelectionCriteria {
  /** Keep only this tier; undefined or null: any tier. */
  tier?: v1.BlueprintTier | null;
  /** The hash input (e.g. the training run id); undefined, null or "": the first candidate. */
  context?: string | null;
  allowAdversarial: boolean;
  conservative: boolean;
}

/** Steps 1–4: the candidates in insertion order, not yet sorted. */
function filterCandidates(
  descriptors: readonly v1.BlueprintDescriptor[],
  criteria: SelectionCriteria,
): v1.BlueprintDescriptor[] {
  let candidates = [...descriptors];
  if (criteria.tier !== undefined && criteria.tier !== null)
    candidates = candidates.filter((d) => d.tier === criteria.tier);
  if (!criteria.allowAdversarial) candidates = candidates.filter((d) => d.tier !== Tier.BLUEPRINT_TIER_HIGH_RISK);
  if (criteria.conservative) {
    const safe = candidates.filter((d) => d.tier === Tier.BLUEPRINT_TIER_SAFE);
    if (safe.length > 0) candidates = safe.slice(0, CONSERVATIVE_POOL_SIZE);
  }
  return candidates;
}

const byBlueprintId = (a: v1.BlueprintDescriptor, b: v1.BlueprintDescriptor): number =>
  a.blueprintId < b.blueprintId ? -1 : a.blueprintId > b.blueprintId ? 1 : 0;

/** Steps 1–4 and 6: the blueprints a selection with these criteria chooses among, sorted by id. */
export function candidatePool(
  descriptors: readonly v1.BlueprintDescriptor[],
  criteria: SelectionCriteria,
): v1.BlueprintDescriptor[] {
  return filterCandidates(descriptors, criteria).sort(byBlueprintId);
}

/** The selection hash of a context: the first 4 bytes of SHA-256(UTF-8 context) as a big-endian unsigned 32-bit integer. */
export function selectionHash(context: string): number {
  return stableHash32(context);
}

/** Chooses a blueprint (a copy) by the steps above; throws BlueprintRequestError NO_CANDIDATES when none fits. */
export function chooseTemplate(catalog: KarnCatalogReader, criteria: SelectionCriteria): v1.BlueprintDescriptor {
  const candidates = candidatePool(catalog.all(), criteria);
  if (candidates.length === 0) {
    throw new BlueprintRequestError(
      Rejection.BLUEPRINT_REJECTION_NO_CANDIDATES,
      `no blueprint matches ${describeCriteria(criteria)}`,
    );
  }
  const { context } = criteria;
  const index = context ? selectionHash(context) % candidates.length : 0;
  return candidates[index]!;
}

/**
 * Why the criteria exclude `descriptor` (a direct request must pass the same filters as a selection), or null
 * when it is in the pool. `catalog` is every descriptor, in order: the conservative pool depends on it.
 */
export function exclusionReason(
  descriptor: v1.BlueprintDescriptor,
  catalog: readonly v1.BlueprintDescriptor[],
  criteria: SelectionCriteria,
): string | null {
  const id = descriptor.blueprintId;
  if (filterCandidates(catalog, criteria).some((d) => d.blueprintId === id)) return null;
  const blueprint = describeBlueprint(descriptor);
  if (criteria.tier !== undefined && criteria.tier !== null && descriptor.tier !== criteria.tier) {
    return `blueprint ${blueprint} is ${tierName(descriptor.tier)}, but the query asks for ${tierName(criteria.tier)}`;
  }
  if (!criteria.allowAdversarial && descriptor.tier === Tier.BLUEPRINT_TIER_HIGH_RISK) {
    return `blueprint ${blueprint} is BLUEPRINT_TIER_HIGH_RISK and the query does not allow adversarial blueprints`;
  }
  const pool = filterCandidates(catalog, criteria).map((d) => d.blueprintId);
  return `blueprint ${blueprint} is outside the conservative pool (${pool.join(', ')})`;
}

function describeCriteria(criteria: SelectionCriteria): string {
  const parts = [
    criteria.tier !== undefined && criteria.tier !== null ? `tier ${tierName(criteria.tier)}` : 'any tier',
  ];
  parts.push(criteria.allowAdversarial ? 'adversarial allowed' : 'adversarial not allowed');
  if (criteria.conservative) parts.push('conservative');
  return parts.join(', ');
}
