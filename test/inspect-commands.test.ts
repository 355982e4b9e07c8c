// `esper inspect`'s command lines without a socket: parsing (and its one-line errors), completion, the answers'
// text, and Leyline messages from JSON (contracts/json.ts).
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { leylineFromJson, leylineToJson, leylineTypeNames } from '../contracts/json.ts';
import { toTimestamp } from '../contracts/time.ts';
import {
  completeLine,
  DEFAULT_LIMIT,
  formatActor,
  formatAlerts,
  formatControl,
  formatHelp,
  formatSeeds,
  formatSendAnswer,
  formatTelemetry,
  parseCommand,
  refusalOf,
} from '../cli/inspect-commands.ts';

const Action = leyline.ActorControl.Action;

test('command lines parse into commands', (t) => {
  t.deepEqual(parseCommand('  tree '), { ok: true, command: { kind: 'tree' } });
  t.deepEqual(parseCommand('actor /weatherlight/tolaria/trainer/'), {
    ok: true,
    command: { kind: 'actor', path: '/weatherlight/tolaria/trainer' },
  });
  t.deepEqual(parseCommand('seeds'), { ok: true, command: { kind: 'seeds' } });
  t.deepEqual(parseCommand('alerts'), { ok: true, command: { kind: 'alerts', limit: DEFAULT_LIMIT } });
  t.deepEqual(parseCommand('alerts --limit 3'), { ok: true, command: { kind: 'alerts', limit: 3 } });
  t.deepEqual(parseCommand('tail telemetry'), {
    ok: true,
    command: { kind: 'tail', source: '', limit: DEFAULT_LIMIT },
  });
  t.deepEqual(parseCommand('tail telemetry --source tolaria --limit 5'), {
    ok: true,
    command: { kind: 'tail', source: 'tolaria', limit: 5 },
  });
  t.deepEqual(parseCommand('send /weatherlight/telemetry TelemetryPacket {"sourceSubsystem": "a b"}'), {
    ok: true,
    command: {
      kind: 'send',
      path: '/weatherlight/telemetry',
      type: 'TelemetryPacket',
      json: '{"sourceSubsystem": "a b"}',
    },
  });
  t.deepEqual(parseCommand('restart /weatherlight/karn'), {
    ok: true,
    command: { kind: 'control', action: Action.ACTION_RESTART, path: '/weatherlight/karn' },
  });
  t.deepEqual(parseCommand('stop /weatherlight/karn'), {
    ok: true,
    command: { kind: 'control', action: Action.ACTION_STOP, path: '/weatherlight/karn' },
  });
  t.deepEqual(parseCommand('pause'), {
    ok: true,
    command: { kind: 'control', action: Action.ACTION_PAUSE, path: null },
  });
  t.deepEqual(parseCommand('resume /weatherlight/simic/trainer'), {
    ok: true,
    command: { kind: 'control', action: Action.ACTION_RESUME, path: '/weatherlight/simic/trainer' },
  });
  t.deepEqual(parseCommand('help'), { ok: true, command: { kind: 'help', topic: null } });
  t.deepEqual(parseCommand('help send'), { ok: true, command: { kind: 'help', topic: 'send' } });
});

test('bad command lines get a one-line error naming the problem', (t) => {
  const error = (line: string): string => {
    const parsed = parseCommand(line);
    return parsed.ok ? 'parsed' : parsed.error;
  };
  t.regex(
    error('frobnicate now'),
    /^unknown command "frobnicate"; commands: tree, actor, seeds, alerts, tail, send, restart, stop, pause, resume, help$/,
  );
  t.is(error(''), 'no command (help lists them)');
  t.is(error('actor'), 'usage: actor <path>');
  t.is(error('tree extra'), 'usage: tree');
  t.regex(error('actor weatherlight'), /an actor path starts with "\/".*got "weatherlight"/);
  t.is(error('restart'), 'usage: restart <path>', 'restart needs a path; pause does not');
  t.is(error('send /a TelemetryPacket'), 'usage: send <path> <LeylineType> <json>');
  t.regex(error('send a TelemetryPacket {}'), /an actor path starts with "\/"/);
  t.is(error('tail logs'), 'usage: tail telemetry [--source <subsystem>] [--limit <n>]');
  t.regex(error('tail telemetry --source'), /^--source needs a value/);
  t.regex(error('tail telemetry --limit 0'), /^--limit needs a whole number ≥ 1, got "0"/);
  t.regex(error('alerts --source x'), /^usage: alerts/);
  t.regex(error('help nope'), /^help: no command "nope"/);
  for (const line of ['actor', 'frobnicate', 'tail telemetry --limit x']) t.false(error(line).includes('\n'), line);
});

