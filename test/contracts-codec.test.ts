import test from 'ava';
import protobuf from 'protobufjs/minimal.js';
import {
  checkVersion,
  decodeLeyline,
  encodeLeyline,
  LeylineCounters,
  LeylineDecodeError,
  LeylineVersionError,
  withFields,
} from '../contracts/codec.ts';
import { mulberry32 } from '../runtime/seeded-random.ts';
import { leyline, type LeylineMessage, type LeylineType } from '../contracts/index.ts';
import { DEFAULT_DECODE_MAX_BYTES } from '../contracts/limits.ts';
import {
  adaptationCommandFixture,
  fieldReportFixture,
  systemStatePacketFixture,
  systemStatePacketTenSeedsFixture,
  telemetryPacketFixture,
} from './fixtures/leyline-fixtures.ts';

const fixtures: Array<[string, LeylineType, () => LeylineMessage]> = [
  ['SystemStatePacket', leyline.SystemStatePacket, systemStatePacketFixture],
  ['SystemStatePacket (10 seeds)', leyline.SystemStatePacket, systemStatePacketTenSeedsFixture],
  ['AdaptationCommand', leyline.AdaptationCommand, adaptationCommandFixture],
  ['FieldReport', leyline.FieldReport, fieldReportFixture],
  ['TelemetryPacket', leyline.TelemetryPacket, telemetryPacketFixture],
];

function decodeOk<M extends LeylineMessage>(Type: LeylineType<M>, bytes: Uint8Array): M {
  const result = decodeLeyline(Type, bytes);
  if (!result.ok) throw result.error;
  return result.message;
}

function writer(): protobuf.Writer {
  return protobuf.Writer.create();
}

/** A deterministic PRNG, so failures reproduce. */
const prng = mulberry32;

// ---- round trips and sizes -------------------------------------------------------------------------------------

for (const [name, Type, make] of fixtures) {
  test(`${name} fixture round-trips to identical bytes`, (t) => {
    const bytes = encodeLeyline(make());
    const decoded = decodeOk(Type, bytes);
    t.true(decoded instanceof Type);
    t.deepEqual(Buffer.from(encodeLeyline(decoded)), Buffer.from(bytes));
  });
}

test('the SystemStatePacket fixture encodes to exactly 154 bytes, like the prototype', (t) => {
  t.is(encodeLeyline(systemStatePacketFixture()).length, 154);
});

test('hot fixtures stay under the 280-byte budget; the field report under 512', (t) => {
  t.true(encodeLeyline(systemStatePacketFixture()).length < 280);
  t.true(encodeLeyline(adaptationCommandFixture()).length < 280);
  t.true(encodeLeyline(telemetryPacketFixture()).length < 280);
  t.true(encodeLeyline(fieldReportFixture()).length < 512);
  t.is(encodeLeyline(systemStatePacketTenSeedsFixture()).length, 470);
});

test('SystemStatePacket fields survive the round trip (float fields as float32, uint64 as an exact bigint)', (t) => {
  const decoded = decodeOk(leyline.SystemStatePacket, encodeLeyline(systemStatePacketFixture()));
  t.is(decoded.version, 1);
  t.is(decoded.currentEpoch, 3);
  t.is(decoded.packetId, 'run-epoch-3');
  t.is(decoded.globalStep, 1024n);
  t.is(decoded.timestampNs, 1_758_000_000_000_000_000n);
  t.is(decoded.sourceSubsystem, 'tolaria');
  t.is(decoded.trainingRunId, 'run-demo');
  t.is(decoded.experimentName, 'demo');
  t.is(decoded.validationAccuracy, Math.fround(0.82));
  t.is(decoded.validationLoss, Math.fround(0.123));
  t.is(decoded.trainingLoss, Math.fround(0.456));
  t.deepEqual(decoded.trainingMetrics, { grad_norm: Math.fround(0.12), loss: Math.fround(0.456) });
  t.is(decoded.hardwareContext?.deviceType, 'cuda');
  t.is(decoded.hardwareContext?.deviceId, '0');
  const seed = decoded.seedStates[0];
  t.is(decoded.seedStates.length, 1);
  t.is(seed?.seedId, 'seed-1');
  t.is(seed?.stage, leyline.SeedLifecycleStage.SEED_STAGE_TRAINING);
  t.is(seed?.gradientNorm, Math.fround(0.18));
  t.is(seed?.learningRate, Math.fround(0.002));
  t.deepEqual(seed?.metrics, { loss: Math.fround(0.321) });
  t.is(seed?.ageEpochs, 4);
  t.is(seed?.riskScore, Math.fround(0.1));
});

