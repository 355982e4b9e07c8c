// Layer factories: each creates its weights in the context's store and returns the forward function.
import type { tf } from '../tensor/index.ts';
import type { FamilyContext } from './kit.ts';
import { conv2d, dense, type ConvOptions } from './ops.ts';

export type Layer = (x: tf.Tensor) => tf.Tensor;

export interface LayerInit {
  /** 'zeros' for a residual branch's last projection, so the module starts as the identity. */
  init?: 'normal' | 'zeros';
  bias?: boolean;
}

/** Dense over the last axis (for a conv slot: a 1×1 convolution at every position). */
export function linear(
  context: FamilyContext,
  name: string,
  inDim: number,
  outDim: number,
  options: LayerInit = {},
): Layer {
  const shape = [inDim, outDim];
  const weight =
    options.init === 'zeros'
      ? context.weights.zeros(`${name}.weight`, shape)
      : context.weights.normal(`${name}.weight`, shape);
  const bias = options.bias === false ? undefined : context.weights.zeros(`${name}.bias`, [outDim]);
  return (x) => dense(x, weight, bias);
}

/** A k×k 'same' convolution (conv slots only). */
export function conv(
  context: FamilyContext,
  name: string,
  kernel: number,
  inChannels: number,
  outChannels: number,
  options: LayerInit & ConvOptions = {},
): Layer {
  const groups = options.groups ?? 1;
  const shape = [kernel, kernel, inChannels / groups, outChannels];
  const weight =
    options.init === 'zeros'
      ? context.weights.zeros(`${name}.kernel`, shape)
      : context.weights.normal(`${name}.kernel`, shape);
  const bias = options.bias === false ? undefined : context.weights.zeros(`${name}.bias`, [outChannels]);
  return (x) => conv2d(x, weight, bias, options);
}

/**
 * The first layer of a block: dense on a dense slot, a 3×3 convolution on a conv slot (so conv blocks see
 * their neighbourhood, as the prototype's conv stack did).
 */
export function mixer(
  context: FamilyContext,
  name: string,
  inDim: number,
  outDim: number,
  options: LayerInit = {},
): Layer {
  return context.kind === 'dense'
    ? linear(context, name, inDim, outDim, options)
    : conv(context, name, 3, inDim, outDim, options);
}
