// The deep Leyline check (contracts/payload-shape.ts) on its own, and as the runtime applies it in strict mode.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { leylineShapeProblem } from '../contracts/payload-shape.ts';
import { toTimestamp } from '../contracts/time.ts';
import { NotLeylineInsideError } from '../runtime/errors.ts';
import { statelessLogic } from '../runtime/logic.ts';
import { ActorSystem } from '../runtime/system.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';
import { EventLog } from './helpers/events.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

function report(): v1.FieldReport {
  return leyline.FieldReport.create({
    version: 1,
    reportId: 'r',
    metrics: { loss: 0.5 },
    issuedAt: toTimestamp(1_765_000_000_000),
    followUpActions: [
      leyline.MitigationAction.create({ actionType: 'a' }),
      leyline.MitigationAction.create({ actionType: 'b' }),
    ],
  });
}

test('a message of Leyline instances all the way down passes, maps and repeated fields included', (t) => {
  t.is(leylineShapeProblem(report()), null);
  const descriptor = leyline.BlueprintDescriptor.create({
    blueprintId: 'BP001',
    allowedParameters: { width: leyline.BlueprintParameterBounds.create({ minValue: 1, maxValue: 2 }) },
  });
  t.is(leylineShapeProblem(descriptor), null);
  t.is(
    leylineShapeProblem(leyline.PolicyUpdate.create({ version: 1, policyId: 'p' })),
    null,
    'unset message fields are fine',
  );
  t.is(
    leylineShapeProblem(
      leyline.SystemStatePacket.create({ timestampNs: 5n, seedStates: [leyline.SeedState.create({ seedId: 's' })] }),
    ),
    null,
  );
  t.is(
    leylineShapeProblem(
      leyline.SystemStatePacket.decode(
        leyline.SystemStatePacket.encode(leyline.SystemStatePacket.create({ globalStep: 3n })).finish(),
      ),
    ),
    null,
    'a decoded message passes',
  );
});

test('a plain object nested in a repeated field fails, naming its path and the class it should be', (t) => {
  const message = report();
  message.followUpActions.push({ actionType: 'smuggled' } as v1.MitigationAction);
  t.is(
    leylineShapeProblem(message),
    'FieldReport.followUpActions[2]: a plain object, expected esper.leyline.v1.MitigationAction',
  );
});

test('a plain object in a singular message field or a map of messages fails, naming the path', (t) => {
  const message = report();
  message.issuedAt = { seconds: 1, nanos: 0 } as v1.FieldReport['issuedAt'];
  t.is(leylineShapeProblem(message), 'FieldReport.issuedAt: a plain object, expected google.protobuf.Timestamp');
  const descriptor = leyline.BlueprintDescriptor.create({
    blueprintId: 'BP001',
    allowedParameters: { width: { minValue: 1, maxValue: 2 } as v1.BlueprintParameterBounds },
  });
  t.is(
    leylineShapeProblem(descriptor),
    'BlueprintDescriptor.allowedParameters["width"]: a plain object, expected esper.leyline.v1.BlueprintParameterBounds',
  );
  const deep = leyline.InspectorReply.create({
    actors: [
      leyline.WorkerState.create({ path: '/a', startedAt: { seconds: 1, nanos: 0 } as v1.WorkerState['startedAt'] }),
    ],
  });
  t.is(
    leylineShapeProblem(deep),
    'InspectorReply.actors[0].startedAt: a plain object, expected google.protobuf.Timestamp',
  );
});

test('a tensor fails wherever it is smuggled: in a message field, a number list, a map, or riding along outside the schema', (t) => {
  const tensor = tf.tensor1d([1, 2, 3]);
  try {
    const inMessage = report();
    (inMessage as unknown as { issuedAt: unknown }).issuedAt = tensor;
    t.is(
      leylineShapeProblem(inMessage),
      'FieldReport.issuedAt: an instance of Tensor, expected google.protobuf.Timestamp',
    );
    const inValues = leyline.PolicyTensor.create({ name: 'w', values: tensor as unknown as number[] });
    t.is(leylineShapeProblem(inValues), 'PolicyTensor.values: an instance of Tensor, expected an array');
    const typed = leyline.PolicyTensor.create({ name: 'w', values: tensor.dataSync() as unknown as number[] });
    t.is(leylineShapeProblem(typed), 'PolicyTensor.values: an instance of Float32Array, expected an array');
    const inMap = report();
    (inMap.metrics as Record<string, unknown>).loss = tensor;
    t.is(leylineShapeProblem(inMap), 'FieldReport.metrics["loss"]: an instance of Tensor, expected a number');
    const alongside = report();
    Object.assign(alongside, { weights: tensor });
    t.is(leylineShapeProblem(alongside), 'FieldReport.weights: not a field of FieldReport (an instance of Tensor)');
  } finally {
    tensor.dispose();
  }
});

test('scalars of the wrong JS type fail: a number in a uint64, a string in bytes', (t) => {
  t.is(
    leylineShapeProblem(leyline.SystemStatePacket.create({ timestampNs: 5 as unknown as bigint })),
    'SystemStatePacket.timestampNs: number, expected a bigint',
  );
  t.is(
    leylineShapeProblem(leyline.BusEnvelope.create({ payload: 'abc' as unknown as Uint8Array })),
    'BusEnvelope.payload: string, expected bytes (a Uint8Array)',
  );
});

test('strict payloads: the runtime refuses a message with a plain object inside, counted, naming the path; lax it goes through', async (t) => {
  const received = new EventLog<v1.FieldReport>();
  for (const strictPayloads of [true, false]) {
    const system = new ActorSystem({ name: `shape${strictPayloads ? 'strict' : 'lax'}`, strictPayloads });
    const ref = system.spawn(
      null,
      statelessLogic<v1.FieldReport>('sink', (message) => received.push(message)),
      { name: 'sink' },
    );
    const message = report();
    message.followUpActions.push({ actionType: 'smuggled' } as v1.MitigationAction);
    if (strictPayloads) {
      const error = t.throws(() => system.dispatch(ref, message), { instanceOf: NotLeylineInsideError });
      t.regex(
        error?.message ?? '',
        /refused payload for \/sink: FieldReport\.followUpActions\[2\]: a plain object, expected esper\.leyline\.v1\.MitigationAction/,
      );
      t.is(system.counters.refusedPayloads, 1);
      t.true(system.dispatch(ref, report()), 'a proper one is delivered');
      await received.waitFor((m) => m.followUpActions.length === 2);
    } else {
      t.true(system.dispatch(ref, message));
      await received.waitFor((m) => m.followUpActions.length === 3);
    }
    await system.shutdown(1_000);
  }
  t.is(
    received.count(() => true),
    2,
    'the proper message (strict) and the smuggling one (lax)',
  );
});
