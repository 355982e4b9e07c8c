// Attention building blocks: how a slot's activation is read as a token sequence, and a multi-head attention
// layer over such tokens whose output projection starts at zero.
//
// Token views. A conv slot [H, W, C] is read as H·W position tokens of C features (or, for channel attention,
// C channel tokens of H·W features). A dense slot [D] has no positions; it is read as T tokens of D/T
// consecutive features (T a divisor of D; 16 by default, or what the blueprint asks for), each token with a
// learned position embedding so attention can tell the feature groups apart.
import { tf } from '../tensor/index.ts';
import type { FamilyContext } from './kit.ts';
import { linear } from './layers.ts';
import { attend } from './ops.ts';
import { nearestDivisor } from './params.ts';

/** A token's place: [row, column] on the grid (dense tokens and channel tokens lie on row 0). */
export type Coord = readonly [number, number];

export interface TokenView {
  /** T */
  readonly count: number;
  /** F, the features of one token */
  readonly features: number;
  readonly coords: readonly Coord[];
  /** [B, ...slot] → [B, T, F] */
  toTokens(x: tf.Tensor): tf.Tensor;
  /** [B, T, F] → [B, ...slot] */
  fromTokens(tokens: tf.Tensor): tf.Tensor;
  /** Average-pools the tokens by `factor` along their grid (for reduced keys and values). */
  pool(tokens: tf.Tensor, factor: number): tf.Tensor;
}

/** Dense [D] as T tokens of D/T consecutive features (T = the divisor of D nearest `tokens`). */
export function chunkTokens(features: number, tokens: number): TokenView {
  const count = nearestDivisor(features, tokens);
  const width = features / count;
  return {
    count,
    features: width,
    coords: Array.from({ length: count }, (_, index): Coord => [0, index]),
    toTokens: (x) => x.reshape([-1, count, width]),
    fromTokens: (tokens) => tokens.reshape([-1, features]),
    pool: (tokens, factor) => poolRow(tokens, factor),
  };
}

/** Conv [H, W, C] as H·W position tokens of C features. */
export function positionTokens(height: number, width: number, channels: number): TokenView {
  return {
    count: height * width,
    features: channels,
    coords: Array.from({ length: height * width }, (_, index): Coord => [Math.floor(index / width), index % width]),
    toTokens: (x) => x.reshape([-1, height * width, channels]),
    fromTokens: (tokens) => tokens.reshape([-1, height, width, channels]),
    pool(tokens, factor) {
      if (factor <= 1) return tokens;
      const grid = tokens.reshape([-1, height, width, channels]) as tf.Tensor4D;
      const pooled = tf.avgPool(grid, [factor, factor], [factor, factor], 'same');
      return pooled.reshape([-1, pooled.shape[1] * pooled.shape[2], channels]);
    },
  };
}

/** Conv [H, W, C] as C channel tokens of H·W features (each token one channel's map). */
export function channelTokens(height: number, width: number, channels: number): TokenView {
  return {
    count: channels,
    features: height * width,
    coords: Array.from({ length: channels }, (_, index): Coord => [0, index]),
    toTokens: (x) => x.transpose([0, 3, 1, 2]).reshape([-1, channels, height * width]),
    fromTokens: (tokens) => tokens.reshape([-1, channels, height, width]).transpose([0, 2, 3, 1]),
    pool: (tokens, factor) => poolRow(tokens, factor),
  };
}

/** The usual view of a slot: position tokens on a conv slot, `denseTokens` feature groups on a dense slot. */
export function slotTokens(context: FamilyContext, denseTokens = 16): TokenView {
  if (context.kind === 'dense') return chunkTokens(context.width, denseTokens);
  const [height, width, channels] = context.slot.dims as [number, number, number];
  return positionTokens(height, width, channels);
}

