// The proto's reflection (field lists, types), loaded once from leyline.proto, and the generated class behind each
// reflected type. The generated classes carry no reflection of their own (generate.mjs leaves it out), so the
// checks that need the schema (json.ts, payload-shape.ts) read it here.
// biome-ignore-all lint/complexity/noBannedTypes: a generated class is only compared by identity, so `Function` is its type.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { esper, google } from './generated/leyline.js';

export const LEYLINE_PACKAGE = 'esper.leyline.v1';

/** The proto's 64-bit integer types (bigints in Leyline's messages: contracts/generate.mjs). */
export const INT64_TYPES: ReadonlySet<string> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

let schema: protobuf.Root | null = null;

/** The whole schema: Leyline's package and the google.protobuf types it uses. */
export function leylineSchema(): protobuf.Root {
  if (!schema) {
    schema = protobuf.loadSync(fileURLToPath(new URL('./leyline/leyline.proto', import.meta.url)));
    schema.resolveAll();
  }
  return schema;
}

/** Leyline's package in the schema. */
export function leylineReflection(): protobuf.Namespace {
  return leylineSchema().lookup(LEYLINE_PACKAGE) as protobuf.Namespace;
}

let classes: Map<string, Function> | null = null;

/** The generated class of a reflected message type, by its full name without the leading dot. */
export function generatedClass(fullName: string): Function | undefined {
  if (!classes) {
    classes = new Map();
    const visit = (namespace: Record<string, unknown>, prefix: string): void => {
      for (const [name, value] of Object.entries(namespace)) {
        if (value === null || (typeof value !== 'function' && typeof value !== 'object')) continue;
        const path = `${prefix}.${name}`;
        if (typeof value === 'function' && typeof (value as { decode?: unknown }).decode === 'function')
          classes?.set(path, value);
        visit(value as Record<string, unknown>, path);
      }
    };
    visit(esper as unknown as Record<string, unknown>, 'esper');
    visit(google as unknown as Record<string, unknown>, 'google');
  }
  return classes.get(fullName.startsWith('.') ? fullName.slice(1) : fullName);
}
