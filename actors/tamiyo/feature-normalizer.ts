// The graph builder's feature normaliser (reference 03 §4.2): an EWMA z-score per feature key, starting from the
// reference's priors. `normalize` updates first, then standardises. Plain data in and out (`snapshot` / `restore`),
// so the policy actor persists it at its own checkpoints rather than on every inference (the prototype rewrote a JSON
// file per decision).

export interface MomentStats {
  mean: number;
  variance: number;
}

export type NormalizerSnapshot = Record<string, MomentStats>;

const ALPHA = 0.1;
const MIN_VARIANCE = 1e-6;

/** Priors as (mean, std), reference 03 §4.2. */
const PRIORS: ReadonlyArray<[string, number, number]> = [
  ['loss', 0.8, 0.3],
  ['validation_loss', 0.8, 0.3],
  ['training_loss', 0.8, 0.3],
  ['gradient_norm', 1.0, 0.5],
  ['samples_per_s', 4500, 500],
  ['hook_latency_ms', 12, 6],
  ['seed_learning_rate', 0.01, 0.005],
  ['seed_risk', 0.4, 0.2],
  ['seed_age', 10, 4],
  ['epoch_progress', 0.5, 0.25],
  ['layer_latency_ms', 6, 2],
  ['layer_parameter_count', 1024, 512],
  ['layer_weight_norm', 1.0, 0.4],
  ['layer_gradient_norm', 0.8, 0.4],
  ['activation_saturation', 0.5, 0.2],
  ['activation_gradient_flow', 0.8, 0.2],
  ['activation_cost', 128, 64],
  ['activation_nonlinearity', 0.5, 0.2],
  ['parameter_min', 0.0, 0.5],
  ['parameter_max', 1.0, 0.5],
  ['parameter_span', 0.5, 0.4],
  ['parameter_default', 0.5, 0.4],
  // This project's slot activation statistics (ReLU hosts): without priors a new key's first value standardises to 0.
  ['activation_mean', 0.5, 0.5],
  ['activation_std', 0.8, 0.6],
  ['activation_abs_max', 4, 3],
];

export class FeatureNormalizer {
  readonly #stats = new Map<string, MomentStats>();
  /** Updates since the last snapshot (the owner decides when persisting is worth it). */
  changes = 0;

  constructor(saved: NormalizerSnapshot = {}) {
    for (const [key, mean, std] of PRIORS) this.#stats.set(key, { mean, variance: std * std });
    this.restore(saved);
  }

  /** Updates the key's statistics with `x`, then returns x standardised by them. A new key starts at (x, 1). */
  normalize(key: string, x: number): number {
    const stats = this.#stats.get(key) ?? { mean: x, variance: 1 };
    const d = x - stats.mean;
    stats.mean += ALPHA * d;
    stats.variance = Math.max((1 - ALPHA) * (stats.variance + ALPHA * d * d), MIN_VARIANCE);
    this.#stats.set(key, stats);
    this.changes += 1;
    const std = Math.sqrt(stats.variance);
    return std <= 1e-6 ? x - stats.mean : (x - stats.mean) / std;
  }

  stats(key: string): MomentStats | undefined {
    const stats = this.#stats.get(key);
    return stats && { ...stats };
  }

  snapshot(): NormalizerSnapshot {
    this.changes = 0;
    return Object.fromEntries([...this.#stats].map(([key, stats]) => [key, { ...stats }]));
  }

  /** Loads saved statistics over the current ones; entries that are not finite numbers are skipped. */
  restore(saved: NormalizerSnapshot): void {
    for (const [key, stats] of Object.entries(saved)) {
      if (!Number.isFinite(stats?.mean) || !Number.isFinite(stats?.variance)) continue;
      this.#stats.set(key, { mean: stats.mean, variance: Math.max(stats.variance, MIN_VARIANCE) });
    }
  }
}
