// The catalog key of a slot shape. A kernel is built for an activation shape, not for one named slot, so every
// slot with the same shape shares it: [32] → "32", [8, 8, 4] → "8x8x4".
import { leyline, type v1 } from '../../contracts/index.ts';
import { UrzaInputError } from './errors.ts';

/** The ranks a slot may have, as Karn's modules build them: [D] dense, [H, W, C] conv. */
export const SLOT_RANKS: readonly number[] = [1, 3];
/** Largest single dimension accepted (a sanity bound, far above any host this project builds). */
export const MAX_SLOT_DIM = 1 << 20;

export class SlotShapeError extends UrzaInputError {
  override readonly name = 'SlotShapeError';
  constructor(
    readonly input: string,
    problem: string,
  ) {
    super('slot', `${input} is not a slot shape: ${problem}`);
  }
}

/** A slot given as a Leyline SlotShape, a list of dimensions, or a key string ("32", "8x8x4"). */
export type SlotInput = v1.SlotShape | readonly number[] | string;

function checkDims(dims: readonly number[], shown: string): readonly number[] {
  if (dims.length === 0) throw new SlotShapeError(shown, 'no dimensions');
  if (!SLOT_RANKS.includes(dims.length)) {
    throw new SlotShapeError(shown, `expected [D] (dense) or [H, W, C] (conv), got ${dims.length} dimensions`);
  }
  for (const dim of dims) {
    if (!Number.isInteger(dim) || dim < 1 || dim > MAX_SLOT_DIM) {
      throw new SlotShapeError(shown, `every dimension must be an integer in [1, ${MAX_SLOT_DIM}], got ${dim}`);
    }
  }
  return dims;
}

/** The dimensions of a slot, validated. Throws SlotShapeError. */
export function slotDims(slot: SlotInput): readonly number[] {
  if (typeof slot === 'string') {
    if (!/^\d+(x\d+)*$/.test(slot))
      throw new SlotShapeError(JSON.stringify(slot), 'expected digits joined by "x", e.g. "8x8x4"');
    return checkDims(slot.split('x').map(Number), JSON.stringify(slot));
  }
  const dims = Array.isArray(slot) ? (slot as readonly number[]) : [...((slot as v1.SlotShape).dims ?? [])];
  return checkDims(dims, JSON.stringify(dims));
}

/** The catalog key of a slot, validated. Throws SlotShapeError. */
export function slotKey(slot: SlotInput): string {
  return slotDims(slot).join('x');
}

/** A Leyline SlotShape for a key (no slot id: catalog rows are per shape, not per named slot). */
export function slotShapeOf(key: string): v1.SlotShape {
  return leyline.SlotShape.create({ dims: [...slotDims(key)] });
}
