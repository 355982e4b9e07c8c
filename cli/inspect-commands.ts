// `esper inspect`'s commands: parsing a command line (a one-line error for bad input), completing one (command
// names, actor paths, Leyline type names) and the text of each answer. Pure: the server (inspect-server.ts) runs
// the commands against a live system; the unit tests call these directly.
import { leyline, leylineTypeName, type LeylineMessage, type v1 } from '../contracts/index.ts';
import { leylineToJson } from '../contracts/json.ts';
import { fromTimestamp, type TimestampLike } from '../contracts/time.ts';
import { statusName } from './format-tree.ts';

const Action = leyline.ActorControl.Action;
const PACKAGE_PREFIX = 'esper.leyline.v1.';

export type InspectCommand =
  | { kind: 'help'; topic: string | null }
  | { kind: 'tree' }
  | { kind: 'actor'; path: string }
  | { kind: 'seeds' }
  | { kind: 'alerts'; limit: number }
  | { kind: 'tail'; source: string; limit: number }
  | { kind: 'send'; path: string; type: string; json: string }
  /** path null: the command's default actor (the trainer, for pause and resume). */
  | { kind: 'control'; action: v1.ActorControl.Action; path: string | null };

export type Parsed = { ok: true; command: InspectCommand } | { ok: false; error: string };

/** What a positional argument is, for completion. */
type Argument = 'path' | 'type' | 'command' | 'telemetry';

interface CommandSpec {
  usage: string;
  summary: string;
  args: readonly Argument[];
  options?: readonly string[];
}

/** How many telemetry packets or alert events a command shows unless told (`--limit`). */
export const DEFAULT_LIMIT = 20;

const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  tree: { usage: 'tree', summary: 'the live supervision tree: status, restarts, mailbox depth', args: [] },
  actor: {
    usage: 'actor <path>',
    summary: 'one actor: status, restarts, mailbox, its key facts and last messages',
    args: ['path'],
  },
  seeds: { usage: 'seeds', summary: "Kasmina's seeds: id, slot, blueprint, stage, α, age in epochs", args: [] },
  alerts: {
    usage: 'alerts [--limit <n>]',
    summary: "Nissa's alerts: those firing now and the latest events",
    args: [],
    options: ['--limit'],
  },
  tail: {
    usage: 'tail telemetry [--source <subsystem>] [--limit <n>]',
    summary: 'the latest telemetry packets the telemetry log keeps, of one source or all',
    args: ['telemetry'],
    options: ['--source', '--limit'],
  },
  send: {
    usage: 'send <path> <LeylineType> <json>',
    summary: 'deliver a Leyline message, its fields as JSON, to an actor',
    args: ['path', 'type'],
  },
  restart: { usage: 'restart <path>', summary: 'restart an actor (and its children)', args: ['path'] },
  stop: { usage: 'stop <path>', summary: 'stop an actor (its supervisor restarts a permanent one)', args: ['path'] },
  pause: {
    usage: 'pause [<path>]',
    summary: "hold an actor's messages from its next one on (default: the trainer, which stops between slices)",
    args: ['path'],
  },
  resume: { usage: 'resume [<path>]', summary: 'end a pause (default: the trainer)', args: ['path'] },
  help: { usage: 'help [<command>]', summary: 'the commands, or one of them', args: ['command'] },
};

const CONTROL: Readonly<Record<string, v1.ActorControl.Action>> = {
  restart: Action.ACTION_RESTART,
  stop: Action.ACTION_STOP,
  pause: Action.ACTION_PAUSE,
  resume: Action.ACTION_RESUME,
};

export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

const ok = (command: InspectCommand): Parsed => ({ ok: true, command });
const fail = (error: string): Parsed => ({ ok: false, error });

