// The bus actor (`oona/bus`, kind `oona-bus`): any bus message dispatched to it is published (never waiting on
// the transport, so a producer on the training path is never held up); each route subscribes an actor to a stream
// in a consumer group, and a message is acknowledged only once that actor has handled it (ActorSystem.deliver),
// so a crash mid-handling means a redelivery, not a loss. Timers: housekeeping, the bus's own metrics telemetry,
// and the backlog depths that route publishes.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { AnyLeylineType, LeylineMessage } from '../../contracts/index.ts';
import type { ActorLogic, ActorRef } from '../../runtime/logic.ts';
import type { OonaClient } from './oona-client.ts';
import { BUS_MESSAGE_CLASSES, isBusMessage, type BusMessage } from './routing.ts';
import type { Subscription } from './subscription.ts';

export interface BusRoute {
  stream: string;
  group: string;
  /** The actor that handles what arrives (it must accept those types). */
  to: ActorRef<BusMessage>;
  types?: readonly v1.BusMessageType[];
  /** How long the actor may take with one message before the delivery counts as failed. Default 30 s. */
  deadlineMs?: number;
  /** Messages taken per read (1: one at a time, so processes sharing the group share the work). Default 50. */
  count?: number;
  /**
   * Ask instead of deliver: the message is done when the actor answers with `reply` (e.g. a compile job's result,
   * not its queueing), and `answerToMessage` may turn the answer into a message to publish.
   */
  ask?: { reply: AnyLeylineType; answerToMessage?: (answer: LeylineMessage) => BusMessage | null };
}

export interface OonaBusDeps {
  client: OonaClient;
  routes: readonly BusRoute[];
  /** Every this often the bus publishes its metrics as telemetry (0: never). Default 10 s. */
  metricsIntervalMs?: number;
}

interface BusState {
  subscriptions: Subscription[];
  published: number;
  refused: number;
}

const HOUSEKEEPING = 'oona.housekeeping';
const METRICS = 'oona.metrics';
const BACKLOG = 'oona.backlog';

export type BusActorMessage = BusMessage | v1.TimerFired;

export function oonaLogic(deps: OonaBusDeps): ActorLogic<BusState, BusActorMessage> {
  const { client } = deps;
  return {
    kind: 'oona-bus',
    accepts: [...BUS_MESSAGE_CLASSES, leyline.TimerFired],
    start(ctx) {
      const subscriptions = deps.routes.map((route) =>
        client.subscribe({
          stream: route.stream,
          group: route.group,
          ...(route.types ? { types: route.types } : {}),
          ...(route.count ? { count: route.count } : {}),
          handler: async (message) => {
            const deadline = route.deadlineMs ?? 30_000;
            if (!route.ask) return ctx.deliver(route.to, message, deadline);
            const answer = await ctx.ask(route.to, message, route.ask.reply, deadline);
            const follow = route.ask.answerToMessage?.(answer);
            if (follow) client.publish(follow);
          },
        }),
      );
      ctx.every(HOUSEKEEPING, client.settings.housekeepingIntervalMs);
      const metricsMs = deps.metricsIntervalMs ?? 10_000;
      if (metricsMs > 0) ctx.every(METRICS, metricsMs);
      if (client.settings.emergencyThreshold > 0 || client.settings.backpressureDropThreshold > 0)
        ctx.every(BACKLOG, 1_000);
      return { subscriptions, published: 0, refused: 0 };
    },
    async receive(state, message, ctx) {
      if (message instanceof leyline.TimerFired) {
        if (message.timerId === HOUSEKEEPING) await client.housekeeping();
        else if (message.timerId === BACKLOG) await client.refreshBacklog();
        else if (message.timerId === METRICS) client.publish(await client.metricsTelemetry());
        return state;
      }
      if (!isBusMessage(message)) return state;
      const result = client.publish(message);
      // A refusal is counted by the client under its reason (oona.publish_dropped, oona.conservative_shed, ...).
      if (result.ok) state.published += 1;
      else {
        state.refused += 1;
        // Shedding and backpressure are the bus working as meant; a message that can never fit is a defect to see.
        if (result.reason === 'oversized' || result.reason === 'buffer_full')
          ctx.log.warn(`publish refused: ${result.detail}`);
      }
      return state;
    },
    async stop(state) {
      await Promise.all(state.subscriptions.map((s) => client.unsubscribe(s)));
    },
    inspect: (state) => ({
      store: client.store.kind,
      published: String(state.published),
      refused: String(state.refused),
      buffered: String(client.buffered),
      conservative: String(client.conservative.active),
      routes: deps.routes.map((r) => `${r.stream}[${r.group}]→${r.to.path}`).join(', '),
    }),
  };
}
