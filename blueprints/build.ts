// Blueprint → module: the family a blueprint's name asks for (README.md has the table), built for a slot.
import type { v1 } from '../contracts/index.ts';
import { FALLBACK_FAMILY, families } from './families/index.ts';
import { instantiate, type Family } from './kit.ts';
import { slotKind } from './slot.ts';
import type { BlueprintModule, SlotSpec } from './types.ts';

interface Recipe {
  /** The family the name asks for (may have no module for some slot kinds, or none at all). */
  readonly asks: string;
  /** The family built when `asks` names no family (a documented stand-in); else the fallback family. */
  readonly standIn?: string;
  /** Parameters the stand-in reads, computed from the blueprint's own. */
  readonly derive?: (parameters: Readonly<Record<string, number>>) => Record<string, number>;
}

/** The 50 default blueprints by name (Karn's catalog, actors/karn/templates.ts); README.md here has the table. */
const RECIPES: Readonly<Record<string, Recipe>> = {
  identity_passthrough: { asks: 'identity' },
  linear_projection: { asks: 'linear_projection' },
  layer_norm_basic: { asks: 'layer_norm' },
  dropout_light: { asks: 'dropout' },
  relu_activation: { asks: 'relu_activation' },
  batch_norm_1d: { asks: 'batch_norm' },
  pooling_max: { asks: 'max_pooling' },
  skip_connection: { asks: 'identity' },
  residual_block: { asks: 'residual_mlp' },
  concat_fusion: { asks: 'concat_fusion' },
  gelu_activation: { asks: 'gelu_activation' },
  layer_scaling: { asks: 'layer_scale' },
  grouped_conv: { asks: 'grouped_conv' },
  highway_gate: { asks: 'highway_gate' },
  depthwise_separable: { asks: 'depthwise_separable_conv' },
  squeeze_excitation: { asks: 'squeeze_excitation' },
  channel_attention: { asks: 'channel_attention' },
  spatial_attention: { asks: 'spatial_attention' },
  // A slot has one input: there is nothing to cross-attend to, so it attends to itself.
  cross_attention: { asks: 'cross_attention', standIn: 'multi_head_attention' },
  attention_single_head: { asks: 'single_head_attention' },
  feedforward_gated: { asks: 'gated_feed_forward' },
  multi_head_attention_4: { asks: 'multi_head_attention' },
  transformer_block: { asks: 'transformer_block' },
  conv_transformer: { asks: 'conv_transformer' },
  dynamic_conv: { asks: 'dynamic_conv' },
  adaptive_pooling: { asks: 'adaptive_pooling' },
  feature_pyramid: { asks: 'feature_pyramid' },
  dense_connection: { asks: 'dense_connection' },
  multi_head_attention_8: { asks: 'multi_head_attention' },
  graph_attention: { asks: 'graph_attention' },
  temporal_conv: { asks: 'temporal_conv' },
  dilated_conv: { asks: 'dilated_conv' },
  deformable_conv: { asks: 'deformable_conv' },
  non_local_block: { asks: 'non_local_block' },
  learned_positional: { asks: 'learned_positional' },
  mixture_of_experts_4: { asks: 'mixture_of_experts' },
  hierarchical_attention: { asks: 'hierarchical_attention' },
  memory_augmented: { asks: 'memory_attention' },
  neural_ode_block: { asks: 'neural_ode' },
  differentiable_nas: { asks: 'differentiable_nas' },
  meta_learning_layer: { asks: 'meta_learning' },
  recursive_processing: { asks: 'recursive_block' },
  exploding_gradient: { asks: 'exploding_gradient' },
  vanishing_gradient: { asks: 'vanishing_gradient' },
  nan_injection: { asks: 'nan_injection' },
  infinite_loop: { asks: 'infinite_loop' },
  memory_leak: { asks: 'memory_leak' },
  // One JS thread cannot deadlock on its own: a deadlock is a call that never returns, which infinite_loop is.
  deadlock_pattern: { asks: 'deadlock_pattern', standIn: 'infinite_loop' },
  // A race corrupts results differently on every call: noise of strength window_ns / 1000 (0.01–1 over the
  // catalog's range) stands in for it.
  race_condition: {
    asks: 'race_condition',
    standIn: 'adversarial_noise',
    derive: (parameters) => ({ epsilon: Math.min(1, Math.max(0, (parameters.window_ns ?? 500) / 1000)) }),
  },
  adversarial_noise: { asks: 'adversarial_noise' },
};

/**
 * Names outside the defaults (custom descriptors): the first keyword the lower-cased name contains picks the
 * family; no keyword: residual_mlp.
 */
const KEYWORDS: readonly (readonly [string, string])[] = [
  ['identity', 'identity'],
  ['skip', 'identity'],
  ['linear', 'linear_projection'],
  ['layer_norm', 'layer_norm'],
  ['batch_norm', 'batch_norm'],
  ['dropout', 'dropout'],
  ['attention', 'multi_head_attention'],
  ['transformer', 'transformer_block'],
  ['expert', 'mixture_of_experts'],
  ['depthwise', 'depthwise_separable_conv'],
  ['dilated', 'dilated_conv'],
  ['grouped', 'grouped_conv'],
  ['conv', 'dilated_conv'],
  ['pool', 'max_pooling'],
];

function recipeFor(name: string): Recipe {
  const key = name.toLowerCase();
  const known = RECIPES[key];
  if (known) return known;
  for (const [keyword, family] of KEYWORDS) if (key.includes(keyword)) return { asks: family };
  return { asks: FALLBACK_FAMILY.name };
}

export interface BuildOptions {
  /** The random seed of the initial weights and the per-call randomness (dropout, injected NaNs, noise). */
  rngSeed?: number;
}

export interface Resolution {
  readonly family: Family;
  /** The family the name asked for when another is built in its place ("" otherwise). */
  readonly fallbackFrom: string;
  /** Parameters the built family reads that the blueprint does not give directly (stand-ins only). */
  readonly derived: Readonly<Record<string, number>>;
}

/** The family a blueprint's name builds for a slot kind. */
export function resolveFamily(
  name: string,
  slot: SlotSpec,
  parameters: Readonly<Record<string, number>> = {},
): Resolution {
  const kind = slotKind(slot);
  const recipe = recipeFor(name);
  const asked = families.get(recipe.asks);
  if (asked?.slotKinds.includes(kind)) return { family: asked, fallbackFrom: '', derived: {} };
  const standIn = recipe.standIn ? families.get(recipe.standIn) : undefined;
  if (standIn?.slotKinds.includes(kind)) {
    return { family: standIn, fallbackFrom: recipe.asks, derived: recipe.derive?.(parameters) ?? {} };
  }
  return { family: FALLBACK_FAMILY, fallbackFrom: recipe.asks, derived: {} };
}

/**
 * Builds the module a blueprint's name describes, for one slot, with the given parameters (the blueprint's
 * parameters as Karn validated them; the family fills defaults for any it reads that are missing). Only the
 * descriptor's id and name are read, so a decoded descriptor or a plain object with those fields both do.
 */
export function buildModule(
  descriptor: Pick<v1.BlueprintDescriptor, 'blueprintId' | 'name'>,
  parameters: Readonly<Record<string, number>>,
  slot: SlotSpec,
  options: BuildOptions = {},
): BlueprintModule {
  const { family, fallbackFrom, derived } = resolveFamily(descriptor.name || descriptor.blueprintId, slot, parameters);
  return instantiate({
    blueprintId: descriptor.blueprintId,
    family,
    fallbackFrom,
    slot,
    parameters: { ...parameters, ...derived },
    rngSeed: options.rngSeed,
  });
}