export function parseCommand(line: string): Parsed {
  const text = line.trim();
  const [name = '', ...args] = text.split(/\s+/);
  const spec = COMMANDS[name];
  if (!spec) {
    return fail(
      name === ''
        ? 'no command (help lists them)'
        : `unknown command ${JSON.stringify(name)}; commands: ${COMMAND_NAMES.join(', ')}`,
    );
  }
  const usage = fail(`usage: ${spec.usage}`);
  switch (name) {
    case 'tree':
      return args.length === 0 ? ok({ kind: 'tree' }) : usage;
    case 'seeds':
      return args.length === 0 ? ok({ kind: 'seeds' }) : usage;
    case 'help':
      if (args.length > 1) return usage;
      if (args[0] !== undefined && !COMMANDS[args[0]])
        return fail(`help: no command ${JSON.stringify(args[0])}; commands: ${COMMAND_NAMES.join(', ')}`);
      return ok({ kind: 'help', topic: args[0] ?? null });
    case 'actor':
      return args.length === 1 ? withPath(args[0]!, (path) => ok({ kind: 'actor', path })) : usage;
    case 'alerts': {
      const options = parseOptions(args, spec);
      return typeof options === 'string' ? fail(options) : ok({ kind: 'alerts', limit: options.limit });
    }
    case 'tail': {
      if (args[0] !== 'telemetry') return usage;
      const options = parseOptions(args.slice(1), spec);
      return typeof options === 'string'
        ? fail(options)
        : ok({ kind: 'tail', source: options.source, limit: options.limit });
    }
    case 'send': {
      // The JSON is the rest of the line, spaces and all.
      const match = /^send\s+(\S+)\s+(\S+)\s+(.+)$/s.exec(text);
      if (!match) return usage;
      const [, path = '', type = '', json = ''] = match;
      return withPath(path, () => ok({ kind: 'send', path, type, json }));
    }
    default: {
      const action = CONTROL[name]!;
      const optional = action === Action.ACTION_PAUSE || action === Action.ACTION_RESUME;
      if (args.length > 1 || (args.length === 0 && !optional)) return usage;
      if (args[0] === undefined) return ok({ kind: 'control', action, path: null });
      return withPath(args[0], (path) => ok({ kind: 'control', action, path }));
    }
  }
}

function withPath(path: string, then: (path: string) => Parsed): Parsed {
  if (!path.startsWith('/'))
    return fail(
      `an actor path starts with "/" (e.g. /weatherlight/tolaria/trainer; see tree), got ${JSON.stringify(path)}`,
    );
  return then(path.length > 1 ? path.replace(/\/+$/, '') : path);
}

/** `--source <s>` and `--limit <n>`, where the command takes them; a string is the error. */
function parseOptions(args: readonly string[], spec: CommandSpec): { source: string; limit: number } | string {
  const found = { source: '', limit: DEFAULT_LIMIT };
  for (let i = 0; i < args.length; i += 2) {
    const option = args[i]!;
    const value = args[i + 1];
    if (!spec.options?.includes(option)) return `usage: ${spec.usage}`;
    if (value === undefined) return `${option} needs a value; usage: ${spec.usage}`;
    if (option === '--source') {
      found.source = value;
    } else {
      found.limit = Number(value);
      if (!Number.isInteger(found.limit) || found.limit < 1)
        return `--limit needs a whole number ≥ 1, got ${JSON.stringify(value)}`;
    }
  }
  return found;
}

// ---- completion -------------------------------------------------------------------------------------------

export interface CompletionSources {
  paths: readonly string[];
  types: readonly string[];
}