test('float32 rounding is stable: a decoded value re-encodes and decodes to itself', (t) => {
  const values = [0.1, 0.82, 1 / 3, 123456.789, -2.5e-8, 3.4e38, Number.MIN_VALUE];
  for (const value of values) {
    const once = decodeOk(
      leyline.HardwareContext,
      encodeLeyline(leyline.HardwareContext.create({ totalMemoryGb: value })),
    );
    t.is(once.totalMemoryGb, Math.fround(value), `value ${value}`);
    const twice = decodeOk(leyline.HardwareContext, encodeLeyline(once));
    t.is(twice.totalMemoryGb, once.totalMemoryGb);
  }
});

test('doubles stay doubles (MetricPoint.value, BlueprintParameterBounds)', (t) => {
  const point = decodeOk(leyline.MetricPoint, encodeLeyline(leyline.MetricPoint.create({ name: 'x', value: 0.1 })));
  t.is(point.value, 0.1);
});

// ---- canonical encoding ----------------------------------------------------------------------------------------

test('encoding is canonical: map insertion order does not change the bytes', (t) => {
  const a = adaptationCommandFixture();
  a.annotations = { zeta: '1', alpha: '2', mid: '3' };
  const b = adaptationCommandFixture();
  b.annotations = { mid: '3', alpha: '2', zeta: '1' };
  t.deepEqual(Buffer.from(encodeLeyline(a)), Buffer.from(encodeLeyline(b)));

  const p = systemStatePacketFixture();
  p.trainingMetrics = { b: 1, a: 2, c: 3 };
  const q = systemStatePacketFixture();
  q.trainingMetrics = { c: 3, a: 2, b: 1 };
  t.deepEqual(Buffer.from(encodeLeyline(p)), Buffer.from(encodeLeyline(q)));
});

test('proto3 defaults are not written', (t) => {
  t.is(encodeLeyline(leyline.SystemStatePacket.create({ version: 0, packetId: '', globalStep: 0n })).length, 0);
});

test('the BusEnvelope of SystemStatePacket{version:1} is the prototype signing vector 08 01 12 02 08 01', (t) => {
  const envelope = leyline.BusEnvelope.create({
    messageType: leyline.BusMessageType.BUS_MESSAGE_TYPE_SYSTEM_STATE,
    payload: encodeLeyline(leyline.SystemStatePacket.create({ version: 1 })),
  });
  t.is(Buffer.from(encodeLeyline(envelope)).toString('hex'), '080112020801');
});

test('encodeLeyline refuses a plain object with a clear TypeError', (t) => {
  const error = t.throws(() => encodeLeyline({ version: 1 } as unknown as LeylineMessage), { instanceOf: TypeError });
  t.regex(error?.message ?? '', /Leyline message/);
});

// ---- unknown fields --------------------------------------------------------------------------------------------

