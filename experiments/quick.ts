// A synthetic quick experiment: the spirals task (16 features, 4 classes) trains 16 epochs in a few seconds, and
// Tamiyo germinates a residual block (BP009), blends it in and keeps it. Deadlines are generous so a loaded machine
// gives the same run: the same file and rngSeed give the same decisions and accuracy (test/experiments.test.ts).
// The heuristic decides here, by name: this file shows (and the tests walk) a seed's whole life, germinated at a
// plateau and kept; the learned default (policies/) grows this small host otherwise.
import { defineExperiment } from '../actors/weatherlight/index.ts';

export default defineExperiment({
  name: 'quick',
  rngSeed: 3,
  dataset: { kind: 'spirals' },
  host: { kind: 'mlp', inputs: 16, hidden: [32, 32], classes: 4 },
  training: { optimizer: { kind: 'adam', learningRate: 0.01 } },
  budgets: { epochs: 16, hookMs: 10_000, decisionMs: 2_000, kernelFetchMs: 1_000 },
  seeds: { blueprints: ['BP009'] },
  tamiyo: { policy: 'heuristic' },
  nissaPort: 0,
});
