// Gating families: a learned gate scales a branch or the input. Each starts as the identity: a branch whose last
// projection is zero, or a gate 2·sigmoid(z) whose z starts at zero (gate 1).
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { conv, linear, mixer } from '../layers.ts';
import { gelu, silu } from '../ops.ts';
import { count } from '../params.ts';

/**
 * highway_gate: y = x + T(x) ⊙ h(x) with T = sigmoid(x·W_T + b_T), b_T starting at `gate_bias` (negative: carry
 * the input, positive: let the transform through), h a GELU MLP whose last projection starts at zero. (The
 * classic T·H(x) + (1 − T)·x with H(x) = x + h(x).)
 */
export const highwayGate: Family = {
  name: 'highway_gate',
  slotKinds: ['dense', 'conv'],
  defaults: { gate_bias: -1 },
  build(context) {
    const { width, weights } = context;
    const gateWeight = linear(context, 'gate', width, width, { bias: false });
    const gateBias = weights.filled('gate.bias', [width], context.parameters.gate_bias!);
    const expand = mixer(context, 'transform.in', width, width);
    const project = linear(context, 'transform.out', width, width, { init: 'zeros' });
    return {
      apply: (x) =>
        x.add(
          gateWeight(x)
            .add(gateBias)
            .sigmoid()
            .mul(project(gelu(expand(x)))),
        ),
    };
  },
};

/**
 * gated_feed_forward (SwiGLU): y = x + W_o·(silu(x·W_g) ⊙ (x·W_u)), hidden width round(hidden_multiple · width),
 * W_o zero at init. Per position on a conv slot.
 */
export const gatedFeedForward: Family = {
  name: 'gated_feed_forward',
  slotKinds: ['dense', 'conv'],
  defaults: { hidden_multiple: 4 },
  build(context) {
    const { width } = context;
    const hidden = count(context.parameters.hidden_multiple! * width);
    const gate = linear(context, 'gate', width, hidden);
    const up = linear(context, 'up', width, hidden);
    const down = linear(context, 'down', hidden, width, { init: 'zeros' });
    return { apply: (x) => x.add(down(silu(gate(x)).mul(up(x)))) };
  },
};

/**
 * squeeze_excitation: per-channel gate 2·sigmoid(W2·relu(W1·s)), s the channel means over positions (conv) or
 * the features themselves (dense: a 1×1 map), bottleneck width max(1, round(width / reduction)), W2 zero at init.
 */
export const squeezeExcitation: Family = {
  name: 'squeeze_excitation',
  slotKinds: ['dense', 'conv'],
  defaults: { reduction: 4 },
  build(context) {
    const { width, kind } = context;
    const bottleneck = count(width / Math.max(1, context.parameters.reduction!));
    const squeeze = linear(context, 'squeeze', width, bottleneck);
    const excite = linear(context, 'excite', bottleneck, width, { init: 'zeros' });
    return {
      apply(x) {
        const summary = kind === 'dense' ? x : x.mean([1, 2]);
        let gate = excite(squeeze(summary).relu()).sigmoid().mul(2);
        if (kind === 'conv') gate = gate.reshape([-1, 1, 1, width]);
        return x.mul(gate);
      },
    };
  },
};

/**
 * spatial_attention (CBAM): per-position gate 2·sigmoid(conv_k([mean_c(x), max_c(x)])), kernel k = 2·round(radius) + 1,
 * kernel and bias zero at init. Conv slots only.
 */
export const spatialAttention: Family = {
  name: 'spatial_attention',
  slotKinds: ['conv'],
  defaults: { radius: 1 },
  build(context) {
    const kernel = 2 * count(context.parameters.radius!) + 1;
    const score = conv(context, 'score', kernel, 2, 1, { init: 'zeros' });
    return {
      apply(x) {
        const pooled = tf.concat([x.mean(3, true), x.max(3, true)], 3);
        return x.mul(score(pooled).sigmoid().mul(2));
      },
    };
  },
};
