// Optimizers with parameter groups: the host is one group, each seed another. Every group has its own TF.js
// optimizer, so adding or removing a seed's parameters never disturbs the momentum or Adam moments of the others
// (the prototype rebuilt one optimizer over all parameters and tried to copy state across). A storm guard refuses
// group changes more often than every `minRebuildIntervalSteps`.
//
// Every variable joins under a stable name (`host/dense.0/w`, `seed/<id>/…`): captured optimizer state is keyed by
// it, and restored by it, never by position — a checkpoint taken after a seed joined the host's group restores into
// a process where the groups are built again in another order.
import { tf } from '../../../tensor/index.ts';
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

/**
 * TF.js's Adam keeps β₁ᵗ and β₂ᵗ as running products it does not hand out with getWeights(); setWeights() sets them
 * to pow(β, t), which differs from the product in the last bits. Kept and put back as they were, a restored run
 * steps exactly as the original.
 */
type AdamPowers = { accBeta1: tf.Variable; accBeta2: tf.Variable };
const adamPowers = (optimizer: tf.Optimizer): AdamPowers | null => {
  const powers = optimizer as unknown as Partial<AdamPowers>;
  return powers.accBeta1 && powers.accBeta2 ? (powers as AdamPowers) : null;
};
function copyAdamPowers(from: tf.Optimizer, to: tf.Optimizer): void {
  const [source, target] = [adamPowers(from), adamPowers(to)];
  if (source && target)
    tf.tidy(() => {
      target.accBeta1.assign(source.accBeta1);
      target.accBeta2.assign(source.accBeta2);
    });
}

/** The per-variable state each TF.js optimizer keeps, by the name suffix it gives it. */
const ACCUMULATOR_SUFFIXES: Readonly<Record<OptimizerConfig['kind'], readonly string[]>> = {
  sgd: [],
  momentum: ['momentum'],
  adam: ['m', 'v'],
};

export class GroupedOptimizer {
  readonly #groups = new Map<string, Group>();
  /** Each variable's stable name. */
  readonly #names = new Map<tf.Variable, string>();
  #learningRate: number;
  #lastRebuildStep = Number.NEGATIVE_INFINITY;
  readonly counters = { rebuilds: 0, rebuildsSkipped: 0 };

  constructor(readonly config: OptimizerConfig) {
    if (!(config.learningRate > 0))
      throw new RangeError(`optimizer learningRate must be > 0, got ${config.learningRate}`);
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
  setGroup(
    id: string,
    named: NamedVariables,
    options: { step: number; lrScale?: number; force?: boolean },
  ): GroupChange {
    const guard = this.config.minRebuildIntervalSteps ?? 0;
    if (!options.force && guard > 0 && options.step - this.#lastRebuildStep < guard) {
      this.counters.rebuildsSkipped += 1;
      return { applied: false, reason: 'storm_guard' };
    }
    const previous = this.#groups.get(id);
    if (previous) disposeOptimizer(previous.optimizer);
    const lrScale = options.lrScale ?? 1;
    for (const [name, variable] of named) this.#names.set(variable, name);
    this.#groups.set(id, {
      variables: [...named.values()].filter((v) => v.trainable),
      optimizer: this.#create(this.#learningRate * lrScale),
      lrScale,
    });
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
    if (!source || !target)
      throw new RangeError(
        `cannot merge group ${sourceId} into ${targetId}: ${!source ? sourceId : targetId} does not exist`,
      );
    const [held, joining] = [await this.#accumulators(target), await this.#accumulators(source)];
    const variables = [...target.variables, ...source.variables];
    const fresh: tf.Tensor[] = [held.iter, joining.iter].filter((t): t is tf.Tensor => t !== undefined);
    const weights: Array<{ name: string; tensor: tf.Tensor }> = [{ name: 'iter', tensor: held.iter ?? tf.scalar(0) }];
    if (!held.iter) fresh.push(weights[0]!.tensor);
    for (const suffix of ACCUMULATOR_SUFFIXES[this.config.kind]) {
      for (const variable of accumulatorOrder(variables)) {
        const key = `${this.#stableName(variable)}/${suffix}`;
        let tensor = held.slots.get(key) ?? joining.slots.get(key);
        if (!tensor) {
          tensor = tf.zerosLike(variable);
          fresh.push(tensor);
        }
        weights.push({ name: key, tensor });
      }
    }
    const optimizer = this.#create(this.#learningRate * target.lrScale);
    await optimizer.setWeights(weights);
    copyAdamPowers(target.optimizer, optimizer);
    // The new optimizer holds its own references (setWeights makes variables of the tensors); free the old ones.
    disposeOptimizer(target.optimizer);
    disposeOptimizer(source.optimizer);
    tf.dispose(fresh);
    this.#groups.set(targetId, { variables, optimizer, lrScale: target.lrScale });
    this.#groups.delete(sourceId);
  }

