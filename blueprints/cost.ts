// What a blueprint's module costs: its trainable weights (non-trainable state such as batch-norm moments is not a
// cost). Kasmina reports a grafted seed's; the policy reads a candidate's at each slot before it germinates.
import type { v1 } from '../contracts/index.ts';
import { midpointParameters } from './params.ts';
import { buildModule } from './build.ts';
import type { BlueprintModule, SlotSpec } from './types.ts';

export function trainableParameters(module: BlueprintModule): number {
  let count = 0;
  for (const variable of module.variables.values()) if (variable.trainable) count += variable.size;
  return count;
}

/** The trainable weights of the module a blueprint builds for a slot, as compiled (parameters at their midpoints). */
export function blueprintCost(descriptor: v1.BlueprintDescriptor, slot: SlotSpec): number {
  const module = buildModule(descriptor, midpointParameters(descriptor), slot, { rngSeed: 0 });
  try {
    return trainableParameters(module);
  } finally {
    module.dispose();
  }
}
