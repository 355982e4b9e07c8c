// The trainer actor on the synthetic task: a run completes with epoch telemetry and checkpoints and frees every
// tensor when it stops; a Tamiyo that misses its deadline sends Tolaria into conservative mode and out again; a
// prompt Tamiyo's optimizer command is applied and Kasmina's seed states reach the next state packet; a run that
// keeps blowing up is rolled back, then halted at L4 with a CRITICAL packet; a ROLLBACK command is answered.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { spiralsDataset } from '../actors/tolaria/data/synthetic.ts';
import { resolveTolariaConfig, type TolariaConfig } from '../actors/tolaria/trainer/settings.ts';
import {
  trainerLogic,
  type EpochSummary,
  type RunResult,
  type TrainerDeps,
} from '../actors/tolaria/trainer/trainer-actor.ts';
import { statelessLogic, type ActorRef } from '../runtime/logic.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';
import type { ActorSystem } from '../runtime/system.ts';
import { testSystem } from './helpers/actors.ts';
import { EventLog, gate } from './helpers/events.ts';

const { CommandType, EmergencyLevel, SeedLifecycleStage, TelemetryLevel } = leyline;

test.before(async () => {
  await selectTensorBackend('cpu');
});

const dataset = spiralsDataset({ rngSeed: 5 });

interface Harness {
  system: ActorSystem;
  packets: EventLog<v1.TelemetryPacket>;
  epochs: EventLog<EpochSummary>;
  finished: Promise<RunResult>;
  trainer: ActorRef<v1.TimerFired | v1.AdaptationCommand>;
  runDir: string;
}

function start(config: TolariaConfig, fakes: (system: ActorSystem) => Partial<TrainerDeps> = () => ({})): Harness {
  const system = testSystem();
  const extra = fakes(system);
  const packets = new EventLog<v1.TelemetryPacket>();
  const epochs = new EventLog<EpochSummary>();
  const done = gate<RunResult>();
  const telemetry = system.spawn(
    null,
    statelessLogic<v1.TelemetryPacket>('recorder', (packet) => packets.push(packet)),
    { name: 'telemetry' },
  );
  const runDir = mkdtempSync(join(tmpdir(), 'esper-trainer-'));
  const settings = resolveTolariaConfig({
    experiment: 'spirals',
    dataset: { kind: 'spirals' },
    optimizer: { kind: 'adam', learningRate: 0.01 },
    control: { hookBudgetMs: 10_000 },
    ...config,
  });
  const trainer = system.spawn(
    null,
    trainerLogic({
      settings,
      runId: 'run-t',
      runDir,
      resume: false,
      dataset,
      backend: 'cpu',
      telemetry,
      tamiyo: null,
      kasmina: null,
      monitor: { epoch: (summary) => epochs.push(summary), finished: done.open },
      ...extra,
    }),
    { name: 'trainer' },
  );
  return { system, packets, epochs, finished: done.promise, trainer, runDir };
}

const metricOf = (packet: v1.TelemetryPacket, name: string): number | undefined =>
  packet.metrics.find((m) => m.name === name)?.value ?? undefined;
const hasEvent = (packet: v1.TelemetryPacket, description: string): boolean =>
  packet.events.some((e) => e.description === description);

test.serial(
  'a run completes: epoch telemetry, a checkpoint per epoch, and every tensor freed when the trainer stops',
  async (t) => {
    const baseline = tf.memory().numTensors;
    const h = start({ epochs: 3 });
    const result = await h.finished;
    await h.system.whenTerminated(h.trainer);
    t.is(result.status, 'completed');
    t.is(result.epochs, 3);
    t.true(result.testAccuracy > 0.8, `test accuracy ${result.testAccuracy}`);
    t.deepEqual(
      h.epochs.seen.map((e) => e.epoch),
      [0, 1, 2],
    );
    t.true(h.epochs.seen.every((e) => e.validationAccuracy !== null && e.failedReason === null));
    // Epoch 1 creates Adam's moments; then the count is flat.
    t.is(h.epochs.seen[2]!.liveTensors, h.epochs.seen[1]!.liveTensors);
    await h.packets.waitFor((p) => p.packetId === 'run-t-epoch-2');
    const epochPackets = h.packets.seen.filter((p) => /-epoch-\d+$/.test(p.packetId));
    t.is(epochPackets.length, 3);
    for (const name of [
      'tolaria.training.loss',
      'tolaria.training.accuracy',
      'tolaria.training.latency_ms',
      'tolaria.epoch_hook.latency_ms',
      'tolaria.epoch_hook.assembly_ms',
      'tolaria.epoch_hook.kasmina_ms',
      'tolaria.epoch_hook.apply_ms',
      'tolaria.seeds.active',
      'tolaria.validation.accuracy',
    ]) {
      t.not(metricOf(epochPackets[2]!, name), undefined, name);
    }
    t.true(metricOf(epochPackets[2]!, 'tolaria.training.loss')! < metricOf(epochPackets[0]!, 'tolaria.training.loss')!);
    await h.packets.waitFor((p) => hasEvent(p, 'tolaria.run.completed'));
    t.is(tf.memory().numTensors, baseline, 'the stopped trainer holds no tensors');
    await h.system.shutdown();
  },
);

