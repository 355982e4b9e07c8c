// The TelemetryPacket of one decision (docs/tamiyo.md#decision-telemetry): the decision's figures, the risk engine's
// state and events, health (CRITICAL on a CRITICAL event, DEGRADED on a PAUSE or a warning) and priority (by the worst
// event level).
import { leyline, type v1 } from '../../contracts/index.ts';
import { buildTelemetryPacket, type EventInput, type MetricInput } from '../../contracts/telemetry.ts';
import { ARCHITECTURE } from '../../policy/index.ts';
import type { BlueprintRisk, RiskEngine } from './risk-engine.ts';

const { CommandType, TelemetryLevel, HealthStatus, MessagePriority } = leyline;

export interface DecisionFacts {
  packet: v1.SystemStatePacket;
  /** The command sent. */
  command: v1.AdaptationCommand;
  /** The policy's decision (null: timed out, gated, or still starting). */
  decision: v1.PolicyDecision | null;
  events: readonly EventInput[];
  risk: RiskEngine;
  policyVersion: string;
  counters: { reportsAppended: number; reportsCompleted: number };
  inferenceMs: number;
  decisionMs: number;
  /** The decision's deadline (past it the policy's answer becomes a hold): the SLO's objective. */
  deadlineMs: number;
  lossDelta: number;
  blueprint: BlueprintRisk | null;
}

export function decisionTelemetry(facts: DecisionFacts): v1.TelemetryPacket {
  const { packet, command, decision, events, risk } = facts;
  const outputs = decision?.outputs ?? {};
  const choices = decision?.choices ?? {};
  const metrics: MetricInput[] = [
    { name: 'tamiyo.validation_loss', value: packet.validationLoss ?? 0, unit: 'loss' },
    { name: 'tamiyo.loss_delta', value: facts.lossDelta, unit: 'loss' },
    { name: 'tamiyo.conservative_mode', value: risk.conservative ? 1 : 0, unit: 'bool' },
    { name: 'tamiyo.inference.latency_ms', value: facts.inferenceMs, unit: 'ms' },
    { name: 'tamiyo.gnn.inference.latency_ms', value: decision?.inferenceMs ?? 0, unit: 'ms' },
    { name: 'tamiyo.decision.latency_ms', value: facts.decisionMs, unit: 'ms' },
    { name: 'slo.tamiyo_decision_latency_actual', value: facts.decisionMs, unit: 'ms' },
    { name: 'slo.tamiyo_decision_latency_objective', value: facts.deadlineMs, unit: 'ms' },
    { name: 'tamiyo.gnn.compile_enabled', value: 0, unit: 'bool' },
    { name: 'tamiyo.policy.value_estimate', value: outputs.value ?? 0, unit: 'score' },
    { name: 'tamiyo.policy.risk_index', value: Number(command.annotations.policy_risk_index ?? 0), unit: 'index' },
    { name: 'tamiyo.policy.risk_score', value: outputs.risk_level ?? 0, unit: 'score' },
  ];
  if (decision) {
    const method = command.annotations.blending_method ?? '';
    metrics.push(
      {
        name: 'tamiyo.blending.method_index',
        value: choices.blending ?? 0,
        unit: 'enum',
        ...(method ? { attributes: { method } } : {}),
      },
      { name: 'tamiyo.blending.schedule_start', value: outputs.schedule_start ?? 0, unit: 'fraction' },
      { name: 'tamiyo.blending.schedule_end', value: outputs.schedule_end ?? 0, unit: 'fraction' },
      { name: 'tamiyo.selection.seed_index', value: choices.seed ?? -1, unit: 'index' },
      { name: 'tamiyo.selection.blueprint_index', value: choices.blueprint ?? -1, unit: 'index' },
      { name: 'tamiyo.selection.slot_index', value: choices.slot ?? -1, unit: 'index' },
    );
  }
  const { inferenceBreaker, metadataBreaker } = risk;
  metrics.push(
    { name: 'tamiyo.breaker.inference_state', value: inferenceBreaker.state, unit: 'state' },
    { name: 'tamiyo.breaker.metadata_state', value: metadataBreaker.state, unit: 'state' },
    { name: 'tamiyo.breaker.inference_failures', value: inferenceBreaker.snapshot().failureCount, unit: 'count' },
    { name: 'tamiyo.breaker.metadata_failures', value: metadataBreaker.snapshot().failureCount, unit: 'count' },
    { name: 'tamiyo.field_reports.appended', value: facts.counters.reportsAppended, unit: 'count' },
    { name: 'tamiyo.field_reports.completed', value: facts.counters.reportsCompleted, unit: 'count' },
  );
  if (facts.blueprint) metrics.push({ name: 'tamiyo.blueprint.risk', value: facts.blueprint.risk, unit: 'score' });
  const levels = events.map((e) => e.level ?? TelemetryLevel.TELEMETRY_LEVEL_INFO);
  const critical = levels.includes(TelemetryLevel.TELEMETRY_LEVEL_CRITICAL);
  const warning = levels.some(
    (l) => l === TelemetryLevel.TELEMETRY_LEVEL_WARNING || l === TelemetryLevel.TELEMETRY_LEVEL_ERROR,
  );
  const pause = command.commandType === CommandType.COMMAND_PAUSE;
  const status = critical
    ? HealthStatus.HEALTH_STATUS_CRITICAL
    : pause || warning
      ? HealthStatus.HEALTH_STATUS_DEGRADED
      : HealthStatus.HEALTH_STATUS_HEALTHY;
  const summary = pause ? command.annotations.risk_reason || 'pause' : (events.at(-1)?.description ?? 'stable');
  const step = Number(packet.globalStep ?? 0);
  return buildTelemetryPacket({
    packetId: packet.packetId ? `tamiyo-${packet.packetId}` : 'tamiyo-telemetry',
    source: 'tamiyo',
    level: TelemetryLevel.TELEMETRY_LEVEL_INFO,
    metrics,
    events,
    healthStatus: status,
    healthSummary: summary,
    healthIndicators: {
      policy: facts.policyVersion.slice(0, 8),
      mode: risk.conservative ? '1' : '0',
      policy_compile: '0',
      policy_arch: ARCHITECTURE,
      policy_version: facts.policyVersion,
      ...(command.annotations.blending_method ? { blending_method: command.annotations.blending_method } : {}),
      ...(command.annotations.blueprint_tier ? { tier: command.annotations.blueprint_tier } : {}),
      ...(step > 0 ? { step_index: String(step) } : {}),
    },
    priority: critical
      ? MessagePriority.MESSAGE_PRIORITY_CRITICAL
      : warning
        ? MessagePriority.MESSAGE_PRIORITY_HIGH
        : MessagePriority.MESSAGE_PRIORITY_NORMAL,
  });
}
