// Slot shapes: which kind of activation a slot carries, and the check that a shape is one we can build for.
import type { SlotSpec } from './types.ts';

/** A dense slot carries [D] features; a conv slot carries an [H, W, C] map (channels last). */
export type SlotKind = 'dense' | 'conv';

export class SlotSpecError extends Error {
  override readonly name = 'SlotSpecError';
  constructor(
    readonly dims: readonly unknown[],
    reason: string,
  ) {
    super(`bad slot dims [${dims.join(', ')}]: ${reason}`);
  }
}

/** Throws a SlotSpecError unless the slot is [D] or [H, W, C] with positive integer sizes. */
export function validateSlot(slot: SlotSpec): void {
  const dims: readonly unknown[] = Array.isArray(slot?.dims) ? slot.dims : [];
  if (!Array.isArray(slot?.dims)) throw new SlotSpecError(dims, 'dims must be an array');
  if (dims.length !== 1 && dims.length !== 3) {
    throw new SlotSpecError(dims, `expected 1 dim (dense: [D]) or 3 dims (conv: [H, W, C]), got ${dims.length}`);
  }
  for (const dim of dims) {
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim <= 0) {
      throw new SlotSpecError(dims, `every dim must be a positive integer (got ${String(dim)})`);
    }
  }
}

/** 'dense' for [D], 'conv' for [H, W, C]; throws a SlotSpecError for any other shape. */
export function slotKind(slot: SlotSpec): SlotKind {
  validateSlot(slot);
  return slot.dims.length === 1 ? 'dense' : 'conv';
}

/** The feature width the module mixes: D for a dense slot, C for a conv slot. */
export function slotWidth(slot: SlotSpec): number {
  return slot.dims[slot.dims.length - 1]!;
}
