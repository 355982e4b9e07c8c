// Tamiyo's decision at one control boundary, as plain logic: the packet and what the active policy answered (or why
// it did not) go in; the command to send, the field report and the decision's telemetry come out as effects, after
// the policy-version effects the rollback rule calls for. No actors or files inside; the world is read through ports
// the controller gives (a monotonic clock, Karn's catalog, the command signer). The risk engine, its breakers included,
// is part of the state.
//
// In order: what the answer amounts to (kept, late, missing, failed, still starting, or not asked: the inference
// breaker was open); the rollback rule (policy-versions.ts); the proposal, or a safe PAUSE; the blueprint's risk from
// the catalog within `metadataTimeoutMs`; the risk engine; the policy version and signature; the field report.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { EventInput } from '../../contracts/telemetry.ts';
import { ARCHITECTURE } from '../../policy/index.ts';
import { decisionTelemetry } from './decision-telemetry.ts';
import { commandAction } from './outcome.ts';
import { STARTING } from './policy-actor.ts';
import {
  transition as versionTransition,
  type PolicyVersionEffect,
  type PolicyVersions,
  type PolicyVersionSettings,
} from './policy-versions.ts';
import type { BlueprintRisk, RiskEngine, RiskVerdict } from './risk-engine.ts';

const { CommandType, TelemetryLevel, FieldReportOutcome } = leyline;

export interface TamiyoCounters {
  decisions: number;
  timeouts: number;
  policyErrors: number;
  gated: number;
  reportsAppended: number;
  reportsCompleted: number;
  updatesApplied: number;
  updatesRejected: number;
  policyRestarts: number;
}

export const initialCounters = (): TamiyoCounters => ({
  decisions: 0,
  timeouts: 0,
  policyErrors: 0,
  gated: 0,
  reportsAppended: 0,
  reportsCompleted: 0,
  updatesApplied: 0,
  updatesRejected: 0,
  policyRestarts: 0,
});

/** A decision that never ran the policy (deadline, failure, breaker): PAUSE with no target, changing nothing. */
export function safePause(reason: string): v1.AdaptationCommand {
  return leyline.AdaptationCommand.create({
    version: 1,
    commandType: CommandType.COMMAND_PAUSE,
    issuedBy: 'tamiyo',
    annotations: { policy_action: 'timeout', policy_param_delta: '0.0', risk_reason: reason, action: 'pause' },
  });
}

/** What came back from asking the active policy. */
export type PolicyAnswer =
  /** The inference breaker was open: the policy was not asked. */
  | { type: 'gated' }
  | { type: 'answered'; decision: v1.PolicyDecision }
  /** No answer within the liveness guard (`policyAnswerMs`). */
  | { type: 'unanswered'; error: string }
  /** The policy failed (its instance crashed or refused). */
  | { type: 'failed'; error: string };

export interface DecisionState {
  /** The risk engine: conservative mode and the inference and metadata breakers. */
  risk: RiskEngine;
  versions: PolicyVersions;
  /** The last validation loss seen, and its run (a loss delta never spans two runs). */
  lastValidation: { runId: string; loss: number } | null;
  counters: TamiyoCounters;
}

export interface DecisionSettings extends PolicyVersionSettings {
  /** The catalog lookup's budget. */
  metadataTimeoutMs: number;
  /** Finished epochs after a decision before its outcome is judged. */
  observationEpochs: number;
}

export interface DecisionPorts {
  /** Monotonic milliseconds (the inference, lookup and decision times). */
  now: () => number;
  /** Karn's catalog entry for a blueprint. */
  lookUpBlueprint: (blueprintId: string) => v1.BlueprintDescriptor | null;
  /** Stamps (fresh id, issued_at) and signs the command in place. */
  sign: (command: v1.AdaptationCommand) => void;
}

export interface DecisionInput {
  packet: v1.SystemStatePacket;
  answer: PolicyAnswer;
  /** `ports.now()` when the packet arrived. */
  startedAt: number;
}

/** What is left of a decision once its command has been answered. */
export interface FollowUp {
  packet: v1.SystemStatePacket;
  report: v1.FieldReport;
  telemetry: v1.TelemetryPacket;
  /** The active policy's decision, for the candidate's shadow comparison (undefined: no shadow for this one). */
  shadow: v1.PolicyDecision | null | undefined;
}

export type DecisionEffect =
  | PolicyVersionEffect
  /** Answer the ask with the signed command (at once, before anything else of the decision is done). */
  | { type: 'reply'; command: v1.AdaptationCommand }
  /** After the reply: write the report, send the telemetry, let the candidate decide in shadow. */
  | { type: 'follow-up'; followUp: FollowUp };