test('unknown fields from a newer peer survive decode/encode, top level and nested', (t) => {
  // A SeedState with an extra field 20 (string) and a packet with extra fields 15 (varint) and 99 (bytes).
  const seed = writer();
  leyline.SeedState.encode(systemStatePacketFixture().seedStates[0] as never, seed);
  seed.uint32((20 << 3) | 2).string('new-seed-field');
  const seedBytes = seed.finish();

  // Our encoder writes known fields in number order, then the unknown ones; so does this newer peer.
  const full = systemStatePacketFixture();
  const head = leyline.SystemStatePacket.create({
    version: full.version,
    currentEpoch: full.currentEpoch,
    validationAccuracy: full.validationAccuracy,
    validationLoss: full.validationLoss,
    timestampNs: full.timestampNs,
    hardwareContext: full.hardwareContext,
    trainingMetrics: full.trainingMetrics,
  });
  const tail = leyline.SystemStatePacket.create({
    packetId: full.packetId,
    globalStep: full.globalStep,
    trainingLoss: full.trainingLoss,
    sourceSubsystem: full.sourceSubsystem,
    trainingRunId: full.trainingRunId,
    experimentName: full.experimentName,
  });
  const packet = writer();
  leyline.SystemStatePacket.encode(head, packet);
  packet.uint32((8 << 3) | 2).bytes(seedBytes);
  leyline.SystemStatePacket.encode(tail, packet);
  packet.uint32((98 << 3) | 0).uint64(7);
  packet.uint32((99 << 3) | 2).bytes(Uint8Array.of(1, 2, 3));
  const wire = packet.finish();
  const fromNewerPeer = Buffer.from(Uint8Array.prototype.slice.call(wire));

  const decoded = decodeOk(leyline.SystemStatePacket, wire);
  t.is(decoded.seedStates[0]?.seedId, 'seed-1');
  t.is(decoded.packetId, 'run-epoch-3');
  wire.fill(0); // the decoded message must not alias the input buffer
  t.deepEqual(Buffer.from(encodeLeyline(decoded)), fromNewerPeer);
});

test('withFields copies a message, applies the patch, keeps unknown fields, and leaves the original alone', (t) => {
  const w = writer();
  leyline.AdaptationCommand.encode(adaptationCommandFixture(), w);
  w.uint32((21 << 3) | 0).uint32(5);
  const decoded = decodeOk(leyline.AdaptationCommand, w.finish());
  const before = Buffer.from(encodeLeyline(decoded));
  const copy = withFields(decoded, { annotations: {} });
  t.not(copy, decoded);
  t.true(copy instanceof leyline.AdaptationCommand);
  t.deepEqual(decoded.annotations, { policy: 'v1' });
  const expected = adaptationCommandFixture();
  expected.annotations = {};
  const expectedBytes = Buffer.concat([encodeLeyline(expected), Uint8Array.of(0xa8, 0x01, 0x05)]);
  t.deepEqual(Buffer.from(encodeLeyline(copy)), expectedBytes);
  t.deepEqual(Buffer.from(encodeLeyline(decoded)), before);
});

test('decoded bytes fields are copies: reusing the input buffer does not change the message', (t) => {
  const inner = encodeLeyline(leyline.SystemStatePacket.create({ version: 1, packetId: 'p' }));
  const wire = Buffer.from(
    encodeLeyline(
      leyline.BusEnvelope.create({ messageType: leyline.BusMessageType.BUS_MESSAGE_TYPE_SYSTEM_STATE, payload: inner }),
    ),
  );
  const decoded = decodeOk(leyline.BusEnvelope, wire);
  wire.fill(0);
  t.deepEqual(Buffer.from(decoded.payload), Buffer.from(inner));
});

// ---- bad input -------------------------------------------------------------------------------------------------

test('non-bytes input is refused as not_bytes, never thrown', (t) => {
  for (const value of ['0801', [8, 1], new ArrayBuffer(2), null, undefined, 42, { 0: 8, 1: 1, length: 2 }]) {
    const result = decodeLeyline(leyline.SystemStatePacket, value);
    t.false(result.ok);
    if (!result.ok) {
      t.true(result.error instanceof LeylineDecodeError);
      t.is(result.error.code, 'not_bytes');
      t.is(result.error.typeName, 'esper.leyline.v1.SystemStatePacket');
    }
  }
  t.true(decodeLeyline(leyline.SystemStatePacket, Buffer.from([8, 1])).ok, 'a Buffer is a Uint8Array');
});