  /**
   * A group's step counter (a fresh tensor: the caller disposes it) and its accumulators by
   * `<stable name>/<suffix>` (the optimizer's own variables), paired with the variables by position as TF.js pairs
   * them — the names TF.js keeps on them are whatever they were loaded under. Empty before the group's first step.
   */
  async #accumulators(group: Group): Promise<{ iter: tf.Tensor | undefined; slots: Map<string, tf.Tensor> }> {
    const [iter, ...accumulators] = await group.optimizer.getWeights();
    const slots = new Map<string, tf.Tensor>();
    const order = accumulatorOrder(group.variables);
    const suffixes = ACCUMULATOR_SUFFIXES[this.config.kind];
    if (accumulators.length === order.length * suffixes.length) {
      for (const [k, suffix] of suffixes.entries()) {
        for (const [i, variable] of order.entries())
          slots.set(`${this.#stableName(variable)}/${suffix}`, accumulators[k * order.length + i]!.tensor);
      }
    }
    return { iter: iter?.tensor, slots };
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
    for (const [id, group] of this.#groups) {
      const { iter, slots: accumulators } = await this.#accumulators(group);
      if (iter) {
        slots[`${id}/iter`] = { shape: [...iter.shape], data: new Float32Array(await iter.data()) };
        iter.dispose();
      }
      const powers = adamPowers(group.optimizer);
      if (powers) {
        slots[`${id}/accBeta1`] = { shape: [], data: new Float32Array(await powers.accBeta1.data()) };
        slots[`${id}/accBeta2`] = { shape: [], data: new Float32Array(await powers.accBeta2.data()) };
      }
      for (const [key, tensor] of accumulators)
        slots[key] = { shape: [...tensor.shape], data: new Float32Array(await tensor.data()) };
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
    if (state.kind !== this.config.kind)
      throw new RangeError(`optimizer state of kind "${state.kind}" cannot be restored into "${this.config.kind}"`);
    const learningRate = state.hyper.learningRate;
    if (learningRate !== undefined && learningRate > 0) this.#learningRate = learningRate;
    const suffixes = ACCUMULATOR_SUFFIXES[this.config.kind];
    for (const [id, group] of this.#groups) {
      disposeOptimizer(group.optimizer);
      group.optimizer = this.#create(this.#learningRate * group.lrScale);
      const order = accumulatorOrder(group.variables);
      const known = order.some((variable) =>
        suffixes.some((suffix) => state.slots[`${this.#stableName(variable)}/${suffix}`]),
      );
      const iter = state.slots[`${id}/iter`];
      if (!known && !iter) continue;
      const tensors: Array<{ name: string; tensor: tf.Tensor }> = [
        { name: 'iter', tensor: iter ? tf.tensor(iter.data, iter.shape, 'float32') : tf.scalar(0) },
      ];
      for (const suffix of suffixes) {
        for (const variable of order) {
          const key = `${this.#stableName(variable)}/${suffix}`;
          const record = state.slots[key];
          if (
            record &&
            (record.shape.length !== variable.shape.length || record.shape.some((d, i) => d !== variable.shape[i]))
          ) {
            tf.dispose(tensors.map((entry) => entry.tensor));
            throw new RangeError(
              `optimizer state ${key} has shape [${record.shape.join(', ')}], its variable [${variable.shape.join(', ')}]`,
            );
          }
          tensors.push({
            name: key,
            tensor: record ? tf.tensor(record.data, record.shape, 'float32') : tf.zerosLike(variable),
          });
        }
      }
      await group.optimizer.setWeights(tensors);
      tf.dispose(tensors.map((entry) => entry.tensor));
      const powers = adamPowers(group.optimizer);
      const beta1 = state.slots[`${id}/accBeta1`];
      const beta2 = state.slots[`${id}/accBeta2`];
      if (powers && beta1 && beta2) {
        tf.tidy(() => {
          powers.accBeta1.assign(tf.scalar(beta1.data[0]!));
          powers.accBeta2.assign(tf.scalar(beta2.data[0]!));
        });
      }
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
