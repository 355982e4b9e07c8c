// Every family by name: buildModule picks one from a blueprint's name, deserializeModule from the stored name.
import type { Family } from '../kit.ts';
import { geluActivation, reluActivation } from './activation.ts';
import {
  channelAttention,
  convTransformer,
  graphAttention,
  hierarchicalAttention,
  memoryAttention,
  multiHeadAttention,
  nonLocalBlock,
  singleHeadAttention,
  transformerBlock,
} from './attention.ts';
import { depthwiseSeparableConv, dilatedConv, dynamicConv, groupedConv, temporalConv } from './conv.ts';
import { deformableConv } from './deformable-conv.ts';
import { dropout } from './dropout.ts';
import { concatFusion, denseConnection } from './fusion.ts';
import { gatedFeedForward, highwayGate, spatialAttention, squeezeExcitation } from './gating.ts';
import { identity } from './identity.ts';
import { neuralOde, recursiveBlock } from './iterative.ts';
import { layerScale, linearProjection } from './linear.ts';
import { metaLearning } from './meta-learning.ts';
import { mixtureOfExperts } from './mixture-of-experts.ts';
import { batchNorm, layerNorm } from './normalization.ts';
import { adaptivePooling, featurePyramid, maxPooling } from './pooling.ts';
import { learnedPositional } from './positional.ts';
import { residualMlp } from './residual-mlp.ts';
import { differentiableNas } from './search.ts';
import {
  adversarialNoise,
  explodingGradient,
  infiniteLoop,
  memoryLeak,
  nanInjection,
  vanishingGradient,
} from './stressors.ts';

export { STRESSOR_FAMILIES, HANG_OPS_PER_ITERATION } from './stressors.ts';

const ALL: readonly Family[] = [
  identity,
  residualMlp,
  linearProjection,
  layerScale,
  layerNorm,
  batchNorm,
  dropout,
  reluActivation,
  geluActivation,
  highwayGate,
  gatedFeedForward,
  squeezeExcitation,
  spatialAttention,
  groupedConv,
  depthwiseSeparableConv,
  dilatedConv,
  temporalConv,
  dynamicConv,
  deformableConv,
  maxPooling,
  adaptivePooling,
  featurePyramid,
  concatFusion,
  denseConnection,
  multiHeadAttention,
  singleHeadAttention,
  channelAttention,
  graphAttention,
  nonLocalBlock,
  hierarchicalAttention,
  transformerBlock,
  convTransformer,
  memoryAttention,
  mixtureOfExperts,
  recursiveBlock,
  neuralOde,
  metaLearning,
  differentiableNas,
  learnedPositional,
  explodingGradient,
  vanishingGradient,
  nanInjection,
  infiniteLoop,
  memoryLeak,
  adversarialNoise,
];

export const families: ReadonlyMap<string, Family> = new Map(ALL.map((family) => [family.name, family]));

/** The family a blueprint builds when its name has no module for the slot kind. */
export const FALLBACK_FAMILY = residualMlp;