test('oversized input is refused before parsing, with the default 4 MiB cap or a given one', (t) => {
  const bytes = encodeLeyline(systemStatePacketFixture());
  const small = decodeLeyline(leyline.SystemStatePacket, bytes, { maxBytes: 100 });
  t.false(small.ok);
  if (!small.ok) {
    t.is(small.error.code, 'oversized');
    t.regex(small.error.message, /154 bytes exceed the limit of 100/);
  }
  t.true(decodeLeyline(leyline.SystemStatePacket, bytes, { maxBytes: 154 }).ok);
  const huge = decodeLeyline(leyline.PolicyUpdate, new Uint8Array(DEFAULT_DECODE_MAX_BYTES + 1));
  t.false(huge.ok);
  if (!huge.ok) t.is(huge.error.code, 'oversized');
  // Exactly at the cap is accepted (a PolicyUpdate with a 4 MiB - 5 byte payload).
  const payload = new Uint8Array(DEFAULT_DECODE_MAX_BYTES - 5);
  const atCap = encodeLeyline(leyline.PolicyUpdate.create({ payload }));
  t.is(atCap.length, DEFAULT_DECODE_MAX_BYTES);
  t.true(decodeLeyline(leyline.PolicyUpdate, atCap).ok);
});

test('truncated input never throws; a cut inside a field is malformed', (t) => {
  const bytes = encodeLeyline(systemStatePacketFixture());
  let malformed = 0;
  for (let length = 0; length < bytes.length; length++) {
    const result = decodeLeyline(leyline.SystemStatePacket, bytes.subarray(0, length));
    if (!result.ok) {
      t.is(result.error.code, 'malformed');
      malformed += 1;
    }
  }
  t.true(malformed > 100, `${malformed} of ${bytes.length} prefixes are malformed`);
  const lastByteCut = decodeLeyline(leyline.SystemStatePacket, bytes.subarray(0, bytes.length - 1));
  t.false(lastByteCut.ok);
  if (!lastByteCut.ok) t.regex(lastByteCut.error.message, /SystemStatePacket.*index out of range/);
});

test('random garbage and random corruptions never throw and only ever fail as malformed', (t) => {
  const random = prng(20250916);
  const good = encodeLeyline(systemStatePacketTenSeedsFixture());
  const types = fixtures
    .map(([, Type]) => Type)
    .concat([leyline.BusEnvelope, leyline.InspectorReply, leyline.KernelCatalogEntry]);
  let failures = 0;
  for (let i = 0; i < 3000; i++) {
    let bytes: Uint8Array;
    if (i % 2 === 0) {
      bytes = Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256));
    } else {
      bytes = Uint8Array.from(good);
      for (let k = 0; k < 3; k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    }
    for (const Type of types) {
      const result = decodeLeyline(Type, bytes);
      if (!result.ok) {
        failures += 1;
        t.is(result.error.code, 'malformed');
      } else {
        t.notThrows(() => encodeLeyline(result.message));
      }
    }
  }
  t.true(failures > 1000, `${failures} rejected`);
});

test('invalid UTF-8 in a string field is malformed', (t) => {
  const result = decodeLeyline(leyline.SystemStatePacket, Uint8Array.of((9 << 3) | 2, 2, 0xff, 0xfe));
  t.false(result.ok);
  if (!result.ok) t.is(result.error.code, 'malformed');
});

test('a known field with a wrong wire type is malformed (top level and nested), naming the field', (t) => {
  // version (field 1, uint32) sent as fixed32.
  const top = decodeLeyline(leyline.SystemStatePacket, Uint8Array.of((1 << 3) | 5, 1, 0, 0, 0));
  t.false(top.ok);
  if (!top.ok) {
    t.is(top.error.code, 'malformed');
    t.regex(top.error.message, /SystemStatePacket: field 1 arrived with wire type 5/);
  }
  // packet_id (field 9, string) sent as a varint.
  const str = decodeLeyline(leyline.SystemStatePacket, Uint8Array.of((9 << 3) | 0, 1));
  t.false(str.ok);
  // SeedState.stage (field 2, enum) sent length-delimited, inside seed_states[0].
  const seed = writer()
    .uint32((1 << 3) | 2)
    .string('seed-1')
    .uint32((2 << 3) | 2)
    .bytes(Uint8Array.of(3))
    .finish();
  const nested = decodeLeyline(
    leyline.SystemStatePacket,
    writer()
      .uint32((8 << 3) | 2)
      .bytes(seed)
      .finish(),
  );
  t.false(nested.ok);
  if (!nested.ok) t.regex(nested.error.message, /SystemStatePacket\.seedStates\[0\]: field 2 arrived with wire type 2/);
  // A repeated float accepts both packed and unpacked encodings, so neither is a wrong wire type.
  t.true(
    decodeLeyline(
      leyline.KernelCatalogEntry,
      writer()
        .uint32((7 << 3) | 5)
        .float(1.5)
        .finish(),
    ).ok,
  );
  t.true(
    decodeLeyline(
      leyline.KernelCatalogEntry,
      writer()
        .uint32((7 << 3) | 2)
        .bytes(Uint8Array.of(0, 0, 0xc0, 0x3f))
        .finish(),
    ).ok,
  );
});

