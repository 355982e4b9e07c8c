// Leyline's 64-bit integers are bigints end to end (contracts/generate.mjs): a nanosecond clock is past 2^53, where
// a JS number would round it.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../contracts/codec.ts';
import { leylineFromJson } from '../contracts/json.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { epochNanoseconds, fromTimestamp, timestampFromNanoseconds } from '../contracts/time.ts';
import { openEnvelope, sealEnvelope } from '../actors/oona/envelope.ts';
import { busTypeOf, decodeBusPayload } from '../actors/oona/routing.ts';

const NS = 1_765_000_000_123_456_789n; // past 2^53: as a number it would be 1_765_000_000_123_456_768
const MAX_U64 = 2n ** 64n - 1n;

test('a uint64 above 2^53 round-trips exactly through encode and decode', (t) => {
  t.not(BigInt(Number(NS)), NS, 'the value is one a number cannot hold');
  const packet = leyline.SystemStatePacket.create({ version: 1, timestampNs: NS, globalStep: MAX_U64, packetId: 'p' });
  const bytes = encodeLeyline(packet);
  const decoded = decodeLeyline(leyline.SystemStatePacket, bytes);
  t.true(decoded.ok);
  if (!decoded.ok) return;
  t.is(decoded.message.timestampNs, NS);
  t.is(decoded.message.globalStep, MAX_U64);
  t.is(leyline.SystemStatePacket.decode(bytes).timestampNs, NS, 'the generated decoder alone too');
  t.is(leyline.SeedStepReport.decode(encodeLeyline(leyline.SeedStepReport.create({ globalStep: NS }))).globalStep, NS);
  t.is(leyline.SystemStatePacket.create({}).timestampNs, 0n, 'unset is 0n');
});

test('a uint64 above 2^53 survives the bus: sealed in a signed BusEnvelope, opened, decoded by its type', (t) => {
  const signing = new SignatureContext('uint64-test');
  const packet = leyline.SystemStatePacket.create({ version: 1, timestampNs: NS, packetId: 'p' });
  const sealed = sealEnvelope(busTypeOf(packet), encodeLeyline(packet), signing);
  const opened = openEnvelope(
    { payload: sealed.fields.payload, signature: Buffer.from(sealed.fields.signature) },
    { signing, acceptUnstamped: false, maxAgeMs: 60_000 },
  );
  t.true(opened.ok);
  if (!opened.ok) return;
  const message = decodeBusPayload(opened.envelope.messageType, opened.envelope.payload);
  t.true(message instanceof leyline.SystemStatePacket);
  t.is((message as typeof packet).timestampNs, NS);
});

test('encoding a 64-bit field that is not a bigint in range fails naming the field (protobufjs would write 0)', (t) => {
  for (const bad of [5 as unknown as bigint, -1n, 2n ** 64n]) {
    const packet = leyline.SystemStatePacket.create({ timestampNs: bad });
    t.throws(() => encodeLeyline(packet), {
      instanceOf: RangeError,
      message: /SystemStatePacket\.timestampNs: expected a bigint within uint64/,
    });
  }
});

test('a uint64 written as JSON (esper inspect send) keeps every digit', (t) => {
  const result = leylineFromJson('SystemStatePacket', JSON.stringify({ timestampNs: NS.toString(), globalStep: 7 }));
  t.true(result.ok, result.ok ? '' : result.error);
  if (!result.ok) return;
  t.like(result.message, { timestampNs: NS, globalStep: 7n });
});

test('epoch nanoseconds from milliseconds and to a Timestamp, exactly', (t) => {
  t.is(epochNanoseconds(1_765_000_000_123), 1_765_000_000_123_000_000n);
  t.is(epochNanoseconds(1_765_000_000_123.5), 1_765_000_000_123_500_000n);
  t.deepEqual({ ...timestampFromNanoseconds(NS) }, { seconds: 1_765_000_000, nanos: 123_456_789 });
  t.deepEqual({ ...timestampFromNanoseconds(-1n) }, { seconds: -1, nanos: 999_999_999 });
  t.is(fromTimestamp(timestampFromNanoseconds(1_765_000_000_123_000_000n)), 1_765_000_000_123);
  const before = BigInt(Date.now()) * 1_000_000n;
  const now = epochNanoseconds();
  t.true(now >= before && now <= BigInt(Date.now()) * 1_000_000n);
});
