// How the graph builder scales raw metrics: a fixed z-score per feature key, (x − mean) / std, with the prototype's
// priors as (mean, std). Fixed on purpose: a learned policy must see the same features for the same state, whatever
// ran before it (an adaptive normaliser made a decision depend on the history of the folder it ran in), and a
// policy file then carries everything its inputs depend on. Keys without a prior pass through unscaled.

/** (mean, std) per key: the prototype's priors, plus this project's slot activation statistics (ReLU hosts). */
const PRIORS: Readonly<Record<string, readonly [number, number]>> = {
  validation_loss: [0.8, 0.3],
  training_loss: [0.8, 0.3],
  gradient_norm: [1.0, 0.5],
  seed_learning_rate: [0.01, 0.005],
  parameter_min: [0.0, 0.5],
  parameter_max: [1.0, 0.5],
  parameter_span: [0.5, 0.4],
  parameter_default: [0.5, 0.4],
  activation_mean: [0.5, 0.5],
  activation_std: [0.8, 0.6],
  activation_abs_max: [4, 3],
};

/** `value` standardised by its key's prior; an absent or non-finite value reads 0. */
export function scaleFeature(key: string, value: number | null | undefined): number {
  if (value === undefined || value === null || !Number.isFinite(value)) return 0;
  const prior = PRIORS[key];
  return prior ? (value - prior[0]) / prior[1] : value;
}
