// Facts about the run that both the heuristic prior and the graph builder read: where seeds sit, which slots are
// free, whether the validation loss has plateaued, how good a candidate blueprint looks.
import { leyline, type v1 } from '../contracts/index.ts';
import { EMBARGO_STAGES, TRIAL_STAGES } from '../contracts/seed-stages.ts';

const { SeedLifecycleStage: Stage } = leyline;

export interface SlotInfo {
  id: string;
  /** Activation shape after the block (its product is the slot's width). */
  dims: readonly number[];
}

/** Stages in which a seed holds its slot: on trial, fossilized, or keeping it under embargo. */
const OCCUPYING: ReadonlySet<number> = new Set([...TRIAL_STAGES, Stage.SEED_STAGE_FOSSILIZED, ...EMBARGO_STAGES]);

export const slotWidth = (slot: SlotInfo): number => slot.dims.reduce((a, b) => a * b, 1);

/** The slot each seed sits at: Kasmina reports the slot's 1-based position in the host as the seed's layer depth. */
export function seedSlotMap(seeds: readonly v1.SeedState[], slots: readonly SlotInfo[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const seed of seeds) {
    const slot = slots[(seed.layerDepth ?? 0) - 1];
    if (slot) map.set(seed.seedId, slot.id);
  }
  return map;
}

/** Slots a new seed may take: no seed holds them (on trial, fossilized, or under embargo). */
export function freeSlots(
  seeds: readonly v1.SeedState[],
  slots: readonly SlotInfo[],
  seedSlots: ReadonlyMap<string, string>,
): Set<string> {
  const taken = new Set(seeds.filter((s) => OCCUPYING.has(s.stage)).map((s) => seedSlots.get(s.seedId)));
  return new Set(slots.filter((s) => !taken.has(s.id)).map((s) => s.id));
}

/** The prototype's candidate score: low risk first, then maturity and tunability. */
export function candidateScore(descriptor: v1.BlueprintDescriptor): number {
  return Math.max(
    0,
    1 - descriptor.risk + 0.05 * descriptor.stage + 0.02 * Object.keys(descriptor.allowedParameters ?? {}).length,
  );
}

/** The validation loss improved by less than `tolerance` (relative) over the last `epochs` epochs. */
export function plateaued(losses: readonly number[], epochs: number, tolerance: number): boolean {
  if (losses.length < epochs + 1) return false;
  const before = losses[losses.length - 1 - epochs]!;
  const now = losses[losses.length - 1]!;
  return Number.isFinite(before) && Number.isFinite(now) && before > 0 && (before - now) / before < tolerance;
}

/** A blueprint a seed may be grafted from without an operator: not quarantine-only, no approval needed. */
export const fitForGrafting = (d: v1.BlueprintDescriptor): boolean => !d.quarantineOnly && !d.approvalRequired;

/** Candidates shown to the policy: those fit for grafting first, then by the candidate score, then by id. */
export function rankCandidates(blueprints: readonly v1.BlueprintDescriptor[]): v1.BlueprintDescriptor[] {
  const fit = (d: v1.BlueprintDescriptor): number => Number(fitForGrafting(d));
  return [...blueprints].sort(
    (a, b) => fit(b) - fit(a) || candidateScore(b) - candidateScore(a) || a.blueprintId.localeCompare(b.blueprintId),
  );
}