/** The decision as data. */
export interface Decision {
  /** The command sent (signed). */
  command: v1.AdaptationCommand;
  /** The policy's decision that was kept (null: not asked, still starting, failed, missing or late). */
  policyDecision: v1.PolicyDecision | null;
  /** Why there is no policy decision ('' when there is one). */
  failure: string;
  verdict: RiskVerdict;
  report: v1.FieldReport;
}

export interface DecisionTransition {
  state: DecisionState;
  decision: Decision;
  effects: DecisionEffect[];
}

/** What a policy's answer amounts to. */
interface JudgedAnswer {
  decision: v1.PolicyDecision | null;
  /** Inference missed: no answer, a failure or a late one (the risk engine counts it against the breaker). */
  timedOut: boolean;
  /** Inference not attempted, or not ready: a hold that is neither a success nor a failure. */
  gated: boolean;
  failure: string;
  events: EventInput[];
  counter: 'gated' | 'timeouts' | 'policyErrors' | null;
  /** For the rollback rule. */
  outcome: 'answered' | 'missed' | 'held';
}

function judgeAnswer(answer: PolicyAnswer, inferenceTimeoutMs: number): JudgedAnswer {
  const none = { decision: null, timedOut: false, gated: false } as const;
  switch (answer.type) {
    case 'gated':
      return {
        ...none,
        gated: true,
        failure: 'inference_breaker_open',
        events: [
          {
            description: 'inference_gated',
            level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
            attributes: { breaker: 'inference' },
          },
        ],
        counter: 'gated',
        outcome: 'held',
      };
    case 'unanswered':
      return {
        ...none,
        timedOut: true,
        failure: 'timeout_inference',
        events: [
          {
            description: 'timeout_inference',
            level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
            attributes: { error: answer.error },
          },
        ],
        counter: 'timeouts',
        outcome: 'missed',
      };
    // A crash is counted by the instance's supervisor (its restarts), not as a missed decision.
    case 'failed':
      return {
        ...none,
        timedOut: true,
        failure: 'policy_error',
        events: [
          {
            description: 'policy_error',
            level: TelemetryLevel.TELEMETRY_LEVEL_ERROR,
            attributes: { error: answer.error },
          },
        ],
        counter: 'policyErrors',
        outcome: 'held',
      };
    case 'answered': {
      const { decision } = answer;
      // Not a failure: the policy's thread is still starting. Hold, as with a gated breaker.
      if (decision.decidedBy === STARTING)
        return {
          ...none,
          gated: true,
          failure: 'policy_starting',
          events: [{ description: 'policy_starting', attributes: { version: decision.policyVersion } }],
          counter: null,
          outcome: 'held',
        };
      // Late: discarded whole; nothing of it reaches the command, the report or the controller's state.
      if (decision.inferenceMs > inferenceTimeoutMs) {
        const attributes = { budget_ms: inferenceTimeoutMs.toFixed(1), elapsed_ms: decision.inferenceMs.toFixed(2) };
        return {
          ...none,
          timedOut: true,
          failure: 'timeout_inference',
          events: [{ description: 'timeout_inference', level: TelemetryLevel.TELEMETRY_LEVEL_WARNING, attributes }],
          counter: 'timeouts',
          outcome: 'missed',
        };
      }
      return { decision, timedOut: false, gated: false, failure: '', events: [], counter: null, outcome: 'answered' };
    }
  }
}

/** The blueprint a seed command would graft, from the catalog; a lookup over its budget is a metadata timeout. */
function blueprintOf(
  proposal: v1.AdaptationCommand,
  budgetMs: number,
  ports: DecisionPorts,
  events: EventInput[],
): { blueprint: BlueprintRisk | null; timedOut: boolean } {
  const blueprintId = proposal.seedOperation?.blueprintId ?? '';
  if (proposal.commandType !== CommandType.COMMAND_SEED || !blueprintId) return { blueprint: null, timedOut: false };
  const started = ports.now();
  const descriptor = ports.lookUpBlueprint(blueprintId);
  if (ports.now() - started > budgetMs) {
    events.push({
      description: 'timeout_urza',
      level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
      attributes: { budget_ms: budgetMs.toFixed(1) },
    });
    return { blueprint: null, timedOut: true };
  }
  return {
    blueprint: descriptor
      ? {
          tier: descriptor.tier,
          stage: descriptor.stage,
          risk: descriptor.risk,
          quarantineOnly: descriptor.quarantineOnly,
        }
      : null,
    timedOut: false,
  };
}

