// The Karn actor: answers BlueprintQuery asks with a BlueprintSelection, and every `telemetryIntervalMs` sends its
// TelemetryPacket (metrics + the events since the last one) to the telemetry ref. The domain logic is query.ts.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { CircuitBreakerOptions } from '../../runtime/circuit-breaker.ts';
import type { ActorContext, ActorLogic, ActorRef } from '../../runtime/logic.ts';
import type { KarnCatalogReader } from './catalog.ts';
import { DEFAULT_TELEMETRY_INTERVAL_MS } from './settings.ts';
import { breakerStateName } from './descriptor.ts';
import { buildKarnTelemetry, createKarnState, handleQuery, type KarnState } from './query.ts';

const { BlueprintRejection: Rejection } = leyline;

/** The timer that triggers Karn's telemetry packet. */
export const KARN_TELEMETRY_TIMER = 'karn-telemetry';

export interface KarnActorOptions {
  /** The catalog boot built (setUpKarn); the same object other subsystems read through KarnCatalogReader. */
  catalog: KarnCatalogReader;
  /** Blueprint ids approved once for all (configuration `karn.approved`). */
  approved?: readonly string[];
  /** Where telemetry packets go; null: built and dropped (the events are still drained, so memory stays flat). */
  telemetry: ActorRef<v1.TelemetryPacket> | null;
  /** Default 10 000 ms. */
  telemetryIntervalMs?: number;
  /** Overrides of the breaker settings (3 failures, 1 success, 30 s); tests inject a clock. */
  breaker?: CircuitBreakerOptions;
  /** Monotonic milliseconds for latency. */
  now?: () => number;
}

export type KarnMessage = v1.BlueprintQuery | v1.TimerFired;

export interface KarnActorState {
  karn: KarnState;
  packetsSent: number;
}

/**
 * Karn as an actor. State (metrics, breaker, pending events) lives in the actor and starts afresh on restart;
 * the catalog is shared and fixed, so a restart loses no blueprint.
 */
export function karnLogic(options: KarnActorOptions): ActorLogic<KarnActorState, KarnMessage> {
  const sendTelemetry = (state: KarnActorState, ctx: ActorContext<KarnMessage>): void => {
    state.packetsSent += 1;
    const packet = buildKarnTelemetry(state.karn, `karn-${ctx.incarnation}-${state.packetsSent}`);
    if (options.telemetry) ctx.dispatch(options.telemetry, packet);
  };
  return {
    kind: 'karn',
    accepts: [leyline.BlueprintQuery, leyline.TimerFired],
    start(ctx) {
      ctx.every(KARN_TELEMETRY_TIMER, options.telemetryIntervalMs ?? DEFAULT_TELEMETRY_INTERVAL_MS);
      const karn = createKarnState({
        catalog: options.catalog,
        ...(options.approved ? { approved: options.approved } : {}),
        ...(options.breaker ? { breaker: options.breaker } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
      return { karn, packetsSent: 0 };
    },
    receive(state, message, ctx) {
      if (message instanceof leyline.TimerFired) {
        if (message.timerId === KARN_TELEMETRY_TIMER) sendTelemetry(state, ctx);
        return state;
      }
      const selection = handleQuery(state.karn, message);
      if (selection.rejection === Rejection.BLUEPRINT_REJECTION_INTERNAL) {
        ctx.log.warn('blueprint query failed inside Karn', { request: message.requestId, error: selection.error });
      }
      ctx.reply(selection);
      return state;
    },
    stop(state, ctx) {
      // Events since the last packet would otherwise be lost with the actor.
      if (state.karn.events.length > 0) sendTelemetry(state, ctx);
    },
    inspect(state) {
      const { metrics, breaker, catalog } = state.karn;
      return {
        blueprints: String(catalog.size),
        requests_total: String(metrics.requestsTotal),
        requests_failed: String(metrics.requestsFailed),
        breaker_denied: String(metrics.breakerDenied),
        breaker_state: breakerStateName(breaker.state),
        events_pending: String(state.karn.events.length),
        events_dropped: String(state.karn.eventsDropped),
        packets_sent: String(state.packetsSent),
      };
    },
  };
}
