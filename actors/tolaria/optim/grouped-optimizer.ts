// Optimizers with parameter groups: the host is one group, each seed another. Every group has its own TF.js
// optimizer, so adding or removing a seed's parameters never disturbs the momentum or Adam moments of the others
// (the prototype rebuilt one optimizer over all parameters and tried to copy state across). A storm guard refuses
// group changes more often than every `minRebuildIntervalSteps`.
//
// Every variable joins under a stable name (`host/dense.0/w`, `seed/<id>/…`): captured optimizer state is keyed by
// it, and restored by it, never by position — a checkpoint taken after a seed joined the host's group restores into
// a process where the groups are built again in another order.
import { tf } from '../../../runtime/tensor-backend.ts';
import type { OptimizerState, TensorMap } from '../checkpoint/training-state.ts';

/** The host's own parameter group; every other group belongs to a seed. */
export const HOST_GROUP_ID = 'host';

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

/** Variables by stable name. */
export type NamedVariables = ReadonlyMap<string, tf.Variable>;

/**
 * The order in which TF.js pairs a group's accumulators with its variables: the key order of the gradient map its
 * apply() builds — JavaScript's, integer-like names (TF.js's own unnamed variables) first, ascending.
 */
function accumulatorOrder(variables: readonly tf.Variable[]): tf.Variable[] {
  const byName = new Map(variables.map((v) => [v.name, v]));
  return Object.keys(Object.fromEntries(variables.map((v) => [v.name, true]))).map((name) => byName.get(name)!);
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

/** TF.js's MomentumOptimizer.dispose() forgets the learning-rate scalar it inherits from SGD: free it here. */
function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  // (instanceof cannot tell: TF.js overrides it on Optimizer to match any optimizer.)
  if (optimizer.getClassName() === 'Momentum') (optimizer as unknown as { c: tf.Tensor }).c.dispose();
}

/** The per-variable state each TF.js optimizer keeps, by the name suffix it gives it. */
const ACCUMULATOR_SUFFIXES: Readonly<Record<OptimizerConfig['kind'], readonly string[]>> = { sgd: [], momentum: ['momentum'], adam: ['m', 'v'] };

export class GroupedOptimizer {
  readonly #groups = new Map<string, Group>();
  /** Each variable's stable name. */
  readonly #names = new Map<tf.Variable, string>();
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
  setGroup(id: string, named: NamedVariables, options: { step: number; lrScale?: number; force?: boolean }): GroupChange {
    const guard = this.config.minRebuildIntervalSteps ?? 0;
    if (!options.force && guard > 0 && options.step - this.#lastRebuildStep < guard) {
      this.counters.rebuildsSkipped += 1;
      return { applied: false, reason: 'storm_guard' };
    }
    const previous = this.#groups.get(id);
    if (previous) disposeOptimizer(previous.optimizer);
    const lrScale = options.lrScale ?? 1;
    for (const [name, variable] of named) this.#names.set(variable, name);
    this.#groups.set(id, { variables: [...named.values()].filter((v) => v.trainable), optimizer: this.#create(this.#learningRate * lrScale), lrScale });
    this.#lastRebuildStep = options.step;
    this.counters.rebuilds += 1;
    return { applied: true };
  }

  /**
   * Moves a group's variables into another group, keeping the optimizer state of both (a fossilized seed joins the
   * host's group): every variable keeps its accumulators (moments, velocities); the merged group counts steps as the
   * target did. The source group is gone afterwards.
   */
  async mergeGroup(sourceId: string, targetId: string): Promise<void> {
    const source = this.#groups.get(sourceId);
    const target = this.#groups.get(targetId);
    if (!source || !target) throw new RangeError(`cannot merge group ${sourceId} into ${targetId}: ${!source ? sourceId : targetId} does not exist`);
    const slots = new Map<string, tf.Tensor>();
    let iterations: tf.Tensor | undefined;
    const fresh: tf.Tensor[] = [];
    for (const group of [target, source]) {
      const [iter, ...rest] = await group.optimizer.getWeights();
      // getWeights() makes the step counter afresh; the accumulators are the optimizer's own variables.
      if (iter) fresh.push(iter.tensor);
      if (group === target) iterations = iter?.tensor;
      for (const { name, tensor } of rest) slots.set(name, tensor);
    }
    const variables = [...target.variables, ...source.variables];
    const keyed = accumulatorOrder(variables);
    const suffixes = ACCUMULATOR_SUFFIXES[this.config.kind];
    const weights: Array<{ name: string; tensor: tf.Tensor }> = [{ name: 'iter', tensor: iterations ?? tf.scalar(0) }];
    for (const suffix of suffixes) {
      for (const variable of keyed) {
        let tensor = slots.get(`${variable.name}/${suffix}`);
        if (!tensor) fresh.push((tensor = tf.zerosLike(variable)));
        weights.push({ name: `${variable.name}/${suffix}`, tensor });
      }
    }
    const optimizer = this.#create(this.#learningRate * target.lrScale);
    await optimizer.setWeights(weights);
    // The new optimizer holds its own references (setWeights makes variables of the tensors); free the old ones.
    disposeOptimizer(target.optimizer);
    disposeOptimizer(source.optimizer);
    tf.dispose(fresh);
    this.#groups.set(targetId, { variables, optimizer, lrScale: target.lrScale });
    this.#groups.delete(sourceId);
  }

