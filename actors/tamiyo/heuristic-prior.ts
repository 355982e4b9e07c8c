// What an untrained policy decides (issue 6: "a documented heuristic prior, so a fresh run makes sensible
// decisions"), as a pure function of the epoch history, the host's slots and the candidate blueprints:
//
// - Germinate when the validation loss has plateaued: over the last `plateauEpochs` epochs it improved by less than
//   `plateauTolerance` (relative), no seed is on trial, and a slot is free (no seed there, none embargoed).
// - Where: the narrowest free slot — the host's bottleneck, where capacity is most likely missing — earliest first.
// - What: the candidate with the highest reference score max(0, (1 − risk) + 0.05·stage + 0.02·#parameters) among those
//   fit for grafting (not quarantine-only, no approval needed, risk below 0.5), parameters at their bounds' midpoints.
// - Otherwise: nothing to do.
import { leyline, type v1 } from '../../contracts/index.ts';
import { midpointParameters } from '../karn/index.ts';
import { EMBARGO_STAGES, TRIAL_STAGES } from '../kasmina/index.ts';

const { CommandType, SeedOperation, SeedLifecycleStage: Stage } = leyline;

export interface SlotInfo {
  id: string;
  /** Activation shape after the block (its product is the slot's width). */
  dims: readonly number[];
}

export interface PriorInput {
  /** Validation loss per finished epoch, oldest first. */
  validationLosses: readonly number[];
  seeds: readonly v1.SeedState[];
  /** The slot each known seed sits at (seed id → slot id). */
  seedSlots: ReadonlyMap<string, string>;
  slots: readonly SlotInfo[];
  candidates: readonly v1.BlueprintDescriptor[];
  /** Names the new seed (unique per run). */
  newSeedId: string;
}

export interface PriorOptions {
  plateauEpochs: number;
  plateauTolerance: number;
  maxRisk: number;
}

export const DEFAULT_PRIOR_OPTIONS: PriorOptions = { plateauEpochs: 2, plateauTolerance: 0.01, maxRisk: 0.5 };

export type PriorDecision =
  | { action: 'germinate'; command: v1.AdaptationCommand; slotId: string; blueprintId: string; why: string }
  | { action: 'none'; why: string };

/** Stages in which a seed holds its slot: on trial, fossilized, or keeping it under embargo. */
const OCCUPYING: ReadonlySet<number> = new Set([...TRIAL_STAGES, Stage.SEED_STAGE_FOSSILIZED, ...EMBARGO_STAGES]);

/** The reference's candidate score (03 §13). */
export function candidateScore(descriptor: v1.BlueprintDescriptor): number {
  return Math.max(0, 1 - descriptor.risk + 0.05 * descriptor.stage + 0.02 * Object.keys(descriptor.allowedParameters ?? {}).length);
}

export function plateaued(losses: readonly number[], epochs: number, tolerance: number): boolean {
  if (losses.length < epochs + 1) return false;
  const before = losses[losses.length - 1 - epochs]!;
  const now = losses[losses.length - 1]!;
  return Number.isFinite(before) && Number.isFinite(now) && before > 0 && (before - now) / before < tolerance;
}

export function heuristicPrior(input: PriorInput, options: PriorOptions = DEFAULT_PRIOR_OPTIONS): PriorDecision {
  if (!plateaued(input.validationLosses, options.plateauEpochs, options.plateauTolerance)) {
    return { action: 'none', why: 'validation loss still improving' };
  }
  if (input.seeds.some((seed) => TRIAL_STAGES.has(seed.stage))) return { action: 'none', why: 'a seed is on trial' };
  const taken = new Set(input.seeds.filter((seed) => OCCUPYING.has(seed.stage)).map((seed) => input.seedSlots.get(seed.seedId)));
  const width = (slot: SlotInfo): number => slot.dims.reduce((a, b) => a * b, 1);
  const slot = input.slots.filter((s) => !taken.has(s.id)).sort((a, b) => width(a) - width(b))[0];
  if (!slot) return { action: 'none', why: 'no free slot' };
  const fit = input.candidates.filter((d) => !d.quarantineOnly && !d.approvalRequired && d.risk < options.maxRisk);
  const blueprint = [...fit].sort((a, b) => candidateScore(b) - candidateScore(a) || a.blueprintId.localeCompare(b.blueprintId))[0];
  if (!blueprint) return { action: 'none', why: 'no blueprint fit for grafting' };
  const parameters = midpointParameters(blueprint);
  const command = leyline.AdaptationCommand.create({
    version: 1,
    commandType: CommandType.COMMAND_SEED,
    targetSeedId: input.newSeedId,
    seedOperation: { operation: SeedOperation.SEED_OP_GERMINATE, blueprintId: blueprint.blueprintId, parameters },
    issuedBy: 'tamiyo',
    annotations: { slot_id: slot.id, policy: 'heuristic_prior' },
  });
  return { action: 'germinate', command, slotId: slot.id, blueprintId: blueprint.blueprintId, why: `plateau over ${options.plateauEpochs} epochs; narrowest free slot ${slot.id}` };
}