test.serial(
  'a Tamiyo past its deadline: conservative mode (Tamiyo not asked), then cleared by a good epoch',
  async (t) => {
    const asked = new EventLog<v1.SystemStatePacket>();
    const h = start({ epochs: 3, control: { tamiyoDeadlineMs: 50, hookBudgetMs: 10_000 } }, (system) => ({
      // A Tamiyo that never answers: each ask times out at 50 ms and training goes on.
      tamiyo: system.spawn(
        null,
        statelessLogic<v1.SystemStatePacket>('silent-tamiyo', (packet) => asked.push(packet)),
        { name: 'tamiyo' },
      ),
    }));
    const result = await h.finished;
    t.is(result.status, 'completed');
    const [first, second, third] = h.epochs.seen;
    t.is(first?.failedReason, 'tamiyo_timeout');
    t.true(first?.conservative);
    t.is(first?.emergencyLevel, 'EMERGENCY_LEVEL_ELEVATED');
    t.is(second?.failedReason, null, 'the conservative epoch does not ask Tamiyo, so it cannot time out');
    t.false(second?.conservative);
    t.is(third?.failedReason, 'tamiyo_timeout');
    t.deepEqual(
      asked.seen.map((p) => p.currentEpoch),
      [0, 2],
      'asked at epochs 0 and 2, not in conservative epoch 1',
    );
    const events = h.packets.seen.flatMap((p) => p.events.map((e) => e.description));
    for (const name of [
      'tolaria.tamiyo_timeout',
      'tolaria.conservative_mode_entered',
      'tolaria.conservative_mode_cleared',
      'tolaria.emergency.escalated',
    ]) {
      t.true(events.includes(name), name);
    }
    const emergency = await h.packets.waitFor((p) => hasEvent(p, 'emergency_broadcast'));
    t.is(metricOf(emergency, 'tolaria.emergency.level'), EmergencyLevel.EMERGENCY_LEVEL_ELEVATED);
    // The state packet is honest: real validation figures, the real step count, the backend in use.
    const packet = asked.seen[0]!;
    t.true(packet.validationAccuracy > 0 && packet.validationLoss > 0);
    t.is(packet.globalStep, BigInt(h.epochs.seen[0]!.globalStep));
    t.is(packet.hardwareContext?.deviceType, 'cpu');
    t.true((packet.trainingMetrics.samples_per_s ?? 0) > 0);
    t.true('slot.mlp.0.mean' in packet.trainingMetrics);
    await h.system.shutdown();
  },
);

test.serial("Tamiyo's optimizer command is applied; Kasmina's seed states reach the next state packet", async (t) => {
  const asked = new EventLog<v1.SystemStatePacket>();
  const forwarded = new EventLog<v1.AdaptationCommand>();
  const h = start({ epochs: 2 }, (system) => ({
    tamiyo: system.spawn(
      null,
      statelessLogic<v1.SystemStatePacket>('tamiyo', (packet, ctx) => {
        asked.push(packet);
        ctx.reply(
          leyline.AdaptationCommand.create({
            version: 1,
            commandId: `cmd-${packet.currentEpoch}`,
            commandType: CommandType.COMMAND_OPTIMIZER,
            optimizerAdjustment: leyline.CommandOptimizerAdjustment.create({
              optimizerId: 'host',
              hyperparameters: { learning_rate: 0.002 },
            }),
          }),
        );
      }),
      { name: 'tamiyo' },
    ),
    kasmina: system.spawn(
      null,
      statelessLogic<v1.AdaptationCommand | v1.SeedStepReport | v1.SeedCheckpointRequest | v1.SeedRestore>(
        'kasmina',
        (command, ctx) => {
          if (command instanceof leyline.SeedCheckpointRequest) ctx.reply(leyline.SeedCheckpoint.create());
          if (!(command instanceof leyline.AdaptationCommand)) return;
          forwarded.push(command);
          const seed = leyline.SeedState.create({
            seedId: 'seed-1',
            stage: SeedLifecycleStage.SEED_STAGE_TRAINING,
            ageEpochs: 1,
          });
          ctx.reply(
            leyline.AdaptationReceipt.create({ commandId: command.commandId, applied: true, seedStates: [seed] }),
          );
        },
      ),
      { name: 'kasmina' },
    ),
  }));
  await h.finished;
  t.deepEqual(
    forwarded.seen.map((c) => c.commandId),
    ['cmd-0', 'cmd-1'],
    'each decision is forwarded to Kasmina',
  );
  t.is(asked.seen[0]!.trainingMetrics.learning_rate, 0.01);
  t.true(
    Math.abs(asked.seen[1]!.trainingMetrics.learning_rate! - 0.002) < 1e-9,
    'the next epoch ran at the commanded rate',
  );
  t.deepEqual(asked.seen[0]!.seedStates, []);
  t.deepEqual(
    asked.seen[1]!.seedStates.map((s) => s.seedId),
    ['seed-1'],
  );
  t.deepEqual(h.epochs.seen[1]!.seedsByStage, { training: 1 });
  await h.system.shutdown();
});

