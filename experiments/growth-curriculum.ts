// The default curriculum of `esper learn` (`npm run bench -- learn` trains on it): small hosts that are too narrow
// for their task, where the right seed early pays and the wrong one costs. Episodes are real runs of a few seconds:
// the spirals task (16 features, 4 classes) with different data (rngSeed, noise) and hosts (one or two slots), and an
// MNIST subset where growth buys little. Ten blueprints of different families and costs are on offer — residual,
// concatenation, scaling, gating, grouped, channel and squeeze-excitation attention, gated feed-forward, dense
// connections, multi-head attention — some worth their weights, some not. The held-out tasks (new data, new hosts)
// are never trained on: the benchmark judges the learned policy there.
import { defineCurriculum } from '../actors/weatherlight/index.ts';

const spirals = (rngSeed: number, noise: number) => ({
  kind: 'spirals' as const,
  train: 2000,
  test: 1000,
  rngSeed,
  noise,
});
const adam = (learningRate: number) => ({
  optimizer: { kind: 'adam' as const, learningRate },
  batchSize: 64,
  validationFraction: 0.25,
});
const mlp = (inputs: number, hidden: number[], classes: number) => ({ kind: 'mlp' as const, inputs, hidden, classes });

export default defineCurriculum({
  name: 'growth-curriculum',
  rngSeed: 1,
  blueprints: ['BP009', 'BP010', 'BP012', 'BP013', 'BP014', 'BP016', 'BP021', 'BP022'],
  seeds: {
    maxRisk: 0.6,
    // The heuristic's trigger: the validation loss improved by less than 5 % over the last epoch.
    plateau: { epochs: 1, tolerance: 0.05 },
    // A seed's trial fits in half an episode: 10 isolated steps, a 60-step blend, 20 + 20 steps of checks.
    timings: {
      trainingSteps: 10,
      blending: { kind: 'linear', totalSteps: 60 },
      shadowingSteps: 20,
      probationSteps: 20,
    },
  },
  tasks: [
    { name: 'spirals-narrow', dataset: spirals(1, 0.05), host: mlp(16, [8], 4), training: adam(0.01), epochs: 10 },
    { name: 'spirals-thin-noisy', dataset: spirals(2, 0.08), host: mlp(16, [6], 4), training: adam(0.01), epochs: 10 },
    {
      name: 'spirals-two-slots',
      dataset: spirals(4, 0.04),
      host: mlp(16, [8, 6], 4),
      training: adam(0.01),
      epochs: 10,
    },
    { name: 'spirals-slow', dataset: spirals(5, 0.06), host: mlp(16, [10], 4), training: adam(0.005), epochs: 10 },
    {
      name: 'mnist-small',
      dataset: { kind: 'mnist' },
      limit: { train: 4000, test: 1000 },
      host: mlp(784, [16], 10),
      training: adam(0.001),
      epochs: 6,
    },
  ],
  heldOut: [
    { name: 'spirals-new-data', dataset: spirals(7, 0.06), host: mlp(16, [8], 4), training: adam(0.01), epochs: 10 },
    {
      name: 'spirals-new-host',
      dataset: spirals(9, 0.05),
      host: mlp(16, [8, 12], 4),
      training: adam(0.01),
      epochs: 10,
    },
    {
      name: 'mnist-wider',
      dataset: { kind: 'mnist' },
      limit: { train: 5000, test: 1000 },
      host: mlp(784, [24], 10),
      training: adam(0.001),
      epochs: 6,
    },
  ],
  reward: { rent: 0.02, cullCost: 0.02 },
  learning: {
    rounds: 40,
    episodesPerEnv: 5,
    baselineEpisodes: 10,
    ppo: { learningRate: 2e-3, epochs: 6, minibatch: 32 },
  },
});
