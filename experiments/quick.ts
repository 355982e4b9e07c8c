// A synthetic quick experiment: the spirals task (16 features, 4 classes) trains 20 epochs in a few seconds, and
// Tamiyo germinates, blends and keeps seeds on the way. Deadlines are generous so a loaded machine gives the same
// run: the same file and seed give the same decisions and the same accuracy (test/experiments.test.ts).
import { defineExperiment } from '../actors/weatherlight/experiment.ts';

export default defineExperiment({
  name: 'quick',
  seed: 3,
  dataset: { kind: 'spirals' },
  host: { kind: 'mlp', inputs: 16, hidden: [32, 32], classes: 4 },
  training: { optimizer: { kind: 'adam', learningRate: 0.01 } },
  budgets: { epochs: 20, hookMs: 10_000, decisionMs: 2_000, kernelFetchMs: 1_000 },
  seeds: { blueprints: ['BP001', 'BP009'] },
  simic: false,
  nissaPort: 0,
});