/**
 * The validation loss now minus the previous epoch's: from the run's own history when the packet carries it (a
 * resumed run has it too), else the last one seen in the same run. Null without a validation loss or a previous one.
 */
export function lossDeltaOf(packet: v1.SystemStatePacket, last: DecisionState['lastValidation']): number | null {
  if (!(packet.validationLoss > 0)) return null;
  const history = packet.validationLossHistory ?? [];
  const previous =
    history.length >= 2
      ? history[history.length - 2]!
      : last !== null && last.runId === packet.trainingRunId
        ? last.loss
        : null;
  return previous !== null ? packet.validationLoss - previous : null;
}

/** Decides at one boundary; the state is updated in place and returned with the decision and the effects, in order. */
export function decisionStep(
  state: DecisionState,
  input: DecisionInput,
  settings: DecisionSettings,
  ports: DecisionPorts,
): DecisionTransition {
  const { packet } = input;
  const { decision, timedOut, gated, failure, events, counter, outcome } = judgeAnswer(
    input.answer,
    settings.inferenceTimeoutMs,
  );
  if (counter) state.counters[counter] += 1;
  const effects: DecisionEffect[] = [
    ...versionTransition(state.versions, { type: 'decided', outcome }, settings).effects,
  ];
  const inferenceMs = ports.now() - input.startedAt;

  const proposal = decision?.proposal ? leyline.AdaptationCommand.create(decision.proposal) : safePause(failure);
  const { blueprint, timedOut: blueprintTimedOut } = blueprintOf(proposal, settings.metadataTimeoutMs, ports, events);
  const lossDelta = lossDeltaOf(packet, state.lastValidation);
  const verdict = state.risk.evaluate({
    command: proposal,
    lossDelta,
    blueprint,
    timedOut,
    inferenceGated: gated,
    blueprintTimedOut,
    trainingMetrics: packet.trainingMetrics ?? {},
  });
  events.push(...verdict.events);
  const command = verdict.command;
  // Without the policy's answer: the active version (after a rollback, the one rolled back to).
  command.annotations.policy_version = decision?.policyVersion ?? state.versions.active.version;
  command.annotations.policy_arch = ARCHITECTURE;
  ports.sign(command);

  const runId = packet.trainingRunId || 'run-unknown';
  const report = leyline.FieldReport.create({
    version: 1,
    // One decision per boundary of a run: the same id when a resumed run decides at that boundary again.
    reportId: `${runId}@${String(packet.globalStep)}`,
    commandId: command.commandId,
    trainingRunId: runId,
    seedId: command.targetSeedId,
    blueprintId: command.seedOperation?.blueprintId ?? '',
    outcome: FieldReportOutcome.FIELD_REPORT_OUTCOME_UNSPECIFIED,
    metrics: {
      'decision.epoch': packet.currentEpoch,
      'decision.kind': commandAction(command),
      'decision.validation_loss': packet.validationLoss ?? 0,
      'decision.validation_accuracy': packet.validationAccuracy ?? 0,
      'decision.loss_delta': lossDelta ?? 0,
      'decision.inference_ms': inferenceMs,
      'decision.conservative': verdict.conservative ? 1 : 0,
      ...(packet.trainingMetrics?.hook_latency_ms !== undefined
        ? { hook_latency_ms: packet.trainingMetrics.hook_latency_ms }
        : {}),
      ...(blueprint ? { blueprint_risk: blueprint.risk } : {}),
    },
    observationWindowEpochs: settings.observationEpochs,
    issuedAt: command.issuedAt,
    tamiyoPolicyVersion: command.annotations.policy_version,
    notes:
      failure ||
      (events.find((e) => e.description.startsWith('timeout'))?.description ??
        events.at(-1)?.description ??
        `risk:${verdict.reason}`),
    ...(decision ? { decision } : {}),
  });
  state.counters.decisions += 1;
  const decisionMs = ports.now() - input.startedAt;
  if (packet.validationLoss > 0) state.lastValidation = { runId: packet.trainingRunId, loss: packet.validationLoss };
  const telemetry = decisionTelemetry({
    packet,
    command,
    decision,
    events,
    risk: state.risk,
    policyVersion: state.versions.active.version,
    counters: state.counters,
    inferenceMs,
    decisionMs,
    deadlineMs: settings.inferenceTimeoutMs,
    lossDelta: lossDelta ?? 0,
    blueprint,
  });
  effects.push(
    { type: 'reply', command },
    { type: 'follow-up', followUp: { packet, report, telemetry, shadow: !timedOut && !gated ? decision : undefined } },
  );
  return { state, decision: { command, policyDecision: decision, failure, verdict, report }, effects };
}
