// Leyline messages written as JSON by a person (`esper inspect send`): the type is looked up by name, the fields are
// checked against the schema (an unknown field, a wrong type or an unknown enum name is refused, naming it), and
// the result is an instance of the generated class, as any actor receives. The generated classes carry no
// verify/fromObject (generate.mjs leaves them out), so the checks use the proto's reflection.
import protobuf from 'protobufjs';
import { decodeLeyline, encodeLeyline } from './codec.ts';
import { leylineTypeName, leylineTypes, type LeylineMessage } from './index.ts';
import { INT64_TYPES, LEYLINE_PACKAGE as PACKAGE, leylineReflection as reflection } from './reflection.ts';

/** Every Leyline message type by its name in the package ("AdaptationCommand", "SeedState"), sorted. */
export function leylineTypeNames(): string[] {
  return [...leylineTypes().keys()].map((name) => name.slice(PACKAGE.length + 1)).sort();
}

export type FromJson = { ok: true; message: LeylineMessage } | { ok: false; error: string };

/** `typeName` (short or fully qualified) and a JSON object of its fields (camelCase or snake_case) → the message. */
export function leylineFromJson(typeName: string, json: string): FromJson {
  const name = typeName.startsWith(`${PACKAGE}.`) ? typeName.slice(PACKAGE.length + 1) : typeName;
  const generated = leylineTypes().get(`${PACKAGE}.${name}`);
  if (!generated) {
    const near = leylineTypeNames().find((known) => known.toLowerCase() === name.toLowerCase());
    return {
      ok: false,
      error: `unknown Leyline message type ${JSON.stringify(typeName)}${near ? ` (did you mean ${near}?)` : ''}`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { ok: false, error: `invalid JSON: ${(error as Error).message}` };
  }
  const type = reflection().lookupType(name);
  try {
    const fields = normalize(type, value, name);
    const problem = type.verify(fields);
    if (problem) return { ok: false, error: `${name}: ${problem}` };
    const decoded = decodeLeyline(generated, type.encode(type.fromObject(fields)).finish());
    return decoded.ok
      ? { ok: true, message: decoded.message }
      : { ok: false, error: `${name}: ${decoded.error.message}` };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/**
 * A message as the JSON `leylineFromJson` reads back: the fields that are set (camelCase), enums by name, 64-bit
 * integers as numbers, bytes as base64.
 */
export function leylineToJson(message: LeylineMessage): string {
  const type = reflection().lookupType(leylineTypeName(message).slice(PACKAGE.length + 1));
  return JSON.stringify(
    type.toObject(type.decode(encodeLeyline(message)), { enums: String, longs: String, bytes: String }),
  );
}

/**
 * The JSON object with field names in the schema's (camelCase) spelling and enum names as their numbers, so that
 * `verify` checks every type strictly (`fromObject` alone would coerce "abc" into NaN). Throws, naming the place,
 * on an unknown field or enum name.
 */
function normalize(type: protobuf.Type, value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${at}: expected a JSON object of ${type.name}'s fields`);
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value)) {
    const field = type.fields[key] ?? type.fields[protobuf.util.camelCase(key)];
    if (!field)
      throw new Error(
        `${at}: ${type.name} has no field ${JSON.stringify(key)} (fields: ${Object.keys(type.fields).join(', ')})`,
      );
    field.resolve();
    const where = `${at}.${field.name}`;
    const element = (item: unknown, place: string): unknown =>
      INT64_TYPES.has(field.type)
        ? normalizeInt64(field.type, item, place)
        : normalizeElement(field.resolvedType, item, place);
    if (field.map && isObject(raw))
      out[field.name] = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, element(v, `${where}[${k}]`)]));
    else if (field.repeated && Array.isArray(raw))
      out[field.name] = raw.map((item, i) => element(item, `${where}[${i}]`));
    else out[field.name] = field.map || field.repeated ? raw : element(raw, where);
  }
  return out;
}

function normalizeElement(resolved: protobuf.Type | protobuf.Enum | null, value: unknown, at: string): unknown {
  if (resolved instanceof protobuf.Type) return value === null ? value : normalize(resolved, value, at);
  if (resolved instanceof protobuf.Enum && typeof value === 'string') {
    const number = resolved.values[value];
    if (number === undefined)
      throw new Error(
        `${at}: ${JSON.stringify(value)} is not a ${resolved.name} (one of ${Object.keys(resolved.values).join(', ')})`,
      );
    return number;
  }
  return value;
}

/** long.js's parser (protobufjs declares only a minimal Long). */
interface LongClass {
  fromString(value: string, unsigned: boolean): unknown;
}

/**
 * A 64-bit integer as JSON: a decimal string (protobuf's JSON mapping), exact at any size, or a number when it is a
 * safe integer (JSON.parse has already rounded a larger one, so it is refused rather than silently changed).
 */
function normalizeInt64(type: string, value: unknown, at: string): unknown {
  if (typeof value === 'string' && /^-?\d+$/.test(value))
    return (protobuf.util.Long as unknown as LongClass).fromString(value, type.startsWith('u') || type === 'fixed64');
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new Error(`${at}: ${value} is not an exact integer; write a 64-bit integer past 2^53 as a string`);
  return value;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