test('completion offers commands, live paths, Leyline types and options, for the word being typed', (t) => {
  const sources = {
    paths: ['/weatherlight', '/weatherlight/tolaria', '/weatherlight/tolaria/trainer', '/weatherlight/telemetry'],
    types: ['TelemetryPacket', 'TelemetryEvent', 'TimerFired'],
  };
  t.deepEqual(completeLine('re', sources), [['restart', 'resume'], 're']);
  t.is(completeLine('', sources)[0].length, 11, 'every command');
  t.deepEqual(completeLine('actor /weatherlight/tol', sources), [
    ['/weatherlight/tolaria', '/weatherlight/tolaria/trainer'],
    '/weatherlight/tol',
  ]);
  t.deepEqual(completeLine('pause /weatherlight/tolaria/tr', sources), [
    ['/weatherlight/tolaria/trainer'],
    '/weatherlight/tolaria/tr',
  ]);
  t.deepEqual(completeLine('send /weatherlight/telemetry Tele', sources), [
    ['TelemetryPacket', 'TelemetryEvent'],
    'Tele',
  ]);
  t.deepEqual(
    completeLine('send /weatherlight/telemetry TelemetryPacket {"a', sources),
    [[], '{"a'],
    'nothing for the JSON',
  );
  t.deepEqual(completeLine('tail t', sources), [['telemetry'], 't']);
  t.deepEqual(completeLine('tail telemetry --', sources), [['--source', '--limit'], '--']);
  t.deepEqual(completeLine('tail telemetry --source to', sources), [[], 'to'], "an option's value");
  t.deepEqual(completeLine('help st', sources), [['stop'], 'st']);
  t.deepEqual(completeLine('frob x', sources), [[], 'x']);
  t.deepEqual(completeLine('actor ', sources), [sources.paths, ''], 'after a space: every path');
});

