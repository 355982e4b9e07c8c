// Gradient isolation, measured: on a sample batch, the host's parameter gradients with a seed grafted as it is,
// against the same gradients with the seed's output fully detached. The graft rules (the host's forward pass) let no
// gradient reach the host through a seed before FOSSILIZED, so the two must match; any difference is gradient that
// leaked through the seed — for example a seed module that shares a host parameter. The relative leak above
// `threshold` is a violation. The training run measures (it holds the host and the samples); a seed judges itself by
// the result (G1, and Kasmina's isolation breaker).
import { performance } from 'node:perf_hooks';
import { tf, stopGradient } from '../tensor/index.ts';
import { GraftTable, type Graft } from './graft-table.ts';

export const DEFAULT_ISOLATION_THRESHOLD = 1e-6;

/** What the measurement needs of the host: its parameters, and a forward pass through a given graft table. */
export interface GradientHost {
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** Input → logits, through `grafts`. */
  apply(input: tf.Tensor, options: { training?: boolean; grafts?: GraftTable }): tf.Tensor;
}

/** Samples and their one-hot labels (the host's loss is softmax cross-entropy on them). */
export interface LabelledBatch {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor;
}

export interface IsolationMeasurement {
  /** ‖g_host(as grafted) − g_host(seed detached)‖₂ over every host parameter. */
  leakNorm: number;
  /** ‖g_host(seed detached)‖₂, the scale the leak is judged against. */
  hostNorm: number;
  /** leakNorm / max(hostNorm, 1e-12). */
  ratio: number;
  violated: boolean;
  /** What the measurement cost (two gradient passes). */
  ms: number;
}

/** The same graft with its module's output cut off from every gradient. */
function detachedGraft(graft: Graft): Graft {
  const module = graft.module;
  return { ...graft, module: { ...module, apply: (input, options) => stopGradient(module.apply(input, options)) } };
}

/**
 * Measures one seed's isolation on `batch` (its tensors are left to the caller). The other grafts stay as they are
 * in both passes, so only this seed's leak is measured.
 */
export function measureIsolation(options: {
  host: GradientHost;
  grafts: GraftTable;
  seedId: string;
  batch: LabelledBatch;
  threshold?: number;
}): IsolationMeasurement {
  const { host, grafts, seedId, batch, threshold = DEFAULT_ISOLATION_THRESHOLD } = options;
  const graft = grafts.bySeed(seedId);
  if (!graft) throw new RangeError(`no graft for seed ${seedId}`);
  const started = performance.now();
  const variables = [...host.variables.values()];
  const isolated = new GraftTable();
  for (const other of grafts.all()) isolated.attach(other.seedId === seedId ? detachedGraft(other) : other);
  const [leakNorm, hostNorm] = tf.tidy(() => {
    const hostGradients = (table: GraftTable): tf.NamedTensorMap =>
      tf.variableGrads(
        () =>
          tf.losses.softmaxCrossEntropy(batch.y, host.apply(batch.x, { training: true, grafts: table })) as tf.Scalar,
        variables,
      ).grads;
    const actual = hostGradients(grafts);
    const reference = hostGradients(isolated);
    const sumSquares = (tensors: tf.Tensor[]): tf.Scalar =>
      tf.addN(tensors.map((t) => tf.sum(tf.square(t)))) as tf.Scalar;
    const names = variables.map((v) => v.name);
    const leak = sumSquares(names.map((name) => tf.sub(actual[name]!, reference[name]!)));
    const scale = sumSquares(names.map((name) => reference[name]!));
    return [Math.sqrt(leak.dataSync()[0] as number), Math.sqrt(scale.dataSync()[0] as number)];
  });
  const ratio = leakNorm / Math.max(hostNorm, 1e-12);
  return { leakNorm, hostNorm, ratio, violated: !(ratio <= threshold), ms: performance.now() - started };
}
