// The heuristic policy (`--policy heuristic`, and what decides when no learned policy is given): a documented rule,
// a pure function of the epoch history, the host's slots and the candidate blueprints:
//
// - Germinate when the validation loss has plateaued: over the last `plateauEpochs` epochs it improved by less than
//   `plateauTolerance` (relative), no seed is on trial, and a slot is free (no seed there, none embargoed).
// - Where: the narrowest free slot — the host's bottleneck, where capacity is most likely missing — earliest first.
// - What: the candidate with the highest candidate score max(0, (1 − risk) + 0.05·stage + 0.02·#parameters) among those
//   fit for grafting (not quarantine-only, no approval needed, risk below 0.5); the proposal sets its parameters
//   at the bounds' midpoints.
// - Otherwise: nothing to do.
import type { v1 } from '../contracts/index.ts';
import { TRIAL_STAGES } from '../contracts/seed-stages.ts';
import { candidateScore, fitForGrafting, freeSlots, plateaued, slotWidth, type SlotInfo } from './observation.ts';

export interface PriorInput {
  /** Validation loss per finished epoch, oldest first. */
  validationLosses: readonly number[];
  seeds: readonly v1.SeedState[];
  /** The slot each known seed sits at (seed id → slot id). */
  seedSlots: ReadonlyMap<string, string>;
  slots: readonly SlotInfo[];
  candidates: readonly v1.BlueprintDescriptor[];
}

export interface PriorOptions {
  plateauEpochs: number;
  plateauTolerance: number;
  maxRisk: number;
}

export const DEFAULT_PRIOR_OPTIONS: PriorOptions = { plateauEpochs: 2, plateauTolerance: 0.01, maxRisk: 0.5 };

export type PriorDecision =
  | { action: 'germinate'; slotId: string; blueprintId: string; why: string }
  | { action: 'none'; why: string };

export function heuristicPrior(input: PriorInput, options: PriorOptions = DEFAULT_PRIOR_OPTIONS): PriorDecision {
  if (!plateaued(input.validationLosses, options.plateauEpochs, options.plateauTolerance)) {
    return { action: 'none', why: 'validation loss still improving' };
  }
  if (input.seeds.some((seed) => TRIAL_STAGES.has(seed.stage))) return { action: 'none', why: 'a seed is on trial' };
  const free = freeSlots(input.seeds, input.slots, input.seedSlots);
  const slot = input.slots.filter((s) => free.has(s.id)).sort((a, b) => slotWidth(a) - slotWidth(b))[0];
  if (!slot) return { action: 'none', why: 'no free slot' };
  const fit = input.candidates.filter((d) => fitForGrafting(d) && d.risk < options.maxRisk);
  const blueprint = [...fit].sort(
    (a, b) => candidateScore(b) - candidateScore(a) || a.blueprintId.localeCompare(b.blueprintId),
  )[0];
  if (!blueprint) return { action: 'none', why: 'no blueprint fit for grafting' };
  return {
    action: 'germinate',
    slotId: slot.id,
    blueprintId: blueprint.blueprintId,
    why: `plateau over ${options.plateauEpochs} epochs; narrowest free slot ${slot.id}`,
  };
}
