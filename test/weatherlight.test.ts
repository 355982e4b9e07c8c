// Weatherlight: the signing-secret rule, configuration errors, boot of the configured tree, health summary,
// inspector, shutdown order and deadline, and a root that gives up.
import test from 'ava';
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leyline, type LeylineMessage, type v1 } from '../contracts/index.ts';
import { MissingSecretError, SECRET_ENV_VAR } from '../contracts/signing.ts';
import { fromTimestamp, toTimestamp } from '../contracts/time.ts';
import { ConfigError, validateConfig, type EsperConfig, type TreeNode } from '../actors/weatherlight/esper-config.ts';
import { buildHealthPacket } from '../actors/weatherlight/health.ts';
import { resolveSigningSecret, SECRET_FILE } from '../actors/weatherlight/secret.ts';
import { startWeatherlight } from '../actors/weatherlight/weatherlight.ts';
import { telemetryLogLogic, type WorkerFactory } from '../actors/weatherlight/workers.ts';
import { createLogger } from '../runtime/log.ts';
import type { ActorRef } from '../runtime/logic.ts';
import defaults from '../esper.config.ts';
import { EventLog } from './helpers/events.ts';

const { ActorStatus, HealthStatus, RestartPolicy, TelemetryLevel } = leyline;
const Action = leyline.ActorControl.Action;
const log = createLogger('test');
const tempDir = (): string => mkdtempSync(join(tmpdir(), 'esper-wl-'));
const fast = { baseMs: 5, maxMs: 20, jitter: 0, stableMs: 60_000 };

/** The default tree without the trainer (these tests are about the tree, not training: see the trainer test). */
const withoutTrainer = (node: TreeNode): TreeNode =>
  node.children
    ? { ...node, children: node.children.filter((c) => c.worker !== 'tolaria-trainer').map(withoutTrainer) }
    : node;

function config(tree: Partial<TreeNode> = {}, overrides: Partial<EsperConfig['weatherlight']> = {}): EsperConfig {
  const base = withoutTrainer(defaults.weatherlight.tree);
  return {
    ...defaults,
    run: { ...defaults.run, name: `wl-${Math.random().toString(36).slice(2, 8)}`, varDir: tempDir() },
    weatherlight: {
      ...defaults.weatherlight,
      healthIntervalMs: 10,
      ...overrides,
      tree: { ...base, ...tree, flags: { ...base.flags, backoff: fast, ...tree.flags } },
    },
  };
}
const env = { [SECRET_ENV_VAR]: 'test-secret' };

/** The real telemetry log, also reporting each packet it receives to `packets`. */
function recordingTelemetry(packets: EventLog<v1.TelemetryPacket>): WorkerFactory {
  return (deps) => {
    const inner = telemetryLogLogic(deps.config.weatherlight.telemetryKept);
    return {
      ...inner,
      receive(
        state: v1.TelemetryPacket[],
        message: v1.TelemetryPacket | v1.InspectorRequest,
        ctx: Parameters<typeof inner.receive>[2],
      ) {
        if (message instanceof leyline.TelemetryPacket) packets.push(message);
        return inner.receive(state, message, ctx);
      },
    };
  };
}

test('secret: a blank ESPER_LEYLINE_SECRET is an error that names it', (t) => {
  const error = t.throws(
    () => resolveSigningSecret({ env: { [SECRET_ENV_VAR]: '  ' }, varDir: tempDir(), multiProcess: false, log }),
    { instanceOf: MissingSecretError },
  );
  t.regex(error.message, /ESPER_LEYLINE_SECRET/);
});

test('secret: a single-process run without it generates one, mode 0600, and reuses it', (t) => {
  const varDir = tempDir();
  const first = resolveSigningSecret({ env: {}, varDir, multiProcess: false, log });
  const file = join(varDir, SECRET_FILE);
  t.is(statSync(file).mode & 0o777, 0o600);
  t.regex(readFileSync(file, 'utf8').trim(), /^[0-9a-f]{64}$/);
  chmodSync(file, 0o644);
  const second = resolveSigningSecret({ env: {}, varDir, multiProcess: false, log });
  t.is(second.keyId, first.keyId, 'the same secret is used again');
  t.is(statSync(file).mode & 0o777, 0o600, 'a too-open file is tightened');
  t.not(
    resolveSigningSecret({ env, varDir, multiProcess: false, log }).keyId,
    first.keyId,
    'the variable wins over the file',
  );
});

