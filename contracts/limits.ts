// The prototype's design budgets (docs/architecture.md#budgets), which its schema declared but never filled, as Leyline
// message instances. They are frozen: a budget is a contract, not a knob an actor may turn at runtime.
import { leyline } from './index.ts';

/** Freezes a message but keeps its class type (Readonly<> would drop the nominal brand encodeLeyline needs). */
function frozen<M extends object>(message: M): M {
  Object.freeze(message);
  return message;
}

/** Latency budgets (the field names carry the unit). */
export const PERFORMANCE_BUDGETS = frozen(
  leyline.PerformanceBudgets.create({
    epochBoundaryMs: 18,
    tamiyoInferenceMs: 12,
    systemstateAssemblyMs: 3,
    adaptationProcessingMs: 2,
    fastRollbackMs: 500,
    fullRollbackSeconds: 12,
    protobufSerializationUs: 80,
    messageValidationUs: 20,
    breakerTimeoutMs: 1000,
    breakerResetSeconds: 30,
    importanceTrackingOverheadPercent: 1,
    checkpointAnalysisMinutesMin: 2,
    checkpointAnalysisMinutesMax: 5,
    structuredValidationSeconds: 60,
    rollbackCoordinationSeconds: 30,
  }),
);

/**
 * The design's memory shares as written. They add up to 1.05, although the design itself requires at most 1.0,
 * so they are not exported as a budget: MEMORY_BUDGETS below is this table scaled by 1/1.05.
 */
const DESIGN_MEMORY_SHARES = {
  modelPercent: 0.4,
  optimizerPercent: 0.25,
  gradientsPercent: 0.15,
  checkpointsPercent: 0.08,
  telemetryPercent: 0.05,
  morphogeneticPercent: 0.05,
  emergencyPercent: 0.02,
  importanceStatisticsPercent: 0.03,
  pruningMetadataPercent: 0.02,
} as const;

function normalised<T extends Record<string, number>>(shares: T): T {
  const total = Object.values(shares).reduce((sum, share) => sum + share, 0);
  const out: Record<string, number> = {};
  for (const [name, share] of Object.entries(shares)) out[name] = share / total;
  return out as T;
}

/**
 * Memory shares (fractions of the process budget, despite the `_percent` field names inherited from the
 * prototype). Decision: scale the design's table proportionally so the shares sum to 1.0 (each share keeps its
 * relative weight: model 0.381, optimizer 0.238, gradients 0.143, checkpoints 0.0762, telemetry 0.0476,
 * morphogenetic 0.0476, emergency 0.0190, importance statistics 0.0286, pruning metadata 0.0190). The fields are
 * float32, so the stored shares sum to 1.0 within float32 rounding (< 1e-6).
 */
export const MEMORY_BUDGETS = frozen(leyline.MemoryBudgets.create(normalised(DESIGN_MEMORY_SHARES)));

/**
 * System limits. Which of them contracts/ itself enforces: none at decode time. `maxMessageSizeBytes` (280) is
 * the size budget of a *hot* control message (SystemStatePacket, AdaptationCommand, TelemetryPacket); it is
 * measured by bench/leyline.bench.ts and the tests, not used to refuse input, because legitimate messages are
 * larger (a PolicyUpdate carries network weights, a 10-seed SystemStatePacket is ~470 B). Decoding is capped by
 * DEFAULT_DECODE_MAX_BYTES instead. The other limits belong to the actors that own the resource (seeds per
 * epoch: Kasmina; queue depth and retries: Oona; pruning and checkpoints: Tolaria) and are theirs to enforce.
 */
export const SYSTEM_LIMITS = frozen(
  leyline.SystemLimits.create({
    maxSeedsPerEpoch: 100,
    maxMessageSizeBytes: 280,
    maxQueueDepth: 10_000,
    maxRetryAttempts: 3,
    maxPauseQuota: 10_000,
    maxGcAllocationsPerMsg: 4,
    maxPruningRatioPercent: 50,
    maxConsecutivePruningFailures: 3,
    maxCheckpointStorageGb: 100,
    maxImportanceHistoryDays: 30,
  }),
);

/**
 * Largest buffer `decodeLeyline` accepts by default: 4 MiB. Generous on purpose: it must admit a PolicyUpdate
 * carrying Tamiyo's weights and an InspectorReply with a telemetry tail, while still refusing a corrupt length or
 * a hostile peer before any allocation proportional to the claimed size. Callers on a hot path pass a tighter
 * `maxBytes` (e.g. a small multiple of SYSTEM_LIMITS.maxMessageSizeBytes).
 */
export const DEFAULT_DECODE_MAX_BYTES = 4 * 1024 * 1024;