/** readline's completer answer for `line` (up to the cursor): the candidates and the word they replace. */
export function completeLine(line: string, sources: CompletionSources): [string[], string] {
  const words = line.trimStart().split(/\s+/);
  const fragment = words[words.length - 1] ?? '';
  const pick = (candidates: readonly string[]): [string[], string] => [
    candidates.filter((c) => c.startsWith(fragment)),
    fragment,
  ];
  if (words.length === 1) return pick(COMMAND_NAMES);
  const spec = COMMANDS[words[0]!];
  if (!spec) return [[], fragment];
  const position = words.length - 2;
  // The value of an option, or the JSON of `send`: nothing to offer.
  if (spec.options?.includes(words[words.length - 2]!)) return [[], fragment];
  if (position >= spec.args.length || fragment.startsWith('-')) return pick(spec.options ?? []);
  const argument = spec.args[position];
  if (argument === 'path') return pick(sources.paths);
  if (argument === 'type') return pick(sources.types);
  if (argument === 'command') return pick(COMMAND_NAMES);
  return pick(['telemetry']);
}

// ---- answers as text --------------------------------------------------------------------------------------

/** HH:MM:SS.mmm (UTC, as the logs). */
function clock(timestamp: TimestampLike | null | undefined): string {
  return timestamp ? new Date(fromTimestamp(timestamp)).toISOString().slice(11, 23) : '--:--:--.---';
}

const shortType = (name: string): string =>
  name.startsWith(PACKAGE_PREFIX) ? name.slice(PACKAGE_PREFIX.length) : name;

/** Rows as columns, each as wide as its widest cell. */
function table(rows: ReadonlyArray<readonly string[]>, indent = ''): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  return rows
    .map((row) => `${indent}${row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ')}`)
    .join('\n');
}

export function formatHelp(topic: string | null): string {
  if (topic !== null) {
    const spec = COMMANDS[topic]!;
    return `${spec.usage}\n  ${spec.summary}`;
  }
  return `${table(COMMAND_NAMES.map((name) => [COMMANDS[name]!.usage, COMMANDS[name]!.summary]))}\nPaths and types complete with Tab; exit or Ctrl-D leaves.`;
}

export function formatActor(state: v1.WorkerState, now = Date.now()): string {
  const status = `${statusName(state.status)}${state.paused ? ', paused' : ''}`;
  const up = state.startedAt ? `  up ${((now - fromTimestamp(state.startedAt)) / 1000).toFixed(1)} s` : '';
  const capacity = state.mailboxCapacity ? `/${state.mailboxCapacity}` : '';
  const lines = [
    `${state.path}  ${status}`,
    `  restarts ${state.restartCount}  mailbox ${state.mailboxDepth}${capacity}  handled ${state.messagesProcessed}${up}`,
  ];
  if (state.lastError) lines.push(`  last error ${clock(state.lastErrorAt)}  ${state.lastError}`);
  if (state.children.length > 0) lines.push(`  children ${state.children.join(', ')}`);
  const facts = Object.entries(state.facts).sort(([a], [b]) => a.localeCompare(b));
  if (facts.length > 0) lines.push('  facts', table(facts, '    '));
  if (state.recentMessages.length > 0) {
    lines.push(
      '  last messages, newest first',
      table(
        state.recentMessages.map((m) => [clock(m.at), shortType(m.messageType ?? '')]),
        '    ',
      ),
    );
  }
  return lines.join('\n');
}

/** One row per seed actor, from its facts (the seed actor's `inspect`). */
export function formatSeeds(seeds: readonly v1.WorkerState[]): string {
  if (seeds.length === 0) return 'no seeds';
  const rows = seeds.map((seed) => {
    const f = seed.facts;
    return [f.seed_id || seed.name, f.slot ?? '', f.blueprint ?? '', f.stage ?? '', f.alpha ?? '', f.age_epochs ?? ''];
  });
  return table([['id', 'slot', 'blueprint', 'stage', 'α', 'age'], ...rows]);
}

function alertLine(alert: v1.AlertRecord.$Properties): string[] {
  return [
    alert.rule ?? '',
    `source ${alert.source ?? ''}`,
    `${alert.metric ?? ''} = ${alert.value ?? 0} (threshold ${alert.threshold ?? 0})`,
  ];
}

