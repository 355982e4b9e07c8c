// What travels on the bus and where (docs/bus-and-security.md#streams-and-routing): each BusMessageType has one Leyline
// class and one preferred stream; telemetry's priority (declared in the packet, else derived from its levels) sends
// HIGH and CRITICAL packets to the emergency stream.
import { leyline, type AnyLeylineType, type v1 } from '../../contracts/index.ts';
import { derivePriority, priorityFromIndicator, PRIORITY_INDICATOR } from '../../contracts/telemetry.ts';
import type { StreamNames } from './settings.ts';

const { BusMessageType: T, MessagePriority: P } = leyline;

export type BusMessage =
  | v1.SystemStatePacket
  | v1.AdaptationCommand
  | v1.FieldReport
  | v1.TelemetryPacket
  | v1.PolicyUpdate
  | v1.KernelPrefetchRequest
  | v1.KernelArtifactReady
  | v1.KernelArtifactError
  | v1.KernelCatalogUpdate
  | v1.CompileRequest
  | v1.KernelArtifact
  | v1.EpisodeRequest
  | v1.EpisodeResult;

interface Route {
  type: v1.BusMessageType;
  decode(bytes: Uint8Array): BusMessage;
  stream(streams: StreamNames): string;
}

// biome-ignore lint/complexity/noBannedTypes: the keys are Leyline classes, compared by identity only.
const ROUTES = new Map<Function, Route>([
  [
    leyline.SystemStatePacket,
    {
      type: T.BUS_MESSAGE_TYPE_SYSTEM_STATE,
      decode: (b) => leyline.SystemStatePacket.decode(b),
      stream: (s) => s.normal,
    },
  ],
  [
    leyline.AdaptationCommand,
    {
      type: T.BUS_MESSAGE_TYPE_ADAPTATION_COMMAND,
      decode: (b) => leyline.AdaptationCommand.decode(b),
      stream: (s) => s.normal,
    },
  ],
  [
    leyline.FieldReport,
    { type: T.BUS_MESSAGE_TYPE_FIELD_REPORT, decode: (b) => leyline.FieldReport.decode(b), stream: (s) => s.normal },
  ],
  [
    leyline.TelemetryPacket,
    {
      type: T.BUS_MESSAGE_TYPE_TELEMETRY,
      decode: (b) => leyline.TelemetryPacket.decode(b),
      stream: (s) => s.telemetry,
    },
  ],
  [
    leyline.PolicyUpdate,
    { type: T.BUS_MESSAGE_TYPE_POLICY_UPDATE, decode: (b) => leyline.PolicyUpdate.decode(b), stream: (s) => s.policy },
  ],
  [
    leyline.KernelPrefetchRequest,
    {
      type: T.BUS_MESSAGE_TYPE_KERNEL_PREFETCH_REQUEST,
      decode: (b) => leyline.KernelPrefetchRequest.decode(b),
      stream: (s) => s.kernelRequests,
    },
  ],
  [
    leyline.KernelArtifactReady,
    {
      type: T.BUS_MESSAGE_TYPE_KERNEL_PREFETCH_READY,
      decode: (b) => leyline.KernelArtifactReady.decode(b),
      stream: (s) => s.kernelReady,
    },
  ],
  [
    leyline.KernelArtifactError,
    {
      type: T.BUS_MESSAGE_TYPE_KERNEL_PREFETCH_ERROR,
      decode: (b) => leyline.KernelArtifactError.decode(b),
      stream: (s) => s.kernelErrors,
    },
  ],
  // As in the prototype, catalog updates share the ready stream: consumers dispatch on the type, never the stream.
  [
    leyline.KernelCatalogUpdate,
    {
      type: T.BUS_MESSAGE_TYPE_KERNEL_CATALOG_UPDATE,
      decode: (b) => leyline.KernelCatalogUpdate.decode(b),
      stream: (s) => s.kernelReady,
    },
  ],
  [
    leyline.CompileRequest,
    {
      type: T.BUS_MESSAGE_TYPE_COMPILE_REQUEST,
      decode: (b) => leyline.CompileRequest.decode(b),
      stream: (s) => s.kernelCompile,
    },
  ],
  [
    leyline.KernelArtifact,
    {
      type: T.BUS_MESSAGE_TYPE_KERNEL_ARTIFACT,
      decode: (b) => leyline.KernelArtifact.decode(b),
      stream: (s) => s.kernelArtifacts,
    },
  ],
  // esper learn --bus: episodes for the workers of a shared group, and what they came to, back to the learner.
  [
    leyline.EpisodeRequest,
    {
      type: T.BUS_MESSAGE_TYPE_EPISODE_REQUEST,
      decode: (b) => leyline.EpisodeRequest.decode(b),
      stream: (s) => s.episodeRequests,
    },
  ],
  [
    leyline.EpisodeResult,
    {
      type: T.BUS_MESSAGE_TYPE_EPISODE_RESULT,
      decode: (b) => leyline.EpisodeResult.decode(b),
      stream: (s) => s.episodeResults,
    },
  ],
]);

const BY_TYPE = new Map<number, Route>([...ROUTES.values()].map((route) => [route.type, route]));

/** The Leyline classes that travel on the bus (what the bus actor accepts for publishing). */
export const BUS_MESSAGE_CLASSES = [...ROUTES.keys()] as unknown as readonly AnyLeylineType[];

export function isBusMessage(message: unknown): message is BusMessage {
  return typeof message === 'object' && message !== null && ROUTES.has(message.constructor);
}

export function busTypeOf(message: BusMessage): v1.BusMessageType {
  return (ROUTES.get(message.constructor) as Route).type;
}

export function preferredStream(message: BusMessage, streams: StreamNames): string {
  return (ROUTES.get(message.constructor) as Route).stream(streams);
}

/** Decodes an envelope's inner payload by its declared type; throws on bytes that are not that message. */
export function decodeBusPayload(type: v1.BusMessageType, payload: Uint8Array): BusMessage {
  const route = BY_TYPE.get(type);
  if (!route) throw new Error(`unknown bus message type ${type}`);
  return route.decode(payload);
}

export function knownBusType(type: number): boolean {
  return BY_TYPE.has(type);
}

/** Telemetry's routing priority: the one it declares, else the one its levels imply; other messages are NORMAL. */
export function priorityOf(message: BusMessage): v1.MessagePriority {
  if (!(message instanceof leyline.TelemetryPacket)) return P.MESSAGE_PRIORITY_NORMAL;
  return message.systemHealth?.indicators?.[PRIORITY_INDICATOR]
    ? priorityFromIndicator(message)
    : derivePriority(message);
}

export function isUrgent(priority: v1.MessagePriority): boolean {
  return priority === P.MESSAGE_PRIORITY_HIGH || priority === P.MESSAGE_PRIORITY_CRITICAL;
}

/** The subsystem a message says it comes from, for per-source counters ("unknown" when it does not say). */
export function sourceOf(message: BusMessage): string {
  if (message instanceof leyline.TelemetryPacket || message instanceof leyline.SystemStatePacket)
    return message.sourceSubsystem || 'unknown';
  if (message instanceof leyline.AdaptationCommand) return message.issuedBy || 'unknown';
  return 'unknown';
}