test('secret: a multi-process run refuses to start without it', (t) => {
  t.throws(() => resolveSigningSecret({ env: {}, varDir: tempDir(), multiProcess: true, log }), {
    message: /multi-process run needs ESPER_LEYLINE_SECRET/,
  });
});

test('configuration errors name the field', async (t) => {
  t.throws(() => validateConfig({ ...defaults, runtime: { ...defaults.runtime, deadLetterCapacity: 0 } }), {
    instanceOf: ConfigError,
    message: /runtime\.deadLetterCapacity must be an integer > 0/,
  });
  t.throws(() => validateConfig({ ...defaults, run: { ...defaults.run, name: 'my run' } }), {
    instanceOf: ConfigError,
    message: /run\.name invalid actor name "my run"/,
  });
  t.throws(() => validateConfig({ ...defaults, weatherlight: { ...defaults.weatherlight, tree: { id: 'x' } } }), {
    message: /weatherlight\.tree \(x\) must have either "worker" or "children"/,
  });
  await t.throwsAsync(startWeatherlight(config({ children: [{ id: 'w', worker: 'no-such-kind' }] }), { env }), {
    message:
      /weatherlight\.tree\.children\[0\]\.worker \(w\) unknown worker kind "no-such-kind"; known: telemetry-log, health-reporter, inspector/,
  });
  await t.throwsAsync(startWeatherlight(config({ flags: { intensity: -2 } }), { env }), {
    message: /weatherlight\.tree\.flags\.intensity must be an integer >= 0/,
  });
});

test('health packet: per worker running, restarts, backoff and last error; degraded while backing off', (t) => {
  const worker = (name: string, fields: Partial<v1.WorkerState>): v1.WorkerState =>
    leyline.WorkerState.create({
      name,
      path: `/weatherlight/${name}`,
      status: ActorStatus.ACTOR_STATUS_RUNNING,
      running: true,
      ...fields,
    });
  const steady = buildHealthPacket({
    workers: [worker('a', {})],
    uptimeMs: 5_000,
    now: 1_000,
    counters: { dead_letters_total: 2 },
    packetId: 'p1',
  });
  t.is(steady.systemHealth?.status, HealthStatus.HEALTH_STATUS_HEALTHY);
  t.is(steady.systemHealth?.summary, 'steady');
  const metrics = Object.fromEntries(steady.metrics.map((m) => [m.name, m.value]));
  t.like(metrics, {
    'weatherlight.tasks.running': 1,
    'weatherlight.uptime_s': 5,
    'weatherlight.worker.weatherlight.a.running': 1,
    'runtime.dead_letters_total': 2,
  });

  const failing = worker('b', {
    status: ActorStatus.ACTOR_STATUS_BACKING_OFF,
    running: false,
    restartCount: 3,
    backoffSeconds: 4,
    lastError: 'Error: bad',
    lastErrorAt: toTimestamp(1_700_000_000_000),
  });
  const degraded = buildHealthPacket({
    workers: [worker('a', {}), failing],
    uptimeMs: 1,
    now: 2,
    counters: {},
    packetId: 'p2',
  });
  t.is(degraded.systemHealth?.status, HealthStatus.HEALTH_STATUS_DEGRADED);
  t.is(degraded.systemHealth?.summary, 'backoff');
  t.is(degraded.systemHealth?.indicators?.workers_backing_off, '1');
  const names = Object.fromEntries(degraded.metrics.map((m) => [m.name, m.value]));
  t.like(names, {
    'weatherlight.worker.weatherlight.b.backoff_seconds': 4,
    'weatherlight.worker.weatherlight.b.restarts': 3,
    'weatherlight.restarts_total': 3,
    'weatherlight.last_error_ts': 1_700_000_000,
  });
  t.deepEqual(
    degraded.events.map((e) => [e.description, e.level, e.attributes?.worker, e.attributes?.error]),
    [['worker_error', TelemetryLevel.TELEMETRY_LEVEL_WARNING, '/weatherlight/b', 'Error: bad']],
  );
});

