// Runs `esper inspect` command lines against the running system: questions go to the tree's inspector actor as
// InspectorRequests (it forwards telemetry to the telemetry log and alerts to Nissa), `send` delivers a message
// built from JSON and waits for the actor's answer (a refusal is an error), and the answers come back as text
// (inspect-commands.ts).
import { leyline, type LeylineMessage, type v1 } from '../contracts/index.ts';
import { leylineFromJson, leylineTypeNames } from '../contracts/json.ts';
import { AskTimeoutError, DeliveryTimeoutError } from '../runtime/errors.ts';
import type { ActorRef } from '../runtime/logic.ts';
import type { ActorSystem } from '../runtime/system.ts';
import {
  completeLine,
  formatActor,
  formatAlerts,
  formatControl,
  formatHelp,
  formatSeeds,
  formatSendAnswer,
  formatTelemetry,
  parseCommand,
  type InspectCommand,
} from './inspect-commands.ts';
import { formatTree } from './format-tree.ts';

const Action = leyline.ActorControl.Action;

/** Questions are answered from memory; the telemetry log and Nissa are asked in turn within 2 s. */
const ASK_DEADLINE_MS = 5_000;
/** A restart waits for the start-up, a pause for the handler in progress (a training slice and its boundary). */
const CONTROL_DEADLINE_MS = 30_000;
/** How long `send` waits for the message to be handled and answered before it reports it queued (or unanswered). */
const SEND_DEADLINE_MS = 2_000;

export interface InspectTarget {
  system: ActorSystem;
  inspector: ActorRef<v1.InspectorRequest>;
  /** The trainer's path: what pause and resume act on when no path is given. */
  trainer: string | null;
  /** Kasmina's seed manager: its children are the seeds. */
  seedManager: string | null;
}

export type Answer = { ok: true; text: string } | { ok: false; error: string };

// A reply's repeated fields are typed by their properties; these give them their classes back.

export class InspectRunner {
  #requests = 0;

  constructor(private readonly target: InspectTarget) {}

  async run(line: string): Promise<Answer> {
    const parsed = parseCommand(line);
    if (!parsed.ok) return { ok: false, error: parsed.error };
    try {
      return await this.#execute(parsed.command);
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Candidates for the word being typed: commands, the live tree's paths, Leyline type names. */
  async complete(line: string): Promise<[string[], string]> {
    const paths = await this.#ask({ tree: leyline.TreeQuery.create() }).then(
      (reply) => reply.actors.map((actor) => actor.path),
      () => [],
    );
    return completeLine(line, { paths, types: leylineTypeNames() });
  }

  async #execute(command: InspectCommand): Promise<Answer> {
    const text = (value: string): Answer => ({ ok: true, text: value });
    switch (command.kind) {
      case 'help':
        return text(formatHelp(command.topic));
      case 'tree':
        return text(formatTree((await this.#ask({ tree: leyline.TreeQuery.create() })).actors));
      case 'actor':
        return text(
          formatActor((await this.#ask({ actor: leyline.ActorQuery.create({ path: command.path }) })).actors[0]!),
        );
      case 'seeds':
        return this.#seeds();
      case 'alerts':
        return text(formatAlerts(await this.#ask({ alerts: leyline.AlertsQuery.create({ limit: command.limit }) })));
      case 'tail': {
        const reply = await this.#ask({
          telemetry: leyline.TelemetryQuery.create({ limit: command.limit, sourceSubsystem: command.source }),
        });
        return text(formatTelemetry(reply.telemetry, command.source));
      }
      case 'send':
        return this.#send(command.path, command.type, command.json);
      case 'control': {
        const path = command.path ?? this.target.trainer;
        if (path === null)
          return {
            ok: false,
            error: `${Action[command.action]?.replace('ACTION_', '').toLowerCase()} needs a path: this tree has no trainer`,
          };
        const reply = await this.#ask(
          { control: leyline.ActorControl.create({ path, action: command.action }) },
          CONTROL_DEADLINE_MS,
        );
        return text(formatControl(command.action, path, reply.actors[0]));
      }
    }
  }

  async #seeds(): Promise<Answer> {
    const manager = this.target.seedManager;
    if (manager === null) return { ok: false, error: 'this tree has no seed manager (kasmina-manager)' };
    const tree = await this.#ask({ tree: leyline.TreeQuery.create() });
    const paths = tree.actors.find((actor) => actor.path === manager)?.children ?? [];
    // A seed that ends between the two questions is left out.
    const seeds = await Promise.all(
      paths.map((path) =>
        this.#ask({ actor: leyline.ActorQuery.create({ path }) }).then(
          (reply) => reply.actors,
          () => [],
        ),
      ),
    );
    return { ok: true, text: formatSeeds(seeds.flat()) };
  }

  async #send(path: string, type: string, json: string): Promise<Answer> {
    const { system } = this.target;
    const ref: ActorRef<LeylineMessage> = { path, system: system.name };
    if (!system.isAlive(ref)) return { ok: false, error: `no live actor at ${path} (see tree)` };
    const built = leylineFromJson(type, json);
    if (!built.ok) return { ok: false, error: built.error };
    const sent = `sent ${type} to ${path}`;
    try {
      // Refused types (the actor's `accepts`) reject here, with the list it accepts; a handler's failure too.
      return formatSendAnswer(type, path, await system.request(ref, built.message, SEND_DEADLINE_MS));
    } catch (error) {
      if (error instanceof DeliveryTimeoutError)
        return { ok: true, text: `${sent}; queued, not handled within ${SEND_DEADLINE_MS} ms (paused or busy)` };
      if (error instanceof AskTimeoutError)
        return { ok: true, text: `${sent}; handled, but no answer within ${SEND_DEADLINE_MS} ms` };
      throw error;
    }
  }

  async #ask(fields: Partial<v1.InspectorRequest>, deadlineMs = ASK_DEADLINE_MS): Promise<v1.InspectorReply> {
    this.#requests += 1;
    const request = leyline.InspectorRequest.create({ requestId: `inspect-${this.#requests}`, ...fields });
    const reply = await this.target.system.ask(this.target.inspector, request, leyline.InspectorReply, deadlineMs);
    if (!reply.ok) throw new Error(reply.error);
    return reply;
  }
}
