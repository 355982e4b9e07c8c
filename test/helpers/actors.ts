// Test actors: a probe whose start-up and handlers report to an EventLog and can be told to fail.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { ActorLogic } from '../../runtime/logic.ts';
import { ActorSystem } from '../../runtime/system.ts';
import type { EventLog } from './events.ts';

export type ProbeEvent =
  | { kind: 'start'; id: string; incarnation: number }
  | { kind: 'receive'; id: string; name: string; incarnation: number }
  | { kind: 'stop'; id: string; incarnation: number };

export interface ProbeBehaviour {
  /** Throw from start-up while this returns true. */
  failStart?: (incarnation: number) => boolean;
  /** Awaited inside receive before handling (to hold an actor busy). */
  holdOn?: (message: v1.MetricPoint) => Promise<void> | undefined;
}

/** Messages are MetricPoints: name "boom" throws, "get" replies with the count so far, anything else counts. */
export function probeLogic(
  id: string,
  log: EventLog<ProbeEvent>,
  behaviour: ProbeBehaviour = {},
): ActorLogic<{ count: number }, v1.MetricPoint> {
  return {
    kind: 'probe',
    accepts: [leyline.MetricPoint],
    start(ctx) {
      log.push({ kind: 'start', id, incarnation: ctx.incarnation });
      if (behaviour.failStart?.(ctx.incarnation)) throw new Error(`${id} cannot start`);
      return { count: 0 };
    },
    async receive(state, message, ctx) {
      log.push({ kind: 'receive', id, name: message.name, incarnation: ctx.incarnation });
      const hold = behaviour.holdOn?.(message);
      if (hold) await hold;
      if (message.name === 'boom') throw new Error(`${id} went boom`);
      if (message.name === 'get') ctx.reply(leyline.MetricPoint.create({ name: 'count', value: state.count }));
      return { count: state.count + 1 };
    },
    stop(_state, ctx) {
      log.push({ kind: 'stop', id, incarnation: ctx.incarnation });
    },
  };
}

/** An actor that reports every Terminated notice it receives (watch something with it). */
export function watcherLogic(notices: EventLog<v1.Terminated>): ActorLogic<null, v1.Terminated> {
  return {
    kind: 'watcher',
    start: () => null,
    receive(state, message) {
      notices.push(message);
      return state;
    },
  };
}

export const metric = (name: string): v1.MetricPoint => leyline.MetricPoint.create({ name });

let systems = 0;
export function testSystem(): ActorSystem {
  systems += 1;
  return new ActorSystem({ name: `test-${process.pid}-${systems}` });
}
