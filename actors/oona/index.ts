// Oona's package surface: the bus client, its stores, the bus actor and the configuration.
export { OonaClient, type OonaClientOptions } from './oona-client.ts';
export { oonaLogic, type BusRoute, type OonaBusDeps } from './bus-actor.ts';
export {
  resolveOonaConfig,
  OonaConfigError,
  DEFAULT_STREAMS,
  type OonaConfig,
  type OonaSettings,
  type StreamNames,
} from './settings.ts';
export { MemoryStreamStore } from './memory-store.ts';
export { RedisStreamStore } from './redis-store.ts';
export type { BusMessage } from './routing.ts';
export type { PublishResult, PublishOptions } from './publisher.ts';
export type { BusHandler, Delivery, SubscriptionSpec } from './subscription.ts';
