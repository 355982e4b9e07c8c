// From a decision's choices to the unsigned AdaptationCommand Tamiyo proposes, with the annotations Kasmina and the
// risk engine read:
//
// - WAIT: a PAUSE with no target (a hold: verified, changes nothing); `hold_reason` says why.
// - GERMINATE: the chosen blueprint at the chosen slot (annotation `slot_id`), its α schedule (`blending_method`),
//   its parameters at the bounds' midpoints moved by the parameter head's delta (±half the span), clamped.
// - CULL: SEED_OP_CULL for the chosen seed.
// - OPTIMIZER: the host's learning rate × the chosen factor, clamped to the allowed range (actions.ts).
//
// The network's other outputs travel as annotations: the value estimate, the risk level Σ p_k · k / 4 over the risk
// head's five classes (which the risk engine compares with its thresholds), the blending schedule, breaker scores.
import { leyline, type v1 } from '../contracts/index.ts';
import {
  actionName,
  ACTIONS,
  BLENDING_METHODS,
  blendingName,
  CULL,
  GERMINATE,
  learningRateBounds,
  LR_FACTORS,
  OPTIMIZER,
  type Choices,
} from './actions.ts';
import { argmax, logSoftmax } from './choose.ts';
import type { GnnReadout } from './gnn.ts';
import type { GraphContext } from './graph.ts';

const { CommandType, SeedOperation } = leyline;

export interface ProposalOptions {
  policyVersion: string;
  architecture: string;
  decidedBy: string;
  minLearningRate: number;
  maxLearningRate: number;
  /** Why a WAIT waits (the heuristic's reason, or the policy's choice). */
  holdReason?: string;
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

/** The network's auxiliary outputs as numbers (a decision's `outputs`). */
export function auxiliaryOutputs(readout: GnnReadout): Record<string, number> {
  const riskProbs = logSoftmax(readout.riskLogits).map(Math.exp);
  const [s0, s1] = (readout.schedule.length >= 2 ? readout.schedule : [0, 0]).map((s) => clamp((s + 1) / 2, 0, 1)) as [
    number,
    number,
  ];
  return {
    value: readout.value[0] ?? 0,
    risk_level: riskProbs.reduce((acc, p, k) => acc + (p * k) / Math.max(1, riskProbs.length - 1), 0),
    risk_index: argmax(riskProbs),
    param_delta: readout.paramDelta[0] ?? 0,
    schedule_start: Math.min(s0, s1),
    schedule_end: Math.max(s0, s1),
    breaker_open: sigmoid(readout.breakerLogits[0] ?? 0),
    breaker_close: sigmoid(readout.breakerLogits[1] ?? 0),
  };
}

export function proposal(
  choices: Choices,
  readout: GnnReadout,
  context: GraphContext,
  packet: v1.SystemStatePacket,
  options: ProposalOptions,
): v1.AdaptationCommand {
  const out = auxiliaryOutputs(readout);
  const action = actionName(ACTIONS[choices.action] ?? leyline.PolicyAction.POLICY_ACTION_WAIT);
  const annotations: Record<string, string> = {
    policy_version: options.policyVersion,
    policy_arch: options.architecture,
    decided_by: options.decidedBy,
    policy_action: action,
    policy_param_delta: out.param_delta!.toFixed(6),
    policy_value_estimate: out.value!.toFixed(6),
    policy_risk_index: String(out.risk_index),
    policy_risk_score: out.risk_level!.toFixed(6),
    blending_schedule_units: 'fraction_0_1',
    blending_schedule_start: out.schedule_start!.toFixed(4),
    blending_schedule_end: out.schedule_end!.toFixed(4),
    breaker_open_score: out.breaker_open!.toFixed(4),
    breaker_close_score: out.breaker_close!.toFixed(4),
  };
  const base = { version: 1, issuedBy: 'tamiyo', annotations };
  if (choices.action === GERMINATE) {
    const descriptor = context.candidates[choices.blueprint!]!;
    const slotId = context.slots[choices.slot!]!.id;
    annotations.slot_id = slotId;
    annotations.selected_blueprint = descriptor.blueprintId;
    annotations.blending_method = blendingName(BLENDING_METHODS[choices.blending ?? 0]!);
    return leyline.AdaptationCommand.create({
      ...base,
      commandType: CommandType.COMMAND_SEED,
      targetSeedId: `seed-e${packet.currentEpoch}-s${packet.globalStep}`,
      seedOperation: leyline.CommandSeedOperation.create({
        operation: SeedOperation.SEED_OP_GERMINATE,
        blueprintId: descriptor.blueprintId,
        parameters: decodeParameters(descriptor, out.param_delta!),
      }),
    });
  }
  if (choices.action === CULL) {
    const seedId = context.seeds[choices.seed!]!.seedId;
    annotations.selected_seed = seedId;
    annotations.reason = 'policy_cull';
    return leyline.AdaptationCommand.create({
      ...base,
      commandType: CommandType.COMMAND_SEED,
      targetSeedId: seedId,
      seedOperation: leyline.CommandSeedOperation.create({ operation: SeedOperation.SEED_OP_CULL }),
    });
  }
  if (choices.action === OPTIMIZER) {
    const factor = LR_FACTORS[choices.lr ?? 0]!;
    const current = packet.trainingMetrics?.learning_rate ?? 0;
    const [lowest, highest] = learningRateBounds(packet.trainingMetrics?.initial_learning_rate ?? 0, [
      options.minLearningRate,
      options.maxLearningRate,
    ]);
    const learningRate = clamp(current * factor, lowest, highest);
    return leyline.AdaptationCommand.create({
      ...base,
      commandType: CommandType.COMMAND_OPTIMIZER,
      optimizerAdjustment: leyline.CommandOptimizerAdjustment.create({
        optimizerId: 'host',
        hyperparameters: { learning_rate: learningRate, lr_factor: factor },
      }),
    });
  }
  annotations.hold_reason = options.holdReason || 'wait';
  annotations.action = 'pause';
  return leyline.AdaptationCommand.create({ ...base, commandType: CommandType.COMMAND_PAUSE, targetSeedId: '' });
}