  removeGroup(id: string): void {
    const group = this.#groups.get(id);
    if (group) disposeOptimizer(group.optimizer);
    for (const variable of group?.variables ?? []) this.#names.delete(variable);
    this.#groups.delete(id);
  }

  /** Sets the base learning rate of every group (each keeps its scale). */
  setLearningRate(learningRate: number): void {
    if (Math.abs(learningRate - this.#learningRate) <= 1e-12) return;
    this.#learningRate = learningRate;
    for (const group of this.#groups.values()) setRate(group.optimizer, learningRate * group.lrScale);
  }

  /** Each group's trainable variables, by group id. */
  groupVariables(): Map<string, readonly tf.Variable[]> {
    return new Map([...this.#groups].map(([id, group]) => [id, group.variables]));
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

  /**
   * The optimizer state of every group as plain data (checkpoints, snapshots): each accumulator keyed
   * `<variable's stable name>/<suffix>` (m, v, momentum), whatever group holds it now, plus `<group>/iter` (the group's
   * step counter, on which Adam's bias correction depends).
   */
  async captureState(): Promise<OptimizerState> {
    const slots: TensorMap = {};
    let step = 0;
    const suffixes = ACCUMULATOR_SUFFIXES[this.config.kind];
    for (const [id, group] of this.#groups) {
      const [iter, ...accumulators] = await group.optimizer.getWeights();
      // getWeights() makes a fresh tensor for the step counter; the accumulators are the optimizer's own.
      if (iter) {
        slots[`${id}/iter`] = { shape: [...iter.tensor.shape], data: new Float32Array(await iter.tensor.data()) };
        iter.tensor.dispose();
      }
      const order = accumulatorOrder(group.variables);
      // Before its first step a group has no accumulators yet: nothing to keep.
      if (accumulators.length === order.length * suffixes.length) {
        for (const [k, suffix] of suffixes.entries()) {
          for (const [i, variable] of order.entries()) {
            const tensor = accumulators[k * order.length + i]!.tensor;
            slots[`${this.#stableName(variable)}/${suffix}`] = { shape: [...tensor.shape], data: new Float32Array(await tensor.data()) };
          }
        }
      }
      step = Math.max(step, group.optimizer.iterations);
    }
    return { kind: this.config.kind, step, slots, hyper: { learningRate: this.#learningRate } };
  }

  /**
   * Restores state captured by `captureState()` into the groups that exist now, by the variables' stable names: each
   * variable takes its own accumulators wherever they were kept; one without any (a variable the state does not
   * know) starts from zeros, and a group none of whose variables is known starts afresh. Each group's optimizer is
   * rebuilt and loaded, so nothing of the old one lingers (TF.js `setWeights` would leave the replaced accumulators
   * allocated). A stored accumulator whose shape differs from its variable's is refused, naming it.
   */
  async restoreState(state: OptimizerState): Promise<void> {
    if (state.kind !== this.config.kind) throw new RangeError(`optimizer state of kind "${state.kind}" cannot be restored into "${this.config.kind}"`);
    const learningRate = state.hyper.learningRate;
    if (learningRate !== undefined && learningRate > 0) this.#learningRate = learningRate;
    const suffixes = ACCUMULATOR_SUFFIXES[this.config.kind];
    for (const [id, group] of this.#groups) {
      disposeOptimizer(group.optimizer);
      group.optimizer = this.#create(this.#learningRate * group.lrScale);
      const order = accumulatorOrder(group.variables);
      const known = order.some((variable) => suffixes.some((suffix) => state.slots[`${this.#stableName(variable)}/${suffix}`]));
      const iter = state.slots[`${id}/iter`];
      if (!known && !iter) continue;
      const tensors: Array<{ name: string; tensor: tf.Tensor }> = [{ name: 'iter', tensor: iter ? tf.tensor(iter.data, iter.shape, 'float32') : tf.scalar(0) }];
      for (const suffix of suffixes) {
        for (const variable of order) {
          const key = `${this.#stableName(variable)}/${suffix}`;
          const record = state.slots[key];
          if (record && (record.shape.length !== variable.shape.length || record.shape.some((d, i) => d !== variable.shape[i]))) {
            tf.dispose(tensors.map((entry) => entry.tensor));
            throw new RangeError(`optimizer state ${key} has shape [${record.shape.join(', ')}], its variable [${variable.shape.join(', ')}]`);
          }
          tensors.push({ name: key, tensor: record ? tf.tensor(record.data, record.shape, 'float32') : tf.zerosLike(variable) });
        }
      }
      await group.optimizer.setWeights(tensors);
      tf.dispose(tensors.map((entry) => entry.tensor));
    }
  }

  #stableName(variable: tf.Variable): string {
    return this.#names.get(variable) ?? variable.name;
  }

  dispose(): void {
    for (const group of this.#groups.values()) disposeOptimizer(group.optimizer);
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
