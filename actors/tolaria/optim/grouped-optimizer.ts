// Optimizers with parameter groups: the host is one group, each seed another. Every group has its own TF.js
// optimizer, so adding or removing a seed's parameters never disturbs the momentum or Adam moments of the others
// (the prototype rebuilt one optimizer over all parameters and tried to copy state across). A storm guard refuses
// group changes more often than every `minRebuildIntervalSteps`.
import { tf } from '../../../runtime/tensor-backend.ts';

export interface OptimizerConfig {
  kind: 'sgd' | 'momentum' | 'adam';
  learningRate: number;
  /** For "momentum". Default 0.9. */
  momentum?: number;
  /** For "adam". Defaults 0.9, 0.999, 1e-7. */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Group changes closer together than this many steps are refused (0: no guard). */
  minRebuildIntervalSteps?: number;
}

interface Group {
  variables: tf.Variable[];
  optimizer: tf.Optimizer;
  lrScale: number;
}

export interface GroupChange {
  applied: boolean;
  /** Why a change was refused ("storm_guard"). */
  reason?: string;
}

/**
 * TF.js optimizers keep their rate differently: SGD and momentum cache it as a tensor (their `setLearningRate`
 * renews it), Adam reads a plain field on every step.
 */
function setRate(optimizer: tf.Optimizer, learningRate: number): void {
  const settable = optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof settable.setLearningRate === 'function') settable.setLearningRate(learningRate);
  else settable.learningRate = learningRate;
}

export class GroupedOptimizer {
  readonly #groups = new Map<string, Group>();
  #learningRate: number;
  #lastRebuildStep = Number.NEGATIVE_INFINITY;
  readonly counters = { rebuilds: 0, rebuildsSkipped: 0 };

  constructor(readonly config: OptimizerConfig) {
    if (!(config.learningRate > 0)) throw new RangeError(`optimizer learningRate must be > 0, got ${config.learningRate}`);
    this.#learningRate = config.learningRate;
  }

  get learningRate(): number {
    return this.#learningRate;
  }

  groups(): string[] {
    return [...this.#groups.keys()];
  }

  /**
   * Adds a group, or replaces the variables of one (that group's optimizer state starts afresh; the others keep
   * theirs). `step` feeds the storm guard; the host group at start-up is exempt (`force`).
   */
  setGroup(id: string, variables: readonly tf.Variable[], options: { step: number; lrScale?: number; force?: boolean }): GroupChange {
    const guard = this.config.minRebuildIntervalSteps ?? 0;
    if (!options.force && guard > 0 && options.step - this.#lastRebuildStep < guard) {
      this.counters.rebuildsSkipped += 1;
      return { applied: false, reason: 'storm_guard' };
    }
    this.#groups.get(id)?.optimizer.dispose();
    const lrScale = options.lrScale ?? 1;
    this.#groups.set(id, { variables: variables.filter((v) => v.trainable), optimizer: this.#create(this.#learningRate * lrScale), lrScale });
    this.#lastRebuildStep = options.step;
    this.counters.rebuilds += 1;
    return { applied: true };
  }

  removeGroup(id: string): void {
    this.#groups.get(id)?.optimizer.dispose();
    this.#groups.delete(id);
  }

  /** Sets the base learning rate of every group (each keeps its scale). */
  setLearningRate(learningRate: number): void {
    if (Math.abs(learningRate - this.#learningRate) <= 1e-12) return;
    this.#learningRate = learningRate;
    for (const group of this.#groups.values()) setRate(group.optimizer, learningRate * group.lrScale);
  }

  /** Every trainable variable of every group. */
  variables(): tf.Variable[] {
    return [...this.#groups.values()].flatMap((group) => group.variables);
  }

  /** Applies gradients (by variable name) group by group; gradients of variables in no group are ignored. */
  apply(grads: tf.NamedTensorMap): void {
    for (const group of this.#groups.values()) {
      const mine: tf.NamedTensorMap = {};
      for (const variable of group.variables) {
        const grad = grads[variable.name];
        if (grad) mine[variable.name] = grad;
      }
      if (Object.keys(mine).length > 0) group.optimizer.applyGradients(mine);
    }
  }

  /** Optimizer state per group (for checkpoints): each weight as a name, shape and values. */
  async state(): Promise<Record<string, Array<{ name: string; shape: number[]; data: Float32Array }>>> {
    const out: Record<string, Array<{ name: string; shape: number[]; data: Float32Array }>> = {};
    for (const [id, group] of this.#groups) {
      const weights = await group.optimizer.getWeights();
      out[id] = await Promise.all(
        weights.map(async ({ name, tensor }) => ({ name, shape: [...tensor.shape], data: new Float32Array(await tensor.data()) })),
      );
    }
    return out;
  }

  /** Restores optimizer state saved by `state()` for the groups that exist now. */
  async restore(state: Record<string, ReadonlyArray<{ name: string; shape: readonly number[]; data: Float32Array }>>): Promise<void> {
    for (const [id, group] of this.#groups) {
      const saved = state[id];
      if (!saved) continue;
      await group.optimizer.setWeights(saved.map(({ name, shape, data }) => ({ name, tensor: tf.tensor(data, [...shape]) })));
    }
  }

  dispose(): void {
    for (const group of this.#groups.values()) group.optimizer.dispose();
    this.#groups.clear();
  }

  #create(learningRate: number): tf.Optimizer {
    const { config } = this;
    switch (config.kind) {
      case 'sgd':
        return tf.train.sgd(learningRate);
      case 'momentum':
        return tf.train.momentum(learningRate, config.momentum ?? 0.9);
      case 'adam':
        return tf.train.adam(learningRate, config.beta1 ?? 0.9, config.beta2 ?? 0.999, config.epsilon ?? 1e-7);
    }
  }
}
