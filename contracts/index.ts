// The Leyline contracts: generated message classes plus the registry the runtime uses to recognise them.
import protobuf from 'protobufjs/minimal.js';
import { esper } from './generated/leyline.js';

// The generated decoders turn 64-bit varints into bigints from the Long protobufjs reads them as; without the
// `long` package (a protobufjs dependency) it would read lossy numbers instead, so refuse to start without it.
if (!protobuf.util.Long)
  throw new Error("contracts: protobufjs found no `long` package; Leyline's 64-bit fields need it");

export const leyline = esper.leyline.v1;
export type { esper };
export import v1 = esper.leyline.v1;

type Namespace = typeof esper.leyline.v1;
type MessageKey = {
  [K in keyof Namespace]: Namespace[K] extends abstract new (...args: never[]) => unknown ? K : never;
}[keyof Namespace];

/**
 * A generated Leyline message class (a constructor with static encode/decode). `encode` is typed loosely on
 * purpose: each class takes its own property shape, so no one signature fits them all; encode an instance
 * with `encodeLeyline` (contracts/codec.ts), which knows its class.
 */
export interface LeylineType<M extends LeylineMessage = LeylineMessage> {
  new (properties?: never): M;
  encode(message: never): { finish(): Uint8Array };
  decode(reader: Uint8Array): M;
}

/** Any Leyline message class, whatever its message (for lists of accepted types). */
export type AnyLeylineType = new (properties?: never) => LeylineMessage;

/** An instance of any Leyline message. Nominal: a plain object of the same shape does not qualify. */
export type LeylineMessage = InstanceType<Namespace[MessageKey]> | InstanceType<typeof esper.leyline.v1.ActorControl>;

const PACKAGE = 'esper.leyline.v1';
const typeNames = new Map<unknown, string>();

function collect(namespace: Record<string, unknown>, prefix: string): void {
  for (const [name, value] of Object.entries(namespace)) {
    if (typeof value !== 'function') continue;
    const ctor = value as unknown as Record<string, unknown>;
    if (typeof ctor.encode !== 'function' || typeof ctor.decode !== 'function') continue;
    typeNames.set(value, `${prefix}.${name}`);
    collect(ctor, `${prefix}.${name}`);
  }
}
collect(leyline as unknown as Record<string, unknown>, PACKAGE);

/** True when `value` is an instance of a Leyline message class (created with `new`, `create` or `decode`). */
export function isLeylineMessage(value: unknown): value is LeylineMessage {
  return typeof value === 'object' && value !== null && typeNames.has(value.constructor);
}

/** The fully-qualified Leyline name of a message, e.g. `esper.leyline.v1.SystemStatePacket`. */
export function leylineTypeName(message: LeylineMessage): string {
  return leylineClassName(message.constructor);
}

/** The same, from a message's class (for callers that keep the class rather than the message). */
export function leylineClassName(messageClass: LeylineMessage['constructor']): string {
  return typeNames.get(messageClass) ?? 'unknown';
}

/** Every Leyline message type by fully-qualified name. */
export function leylineTypes(): ReadonlyMap<string, LeylineType> {
  const byName = new Map<string, LeylineType>();
  for (const [ctor, name] of typeNames) byName.set(name, ctor as LeylineType);
  return byName;
}

/** A short, human name for whatever was offered as a payload (for error messages). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const ctor = (value as { constructor?: { name?: string } }).constructor;
  return ctor?.name && ctor.name !== 'Object' ? `an instance of ${ctor.name}` : 'a plain object';
}