test('boot: the configured tree runs, the health summary arrives periodically, the inspector answers', async (t) => {
  const packets = new EventLog<v1.TelemetryPacket>();
  const wl = await startWeatherlight(config(), { env, kinds: { 'telemetry-log': recordingTelemetry(packets) } });
  try {
    t.deepEqual(
      wl.system
        .tree()
        .map((w) => w.path)
        .slice(0, 4),
      ['/weatherlight', '/weatherlight/telemetry', '/weatherlight/inspector', '/weatherlight/health'],
    );
    t.is(wl.signing.keyId.length, 8);
    const inspector = wl.inspector!;
    const ask = (fields: Partial<v1.InspectorRequest>) =>
      wl.system.ask(
        inspector,
        leyline.InspectorRequest.create({ requestId: 'r', ...fields }),
        leyline.InspectorReply,
        2_000,
      );
    const tree = await ask({ tree: leyline.TreeQuery.create() });
    t.true(tree.ok);
    t.is(tree.actors.length, 22);
    t.true(tree.actors.every((a) => a.status === ActorStatus.ACTOR_STATUS_RUNNING));

    // Health packets are built every 10 ms; the first may predate the subsystems started after the reporter.
    const kasminaRunning = (p: v1.TelemetryPacket): boolean =>
      p.metrics.some((m) => m.name === 'weatherlight.worker.weatherlight.kasmina.running' && m.value === 1);
    const health = await packets.waitFor((p) => p.sourceSubsystem === 'weatherlight' && kasminaRunning(p));
    t.is(health.systemHealth?.summary, 'steady');
    const viaInspector = await ask({
      telemetry: leyline.TelemetryQuery.create({ limit: 1, sourceSubsystem: 'weatherlight' }),
    });
    t.is(viaInspector.telemetry.length, 1);
    t.is(viaInspector.telemetry[0]?.sourceSubsystem, 'weatherlight');

    const missing = await ask({ actor: leyline.ActorQuery.create({ path: '/nope' }) });
    t.false(missing.ok);
    t.regex(missing.error, /no live actor at "\/nope"/);
    const self = await ask({
      control: leyline.ActorControl.create({ path: '/weatherlight', action: Action.ACTION_STOP }),
    });
    t.false(self.ok, 'the inspector will not stop its own ancestor');
    const restarted = await ask({
      control: leyline.ActorControl.create({ path: '/weatherlight/kasmina', action: Action.ACTION_RESTART }),
    });
    t.true(restarted.ok);
    t.is(restarted.actors[0]?.restartCount, 1);
    const empty = await ask({});
    t.false(empty.ok);
  } finally {
    await wl.shutdown();
  }
});

test('shutdown: children stop in reverse start order, and a worker that overruns the deadline is forced', async (t) => {
  const order = new EventLog<string>();
  const recorder =
    (name: string, hang = false): WorkerFactory =>
    () => ({
      kind: 'recorder',
      start: () => null,
      receive: (s) => s,
      stop: () => {
        order.push(name);
        return hang ? new Promise<void>(() => undefined) : undefined;
      },
    });
  const kinds = {
    first: recorder('first'),
    second: recorder('second'),
    stuck: recorder('stuck', true),
    third: recorder('third'),
  };
  // The stuck worker's stop hook never ends; its 500 ms deadline is long enough for the hook to be reached on a
  // loaded machine (20 ms was not: the deadline passed before the stop began) and still forces it.
  const tree: Partial<TreeNode> = {
    children: [
      { id: 'first', worker: 'first' },
      {
        id: 'group',
        children: [
          { id: 'second', worker: 'second' },
          { id: 'stuck', worker: 'stuck', shutdownMs: 500 },
        ],
      },
      { id: 'third', worker: 'third' },
    ],
  };
  const wl = await startWeatherlight(config(tree), { env, kinds });
  const result = await wl.shutdown();
  t.deepEqual(order.seen, ['third', 'stuck', 'second', 'first']);
  t.deepEqual(result.forced, []);
  t.is(await wl.shutdown(), result, 'shutdown happens once');
});

