// The Karn actor in an ActorSystem: asks answered with BlueprintSelection, periodic telemetry to a telemetry
// actor, a last packet on stop, inspection.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { BlueprintCatalog } from '../actors/karn/catalog.ts';
import { setUpKarn } from '../actors/karn/settings.ts';
import { karnLogic } from '../actors/karn/karn-actor.ts';
import { UnacceptedMessageError } from '../runtime/errors.ts';
import type { ActorLogic } from '../runtime/logic.ts';
import { testSystem } from './helpers/actors.ts';
import { EventLog } from './helpers/events.ts';

const { BlueprintRejection: Rejection, BlueprintTier: Tier } = leyline;

/** Stands in for Weatherlight's telemetry log: reports every packet it receives. */
function collectorLogic(packets: EventLog<v1.TelemetryPacket>): ActorLogic<null, v1.TelemetryPacket> {
  return {
    kind: 'telemetry-collector',
    accepts: [leyline.TelemetryPacket],
    start: () => null,
    receive(state, packet) {
      packets.push(packet);
      return state;
    },
  };
}

const query = (properties: v1.BlueprintQuery.$Properties): v1.BlueprintQuery =>
  leyline.BlueprintQuery.create(properties);

test('Karn answers BlueprintQuery asks with BlueprintSelection replies', async (t) => {
  const system = testSystem();
  const { catalog, approved } = setUpKarn({ approved: ['BP040'] });
  const karn = system.spawn(null, karnLogic({ catalog, approved, telemetry: null }), { name: 'karn' });
  const ask = (properties: v1.BlueprintQuery.$Properties) =>
    system.ask(karn, query(properties), leyline.BlueprintSelection, 5_000);

  const chosen = await ask({ requestId: 'a', context: 'control-run', allowAdversarial: true });
  t.true(chosen.ok);
  t.is(chosen.requestId, 'a');
  t.is(chosen.descriptor?.blueprintId, 'BP025');

  const approvedByConfig = await ask({ requestId: 'b', context: 'exp', tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL });
  t.is(approvedByConfig.descriptor?.blueprintId, 'BP040');

  const refused = await ask({ requestId: 'c', blueprintId: 'BP002', parameters: { scale: 5 } });
  t.false(refused.ok);
  t.is(refused.rejection, Rejection.BLUEPRINT_REJECTION_PARAMETER_OUT_OF_BOUNDS);
  t.is(refused.error, "blueprint BP002 (linear_projection): parameter 'scale'=5 is outside its bounds [0.5, 2]");

  t.like(system.inspectState('/karn'), {
    blueprints: '50',
    requests_total: '2',
    requests_failed: '1',
    breaker_denied: '0',
    breaker_state: 'CIRCUIT_STATE_CLOSED',
    events_pending: '3',
  });
  t.throws(() => system.dispatch(karn, leyline.MetricPoint.create({ name: 'x' }) as never), {
    instanceOf: UnacceptedMessageError,
  });
  await system.shutdown();
});

test('an internal failure is a refusal reply, not a crashed actor', async (t) => {
  const system = testSystem();
  const broken = new BlueprintCatalog();
  broken.all = () => {
    throw new Error('disk gone');
  };
  const karn = system.spawn(null, karnLogic({ catalog: broken, telemetry: null }), { name: 'karn' });
  for (let i = 0; i < 3; i += 1) {
    const reply = await system.ask(karn, query({ context: 'x' }), leyline.BlueprintSelection, 5_000);
    t.is(reply.rejection, Rejection.BLUEPRINT_REJECTION_INTERNAL);
  }
  const denied = await system.ask(karn, query({ context: 'x' }), leyline.BlueprintSelection, 5_000);
  t.is(denied.rejection, Rejection.BLUEPRINT_REJECTION_BREAKER_OPEN);
  t.true(system.isAlive(karn));
  t.like(system.inspectState('/karn'), {
    requests_failed: '3',
    breaker_denied: '1',
    breaker_state: 'CIRCUIT_STATE_OPEN',
  });
  await system.shutdown();
});

test('Karn sends its telemetry packet on its timer, with the events since the last one', async (t) => {
  const system = testSystem();
  const packets = new EventLog<v1.TelemetryPacket>();
  const telemetry = system.spawn(null, collectorLogic(packets), { name: 'telemetry' });
  const karn = system.spawn(null, karnLogic({ catalog: new BlueprintCatalog(), telemetry, telemetryIntervalMs: 20 }), {
    name: 'karn',
  });
  await system.ask(karn, query({ context: 'seed-1' }), leyline.BlueprintSelection, 5_000);
  const withEvent = await packets.waitFor((p) => p.events.some((e) => e.description === 'karn.selection_succeeded'));
  t.is(withEvent.sourceSubsystem, 'karn');
  t.is(withEvent.events.find((e) => e.description === 'karn.selection_succeeded')?.attributes?.blueprint_id, 'BP032');
  t.is(withEvent.metrics.find((m) => m.name === 'karn.requests.total')?.value, 1);
  const index = packets.seen.indexOf(withEvent);
  const next = await packets.waitFor(() => true, { from: index + 1 });
  t.deepEqual(next.events, [], 'events are sent once');
  t.regex(next.packetId, /^karn-1-\d+$/);
  await system.shutdown();
});

test('stopping Karn sends the events still pending', async (t) => {
  const system = testSystem();
  const packets = new EventLog<v1.TelemetryPacket>();
  const telemetry = system.spawn(null, collectorLogic(packets), { name: 'telemetry' });
  const karn = system.spawn(
    null,
    karnLogic({ catalog: new BlueprintCatalog(), telemetry, telemetryIntervalMs: 3_600_000 }),
    { name: 'karn' },
  );
  await system.ask(karn, query({ blueprintId: 'nope' }), leyline.BlueprintSelection, 5_000);
  await system.stop(karn);
  const last = await packets.waitFor((p) => p.events.length > 0);
  t.deepEqual(
    last.events.map((e) => [e.description, e.attributes?.rejection]),
    [['karn.selection_failed', 'BLUEPRINT_REJECTION_UNKNOWN_BLUEPRINT']],
  );
  await system.shutdown();
});
