// The telemetry packet Tolaria sends after each epoch (docs/training-loop.md#the-epoch-telemetry-packet): training
// and validation figures, the control hook's latency, seeds, modes, rollback and emergency counters, and the
// tensor count (which must stay flat from epoch to epoch).
import { leyline, type v1 } from '../../../contracts/index.ts';
import { buildTelemetryPacket, type EventInput, type MetricInput } from '../../../contracts/telemetry.ts';
import type { EpochStats, EvaluationStats } from '../training/epoch.ts';
import type { HookPhases } from './control-hook.ts';

const { TelemetryLevel, HealthStatus } = leyline;

export interface EpochTelemetryInput {
  runId: string;
  epoch: number;
  globalStep: number;
  train: EpochStats;
  validation: EvaluationStats | null;
  hookMs: number;
  hookPhases: HookPhases;
  /** The run's hook budget (a hook over it fails the epoch): the SLO's objective. */
  hookBudgetMs: number;
  seedsActive: number;
  conservative: boolean;
  breakerState: v1.CircuitBreakerState;
  emergencyLevel: v1.EmergencyLevel;
  counters: {
    epochs: number;
    failedEpochs: number;
    faults: number;
    rollbacks: number;
    snapshots: number;
    checkpoints: number;
  };
  snapshotBytes: number;
  liveTensors: number;
  learningRate: number;
  events: readonly EventInput[];
  /** What the control boundary decided, in words (as the progress line says it), if anything. */
  decision?: string | null;
  now?: number;
}

export function epochTelemetry(input: EpochTelemetryInput): v1.TelemetryPacket {
  const metric = (name: string, value: number, unit = ''): MetricInput => ({
    name: `tolaria.${name}`,
    value,
    ...(unit ? { unit } : {}),
  });
  const metrics: MetricInput[] = [
    metric('training.loss', input.train.loss),
    metric('training.accuracy', input.train.accuracy),
    metric('training.latency_ms', input.train.seconds * 1000, 'ms'),
    metric('training.samples_per_s', input.train.samplesPerSecond, 'samples/s'),
    metric('training.gradient_norm', input.train.gradNorm),
    metric('training.learning_rate', input.learningRate),
    ...(input.validation
      ? [metric('validation.loss', input.validation.loss), metric('validation.accuracy', input.validation.accuracy)]
      : []),
    metric('epoch_hook.latency_ms', input.hookMs, 'ms'),
    // The share of its budget the hook used, which Nissa's training_latency_high watches, and the hook against that
    // budget as an SLO sample for its burn rate: alerts about what the run holds the hook to, on any machine.
    metric('epoch_hook.budget_share', input.hookMs / input.hookBudgetMs),
    { name: 'slo.epoch_hook_latency_actual', value: input.hookMs, unit: 'ms' },
    { name: 'slo.epoch_hook_latency_objective', value: input.hookBudgetMs, unit: 'ms' },
    // The hook's parts (control-hook.ts, HookPhases), Tamiyo's being tamiyo.latency_ms: what to look at when the
    // hook is over its target.
    metric('tamiyo.latency_ms', input.hookPhases.tamiyoMs, 'ms'),
    metric('epoch_hook.assembly_ms', input.hookPhases.assemblyMs, 'ms'),
    metric('epoch_hook.kasmina_ms', input.hookPhases.kasminaMs, 'ms'),
    metric('epoch_hook.apply_ms', input.hookPhases.applyMs, 'ms'),
    metric('seeds.active', input.seedsActive),
    metric('mode.conservative', input.conservative ? 1 : 0),
    metric('breaker.state', input.breakerState),
    metric('emergency.level', input.emergencyLevel),
    metric('epochs.total', input.counters.epochs),
    metric('epochs.failed', input.counters.failedEpochs),
    metric('rollback.faults_total', input.counters.faults),
    metric('rollback.total', input.counters.rollbacks),
    metric('rollback.snapshots_total', input.counters.snapshots),
    metric('rollback.fast_size_bytes', input.snapshotBytes, 'bytes'),
    metric('checkpoints.total', input.counters.checkpoints),
    metric('tensors.live', input.liveTensors),
  ];
  const worst = Math.max(
    TelemetryLevel.TELEMETRY_LEVEL_INFO,
    ...input.events.map((e) => e.level ?? TelemetryLevel.TELEMETRY_LEVEL_INFO),
  );
  const firstProblem = input.events.find((e) => (e.level ?? 0) >= TelemetryLevel.TELEMETRY_LEVEL_WARNING);
  return buildTelemetryPacket({
    packetId: `${input.runId}-epoch-${input.epoch}`,
    source: 'tolaria',
    level: worst as v1.TelemetryLevel,
    metrics,
    events: [...input.events],
    healthStatus: firstProblem ? HealthStatus.HEALTH_STATUS_DEGRADED : HealthStatus.HEALTH_STATUS_HEALTHY,
    healthSummary: firstProblem ? firstProblem.description : 'stable',
    healthIndicators: {
      epoch: String(input.epoch),
      global_step: String(input.globalStep),
      ...(input.decision ? { decision: input.decision } : {}),
    },
    ...(input.now !== undefined ? { timestamp: input.now } : {}),
  });
}