test('nesting deeper than the recursion limit is malformed, not a stack overflow', (t) => {
  // google.protobuf.Value { struct_value: Struct { fields: { "a": Value { ... } } } }, 200 levels deep.
  let value: Uint8Array = Uint8Array.of(8, 0); // Value{null_value: NULL_VALUE}
  for (let level = 0; level < 200; level++) {
    const entry = writer().uint32(10).string('a').uint32(18).bytes(value).finish();
    const struct = writer().uint32(10).bytes(entry).finish();
    value = writer().uint32(42).bytes(struct).finish();
  }
  const struct = writer().uint32(10).bytes(writer().uint32(10).string('a').uint32(18).bytes(value).finish()).finish();
  const command = writer()
    .uint32((13 << 3) | 2)
    .bytes(struct)
    .finish();
  const result = decodeLeyline(leyline.AdaptationCommand, command);
  t.false(result.ok);
  if (!result.ok) t.is(result.error.code, 'malformed');
});

test('decode failures are counted by code', (t) => {
  const before = LeylineCounters.snapshot();
  decodeLeyline(leyline.FieldReport, 'nope');
  decodeLeyline(leyline.FieldReport, new Uint8Array(10), { maxBytes: 5 });
  decodeLeyline(leyline.FieldReport, Uint8Array.of(0x12, 9, 1));
  decodeLeyline(leyline.FieldReport, Uint8Array.of(0x12, 9, 1));
  const after = LeylineCounters.snapshot();
  t.is(after.decodeFailures.not_bytes - before.decodeFailures.not_bytes, 1);
  t.is(after.decodeFailures.oversized - before.decodeFailures.oversized, 1);
  t.is(after.decodeFailures.malformed - before.decodeFailures.malformed, 2);
});

// ---- version ---------------------------------------------------------------------------------------------------

test('checkVersion accepts version 1 and refuses anything else with a typed, counted error', (t) => {
  const messages = [
    systemStatePacketFixture(),
    adaptationCommandFixture(),
    fieldReportFixture(),
    leyline.PolicyUpdate.create({ version: 1, policyId: 'p' }),
  ];
  for (const message of messages) t.true(checkVersion(message).ok);

  const before = LeylineCounters.snapshot().versionMismatches;
  for (const message of messages) {
    for (const version of [0, 2, 7]) {
      message.version = version;
      const check = checkVersion(message);
      t.false(check.ok);
      if (!check.ok) {
        t.true(check.error instanceof LeylineVersionError);
        t.is(check.error.code, 'version_mismatch');
        t.is(check.error.version, version);
        t.regex(check.error.typeName, /^esper\.leyline\.v1\./);
      }
    }
  }
  t.is(LeylineCounters.snapshot().versionMismatches - before, 12);
});

test('a decoded message from a peer with version 2 decodes but fails the version check', (t) => {
  const packet = systemStatePacketFixture();
  packet.version = 2;
  const decoded = decodeOk(leyline.SystemStatePacket, encodeLeyline(packet));
  const check = checkVersion(decoded);
  t.false(check.ok);
  if (!check.ok)
    t.is(check.error.message, 'esper.leyline.v1.SystemStatePacket has schema version 2; only version 1 is accepted');
});
