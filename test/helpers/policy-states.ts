// Synthetic SystemStatePackets for policy tests: a host with four 64-wide slots, activation statistics drawn from a
// seeded stream, a validation loss that has stalled (so the heuristic germinates), a learning rate in range.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { SlotInfo } from '../../policy/index.ts';
import { mulberry32 } from '../../runtime/seeded-random.ts';

export const STATE_SLOTS: readonly SlotInfo[] = [0, 1, 2, 3].map((i) => ({ id: `mlp.${i}`, dims: [64] }));

export class PolicyStates {
  readonly #random: () => number;
  #step = 0;

  constructor(rngSeed: number) {
    this.#random = mulberry32(rngSeed);
  }

  next(overrides: Partial<v1.SystemStatePacket> = {}): v1.SystemStatePacket {
    const between = (lo: number, hi: number): number => lo + (hi - lo) * this.#random();
    const metrics: Record<string, number> = {
      learning_rate: 1e-3,
      initial_learning_rate: 1e-3,
      epochs_total: 10,
      host_parameters: 20_000,
    };
    for (const slot of STATE_SLOTS) {
      const absMax = between(3, 12);
      metrics[`slot.${slot.id}.mean`] = between(0.3, 2.5);
      metrics[`slot.${slot.id}.std`] = between(0.1, 0.5) * absMax;
      metrics[`slot.${slot.id}.abs_max`] = absMax;
    }
    this.#step += 1;
    return leyline.SystemStatePacket.create({
      version: 1,
      packetId: `state-${this.#step}`,
      trainingRunId: `run-${this.#step}`,
      currentEpoch: 5,
      globalStep: 1000n,
      validationLoss: between(0.3, 0.5),
      validationAccuracy: between(0.8, 0.9),
      trainingLoss: 0.42,
      trainingMetrics: metrics,
      ...overrides,
    });
  }
}
