// Where each tensor lives in a replica's shared buffers. The training thread writes every weight into one shared
// Float32Array before a step; each replica writes its shard's gradients into its own. A layout is planned whenever
// the set of variables changes (a seed grafted or removed, an optimizer group made or merged), and sent to the
// replicas with the modules they do not hold yet.

export interface LayoutEntry {
  /** `host/<name>` or `module:<id>/<name>` (a seed's module, by the id the replica set gave it). */
  readonly key: string;
  readonly shape: readonly number[];
  /** In floats, from the start of its buffer. */
  readonly offset: number;
  readonly size: number;
}

export interface ReplicaLayout {
  /** Increases with every new layout; a step names the one it was written under. */
  readonly version: number;
  /** Every variable the forward pass reads (trainable or not), in the training thread's order. */
  readonly weights: readonly LayoutEntry[];
  /** The variables a step differentiates, in the optimizer's order. */
  readonly grads: readonly LayoutEntry[];
  readonly weightFloats: number;
  readonly gradFloats: number;
  /** What the layout was planned from: equal signatures, equal layouts. */
  readonly signature: string;
}

export interface PlannedVariable {
  readonly key: string;
  readonly shape: readonly number[];
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1);

function place(variables: readonly PlannedVariable[]): { entries: LayoutEntry[]; floats: number } {
  let offset = 0;
  const entries = variables.map(({ key, shape }) => {
    const size = sizeOf(shape);
    const entry = { key, shape: [...shape], offset, size };
    offset += size;
    return entry;
  });
  return { entries, floats: offset };
}

export const layoutSignature = (weights: readonly PlannedVariable[], gradKeys: readonly string[]): string =>
  `${weights.map((v) => `${v.key}[${v.shape.join(',')}]`).join(';')}|${gradKeys.join(';')}`;

/** Lays out `weights` and the gradients of `gradKeys` (each must be one of the weights). */
export function planLayout(
  version: number,
  weights: readonly PlannedVariable[],
  gradKeys: readonly string[],
): ReplicaLayout {
  const byKey = new Map(weights.map((v) => [v.key, v]));
  const trained = gradKeys.map((key) => {
    const variable = byKey.get(key);
    if (!variable) throw new RangeError(`gradient of ${key} asked for, but ${key} is not among the weights`);
    return variable;
  });
  const placedWeights = place(weights);
  const placedGrads = place(trained);
  return {
    version,
    weights: placedWeights.entries,
    grads: placedGrads.entries,
    weightFloats: placedWeights.floats,
    gradFloats: placedGrads.floats,
    signature: layoutSignature(weights, gradKeys),
  };
}
