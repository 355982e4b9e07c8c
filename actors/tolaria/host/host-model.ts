// Host models: an MLP and a small CNN built from configuration, each with named slots (after every hidden block)
// where seeds can be grafted. The forward pass consults the graft table at each slot; with no grafts it is a plain
// model. Sizes are free, so deliberately under-sized hosts (where seeds should add capacity) are easy to declare.
import { ConfigError } from '../../../runtime/config-error.ts';
import { tf } from '../../../tensor/index.ts';
import type { SlotSpec } from '../../../blueprints/index.ts';
import { graftForward } from './graft-forward.ts';
import type { GraftTable } from '../../../surface/index.ts';

export interface MlpHostConfig {
  kind: 'mlp';
  /** Features per sample (784 for MNIST). Image inputs are flattened. */
  inputs: number;
  /** Width of each hidden block; a slot follows each. */
  hidden: readonly number[];
  classes: number;
}

export interface CnnHostConfig {
  kind: 'cnn';
  /** [H, W, C] of an input image. */
  inputShape: readonly [number, number, number];
  /** Filters of each 3×3 conv block (conv → relu → slot → 2×2 max-pool). */
  channels: readonly number[];
  /** Width of each dense block after the convs; a slot follows each. */
  dense: readonly number[];
  classes: number;
}

export type HostConfig = MlpHostConfig | CnnHostConfig;

export interface HostSlot extends SlotSpec {
  readonly id: string;
}

/** Mean, standard deviation and largest magnitude of one slot's activation over a batch. */
export interface SlotActivationStats {
  mean: number;
  std: number;
  absMax: number;
}

export interface ForwardOptions {
  training?: boolean;
  grafts?: GraftTable;
  /** When given, each slot's activation statistics (of the host's own output, before any graft) are recorded. */
  slotStats?: Map<string, SlotActivationStats>;
}

export interface HostModel {
  readonly config: HostConfig;
  readonly slots: readonly HostSlot[];
  /** Host weights by stable name (seeds' weights live in their modules). */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** Input [B, ...] → logits [B, classes]. */
  apply(input: tf.Tensor, options?: ForwardOptions): tf.Tensor;
  parameterCount(): number;
  dispose(): void;
}

export class HostConfigError extends ConfigError {
  override readonly name = 'HostConfigError';
}

const positiveInts = (values: readonly number[]): boolean => values.every((v) => Number.isInteger(v) && v > 0);

export function validateHostConfig(config: HostConfig, field = 'tolaria.host'): void {
  const need = (ok: boolean, name: string, problem: string): void => {
    if (!ok) throw new HostConfigError(`${field}.${name}`, problem);
  };
  need(
    config.kind === 'mlp' || config.kind === 'cnn',
    'kind',
    `must be "mlp" or "cnn", got ${JSON.stringify((config as { kind: unknown }).kind)}`,
  );
  need(Number.isInteger(config.classes) && config.classes >= 2, 'classes', 'must be an integer >= 2');
  if (config.kind === 'mlp') {
    need(Number.isInteger(config.inputs) && config.inputs > 0, 'inputs', 'must be a positive integer');
    need(
      Array.isArray(config.hidden) && config.hidden.length > 0 && positiveInts(config.hidden),
      'hidden',
      'must be a non-empty list of positive widths',
    );
  } else {
    need(
      Array.isArray(config.inputShape) && config.inputShape.length === 3 && positiveInts(config.inputShape),
      'inputShape',
      'must be [H, W, C] of positive integers',
    );
    need(
      Array.isArray(config.channels) && config.channels.length > 0 && positiveInts(config.channels),
      'channels',
      'must be a non-empty list of positive filter counts',
    );
    need(Array.isArray(config.dense) && positiveInts(config.dense), 'dense', 'must be a list of positive widths');
    const [h, w] = config.inputShape;
    const shrink = 2 ** config.channels.length;
    need(
      h >= shrink && w >= shrink,
      'channels',
      `${config.channels.length} pooling steps need an input of at least ${shrink}×${shrink}`,
    );
  }
}

/** Builds a host from configuration; `rngSeed` makes the initial weights reproducible. */
export function buildHost(config: HostConfig, rngSeed = 1): HostModel {
  validateHostConfig(config);
  return config.kind === 'mlp' ? buildMlp(config, rngSeed) : buildCnn(config, rngSeed);
}

class Weights {
  readonly variables = new Map<string, tf.Variable>();
  #rngSeed: number;

  constructor(rngSeed: number) {
    this.#rngSeed = rngSeed;
  }

