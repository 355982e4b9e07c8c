// Blueprint modules: real TensorFlow.js modules built from Karn's blueprints (README.md in this folder).
export type { ApplyOptions, BlueprintModule, SlotSpec } from './types.ts';
export { buildModule, resolveFamily, type BuildOptions, type Resolution } from './build.ts';
export { serializeModule, deserializeModule, ModuleFormatError, MODULE_FORMAT } from './serialize.ts';
export { guardSpec, guardDigest, guardSummary, contiguousStrides, pythonJson, type GuardSpecEntry } from './guard.ts';
export { slotKind, validateSlot, SlotSpecError, type SlotKind } from './slot.ts';
export { families, STRESSOR_FAMILIES, HANG_OPS_PER_ITERATION } from './families/index.ts';
export { blueprintCost, trainableParameters } from './cost.ts';
export { declaredBounds, midpointParameters, type ParameterRange } from './params.ts';
