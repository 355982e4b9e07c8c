// How catalog parameters become module settings. Counts (depth, heads, experts, groups…) are floats in the
// catalog, midpoints such as 2.5 included: they are rounded half up (Math.round) and clamped to at least 1.
// Where a count must divide a size (groups dividing channels) the nearest divisor is used, the smaller on a tie.
import type { v1 } from '../contracts/index.ts';

/** Math.round(value), at least `min`. */
export function count(value: number, min = 1): number {
  return Math.max(min, Math.round(value));
}

/** The divisor of `size` nearest to `target` (the smaller on a tie). */
export function nearestDivisor(size: number, target: number): number {
  let best = 1;
  for (let divisor = 1; divisor <= size; divisor++) {
    if (size % divisor !== 0) continue;
    if (Math.abs(divisor - target) < Math.abs(best - target)) best = divisor;
  }
  return best;
}

export function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** A parameter's inclusive range, as plain numbers (config input and template rows). */
export interface ParameterRange {
  min: number;
  max: number;
}

/** The declared bounds of a descriptor as [key, bounds] pairs, in declaration order. */
export function declaredBounds(descriptor: v1.BlueprintDescriptor): Array<[string, ParameterRange]> {
  return Object.entries(descriptor.allowedParameters ?? {}).map(([key, bounds]) => [
    key,
    { min: bounds.minValue ?? 0, max: bounds.maxValue ?? 0 },
  ]);
}

/** Every declared parameter at the middle of its bounds (the default a compile or a heuristic picks). */
export function midpointParameters(descriptor: v1.BlueprintDescriptor): Record<string, number> {
  return Object.fromEntries(declaredBounds(descriptor).map(([key, { min, max }]) => [key, (min + max) / 2]));
}
