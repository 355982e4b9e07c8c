// MNIST on a small CNN (one 4-filter conv block, a 16-wide dense block): seeds may go into the conv slot
// (28×28×4) or the dense slot. A fifth of the training set keeps an epoch short on a CPU.
import { defineExperiment } from '../actors/weatherlight/index.ts';

export default defineExperiment({
  name: 'mnist-cnn',
  rngSeed: 1,
  dataset: { kind: 'mnist' },
  limit: { train: 12_000, test: 2_000 },
  host: { kind: 'cnn', inputShape: [28, 28, 1], channels: [4], dense: [16], classes: 10 },
  training: { optimizer: { kind: 'adam', learningRate: 2e-3 }, batchSize: 64 },
  budgets: { epochs: 6, hookMs: 10_000, decisionMs: 2_000, kernelFetchMs: 1_000 },
  seeds: {
    blueprints: ['BP009', 'BP021'],
    plateau: { epochs: 1, tolerance: 0.05 },
    maxRisk: 0.6,
    timings: {
      trainingSteps: 20,
      blending: { kind: 'linear', totalSteps: 100 },
      shadowingSteps: 40,
      probationSteps: 40,
    },
  },
});
