// mixture_of_experts (Switch-style top-1 routing). Tokens are the samples (dense slot) or every position of every
// sample (conv slot). A router sends each token to its most probable of E = round(experts) experts; each expert
// takes at most ⌈capacity · N / E⌉ of the N tokens in a batch, in token order; tokens past that pass through
// unchanged. y = x + p_e · expert_e(x) for routed tokens, p_e the router probability (so the router learns).
// Experts are GELU MLPs whose last projection starts at zero.
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { linear } from '../layers.ts';
import { gelu } from '../ops.ts';
import { count } from '../params.ts';

export const mixtureOfExperts: Family = {
  name: 'mixture_of_experts',
  slotKinds: ['dense', 'conv'],
  defaults: { experts: 4, capacity: 1 },
  build(context) {
    const { width, weights } = context;
    const experts = count(context.parameters.experts!);
    const capacity = Math.max(0, context.parameters.capacity!);
    const router = linear(context, 'router', width, experts);
    const inWeight = weights.normal('experts.in.weight', [experts, width, width]);
    const inBias = weights.zeros('experts.in.bias', [experts, 1, width]);
    const outWeight = weights.zeros('experts.out.weight', [experts, width, width]);
    const outBias = weights.zeros('experts.out.bias', [experts, 1, width]);
    return {
      apply(x) {
        const tokens = x.reshape([-1, width]);
        const total = tokens.shape[0]!;
        const limit = Math.max(1, Math.ceil((capacity * total) / experts));
        const probabilities = tf.softmax(router(tokens), -1);
        const chosen = tf.oneHot(probabilities.argMax(-1), experts).toFloat();
        // Place of each token in its expert's queue (0-based, token order); beyond the limit it overflows.
        // (Cumsum along the last axis: tfjs 4.22's cumsum gradient breaks on axis 0 of a matrix.)
        const place = tf.cumsum(chosen.transpose(), 1).transpose().sub(1).mul(chosen);
        // step(limit − ½ − place) = 1 for places 0 … limit−1 (tfjs has a gradient for step, none for less).
        const kept = chosen.mul(tf.step(tf.sub(limit - 0.5, place)));
        // Every expert runs on every token ([E, N, F]); the routing mask then keeps one result per token.
        const broadcast = tokens.expandDims(0).tile([experts, 1, 1]);
        const hidden = gelu(tf.matMul(broadcast, inWeight).add(inBias));
        const outputs = tf.matMul(hidden, outWeight).add(outBias).transpose([1, 0, 2]);
        const weight = kept.mul(probabilities).expandDims(2);
        return x.add(outputs.mul(weight).sum(1).reshape(x.shape));
      },
    };
  },
};
