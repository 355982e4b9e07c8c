// Attribute checking shared by the convolution-gradient kernels: tfjs's conv gradients request NHWC, dilation 1
// (tfjs-core asserts dilation 1 before it asks for these kernels), any strides and 'same' / 'valid' / numeric /
// explicit padding. Anything else is refused with a named error rather than computed wrongly.
import * as tf from '@tensorflow/tfjs';

/** Thrown for a convolution-gradient request these kernels do not implement (instead of a wrong answer). */
export class UnsupportedConvAttributeError extends Error {
  override name = 'UnsupportedConvAttributeError';
}

type Shape4 = [number, number, number, number];

function shape4(kernel: string, what: string, value: unknown): Shape4 {
  if (!Array.isArray(value) || value.length !== 4 || !value.every((d) => typeof d === 'number')) {
    throw new UnsupportedConvAttributeError(`${kernel} needs a rank-4 ${what}, got ${JSON.stringify(value)}`);
  }
  return value as Shape4;
}

/** The conv geometry for `inShape` × `filterShape` under `attrs`, after rejecting unsupported attributes. */
export function convGeometry(
  kernel: string,
  inShape: unknown,
  filterShape: unknown,
  attrs: tf.NamedAttrMap,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  const dataFormat = attrs['dataFormat'] ?? 'NHWC';
  if (dataFormat !== 'NHWC') {
    throw new UnsupportedConvAttributeError(
      `${kernel} on wasm supports dataFormat NHWC only, got ${String(dataFormat)}`,
    );
  }
  const dilations = attrs['dilations'] ?? 1;
  const dilationList = Array.isArray(dilations) ? dilations : [dilations];
  if (dilationList.some((d) => d !== 1)) {
    throw new UnsupportedConvAttributeError(`${kernel} on wasm supports dilation 1 only, got ${String(dilations)}`);
  }
  const strides = attrs['strides'] as number | [number, number];
  const pad = attrs['pad'] as 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  const rounding = attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined;
  return tf.backend_util.computeConv2DInfo(
    shape4(kernel, 'input shape', inShape),
    shape4(kernel, 'filter shape', filterShape),
    strides,
    1,
    pad,
    rounding,
    depthwise,
    'channelsLast',
  );
}

/** Rejects non-float32 operands (the WASM heap views below are read as Float32Array). */
export function requireFloat32(kernel: string, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) {
    if (info.dtype !== 'float32')
      throw new UnsupportedConvAttributeError(`${kernel} on wasm supports float32 only, got ${info.dtype}`);
  }
}
