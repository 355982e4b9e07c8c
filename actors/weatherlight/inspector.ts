// Answers InspectorRequests about the running system: the live tree, one actor, dead letters, the telemetry
// tail (from the telemetry log), alerts (from Nissa), and restart/stop/pause/resume of an actor. The REPL
// (`esper inspect`) and tests talk to it with `ask`.
import { leyline, type v1 } from '../../contracts/index.ts';
import { describeError } from '../../runtime/errors.ts';
import type { ActorLogic, ActorRef, AnyRef } from '../../runtime/logic.ts';
import type { ActorSystem } from '../../runtime/system.ts';

const { SupervisorDirective, TerminationReason } = leyline;
const Action = leyline.ActorControl.Action;

/** How long the inspector waits for the telemetry log's or Nissa's answer. */
const TELEMETRY_DEADLINE_MS = 2_000;

export function inspectorLogic(
  system: ActorSystem,
  telemetry: ActorRef<v1.TelemetryPacket | v1.InspectorRequest> | null,
  nissa: ActorRef<v1.InspectorRequest> | null,
): ActorLogic<null, v1.InspectorRequest> {
  const answer = async (request: v1.InspectorRequest, self: string): Promise<v1.InspectorReply> => {
    const reply = (fields: Partial<v1.InspectorReply>): v1.InspectorReply =>
      leyline.InspectorReply.create({ requestId: request.requestId, ok: true, ...fields });
    const refuse = (error: string): v1.InspectorReply =>
      leyline.InspectorReply.create({ requestId: request.requestId, ok: false, error });
    switch (request.query) {
      case 'tree':
        return reply({ actors: system.tree() });
      case 'actor': {
        const path = request.actor?.path ?? '';
        const state = system.describe(path);
        return state ? reply({ actors: [state] }) : refuse(`no live actor at ${JSON.stringify(path)}`);
      }
      case 'deadLetters': {
        const limit = request.deadLetters?.limit || undefined;
        return reply({
          deadLetters: system.deadLetters.recent(limit),
          deadLettersTotal: BigInt(system.deadLetters.stats().total),
        });
      }
      case 'telemetry': {
        if (!telemetry) return refuse('this tree has no telemetry log');
        return system.ask(telemetry, request, leyline.InspectorReply, TELEMETRY_DEADLINE_MS);
      }
      case 'alerts': {
        if (!nissa) return refuse('this tree has no Nissa (nissa-ingest), which keeps the alerts');
        return system.ask(nissa, request, leyline.InspectorReply, TELEMETRY_DEADLINE_MS);
      }
      case 'control': {
        const path = request.control?.path ?? '';
        const ref: AnyRef = { path, system: system.name };
        if (!system.isAlive(ref)) return refuse(`no live actor at ${JSON.stringify(path)}`);
        // Waiting on our own stop (or an ancestor's) would never end: that is what shutdown is for.
        if (self === path || self.startsWith(`${path}/`))
          return refuse(`${path} contains the inspector itself; stop the run instead`);
        if (request.control?.action === Action.ACTION_RESTART) {
          await system.decide(ref, SupervisorDirective.SUPERVISOR_DIRECTIVE_RESTART);
        } else if (request.control?.action === Action.ACTION_STOP) {
          await system.stop(ref, TerminationReason.TERMINATION_REASON_NORMAL);
        } else if (request.control?.action === Action.ACTION_PAUSE) {
          // Answered once the pause holds, so the asker knows the actor handles nothing more.
          await system.pause(ref);
        } else if (request.control?.action === Action.ACTION_RESUME) {
          system.resume(ref);
        } else {
          return refuse('control needs an action: ACTION_RESTART, ACTION_STOP, ACTION_PAUSE or ACTION_RESUME');
        }
        return reply({ actors: [system.describe(path)].filter((w): w is v1.WorkerState => w !== null) });
      }
      default:
        return refuse('empty request: set one of tree, actor, dead_letters, control, telemetry, alerts');
    }
  };
  return {
    kind: 'inspector',
    accepts: [leyline.InspectorRequest],
    start: () => null,
    async receive(state, request, ctx) {
      try {
        ctx.reply(await answer(request, ctx.path));
      } catch (error) {
        ctx.reply(
          leyline.InspectorReply.create({ requestId: request.requestId, ok: false, error: describeError(error) }),
        );
      }
      return state;
    },
  };
}