test.serial(
  'a run that keeps blowing up is rolled back, its epochs fail, and it halts at L4 with a CRITICAL packet',
  async (t) => {
    const h = start({
      epochs: 10,
      optimizer: { kind: 'sgd', learningRate: 1e4 },
      rollback: { maxPerEpoch: 3 },
      emergency: { haltAfterFailedEpochs: 3 },
    });
    const result = await h.finished;
    await h.system.whenTerminated(h.trainer);
    t.is(result.status, 'halted');
    t.is(result.epochs, 3, 'three failed epochs, then the halt');
    t.deepEqual(
      h.epochs.seen.map((e) => e.failedReason),
      ['epoch_abandoned', 'epoch_abandoned', 'epoch_abandoned'],
    );
    const rollbacks = h.packets.seen.filter((p) => hasEvent(p, 'tolaria.rollback'));
    t.is(rollbacks.length, 9, 'three rollbacks per epoch');
    const halt = await h.packets.waitFor(
      (p) => p.level === TelemetryLevel.TELEMETRY_LEVEL_CRITICAL && hasEvent(p, 'emergency_broadcast'),
    );
    t.is(metricOf(halt, 'tolaria.emergency.level'), EmergencyLevel.EMERGENCY_LEVEL_HALT);
    t.is(halt.packetId, 'run-t-emergency-2-EMERGENCY_LEVEL_HALT');
    await h.packets.waitFor((p) => hasEvent(p, 'tolaria.run.halted'));
    t.deepEqual(
      (await import('node:fs')).readdirSync(join(h.runDir, 'checkpoints')).filter((f) => f.endsWith('.ckpt')).length,
      3,
      'each failed epoch still closed with a checkpoint of the restored (good) weights',
    );
    await h.system.shutdown();
  },
);

test.serial('a ROLLBACK command restores the latest snapshot before now and is answered', async (t) => {
  const h = start({ epochs: 50, rollback: { snapshotEverySteps: 2 } });
  await h.epochs.waitFor((e) => e.epoch === 0);
  const receipt = await h.system.ask(
    h.trainer,
    leyline.AdaptationCommand.create({ version: 1, commandId: 'rb-1', commandType: CommandType.COMMAND_ROLLBACK }),
    leyline.AdaptationReceipt,
    5_000,
  );
  t.is(receipt.commandId, 'rb-1');
  t.true(receipt.applied);
  const packet = await h.packets.waitFor((p) => p.packetId.endsWith('rollback-rb-1'));
  t.is(packet.events[0]?.attributes?.trigger, 'command');
  t.is(packet.events[0]?.attributes?.tier, 'fast');
  await h.system.stop(h.trainer);
  await h.system.shutdown();
});

test.serial('control every K steps: Tamiyo is asked at each K-step boundary, with the real step count', async (t) => {
  const asked = new EventLog<v1.SystemStatePacket>();
  const h = start({ epochs: 1, control: { everySteps: 10, hookBudgetMs: 10_000 } }, (system) => ({
    tamiyo: system.spawn(
      null,
      statelessLogic<v1.SystemStatePacket>('tamiyo', (packet, ctx) => {
        asked.push(packet);
        ctx.reply(
          leyline.AdaptationCommand.create({
            version: 1,
            commandId: `c-${packet.globalStep}`,
            commandType: CommandType.COMMAND_UNKNOWN,
          }),
        );
      }),
      { name: 'tamiyo' },
    ),
  }));
  const result = await h.finished;
  const steps = result.globalStep;
  const midEpoch = asked.seen.slice(0, -1).map((p) => Number(p.globalStep));
  t.deepEqual(
    midEpoch,
    Array.from({ length: Math.floor((steps - 1) / 10) }, (_, i) => (i + 1) * 10),
    'one ask per 10 steps',
  );
  t.true(
    asked.seen.slice(0, -1).every((p) => p.validationAccuracy === 0),
    'no validation pass inside an epoch',
  );
  t.true(asked.seen.at(-1)!.validationAccuracy > 0, 'the epoch boundary carries the validation pass');
  await h.system.shutdown();
});