test('a root that gives up is reported, not left running', async (t) => {
  const crashing: WorkerFactory = () => ({
    kind: 'crash',
    start: () => {
      throw new Error('cannot start');
    },
    receive: (s) => s,
  });
  const wl = await startWeatherlight(
    config({
      flags: { intensity: 2, backoff: fast },
      children: [{ id: 'crash', worker: 'crash', restart: RestartPolicy.RESTART_POLICY_PERMANENT }],
    }),
    { env, kinds: { crash: crashing } },
  );
  const reason = await wl.gaveUp;
  t.regex(reason, /restart intensity exceeded: more than 2 restarts/);
  await wl.system.whenTerminated(wl.root);
  t.false(wl.system.isAlive(wl.root));
  await wl.shutdown();
});

test('the health summary shows a failing worker as degraded with its last error, then steady again', async (t) => {
  let fail = true;
  const flaky: WorkerFactory = () => ({
    kind: 'flaky',
    start: () => {
      if (fail) {
        fail = false;
        throw new Error('first start fails');
      }
      return null;
    },
    receive: (s) => s,
  });
  const packets = new EventLog<v1.TelemetryPacket>();
  const wl = await startWeatherlight(
    config({
      flags: { backoff: { ...fast, stableMs: 30 } },
      children: [
        { id: 'telemetry', worker: 'telemetry-log' },
        { id: 'health', worker: 'health-reporter' },
        { id: 'flaky', worker: 'flaky' },
      ],
    }),
    { env, kinds: { flaky, 'telemetry-log': recordingTelemetry(packets) } },
  );
  try {
    const degraded = await packets.waitFor((p) => p.systemHealth?.summary === 'recent_error');
    t.true(
      (degraded.events ?? []).some(
        (e) => e.attributes?.worker === '/weatherlight/flaky' && /first start fails/.test(e.attributes?.error ?? ''),
      ),
    );
    const from = packets.seen.indexOf(degraded);
    const steady = await packets.waitFor((p) => p.systemHealth?.summary === 'steady', { from });
    t.deepEqual(steady.events, [], 'the error cleared after a stable run');
  } finally {
    await wl.shutdown();
  }
});

test('timestamps in WorkerState are real instants', async (t) => {
  const before = Date.now();
  const wl = await startWeatherlight(config(), { env });
  const root = wl.system.describe('/weatherlight')!;
  const started = fromTimestamp(root.startedAt!);
  t.true(started >= before && started <= Date.now(), 'started while the test started it');
  await wl.shutdown();
  writeFileSync(join(tempDir(), 'unused'), '');
});

test('the blueprint pipeline runs in the tree: Karn selects, the forge compiles into Urza, Urza serves it', async (t) => {
  const wl = await startWeatherlight(config(), { env });
  try {
    const at = <M extends LeylineMessage>(path: string): ActorRef<M> => ({ path, system: wl.system.name });
    const selection = await wl.system.ask(
      at<v1.BlueprintQuery>('/weatherlight/karn/catalog'),
      leyline.BlueprintQuery.create({ requestId: 'q1', context: 'seed-1' }),
      leyline.BlueprintSelection,
      2_000,
    );
    t.true(selection.ok, selection.error);
    t.is(selection.descriptor?.blueprintId, 'BP032');
    const compiled = await wl.system.ask(
      at<v1.CompileRequest>('/weatherlight/tezzeret/forge'),
      leyline.CompileRequest.create({ blueprintId: 'BP021', slot: leyline.SlotShape.create({ dims: [16] }) }),
      leyline.CompileResult,
      60_000,
    );
    t.true(compiled.ok, compiled.error);
    t.is(compiled.moduleFamily, 'gated_feed_forward');
    const ready = await wl.system.ask(
      at<v1.KernelPrefetchRequest>('/weatherlight/urza/library'),
      leyline.KernelPrefetchRequest.create({
        requestId: 'p1',
        blueprintId: 'BP021',
        trainingRunId: 'run',
        issuedAt: toTimestamp(Date.now()),
      }),
      [leyline.KernelArtifactReady, leyline.KernelArtifactError],
      2_000,
    );
    t.true(ready instanceof leyline.KernelArtifactReady);
    t.is(ready instanceof leyline.KernelArtifactReady ? ready.checksum : '', compiled.update?.checksum ?? '');
  } finally {
    await wl.shutdown();
  }
});
