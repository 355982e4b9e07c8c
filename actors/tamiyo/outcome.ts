// A decision's observed outcome, judged once its observation window (`observationEpochs` finished epochs) has passed,
// from what really happened: the validation loss then against the validation loss at the decision, and for a
// GERMINATE the fate of the seed it created. The first rule that matches wins:
//
// 1. GERMINATE whose seed never appeared in the seed states → ABORTED (Kasmina refused the command, or it was lost).
// 2. GERMINATE whose seed was culled (CULLED, EMBARGOED, RESETTING, TERMINATED) → REGRESSION.
// 3. No usable validation loss at either end → NEUTRAL.
// 4. Relative change r = (before − after) / before. r < −regressionTolerance → REGRESSION.
// 5. A decision that changed something (GERMINATE, CULL, OPTIMIZER, a PAUSE of a seed) and r > successTolerance →
//    SUCCESS.
//    A WAIT (a hold: PAUSE with no target, timeouts included) is never credited with the run's own progress: NEUTRAL.
// 6. Otherwise → NEUTRAL.
import { leyline, type v1 } from '../../contracts/index.ts';
import { EMBARGO_STAGES } from '../../contracts/seed-stages.ts';

const { FieldReportOutcome: Outcome, PolicyAction, SeedLifecycleStage: Stage } = leyline;

export interface OutcomeTolerances {
  successTolerance: number;
  regressionTolerance: number;
}

export const DEFAULT_OUTCOME_TOLERANCES: OutcomeTolerances = { successTolerance: 0.01, regressionTolerance: 0.02 };

export interface OutcomeInput {
  /** What the command sent did. */
  action: v1.PolicyAction;
  /** The stage of the decision's seed now; null when it is not among the seed states. */
  seedStage: v1.SeedLifecycleStage | null;
  lossBefore: number;
  lossAfter: number;
}

const CULLED: ReadonlySet<number> = new Set([Stage.SEED_STAGE_CULLED, Stage.SEED_STAGE_TERMINATED, ...EMBARGO_STAGES]);

export function judgeOutcome(
  input: OutcomeInput,
  tolerances: OutcomeTolerances = DEFAULT_OUTCOME_TOLERANCES,
): v1.FieldReportOutcome {
  const germinate = input.action === PolicyAction.POLICY_ACTION_GERMINATE;
  if (germinate && input.seedStage === null) return Outcome.FIELD_REPORT_OUTCOME_ABORTED;
  if (germinate && CULLED.has(input.seedStage ?? 0)) return Outcome.FIELD_REPORT_OUTCOME_REGRESSION;
  const { lossBefore: before, lossAfter: after } = input;
  if (!(before > 0) || !(after > 0) || !Number.isFinite(before) || !Number.isFinite(after))
    return Outcome.FIELD_REPORT_OUTCOME_NEUTRAL;
  const r = (before - after) / before;
  if (r < -tolerances.regressionTolerance) return Outcome.FIELD_REPORT_OUTCOME_REGRESSION;
  if (input.action !== PolicyAction.POLICY_ACTION_WAIT && r > tolerances.successTolerance)
    return Outcome.FIELD_REPORT_OUTCOME_SUCCESS;
  return Outcome.FIELD_REPORT_OUTCOME_NEUTRAL;
}

/**
 * A pending report's completion from the state now (`packet`): its outcome and the `observed.*` figures, once its
 * observation window has passed in its own run (an ended run's pending reports age out). Null while it waits, or when
 * the packet has no validation loss.
 */
export function reportCompletion(
  report: v1.FieldReport,
  packet: v1.SystemStatePacket,
  tolerances: OutcomeTolerances,
): Pick<v1.FieldReport, 'outcome' | 'metrics'> | null {
  if (!(packet.validationLoss > 0)) return null;
  if (report.trainingRunId !== (packet.trainingRunId || 'run-unknown')) return null;
  const metrics = report.metrics ?? {};
  const epoch = metrics['decision.epoch'] ?? 0;
  if (packet.currentEpoch < epoch + report.observationWindowEpochs) return null;
  const seed = packet.seedStates.find((s) => s.seedId === report.seedId);
  const before = metrics['decision.validation_loss'] ?? 0;
  const outcome = judgeOutcome(
    {
      action: metrics['decision.kind'] ?? PolicyAction.POLICY_ACTION_WAIT,
      seedStage: seed ? (seed.stage ?? 0) : null,
      lossBefore: before,
      lossAfter: packet.validationLoss,
    },
    tolerances,
  );
  return {
    outcome,
    metrics: {
      ...metrics,
      'observed.epoch': packet.currentEpoch,
      'observed.validation_loss': packet.validationLoss,
      'observed.validation_accuracy': packet.validationAccuracy ?? 0,
      // Simic's reward reads loss_delta: the change over the window (negative = better).
      loss_delta: before > 0 ? packet.validationLoss - before : 0,
      ...(seed
        ? { 'observed.seed_stage': seed.stage ?? 0, 'observed.seed_parameters': seed.metrics?.parameters ?? 0 }
        : {}),
    },
  };
}

/** What a sent command does. */
export function commandAction(command: v1.AdaptationCommand): v1.PolicyAction {
  switch (command.commandType) {
    case leyline.CommandType.COMMAND_SEED:
      return command.seedOperation?.operation === leyline.SeedOperation.SEED_OP_CULL
        ? PolicyAction.POLICY_ACTION_CULL
        : PolicyAction.POLICY_ACTION_GERMINATE;
    case leyline.CommandType.COMMAND_OPTIMIZER:
      return PolicyAction.POLICY_ACTION_OPTIMIZER;
    case leyline.CommandType.COMMAND_PAUSE:
      return command.targetSeedId ? PolicyAction.POLICY_ACTION_PAUSE_SEED : PolicyAction.POLICY_ACTION_WAIT;
    default:
      return PolicyAction.POLICY_ACTION_WAIT;
  }
}
