// The epoch SystemStatePacket (honest fields) and the emergency ladder.
import test from 'ava';
import { decodeLeyline, encodeLeyline } from '../contracts/codec.ts';
import { leyline } from '../contracts/index.ts';
import { priorityFromIndicator } from '../contracts/telemetry.ts';
import { emergencyPacket, EmergencyController } from '../actors/tolaria/training/emergency.ts';
import { epochSystemState } from '../actors/tolaria/training/system-state.ts';

const { EmergencyLevel: L, MessagePriority, TelemetryLevel } = leyline;
const train = {
  loss: 0.25,
  accuracy: 0.93,
  samples: 54_000,
  steps: 844,
  gradNorm: 1.5,
  seconds: 5.4,
  samplesPerSecond: 10_000,
};

test('the epoch packet carries real validation metrics, the real step count and the backend used', (t) => {
  const packet = epochSystemState({
    runId: 'run-7',
    experimentName: 'mnist-mlp',
    epoch: 3,
    globalStep: 2_532,
    train,
    validation: { loss: 0.1, accuracy: 0.97, samples: 6_000 },
    learningRate: 0.001,
    seedStates: [leyline.SeedState.create({ seedId: 'seed-1', stage: leyline.SeedLifecycleStage.SEED_STAGE_TRAINING })],
    backend: 'wasm',
    slotStats: new Map([['mlp.0', { mean: 0.5, std: 0.25, absMax: 3 }]]),
    extraMetrics: { hook_latency_ms: 4 },
    now: 1_765_000_000_123, // × 1e6 as a double would be 1_765_000_000_123_000_064
  });
  const decoded = decodeLeyline(leyline.SystemStatePacket, encodeLeyline(packet));
  t.true(decoded.ok);
  if (!decoded.ok) return;
  const p = decoded.message;
  t.is(p.version, 1);
  t.is(p.currentEpoch, 3);
  t.is(p.globalStep, 2_532n);
  t.is(p.validationAccuracy, Math.fround(0.97));
  t.is(p.trainingLoss, Math.fround(0.25));
  t.is(p.packetId, 'run-7-epoch-3');
  t.is(p.experimentName, 'mnist-mlp');
  t.is(p.hardwareContext?.deviceType, 'wasm');
  t.true((p.hardwareContext?.totalMemoryGb ?? 0) > 0);
  t.is(p.timestampNs, 1_765_000_000_123_000_000n, 'exact nanoseconds');
  t.like(p.trainingMetrics, {
    samples_per_s: 10_000,
    'slot.mlp.0.abs_max': 3,
    hook_latency_ms: 4,
    learning_rate: Math.fround(0.001),
  });
  t.is(p.seedStates[0]?.seedId, 'seed-1');
  const noValidation = epochSystemState({
    runId: 'r',
    experimentName: 'e',
    epoch: 0,
    globalStep: 1,
    train,
    learningRate: 0.1,
    seedStates: [],
    backend: 'cpu',
  });
  t.is(noValidation.validationAccuracy, 0, 'unset without a validation pass');
});

test('the ladder only climbs on escalation, drops one level per stable run, and never leaves HALT', (t) => {
  const ladder = new EmergencyController(2);
  t.is(ladder.level, L.EMERGENCY_LEVEL_NOTICE);
  t.true(ladder.escalate(L.EMERGENCY_LEVEL_CONSERVATIVE, 'breaker_open').changed);
  t.false(ladder.escalate(L.EMERGENCY_LEVEL_ELEVATED, 'hook_budget').changed, 'never lowered by an escalation');
  t.is(ladder.stableEpoch(), null);
  t.deepEqual(ladder.stableEpoch(), {
    level: L.EMERGENCY_LEVEL_ELEVATED,
    previous: L.EMERGENCY_LEVEL_CONSERVATIVE,
    reason: '2 stable epochs',
    changed: true,
  });
  ladder.stableEpoch();
  t.is(ladder.stableEpoch()?.level, L.EMERGENCY_LEVEL_NOTICE);
  ladder.escalate(L.EMERGENCY_LEVEL_HALT, 'rollback_deadline');
  t.true(ladder.halted);
  for (let i = 0; i < 5; i++) t.is(ladder.stableEpoch(), null);
  t.deepEqual(ladder.counters, { escalations: 2, deEscalations: 2, halts: 1 });
});

test('an emergency packet is CRITICAL for HALT, HIGH for other escalations, and says why', (t) => {
  const halt = emergencyPacket(
    { level: L.EMERGENCY_LEVEL_HALT, previous: L.EMERGENCY_LEVEL_ELEVATED, reason: 'failed_epochs', changed: true },
    { runId: 'r', epoch: 9 },
  );
  t.is(halt.level, TelemetryLevel.TELEMETRY_LEVEL_CRITICAL);
  t.is(priorityFromIndicator(halt), MessagePriority.MESSAGE_PRIORITY_CRITICAL);
  t.is(halt.events[0]?.description, 'emergency_broadcast');
  t.like(halt.events[0]?.attributes, {
    level: 'EMERGENCY_LEVEL_HALT',
    reason: 'failed_epochs',
    epoch: '9',
    run_id: 'r',
  });
  const elevated = emergencyPacket(
    { level: L.EMERGENCY_LEVEL_ELEVATED, previous: L.EMERGENCY_LEVEL_NOTICE, reason: 'nan_loss', changed: true },
    { runId: 'r', epoch: 2 },
  );
  t.is(priorityFromIndicator(elevated), MessagePriority.MESSAGE_PRIORITY_HIGH);
  const cleared = emergencyPacket(
    { level: L.EMERGENCY_LEVEL_NOTICE, previous: L.EMERGENCY_LEVEL_ELEVATED, reason: '3 stable epochs', changed: true },
    { runId: 'r', epoch: 5 },
  );
  t.is(cleared.events[0]?.description, 'emergency_cleared');
  t.is(priorityFromIndicator(cleared), MessagePriority.MESSAGE_PRIORITY_NORMAL);
});
