// The SystemStatePacket Tolaria sends at each control boundary, filled honestly: real validation metrics (unset without a validation pass), the sample-weighted training
// loss, the real optimizer step count, and the backend and device actually used.
import { freemem, totalmem } from 'node:os';
import { leyline, type v1 } from '../../../contracts/index.ts';
import { epochNanoseconds } from '../../../contracts/time.ts';
import type { SlotActivationStats } from '../host/host-model.ts';
import type { EpochStats, EvaluationStats } from './epoch.ts';

export interface EpochStateInput {
  runId: string;
  experimentName: string;
  epoch: number;
  globalStep: number;
  train: EpochStats;
  validation?: EvaluationStats;
  learningRate: number;
  seedStates: readonly v1.SeedState[];
  /** The TensorFlow.js backend in use ("wasm", "cpu", "tensorflow", …). */
  backend: string;
  slotStats?: ReadonlyMap<string, SlotActivationStats>;
  /** Extra metrics (hook latency, Tamiyo latency …). */
  extraMetrics?: Readonly<Record<string, number>>;
  /** Every finished epoch's validation loss, oldest first (decisions read the trend; a checkpoint keeps it). */
  validationLossHistory?: readonly number[];
  /** Epoch milliseconds; default now. */
  now?: number;
}

const GB = 1024 ** 3;

/** The device actually used: the backend's name; memory of this host (the WASM heap lives in it). */
export function hardwareContext(backend: string): v1.HardwareContext {
  return leyline.HardwareContext.create({
    deviceType: backend,
    deviceId: '0',
    totalMemoryGb: totalmem() / GB,
    availableMemoryGb: freemem() / GB,
  });
}

export function epochSystemState(input: EpochStateInput): v1.SystemStatePacket {
  const now = input.now ?? Date.now();
  const metrics: Record<string, number> = {
    loss: input.train.loss,
    accuracy: input.train.accuracy,
    gradient_norm: input.train.gradNorm,
    learning_rate: input.learningRate,
    samples: input.train.samples,
  };
  if (input.train.seconds > 0) {
    metrics.latency_ms = input.train.seconds * 1000;
    metrics.samples_per_s = input.train.samplesPerSecond;
  }
  for (const [slot, stats] of input.slotStats ?? []) {
    metrics[`slot.${slot}.mean`] = stats.mean;
    metrics[`slot.${slot}.std`] = stats.std;
    metrics[`slot.${slot}.abs_max`] = stats.absMax;
  }
  Object.assign(metrics, input.extraMetrics);
  return leyline.SystemStatePacket.create({
    version: 1,
    currentEpoch: input.epoch,
    ...(input.validation
      ? { validationAccuracy: input.validation.accuracy, validationLoss: input.validation.loss }
      : {}),
    timestampNs: epochNanoseconds(now),
    hardwareContext: hardwareContext(input.backend),
    trainingMetrics: metrics,
    seedStates: [...input.seedStates],
    packetId: `${input.runId}-epoch-${input.epoch}`,
    globalStep: BigInt(input.globalStep),
    trainingLoss: input.train.loss,
    sourceSubsystem: 'tolaria',
    trainingRunId: input.runId,
    experimentName: input.experimentName,
    validationLossHistory: [...(input.validationLossHistory ?? [])],
  });
}
