// From the network's outputs (or the heuristic prior's choice) to an unsigned AdaptationCommand proposal, with the
// index chosen per head and its log-probability under the network (reference 03 §6, with this project's decisions):
//
// - Policy head, 3 classes: 0 GERMINATE, 1 OPTIMIZER, 2 PAUSE. The reference's breaker actions (classes 3 and 4) were
//   unreachable and have no receiver here: breakers are the risk engine's; the breaker head's scores are annotations.
// - GERMINATE: the slot is the best-scoring free slot (slot head), the blueprint the best-scoring candidate fit for
//   grafting (not quarantine-only, no approval needed); parameters are the bounds' midpoints moved by the parameter
//   delta (±half the span) and clamped to the bounds. With no free slot or no fit candidate it becomes a hold.
// - OPTIMIZER: learning rate × 2^delta (delta in [−1, 1]), clamped to the configured range.
// - PAUSE: the best-scoring seed on trial that is not paused already; with none, a hold (PAUSE with no target:
//   nothing changes).
// - risk level = Σ p_k · k / 4 over the risk head's five classes (a level in [0, 1], not the reference's max-prob
//   confidence), which the risk engine compares with 0.85 / 0.98.
import { leyline, type v1 } from '../../contracts/index.ts';
import { TRIAL_STAGES } from '../kasmina/index.ts';
import type { GnnReadout } from './gnn.ts';
import type { GraphContext } from './graph.ts';
import type { PriorDecision } from './heuristic-prior.ts';
import { fitForGrafting } from './observation.ts';

const { BlendingMethod, CommandType, SeedOperation } = leyline;

/** The policy head's classes (index → command). */
const GERMINATE = 0;
const OPTIMIZER = 1;
const PAUSE = 2;
/** The blending head's classes: the α schedules Kasmina runs. */
export const BLENDING_METHODS: readonly v1.BlendingMethod[] = [BlendingMethod.BLENDING_METHOD_LINEAR, BlendingMethod.BLENDING_METHOD_COSINE, BlendingMethod.BLENDING_METHOD_SIGMOID];

/** A blending method's annotation form ("linear", "cosine", "sigmoid": what Kasmina reads). */
export const blendingName = (method: v1.BlendingMethod): string => (BlendingMethod[method] ?? '').replace('BLENDING_METHOD_', '').toLowerCase();

export interface DecodeOptions {
  policyVersion: string;
  architecture: string;
  minLearningRate: number;
  maxLearningRate: number;
}

export interface Decoded {
  proposal: v1.AdaptationCommand;
  decidedBy: 'gnn' | 'heuristic_prior';
  choices: Record<string, number>;
  logProbs: Record<string, number>;
  outputs: Record<string, number>;
}

/** log-softmax of `logits` restricted to `allowed` indices (others get −∞). */
export function logSoftmax(logits: readonly number[], allowed: (i: number) => boolean = () => true): number[] {
  const max = Math.max(...logits.filter((_, i) => allowed(i)));
  const sum = logits.reduce((acc, x, i) => acc + (allowed(i) ? Math.exp(x - max) : 0), 0);
  return logits.map((x, i) => (allowed(i) ? x - max - Math.log(sum) : -Infinity));
}

/** The allowed index with the highest score (the first on ties), or −1. */
export function argmax(scores: readonly number[], allowed: (i: number) => boolean = () => true): number {
  let best = -1;
  for (let i = 0; i < scores.length; i++) if (allowed(i) && (best < 0 || scores[i]! > scores[best]!)) best = i;
  return best;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** Parameters at the bounds' midpoints moved by delta · half-span, clamped to the bounds. */
export function decodeParameters(descriptor: v1.BlueprintDescriptor, delta: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, bounds] of Object.entries(descriptor.allowedParameters ?? {})) {
    const lo = bounds.minValue ?? 0;
    const hi = bounds.maxValue ?? 0;
    out[name] = clamp((lo + hi) / 2 + (delta * (hi - lo)) / 2, lo, hi);
  }
  return out;
}

