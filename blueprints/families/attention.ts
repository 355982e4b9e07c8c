// Attention families. Each is residual over tokens (attention.ts: position tokens on a conv slot, feature
// groups on a dense slot) with zero-initialised output projections, so it starts as the identity.
import { tf } from '../../tensor/index.ts';
import {
  attentionLayer,
  channelTokens,
  chunkTokens,
  positionTokens,
  slotTokens,
  type TokenLayer,
  type TokenView,
} from '../attention.ts';
import type { Family, FamilyContext } from '../kit.ts';
import { linear } from '../layers.ts';
import { depthwiseConv2d, gelu, layerNormalize } from '../ops.ts';
import { count } from '../params.ts';

function residualOver(view: TokenView, layers: readonly TokenLayer[]) {
  return {
    apply(x: tf.Tensor) {
      let tokens = view.toTokens(x);
      for (const layer of layers) tokens = tokens.add(layer(tokens));
      return view.fromTokens(tokens);
    },
  };
}

/** multi_head_attention: self-attention with H = round(heads) heads of width 8. */
export const multiHeadAttention: Family = {
  name: 'multi_head_attention',
  slotKinds: ['dense', 'conv'],
  defaults: { heads: 2 },
  build(context) {
    const view = slotTokens(context);
    return residualOver(view, [
      attentionLayer(context, 'attention', view, { heads: count(context.parameters.heads!) }),
    ]);
  },
};

/**
 * single_head_attention: one head. `sequence_length` L bounds the sequence: on a dense slot the features are
 * read as the divisor of D nearest L tokens; on a conv slot the keys and values are the positions average-pooled
 * by the smallest factor r with ⌈H/r⌉·⌈W/r⌉ ≤ L (spatial-reduction attention).
 */
export const singleHeadAttention: Family = {
  name: 'single_head_attention',
  slotKinds: ['dense', 'conv'],
  defaults: { sequence_length: 16 },
  build(context) {
    const length = count(context.parameters.sequence_length!);
    if (context.kind === 'dense') {
      const view = chunkTokens(context.width, length);
      return residualOver(view, [attentionLayer(context, 'attention', view, { heads: 1 })]);
    }
    const [height, width] = context.slot.dims as [number, number, number];
    let factor = 1;
    while (Math.ceil(height / factor) * Math.ceil(width / factor) > length) factor += 1;
    const view = slotTokens(context);
    return residualOver(view, [attentionLayer(context, 'attention', view, { heads: 1, keyPooling: factor })]);
  },
};

/** channel_attention: self-attention among the C channels (each token one channel's H·W map), H = round(heads). */
export const channelAttention: Family = {
  name: 'channel_attention',
  slotKinds: ['conv'],
  defaults: { heads: 1 },
  build(context) {
    const [height, width, channels] = context.slot.dims as [number, number, number];
    const view = channelTokens(height, width, channels);
    return residualOver(view, [
      attentionLayer(context, 'attention', view, { heads: count(context.parameters.heads!) }),
    ]);
  },
};

/**
 * graph_attention (GAT): tokens are graph nodes (positions on a 4-connected grid; feature groups on a chain);
 * each attends, with additive GAT scoring and 2 heads, to the nodes within round(hops) hops.
 */
export const graphAttention: Family = {
  name: 'graph_attention',
  slotKinds: ['dense', 'conv'],
  defaults: { hops: 1 },
  build(context) {
    const hops = count(context.parameters.hops!);
    const view = slotTokens(context);
    const layer = attentionLayer(context, 'attention', view, {
      heads: 2,
      scoring: 'additive',
      allowed: (a, b) => Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) <= hops,
    });
    return residualOver(view, [layer]);
  },
};

/**
 * non_local_block (embedded Gaussian): single-head attention of width max(4, ⌈F/2⌉) over the tokens within a
 * window of round(window) (|Δrow|, |Δcolumn| ≤ ⌊window/2⌋).
 */
export const nonLocalBlock: Family = {
  name: 'non_local_block',
  slotKinds: ['dense', 'conv'],
  defaults: { window: 8 },
  build(context) {
    const reach = Math.floor(count(context.parameters.window!) / 2);
    const view = slotTokens(context);
    const layer = attentionLayer(context, 'attention', view, {
      heads: 1,
      headWidth: Math.max(4, Math.ceil(view.features / 2)),
      allowed: (a, b) => Math.abs(a[0] - b[0]) <= reach && Math.abs(a[1] - b[1]) <= reach,
    });
    return residualOver(view, [layer]);
  },
};

