import test from 'ava';
import { decodeLeyline, encodeLeyline } from '../contracts/codec.ts';
import { leyline } from '../contracts/index.ts';
import { DEFAULT_DECODE_MAX_BYTES, MEMORY_BUDGETS, PERFORMANCE_BUDGETS, SYSTEM_LIMITS } from '../contracts/limits.ts';

test('the budgets are Leyline message instances that round-trip', (t) => {
  for (const [message, Type] of [
    [PERFORMANCE_BUDGETS, leyline.PerformanceBudgets],
    [MEMORY_BUDGETS, leyline.MemoryBudgets],
    [SYSTEM_LIMITS, leyline.SystemLimits],
  ] as const) {
    t.true(message instanceof Type);
    const bytes = encodeLeyline(message);
    const decoded = decodeLeyline(Type as typeof leyline.SystemLimits, bytes);
    t.true(decoded.ok);
    if (decoded.ok) t.deepEqual(Buffer.from(encodeLeyline(decoded.message)), Buffer.from(bytes));
  }
});

test('performance budgets carry the design values', (t) => {
  t.like(
    { ...PERFORMANCE_BUDGETS },
    {
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
    },
  );
});

test('system limits carry the design values', (t) => {
  t.like(
    { ...SYSTEM_LIMITS },
    {
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
    },
  );
});

test('memory budgets are the design shares scaled to sum to 1.0, also after float32 encoding', (t) => {
  const shares = [
    MEMORY_BUDGETS.modelPercent,
    MEMORY_BUDGETS.optimizerPercent,
    MEMORY_BUDGETS.gradientsPercent,
    MEMORY_BUDGETS.checkpointsPercent,
    MEMORY_BUDGETS.telemetryPercent,
    MEMORY_BUDGETS.morphogeneticPercent,
    MEMORY_BUDGETS.emergencyPercent,
    MEMORY_BUDGETS.importanceStatisticsPercent,
    MEMORY_BUDGETS.pruningMetadataPercent,
  ];
  t.true(Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  t.true(Math.abs(MEMORY_BUDGETS.modelPercent - 0.4 / 1.05) < 1e-12);
  t.true(
    Math.abs(MEMORY_BUDGETS.optimizerPercent / MEMORY_BUDGETS.gradientsPercent - 0.25 / 0.15) < 1e-9,
    'ratios kept',
  );
  const decoded = decodeLeyline(leyline.MemoryBudgets, encodeLeyline(MEMORY_BUDGETS));
  t.true(decoded.ok);
  if (decoded.ok) {
    const m = decoded.message;
    const sum =
      m.modelPercent +
      m.optimizerPercent +
      m.gradientsPercent +
      m.checkpointsPercent +
      m.telemetryPercent +
      m.morphogeneticPercent +
      m.emergencyPercent +
      m.importanceStatisticsPercent +
      m.pruningMetadataPercent;
    t.true(Math.abs(sum - 1) < 1e-6);
  }
});

test('the constants are frozen', (t) => {
  t.true(Object.isFrozen(PERFORMANCE_BUDGETS) && Object.isFrozen(MEMORY_BUDGETS) && Object.isFrozen(SYSTEM_LIMITS));
  t.throws(
    () => {
      (SYSTEM_LIMITS as { maxQueueDepth: number }).maxQueueDepth = 1;
    },
    { instanceOf: TypeError },
  );
});

test('the default decode cap is 4 MiB, far above the 280-byte hot-message budget', (t) => {
  t.is(DEFAULT_DECODE_MAX_BYTES, 4 * 1024 * 1024);
  t.true(DEFAULT_DECODE_MAX_BYTES > SYSTEM_LIMITS.maxMessageSizeBytes);
});