export function formatAlerts(reply: v1.InspectorReply): string {
  if (reply.activeAlerts.length === 0 && reply.alerts.length === 0) return 'no alerts';
  const active =
    reply.activeAlerts.length === 0
      ? 'firing now: none'
      : `firing now:\n${table(
          reply.activeAlerts.map((a) => [...alertLine(a), `since ${clock(a.at)}`]),
          '  ',
        )}`;
  const history =
    reply.alerts.length === 0
      ? ''
      : `\nlatest events, oldest first:\n${table(
          reply.alerts.map((a) => [clock(a.at), a.resolved ? 'resolved' : 'fired', ...alertLine(a)]),
          '  ',
        )}`;
  return active + history;
}

const METRICS_SHOWN = 6;

export function formatTelemetry(packets: readonly v1.TelemetryPacket[], source: string): string {
  if (packets.length === 0) return source ? `no telemetry from ${source}` : 'no telemetry';
  return packets
    .map((packet) => {
      const level = (leyline.TelemetryLevel[packet.level] ?? '').replace('TELEMETRY_LEVEL_', '').toLowerCase();
      const metrics = packet.metrics
        .slice(0, METRICS_SHOWN)
        .map((m) => `${m.name ?? ''}=${Number((m.value ?? 0).toPrecision(6))}`);
      if (packet.metrics.length > METRICS_SHOWN) metrics.push(`(+${packet.metrics.length - METRICS_SHOWN} more)`);
      const events = packet.events.length > 0 ? `  events: ${packet.events.map((e) => e.description).join(', ')}` : '';
      return `${clock(packet.timestamp)}  ${packet.sourceSubsystem}  ${level}  ${metrics.join(' ')}${events}`;
    })
    .join('\n');
}

/** The answer to restart, stop, pause or resume: what became of the actor. */
export function formatControl(action: v1.ActorControl.Action, path: string, after: v1.WorkerState | undefined): string {
  if (action === Action.ACTION_RESTART) return `restarted ${path} (restarts ${after?.restartCount ?? '?'})`;
  if (action === Action.ACTION_PAUSE)
    return `paused ${path}: its messages wait (${after?.mailboxDepth ?? 0} queued) until resume`;
  if (action === Action.ACTION_RESUME) return `resumed ${path}`;
  return after ? `stopped ${path}; its supervisor restarted it (restarts ${after.restartCount})` : `stopped ${path}`;
}

/**
 * Why an answer says no, or null when it does not: a receipt not applied, a reply that is not ok, an error answer,
 * a training request that published nothing.
 */
export function refusalOf(reply: LeylineMessage): string | null {
  if (reply instanceof leyline.AdaptationReceipt) return reply.applied ? null : reply.reason || 'not applied';
  if (reply instanceof leyline.KernelArtifactError) return reply.reason || 'no kernel';
  if (reply instanceof leyline.SimicTrainResult)
    return reply.published ? null : reply.reasons.join('; ') || 'nothing published';
  if (
    reply instanceof leyline.InspectorReply ||
    reply instanceof leyline.BlueprintSelection ||
    reply instanceof leyline.CompileResult ||
    reply instanceof leyline.EpisodeResult
  ) {
    return reply.ok ? null : reply.error || 'not ok';
  }
  return null;
}

/** The answer to `send`: handled without an answer, answered, or refused (an error: `--exec` exits 1). */
export function formatSendAnswer(
  type: string,
  path: string,
  reply: LeylineMessage | null,
): { ok: true; text: string } | { ok: false; error: string } {
  if (reply === null) return { ok: true, text: `sent ${type} to ${path}; handled` };
  const answer = `${shortType(leylineTypeName(reply))} ${leylineToJson(reply)}`;
  const refusal = refusalOf(reply);
  if (refusal !== null) return { ok: false, error: `${path} refused ${type}: ${refusal} (answered ${answer})` };
  return { ok: true, text: `sent ${type} to ${path}; answered ${answer}` };
}