test('an actor, the seeds, alerts, telemetry and control answers as text', (t) => {
  const now = 1_700_000_010_000;
  const actor = leyline.WorkerState.create({
    name: 'trainer',
    path: '/weatherlight/tolaria/trainer',
    status: leyline.ActorStatus.ACTOR_STATUS_RUNNING,
    paused: true,
    restartCount: 2,
    mailboxDepth: 1,
    mailboxCapacity: 10_000,
    messagesProcessed: 42n,
    startedAt: toTimestamp(now - 5_000),
    lastError: 'Error: boom',
    lastErrorAt: toTimestamp(1_700_000_001_000),
    facts: { global_step: '516', epoch: '12' },
    recentMessages: [
      leyline.HandledMessage.create({ messageType: 'esper.leyline.v1.TimerFired', at: toTimestamp(1_700_000_009_500) }),
    ],
  });
  t.is(
    formatActor(actor, now),
    [
      '/weatherlight/tolaria/trainer  running, paused',
      '  restarts 2  mailbox 1/10000  handled 42  up 5.0 s',
      '  last error 22:13:21.000  Error: boom',
      '  facts',
      '    epoch        12',
      '    global_step  516',
      '  last messages, newest first',
      '    22:13:29.500  TimerFired',
    ].join('\n'),
  );

  const seed = (name: string, facts: Record<string, string>) =>
    leyline.WorkerState.create({ name, path: `/k/m/${name}`, facts });
  t.is(
    formatSeeds([
      seed('seed-a', {
        seed_id: 'a',
        slot: 'mlp.0',
        blueprint: 'BP001',
        stage: 'TRAINING',
        alpha: '0.2500',
        age_epochs: '3',
      }),
    ]),
    'id  slot   blueprint  stage     α       age\na   mlp.0  BP001      TRAINING  0.2500  3',
  );
  t.is(formatSeeds([]), 'no seeds');

  const fields = { rule: 'r', metric: 'm', source: 's', value: 5, threshold: 1, at: toTimestamp(1_700_000_000_000) };
  const alert = leyline.AlertRecord.create(fields);
  t.is(formatAlerts(leyline.InspectorReply.create({ ok: true })), 'no alerts');
  t.is(
    formatAlerts(
      leyline.InspectorReply.create({
        ok: true,
        activeAlerts: [alert],
        alerts: [alert, leyline.AlertRecord.create({ ...fields, resolved: true })],
      }),
    ),
    [
      'firing now:',
      '  r  source s  m = 5 (threshold 1)  since 22:13:20.000',
      'latest events, oldest first:',
      '  22:13:20.000  fired     r  source s  m = 5 (threshold 1)',
      '  22:13:20.000  resolved  r  source s  m = 5 (threshold 1)',
    ].join('\n'),
  );

  const packet = leyline.TelemetryPacket.create({
    sourceSubsystem: 'tolaria',
    level: leyline.TelemetryLevel.TELEMETRY_LEVEL_WARNING,
    timestamp: toTimestamp(1_700_000_000_000),
    metrics: Array.from({ length: 8 }, (_, i) => leyline.MetricPoint.create({ name: `m${i}`, value: i + 1 / 3 })),
    events: [leyline.TelemetryEvent.create({ description: 'gate_event' })],
  });
  t.is(
    formatTelemetry([packet], ''),
    '22:13:20.000  tolaria  warning  m0=0.333333 m1=1.33333 m2=2.33333 m3=3.33333 m4=4.33333 m5=5.33333 (+2 more)  events: gate_event',
  );
  t.is(formatTelemetry([], 'kasmina'), 'no telemetry from kasmina');

  const after = leyline.WorkerState.create({ restartCount: 3, mailboxDepth: 2 });
  t.is(formatControl(Action.ACTION_RESTART, '/a', after), 'restarted /a (restarts 3)');
  t.is(formatControl(Action.ACTION_PAUSE, '/a', after), 'paused /a: its messages wait (2 queued) until resume');
  t.is(formatControl(Action.ACTION_RESUME, '/a', after), 'resumed /a');
  t.is(formatControl(Action.ACTION_STOP, '/a', undefined), 'stopped /a');
  t.regex(formatHelp(null), /^tree +the live supervision tree/);
  t.regex(formatHelp(null), /^send <path> <LeylineType> <json> +deliver a Leyline message/m);
  t.is(formatHelp('pause').split('\n')[0], 'pause [<path>]');
});