/**
 * hierarchical_attention: L = round(levels) attention layers (2 heads each) run side by side; level l attends to
 * the keys and values average-pooled by 2^l, and their updates are summed.
 */
export const hierarchicalAttention: Family = {
  name: 'hierarchical_attention',
  slotKinds: ['dense', 'conv'],
  defaults: { levels: 2 },
  build(context) {
    const view = slotTokens(context);
    const levels = Array.from({ length: count(context.parameters.levels!) }, (_, level) =>
      attentionLayer(context, `level${level}`, view, { heads: 2, keyPooling: 2 ** level }),
    );
    return residualOver(view, [(tokens) => tf.addN(levels.map((level) => level(tokens)))]);
  },
};

const LAYER_NORM_EPSILON = 1e-5;

/** One pre-norm transformer encoder layer: t + attention(LN(t)), then t + FFN(LN(t)) (4× GELU MLP). */
function encoderLayer(context: FamilyContext, name: string, view: TokenView, heads: number): TokenLayer[] {
  const attention = attentionLayer(context, `${name}.attention`, view, { heads });
  const expand = linear(context, `${name}.ffn.in`, view.features, 4 * view.features);
  const project = linear(context, `${name}.ffn.out`, 4 * view.features, view.features, { init: 'zeros' });
  return [
    (tokens) => attention(layerNormalize(tokens, LAYER_NORM_EPSILON)),
    (tokens) => project(gelu(expand(layerNormalize(tokens, LAYER_NORM_EPSILON)))),
  ];
}

/** transformer_block: round(layers) pre-norm encoder layers, 2 heads each. */
export const transformerBlock: Family = {
  name: 'transformer_block',
  slotKinds: ['dense', 'conv'],
  defaults: { layers: 1 },
  build(context) {
    const view = slotTokens(context);
    const layers = Array.from({ length: count(context.parameters.layers!) }, (_, index) =>
      encoderLayer(context, `layer${index}`, view, 2),
    ).flat();
    return residualOver(view, layers);
  },
};

/**
 * conv_transformer: a local k×k depthwise convolution (k = round(kernel)) → GELU → 1×1 added to x, then one
 * transformer encoder layer over the positions.
 */
export const convTransformer: Family = {
  name: 'conv_transformer',
  slotKinds: ['conv'],
  defaults: { kernel: 3 },
  build(context) {
    const { width, weights } = context;
    const [height, columns, channels] = context.slot.dims as [number, number, number];
    const size = count(context.parameters.kernel!);
    const depthwise = weights.normal('local.depthwise', [size, size, width, 1], 1 / size);
    const project = linear(context, 'local.pointwise', width, width, { init: 'zeros' });
    const view = positionTokens(height, columns, channels);
    const global = residualOver(view, encoderLayer(context, 'global', view, 2));
    return { apply: (x) => global.apply(x.add(project(gelu(depthwiseConv2d(x, depthwise))))) };
  },
};

/**
 * memory_attention (memory-augmented): each token (the whole feature vector on a dense slot, each position on a
 * conv slot) reads from M = round(memory_slots) learned key/value memory slots (width 16).
 */
export const memoryAttention: Family = {
  name: 'memory_attention',
  slotKinds: ['dense', 'conv'],
  defaults: { memory_slots: 32 },
  build(context) {
    const { width, weights } = context;
    const inner = 16;
    const slots = count(context.parameters.memory_slots!);
    const query = linear(context, 'query', width, inner);
    const keys = weights.normal('memory.keys', [slots, inner], 1);
    const values = weights.normal('memory.values', [slots, inner], 1);
    const output = linear(context, 'output', inner, width, { init: 'zeros' });
    return {
      apply(x) {
        const tokens = x.reshape([-1, width]);
        // Explicit transpose then a plain matmul (faster than a transposed matmul on WASM).
        const scores = query(tokens).matMul(keys.transpose()).div(Math.sqrt(inner));
        return x.add(output(tf.softmax(scores, -1).matMul(values)).reshape(x.shape));
      },
    };
  },
};
