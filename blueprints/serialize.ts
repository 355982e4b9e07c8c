// Module bytes: msgpackr of { format: 1, blueprintId, family, fallbackFrom, slot: { dims }, parameters,
// weights: { name: { shape, trainable, data: Float32Array } } }. Deserialising rebuilds the family for the slot
// and assigns the stored weights, so every call gives a fresh module with variables of its own.
import { Packr, unpack } from 'msgpackr';
import { tf } from '../tensor/index.ts';
import { families } from './families/index.ts';
import { instantiate } from './kit.ts';
import { SlotSpecError, validateSlot } from './slot.ts';
import type { BlueprintModule } from './types.ts';

export const MODULE_FORMAT = 1;

// moreTypes: typed arrays travel as msgpackr's typed-array extension and come back as Float32Array.
const packer = new Packr({ moreTypes: true });

export class ModuleFormatError extends Error {
  override readonly name = 'ModuleFormatError';
  constructor(readonly problem: string) {
    super(`not a blueprint module: ${problem}`);
  }
}

interface StoredWeight {
  shape: number[];
  trainable: boolean;
  data: Float32Array;
}

export function serializeModule(module: BlueprintModule): Uint8Array {
  const weights: Record<string, StoredWeight> = {};
  for (const [name, variable] of module.variables) {
    weights[name] = {
      shape: [...variable.shape],
      trainable: variable.trainable,
      data: variable.dataSync() as Float32Array,
    };
  }
  return packer.pack({
    format: MODULE_FORMAT,
    blueprintId: module.blueprintId,
    family: module.family,
    fallbackFrom: module.fallbackFrom,
    slot: { dims: [...module.slot.dims] },
    parameters: { ...module.parameters },
    weights,
  });
}

export function deserializeModule(bytes: Uint8Array): BlueprintModule {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new ModuleFormatError('no bytes');
  let decoded: unknown;
  try {
    decoded = unpack(bytes);
  } catch (error) {
    throw new ModuleFormatError(`undecodable msgpack (${(error as Error).message})`);
  }
  const record = asRecord(decoded, 'the top level');
  if (record.format !== MODULE_FORMAT)
    throw new ModuleFormatError(`unknown format ${JSON.stringify(record.format)} (expected ${MODULE_FORMAT})`);
  const blueprintId = asString(record.blueprintId, 'blueprintId');
  const familyName = asString(record.family, 'family');
  const fallbackFrom = asString(record.fallbackFrom, 'fallbackFrom');
  const family = families.get(familyName);
  if (!family) throw new ModuleFormatError(`unknown family "${familyName}"`);
  const dims = asRecord(record.slot, 'slot').dims;
  if (!Array.isArray(dims)) throw new ModuleFormatError('slot.dims is not an array');
  try {
    validateSlot({ dims });
  } catch (error) {
    if (error instanceof SlotSpecError) throw new ModuleFormatError(error.message);
    throw error;
  }
  const parameters: Record<string, number> = {};
  for (const [key, value] of Object.entries(asRecord(record.parameters, 'parameters'))) {
    if (typeof value !== 'number') throw new ModuleFormatError(`parameter "${key}" is not a number`);
    parameters[key] = value;
  }
  const stored = asRecord(record.weights, 'weights');

  const module = instantiate({ blueprintId, family, fallbackFrom, slot: { dims: dims as number[] }, parameters });
  try {
    const expected = [...module.variables.keys()].sort();
    const present = Object.keys(stored).sort();
    if (expected.join('\n') !== present.join('\n')) {
      throw new ModuleFormatError(
        `weights [${present.join(', ')}] do not match family ${familyName}'s [${expected.join(', ')}]`,
      );
    }
    for (const [name, variable] of module.variables) assign(variable, name, asRecord(stored[name], `weight "${name}"`));
  } catch (error) {
    module.dispose();
    throw error;
  }
  return module;
}

function assign(variable: tf.Variable, name: string, weight: Record<string, unknown>): void {
  const shape = weight.shape;
  if (!Array.isArray(shape) || shape.join(',') !== variable.shape.join(',')) {
    throw new ModuleFormatError(
      `weight "${name}" has shape ${JSON.stringify(shape)}, expected [${variable.shape.join(', ')}]`,
    );
  }
  const data = asFloats(weight.data, name);
  if (data.length !== variable.size) {
    throw new ModuleFormatError(`weight "${name}" holds ${data.length} values, expected ${variable.size}`);
  }
  tf.tidy(() => variable.assign(tf.tensor(data, variable.shape, 'float32')));
}

// Float32Array as written; raw little-endian bytes accepted too (a writer without msgpackr's moreTypes).
function asFloats(value: unknown, name: string): Float32Array {
  if (value instanceof Float32Array) return value;
  if (value instanceof Uint8Array && value.byteLength % 4 === 0) {
    return new Float32Array(value.slice().buffer, 0, value.byteLength / 4);
  }
  throw new ModuleFormatError(`weight "${name}" data is not a Float32Array`);
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new ModuleFormatError(`${what} is not a map`);
  }
  return value as Record<string, unknown>;
}

function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ModuleFormatError(`${what} is not a string`);
  return value;
}