export function decode(
  readout: GnnReadout,
  context: GraphContext,
  packet: v1.SystemStatePacket,
  prior: PriorDecision | null,
  options: DecodeOptions,
): Decoded {
  const delta = readout.paramDelta[0] ?? 0;
  const actionLog = logSoftmax(readout.policyLogits);
  const blendingLog = logSoftmax(readout.blendingLogits);
  const riskProbs = logSoftmax(readout.riskLogits).map(Math.exp);
  const riskLevel = riskProbs.reduce((acc, p, k) => acc + (p * k) / Math.max(1, riskProbs.length - 1), 0);
  const riskIndex = argmax(riskProbs);
  const value = readout.value[0] ?? 0;
  const [s0, s1] = (readout.schedule.length >= 2 ? readout.schedule : [0, 0]).map((s) => clamp((s + 1) / 2, 0, 1)) as [number, number];
  const schedule = s1 < s0 ? [s1, s0] : [s0, s1];
  const blending = argmax(readout.blendingLogits);
  const method = blendingName(BLENDING_METHODS[blending % BLENDING_METHODS.length]!);

  const freeSlot = (i: number): boolean => context.freeSlots.has(context.slots[i]?.id ?? '');
  const fitBlueprint = (i: number): boolean => {
    const d = context.candidates[i];
    return d !== undefined && fitForGrafting(d);
  };
  const pausable = (i: number): boolean => {
    const seed = context.seeds[i];
    return seed !== undefined && TRIAL_STAGES.has(seed.stage) && !(seed.metrics?.paused ?? 0);
  };

  let action: number;
  let slot = -1;
  let blueprint = -1;
  let seed = -1;
  let decidedBy: Decoded['decidedBy'];
  if (prior) {
    decidedBy = 'heuristic_prior';
    if (prior.action === 'germinate') {
      action = GERMINATE;
      slot = context.slots.findIndex((s) => s.id === prior.slotId);
      blueprint = context.candidates.findIndex((d) => d.blueprintId === prior.blueprintId);
    } else action = PAUSE;
  } else {
    decidedBy = 'gnn';
    action = argmax(readout.policyLogits);
    if (action === GERMINATE) {
      slot = argmax(readout.slotScores, freeSlot);
      blueprint = argmax(readout.blueprintScores, fitBlueprint);
    } else if (action === PAUSE) seed = argmax(readout.seedScores, pausable);
  }
  let holdReason = '';
  if (action === GERMINATE && (slot < 0 || blueprint < 0)) {
    action = PAUSE;
    holdReason = slot < 0 ? 'no_free_slot' : 'no_blueprint_candidates';
  }

  const annotations: Record<string, string> = {
    policy_version: options.policyVersion,
    policy_arch: options.architecture,
    decided_by: decidedBy,
    policy_action: String(action),
    policy_param_delta: delta.toFixed(6),
    policy_value_estimate: value.toFixed(6),
    policy_risk_index: String(riskIndex),
    policy_risk_score: riskLevel.toFixed(6),
    blending_method: method,
    blending_schedule_units: 'fraction_0_1',
    blending_schedule_start: schedule[0]!.toFixed(4),
    blending_schedule_end: schedule[1]!.toFixed(4),
    breaker_open_score: sigmoid(readout.breakerLogits[0] ?? 0).toFixed(4),
    breaker_close_score: sigmoid(readout.breakerLogits[1] ?? 0).toFixed(4),
  };
  const base = { version: 1, issuedBy: 'tamiyo', annotations };
  let proposal: v1.AdaptationCommand;
  if (action === GERMINATE) {
    const descriptor = context.candidates[blueprint]!;
    const slotId = context.slots[slot]!.id;
    annotations.slot_id = slotId;
    annotations.selected_blueprint = descriptor.blueprintId;
    proposal = leyline.AdaptationCommand.create({
      ...base,
      commandType: CommandType.COMMAND_SEED,
      targetSeedId: `seed-e${packet.currentEpoch}-s${packet.globalStep}`,
      seedOperation: { operation: SeedOperation.SEED_OP_GERMINATE, blueprintId: descriptor.blueprintId, parameters: decodeParameters(descriptor, prior ? 0 : delta) },
    });
  } else if (action === OPTIMIZER) {
    const current = packet.trainingMetrics?.learning_rate ?? 0;
    const learningRate = clamp(current * 2 ** delta, options.minLearningRate, options.maxLearningRate);
    proposal = leyline.AdaptationCommand.create({
      ...base,
      commandType: CommandType.COMMAND_OPTIMIZER,
      optimizerAdjustment: { optimizerId: 'host', hyperparameters: { learning_rate: learningRate, lr_delta: delta } },
    });
  } else {
    if (seed >= 0) annotations.selected_seed = context.seeds[seed]!.seedId;
    // Why the policy itself holds; risk_reason stays the risk engine's.
    else annotations.hold_reason = holdReason || (prior ? 'no_action' : 'no_seed_candidates');
    annotations.action = 'pause';
    proposal = leyline.AdaptationCommand.create({ ...base, commandType: CommandType.COMMAND_PAUSE, targetSeedId: seed >= 0 ? context.seeds[seed]!.seedId : '' });
  }

  const logProbs: Record<string, number> = { action: actionLog[action]! };
  const choices: Record<string, number> = { action };
  if (action === GERMINATE) {
    Object.assign(choices, { slot, blueprint, blending });
    logProbs.slot = logSoftmax(readout.slotScores, freeSlot)[slot]!;
    logProbs.blueprint = logSoftmax(readout.blueprintScores, fitBlueprint)[blueprint]!;
    logProbs.blending = blendingLog[blending]!;
  } else if (seed >= 0) {
    choices.seed = seed;
    logProbs.seed = logSoftmax(readout.seedScores, pausable)[seed]!;
  }
  const outputs = {
    value,
    risk_level: riskLevel,
    param_delta: delta,
    schedule_start: schedule[0]!,
    schedule_end: schedule[1]!,
    breaker_open: sigmoid(readout.breakerLogits[0] ?? 0),
    breaker_close: sigmoid(readout.breakerLogits[1] ?? 0),
  };
  return { proposal, decidedBy, choices, logProbs, outputs };
}