test('a Leyline message from JSON: by type name, checked field by field, built as the generated class', (t) => {
  const built = leylineFromJson(
    'TelemetryPacket',
    '{"source_subsystem":"x","level":"TELEMETRY_LEVEL_WARNING","metrics":[{"name":"a","value":2,"attributes":{"k":"v"}}]}',
  );
  t.true(built.ok);
  if (built.ok) {
    t.true(built.message instanceof leyline.TelemetryPacket);
    const packet = built.message as InstanceType<typeof leyline.TelemetryPacket>;
    t.is(packet.sourceSubsystem, 'x');
    t.is(packet.level, leyline.TelemetryLevel.TELEMETRY_LEVEL_WARNING);
    t.true(packet.metrics[0] instanceof leyline.MetricPoint);
    t.deepEqual(packet.metrics[0]?.attributes, { k: 'v' });
  }
  const qualified = leylineFromJson(
    'esper.leyline.v1.AdaptationCommand',
    '{"commandType":"COMMAND_SEED","seedOperation":{"operation":"SEED_OP_GERMINATE","parameters":{"a":1}}}',
  );
  t.true(qualified.ok && qualified.message instanceof leyline.AdaptationCommand);
  const error = (type: string, json: string): string => {
    const result = leylineFromJson(type, json);
    return result.ok ? 'built' : result.error;
  };
  t.is(error('Nope', '{}'), 'unknown Leyline message type "Nope"');
  t.is(
    error('telemetrypacket', '{}'),
    'unknown Leyline message type "telemetrypacket" (did you mean TelemetryPacket?)',
  );
  t.regex(error('TelemetryPacket', '{oops'), /^invalid JSON: /);
  t.regex(error('TelemetryPacket', '[1]'), /expected a JSON object/);
  t.regex(error('TelemetryPacket', '{"bogus":1}'), /TelemetryPacket has no field "bogus" \(fields: packetId, /);
  t.regex(
    error('TelemetryPacket', '{"level":"LOUD"}'),
    /TelemetryPacket\.level: "LOUD" is not a TelemetryLevel \(one of /,
  );
  t.is(error('TelemetryPacket', '{"sourceSubsystem":5}'), 'TelemetryPacket: sourceSubsystem: string expected');
  t.is(
    error('TelemetryPacket', '{"metrics":[{"value":"abc"}]}'),
    'TelemetryPacket: metrics.value: number expected',
    'no coercion of "abc" to NaN',
  );
  t.is(error('InspectorRequest', '{"tree":{},"actor":{"path":"/x"}}'), 'InspectorRequest: query: multiple values');
  t.true(leylineTypeNames().includes('SeedStepReport'));
  t.false(leylineTypeNames().some((name) => name.startsWith('esper.')));
});

test("send's answer: handled, answered, or refused with the reason (an error)", (t) => {
  const path = '/weatherlight/kasmina/manager';
  t.deepEqual(formatSendAnswer('TelemetryPacket', '/weatherlight/telemetry', null), {
    ok: true,
    text: 'sent TelemetryPacket to /weatherlight/telemetry; handled',
  });
  const applied = leyline.AdaptationReceipt.create({ commandId: 'c1', applied: true, reason: 'hold' });
  t.deepEqual(formatSendAnswer('AdaptationCommand', path, applied), {
    ok: true,
    text: `sent AdaptationCommand to ${path}; answered AdaptationReceipt {"commandId":"c1","applied":true,"reason":"hold"}`,
  });
  const rejected = leyline.AdaptationReceipt.create({ commandId: 'c2', applied: false, reason: 'missing_signature' });
  t.deepEqual(formatSendAnswer('AdaptationCommand', path, rejected), {
    ok: false,
    error: `${path} refused AdaptationCommand: missing_signature (answered AdaptationReceipt {"commandId":"c2","reason":"missing_signature"})`,
  });

  t.is(refusalOf(leyline.AdaptationReceipt.create({ applied: false })), 'not applied');
  t.is(refusalOf(leyline.KernelArtifactError.create({ reason: 'not_found' })), 'not_found');
  t.is(refusalOf(leyline.SimicTrainResult.create({ published: false, reasons: ['a', 'b'] })), 'a; b');
  t.is(refusalOf(leyline.SimicTrainResult.create({ published: true })), null);
  t.is(refusalOf(leyline.BlueprintSelection.create({ ok: false, error: 'no such blueprint' })), 'no such blueprint');
  t.is(refusalOf(leyline.CompileResult.create({ ok: false })), 'not ok');
  t.is(refusalOf(leyline.CompileResult.create({ ok: true })), null);
  t.is(refusalOf(leyline.MetricPoint.create({ name: 'x' })), null, 'an answer that cannot say no does not');
});

test('a Leyline message to JSON and back: set fields only, enums by name', (t) => {
  const command = leyline.AdaptationCommand.create({
    commandType: leyline.CommandType.COMMAND_SEED,
    annotations: { mode: 'x' },
  });
  const json = leylineToJson(command);
  t.is(json, '{"commandType":"COMMAND_SEED","annotations":{"mode":"x"}}');
  const back = leylineFromJson('AdaptationCommand', json);
  t.true(
    back.ok &&
      back.message instanceof leyline.AdaptationCommand &&
      back.message.commandType === leyline.CommandType.COMMAND_SEED,
  );
});