  glorot(name: string, shape: number[]): tf.Variable {
    this.#rngSeed += 1;
    const init = tf.initializers.glorotUniform({ seed: this.#rngSeed });
    return this.#add(name, init.apply(shape, 'float32'));
  }

  zeros(name: string, shape: number[]): tf.Variable {
    return this.#add(name, tf.zeros(shape));
  }

  #add(name: string, value: tf.Tensor): tf.Variable {
    const variable = tf.variable(value, true, `host/${name}/${Math.random().toString(36).slice(2, 10)}`);
    value.dispose();
    this.variables.set(name, variable);
    return variable;
  }
}

function recordStats(stats: Map<string, SlotActivationStats> | undefined, slotId: string, activation: tf.Tensor): void {
  if (!stats) return;
  const { mean, variance } = tf.moments(activation);
  const absMax = tf.max(tf.abs(activation));
  stats.set(slotId, {
    mean: mean.dataSync()[0] ?? 0,
    std: Math.sqrt(variance.dataSync()[0] ?? 0),
    absMax: absMax.dataSync()[0] ?? 0,
  });
}

function host(
  config: HostConfig,
  slots: HostSlot[],
  weights: Weights,
  forward: (x: tf.Tensor, o: ForwardOptions) => tf.Tensor,
): HostModel {
  return {
    config,
    slots,
    variables: weights.variables,
    apply: (input, options = {}) => tf.tidy(() => forward(input, options)),
    parameterCount: () => [...weights.variables.values()].reduce((sum, v) => sum + v.size, 0),
    dispose: () => {
      for (const variable of weights.variables.values()) variable.dispose();
    },
  };
}

/** The host's slots, in forward order: what a host of this configuration offers seeds (and the forge compiles for). */
export function hostSlots(config: HostConfig): HostSlot[] {
  if (config.kind === 'mlp') return config.hidden.map((units, i) => ({ id: `mlp.${i}`, dims: [units] }));
  let [height, width] = config.inputShape;
  const convs = config.channels.map((filters, i) => {
    const slot = { id: `conv.${i}`, dims: [height, width, filters] };
    height = Math.floor(height / 2);
    width = Math.floor(width / 2);
    return slot;
  });
  return [...convs, ...config.dense.map((units, i) => ({ id: `dense.${i}`, dims: [units] }))];
}

function buildMlp(config: MlpHostConfig, rngSeed: number): HostModel {
  const weights = new Weights(rngSeed);
  const slots = hostSlots(config);
  const layers: Array<{ w: tf.Variable; b: tf.Variable; slot: HostSlot }> = [];
  let width = config.inputs;
  config.hidden.forEach((units, i) => {
    layers.push({
      w: weights.glorot(`dense${i}.kernel`, [width, units]),
      b: weights.zeros(`dense${i}.bias`, [units]),
      slot: slots[i]!,
    });
    width = units;
  });
  const head = {
    w: weights.glorot('head.kernel', [width, config.classes]),
    b: weights.zeros('head.bias', [config.classes]),
  };
  return host(config, slots, weights, (input, { training = false, grafts, slotStats }) => {
    let h = input.reshape([input.shape[0] as number, config.inputs]);
    for (const layer of layers) {
      h = tf.relu(tf.add(tf.matMul(h, layer.w), layer.b));
      recordStats(slotStats, layer.slot.id, h);
      h = graftForward(h, grafts?.at(layer.slot.id), training);
    }
    return tf.add(tf.matMul(h, head.w), head.b);
  });
}

function buildCnn(config: CnnHostConfig, rngSeed: number): HostModel {
  const weights = new Weights(rngSeed);
  const slots = hostSlots(config);
  let [height, width, channels] = config.inputShape;
  const convs = config.channels.map((filters, i) => {
    const slot = slots[i]!;
    const layer = {
      w: weights.glorot(`conv${i}.kernel`, [3, 3, channels, filters]),
      b: weights.zeros(`conv${i}.bias`, [filters]),
      slot,
    };
    channels = filters;
    height = Math.floor(height / 2);
    width = Math.floor(width / 2);
    return layer;
  });
  const flatFeatures = height * width * channels;
  let features = flatFeatures;
  const denses = config.dense.map((units, i) => {
    const slot = slots[config.channels.length + i]!;
    const layer = {
      w: weights.glorot(`dense${i}.kernel`, [features, units]),
      b: weights.zeros(`dense${i}.bias`, [units]),
      slot,
    };
    features = units;
    return layer;
  });
  const head = {
    w: weights.glorot('head.kernel', [features, config.classes]),
    b: weights.zeros('head.bias', [config.classes]),
  };
  return host(config, slots, weights, (input, { training = false, grafts, slotStats }) => {
    let h = input.reshape([input.shape[0] as number, ...config.inputShape]) as tf.Tensor4D;
    for (const conv of convs) {
      h = tf.relu(tf.add(tf.conv2d(h, conv.w as tf.Tensor4D, 1, 'same'), conv.b)) as tf.Tensor4D;
      recordStats(slotStats, conv.slot.id, h);
      h = graftForward(h, grafts?.at(conv.slot.id), training) as tf.Tensor4D;
      h = tf.maxPool(h, 2, 2, 'valid');
    }
    let flat: tf.Tensor = h.reshape([h.shape[0], flatFeatures]);
    for (const dense of denses) {
      flat = tf.relu(tf.add(tf.matMul(flat, dense.w), dense.b));
      recordStats(slotStats, dense.slot.id, flat);
      flat = graftForward(flat, grafts?.at(dense.slot.id), training);
    }
    return tf.add(tf.matMul(flat, head.w), head.b);
  });
}