function poolRow(tokens: tf.Tensor, factor: number): tf.Tensor {
  if (factor <= 1) return tokens;
  const [batch, count, features] = tokens.shape as [number, number, number];
  const row = tokens.reshape([batch, count, 1, features]) as tf.Tensor4D;
  const pooled = tf.avgPool(row, [factor, 1], [factor, 1], 'same');
  return pooled.reshape([batch, pooled.shape[1], features]);
}

export interface AttentionOptions {
  heads: number;
  /** Width of one head (default 8): the attention width is heads × headWidth, so any head count fits any slot. */
  headWidth?: number;
  /** Keys and values come from the tokens average-pooled by this factor (default 1: no pooling). */
  keyPooling?: number;
  /** Which keys a query may attend to (default: all); only without key pooling. */
  allowed?: (query: Coord, key: Coord) => boolean;
  /**
   * 'dot': scaled dot product of query and key projections. 'additive': GAT scoring,
   * LeakyReLU(a_src·Wh_i + a_dst·Wh_j) over one shared node projection Wh.
   */
  scoring?: 'dot' | 'additive';
}

export type TokenLayer = (tokens: tf.Tensor) => tf.Tensor;

/**
 * Multi-head attention over a view's tokens. Returns the update [B, T, F] (not added to the tokens); its
 * output projection starts at zero. Tokens get a learned position embedding before scoring.
 */
export function attentionLayer(
  context: FamilyContext,
  name: string,
  view: TokenView,
  options: AttentionOptions,
): TokenLayer {
  const { heads } = options;
  const headWidth = options.headWidth ?? 8;
  const inner = heads * headWidth;
  const pooling = options.keyPooling ?? 1;
  const features = view.features;
  const position = context.weights.normal(`${name}.position`, [view.count, features], 0.02);
  const additive = options.scoring === 'additive';
  const value = linear(context, `${name}.value`, features, inner);
  const query = additive ? undefined : linear(context, `${name}.query`, features, inner);
  const key = additive ? undefined : linear(context, `${name}.key`, features, inner);
  const scoreSource = additive ? context.weights.normal(`${name}.score_source`, [heads, 1, headWidth]) : undefined;
  const scoreTarget = additive ? context.weights.normal(`${name}.score_target`, [heads, 1, headWidth]) : undefined;
  const output = linear(context, `${name}.output`, inner, features, { init: 'zeros' });
  const mask = options.allowed && pooling <= 1 ? maskValues(view.coords, options.allowed) : undefined;

  return (tokens) => {
    const batch = tokens.shape[0]!;
    const placed = tokens.add(position);
    const source = view.pool(placed, pooling);
    const split = (t: tf.Tensor) => t.reshape([batch, t.shape[1]!, heads, headWidth]).transpose([0, 2, 1, 3]);
    const maskTensor = mask ? tf.tensor2d(mask, [view.count, view.count]) : undefined;
    const values = split(value(source));
    let attended: tf.Tensor;
    if (scoreSource && scoreTarget) {
      const nodes = pooling <= 1 ? values : split(value(placed));
      const fromQuery = nodes.mul(scoreSource).sum(-1, true);
      const toKey = values.mul(scoreTarget).sum(-1, true).transpose([0, 1, 3, 2]);
      let scores = tf.leakyRelu(fromQuery.add(toKey), 0.2);
      if (maskTensor) scores = scores.add(maskTensor);
      attended = tf.matMul(tf.softmax(scores, -1), values);
    } else {
      attended = attend(split(query!(placed)), split(key!(source)), values, maskTensor);
    }
    return output(attended.transpose([0, 2, 1, 3]).reshape([batch, view.count, inner]));
  };
}

function maskValues(coords: readonly Coord[], allowed: (query: Coord, key: Coord) => boolean): Float32Array {
  const values = new Float32Array(coords.length * coords.length);
  coords.forEach((query, row) =>
    coords.forEach((key, column) => {
      if (!allowed(query, key)) values[row * coords.length + column] = -1e9;
    }),
  );
  return values;
}
