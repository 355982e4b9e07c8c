// The default experiment (`npx esper run`): MNIST on a deliberately under-sized MLP (784-16-10, 12.7 k weights).
// When the validation loss stalls, Tamiyo germinates a gated feed-forward seed (BP021) in the 16-wide slot; it trains
// in isolation, blends in over 300 steps, and is kept if the host is better with it. `npm run bench -- growth`
// compares this run with the host alone and with a static host of the grown size.
import { defineExperiment } from '../actors/weatherlight/index.ts';

export default defineExperiment({
  name: 'mnist-mlp',
  rngSeed: 1,
  dataset: { kind: 'mnist' },
  host: { kind: 'mlp', inputs: 784, hidden: [16], classes: 10 },
  training: { optimizer: { kind: 'adam', learningRate: 1e-3 }, batchSize: 64 },
  // Generous deadlines: a loaded machine must not change the run (a slow kernel fetch would graft the fallback).
  budgets: { epochs: 10, hookMs: 10_000, decisionMs: 2_000, kernelFetchMs: 1_000 },
  seeds: {
    blueprints: ['BP021'],
    plateau: { epochs: 1, tolerance: 0.05 },
    maxRisk: 0.6,
    // A short isolated phase and a long blend: the seed learns with the host's feedback while it is blended in.
    timings: {
      trainingSteps: 20,
      blending: { kind: 'linear', totalSteps: 300 },
      shadowingSteps: 100,
      probationSteps: 100,
    },
  },
});
