// A small curriculum for tests and a first look at `esper learn`: the synthetic spirals task on small hosts, a few
// epochs per episode (seconds each). `npx esper learn experiments/quick-curriculum.ts --rounds 2 --envs 2`.
import { defineCurriculum } from '../actors/weatherlight/index.ts';

const spirals = (rngSeed: number, noise: number) => ({
  kind: 'spirals' as const,
  train: 1200,
  test: 600,
  rngSeed,
  noise,
});

export default defineCurriculum({
  name: 'quick-curriculum',
  rngSeed: 1,
  blueprints: ['BP002', 'BP003', 'BP005', 'BP009', 'BP012', 'BP014', 'BP016', 'BP021'],
  seeds: {
    maxRisk: 0.6,
    plateau: { epochs: 1, tolerance: 0.05 },
    timings: {
      trainingSteps: 10,
      blending: { kind: 'linear', totalSteps: 40 },
      shadowingSteps: 20,
      probationSteps: 20,
    },
  },
  tasks: [
    {
      name: 'spirals-a',
      dataset: spirals(1, 0.05),
      host: { kind: 'mlp', inputs: 16, hidden: [8], classes: 4 },
      training: { optimizer: { kind: 'adam', learningRate: 0.01 } },
      epochs: 5,
    },
    {
      name: 'spirals-b',
      dataset: spirals(2, 0.08),
      host: { kind: 'mlp', inputs: 16, hidden: [12], classes: 4 },
      training: { optimizer: { kind: 'adam', learningRate: 0.01 } },
      epochs: 5,
    },
  ],
  heldOut: [
    {
      name: 'spirals-held',
      dataset: spirals(3, 0.06),
      host: { kind: 'mlp', inputs: 16, hidden: [10], classes: 4 },
      training: { optimizer: { kind: 'adam', learningRate: 0.01 } },
      epochs: 5,
    },
  ],
  learning: {
    rounds: 2,
    episodesPerEnv: 1,
    baselineEpisodes: 2,
    ppo: { learningRate: 5e-3, epochs: 8, minibatch: 16 },
  },
});
