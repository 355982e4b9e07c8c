// Deep Leyline shape: every nested message of a payload is an instance of its generated class, every scalar of its
// declared JS type, and nothing rides along outside the schema. `isLeylineMessage` only looks at the top: a plain
// object or a tensor nested inside still encodes (protobufjs encodes plain objects) but breaks every in-process
// consumer that tests `instanceof`, and a tensor in a field never reaches another process. The runtime runs this
// on every payload when ESPER_STRICT_PAYLOADS=1 (runtime/system.ts), as the test suite does.
// biome-ignore-all lint/complexity/noBannedTypes: classes are keys by identity and `Object#constructor` is typed `Function`.
import protobuf from 'protobufjs';
import { describeValue, type LeylineMessage } from './index.ts';
import { generatedClass, INT64_TYPES, leylineSchema } from './reflection.ts';

type Kind =
  | { of: 'message'; ctor: Function; name: string }
  | { of: 'scalar'; js: 'number' | 'bigint' | 'string' | 'boolean' }
  | { of: 'bytes' };

interface FieldShape {
  name: string;
  kind: Kind;
  repeated: boolean;
  map: boolean;
}

interface Shape {
  typeName: string;
  fields: FieldShape[];
  names: Set<string>;
}

const shapes = new Map<Function, Shape | null>();
/** Nesting deeper than protobuf's own decode limit can only be a cycle. */
const MAX_DEPTH = protobuf.util.recursionLimit;

function shapeOf(ctor: Function): Shape | null {
  let shape = shapes.get(ctor);
  if (shape !== undefined) return shape;
  const type = reflectedTypes().get(ctor);
  if (type) {
    const fields = type.fieldsArray.map((field) => fieldShape(field, ctor));
    shape = { typeName: type.name, fields, names: new Set(fields.map((field) => field.name)) };
  } else shape = null;
  shapes.set(ctor, shape);
  return shape;
}

function fieldShape(field: protobuf.Field, ctor: Function): FieldShape {
  field.resolve();
  const resolved = field.resolvedType;
  let kind: Kind;
  if (resolved instanceof protobuf.Type) {
    const nested = generatedClass(resolved.fullName);
    if (!nested) throw new Error(`payload-shape: no generated class for ${resolved.fullName}`);
    kind = { of: 'message', ctor: nested, name: resolved.fullName.slice(1) };
  } else if (resolved instanceof protobuf.Enum) kind = { of: 'scalar', js: 'number' };
  else if (field.type === 'bytes') kind = { of: 'bytes' };
  else if (field.type === 'string') kind = { of: 'scalar', js: 'string' };
  else if (field.type === 'bool') kind = { of: 'scalar', js: 'boolean' };
  // 64-bit: whatever generate.mjs made of it (bigint for Leyline's, number for google.protobuf's seconds).
  else if (INT64_TYPES.has(field.type))
    kind = {
      of: 'scalar',
      js: typeof (ctor.prototype as Record<string, unknown>)[field.name] === 'bigint' ? 'bigint' : 'number',
    };
  else kind = { of: 'scalar', js: 'number' };
  return { name: field.name, kind, repeated: field.repeated, map: field.map };
}

let typesByClass: Map<Function, protobuf.Type> | null = null;

/** Every reflected message type, by its generated class. */
function reflectedTypes(): Map<Function, protobuf.Type> {
  if (!typesByClass) {
    const found = new Map<Function, protobuf.Type>();
    const visit = (ns: protobuf.NamespaceBase): void => {
      for (const nested of ns.nestedArray) {
        const ctor = nested instanceof protobuf.Type ? generatedClass(nested.fullName) : undefined;
        if (ctor) found.set(ctor, nested as protobuf.Type);
        if (nested instanceof protobuf.Namespace) visit(nested);
      }
    };
    visit(leylineSchema());
    typesByClass = found;
  }
  return typesByClass;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  if (ArrayBuffer.isView(value)) return `an instance of ${value.constructor.name}`;
  return describeValue(value);
}

function checkElement(kind: Kind, value: unknown, path: string, depth: number): string | null {
  switch (kind.of) {
    case 'message':
      if (value === null || typeof value !== 'object' || value.constructor !== kind.ctor)
        return `${path}: ${describe(value)}, expected ${kind.name}`;
      return checkMessage(value as LeylineMessage, path, depth + 1);
    case 'bytes':
      return value instanceof Uint8Array ? null : `${path}: ${describe(value)}, expected bytes (a Uint8Array)`;
    case 'scalar':
      return typeof value === kind.js ? null : `${path}: ${describe(value)}, expected a ${kind.js}`;
  }
}

function checkMessage(message: LeylineMessage, path: string, depth: number): string | null {
  if (depth > MAX_DEPTH) return `${path}: nested deeper than ${MAX_DEPTH} (a cycle?)`;
  const shape = shapeOf(message.constructor);
  if (!shape) return `${path}: ${describe(message)} is not a Leyline message`;
  const record = message as unknown as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!shape.names.has(key) && key !== '$unknowns')
      return `${path}.${key}: not a field of ${shape.typeName} (${describe(record[key])})`;
  }
  for (const field of shape.fields) {
    const value = record[field.name];
    if (value === null || value === undefined) continue;
    const at = `${path}.${field.name}`;
    if (field.map) {
      if (typeof value !== 'object' || Array.isArray(value) || value.constructor !== Object)
        return `${at}: ${describe(value)}, expected a map (a plain object)`;
      for (const [key, item] of Object.entries(value)) {
        const problem = checkElement(field.kind, item, `${at}[${JSON.stringify(key)}]`, depth);
        if (problem) return problem;
      }
    } else if (field.repeated) {
      if (!Array.isArray(value)) return `${at}: ${describe(value)}, expected an array`;
      for (let i = 0; i < value.length; i++) {
        const problem = checkElement(field.kind, value[i], `${at}[${i}]`, depth);
        if (problem) return problem;
      }
    } else {
      const problem = checkElement(field.kind, value, at, depth);
      if (problem) return problem;
    }
  }
  return null;
}

/**
 * Null when `message` is Leyline all the way down; else the first problem, naming its path from the message's
 * type, e.g. `FieldReport.followUpActions[2]: a plain object, expected esper.leyline.v1.MitigationAction`.
 */
export function leylineShapeProblem(message: LeylineMessage): string | null {
  const shape = shapeOf(message.constructor);
  return checkMessage(message, shape?.typeName ?? describe(message), 0);
}
