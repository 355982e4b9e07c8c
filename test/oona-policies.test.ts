// Oona's small policies, alone: conservative mode, the token bucket, recent ids, the kernel guard, envelopes, settings.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { SignatureContext, sign } from '../contracts/signing.ts';
import { toTimestamp } from '../contracts/time.ts';
import { ConservativeMode } from '../actors/oona/conservative-mode.ts';
import { openEnvelope, sealEnvelope } from '../actors/oona/envelope.ts';
import { KernelGuard } from '../actors/oona/kernel-guard.ts';
import { OonaClient } from '../actors/oona/oona-client.ts';
import { RecentIds } from '../actors/oona/recent-ids.ts';
import { OonaConfigError, resolveOonaConfig } from '../actors/oona/settings.ts';
import { TokenBucket } from '../actors/oona/token-bucket.ts';

const { BusMessageType: T, TelemetryLevel } = leyline;

test('conservative mode ends after a stable period without triggers, not on a consumer success', (t) => {
  let now = 0;
  const mode = new ConservativeMode(60_000, () => now);
  t.false(mode.active);
  mode.trigger('publish_error');
  t.true(mode.active);
  now = 59_999;
  t.true(mode.active);
  mode.trigger('retry');
  now = 119_998;
  t.true(mode.active, 'a new trigger restarts the stable period');
  now = 119_999;
  t.false(mode.active);
  t.is(mode.entered, 1);
  t.deepEqual(
    [...mode.reasons],
    [
      ['publish_error', 1],
      ['retry', 1],
    ],
  );
});

test('the token bucket starts full, refills at capacity per minute, and 0 means unlimited', (t) => {
  let now = 0;
  const bucket = new TokenBucket(5, () => now);
  t.deepEqual(
    Array.from({ length: 7 }, () => bucket.take()),
    [true, true, true, true, true, false, false],
  );
  now = 12_000; // 5 per minute: one token every 12 s
  t.true(bucket.take());
  t.false(bucket.take());
  t.true(Array.from({ length: 1_000 }, () => new TokenBucket(0, () => 0).take()).every(Boolean));
});

test('recent ids forget the oldest beyond capacity and anything older than the TTL', (t) => {
  let now = 0;
  const ids = new RecentIds<number>(2, 1_000, () => now);
  ids.set('a', 1);
  ids.set('b', 2);
  ids.set('c', 3);
  t.false(ids.has('a'));
  t.is(ids.get('c'), 3);
  now = 1_001;
  t.false(ids.has('b'));
  t.is(ids.size, 0);
});

test('the kernel guard: request window boundaries, empty ids, and ids seen only once handled', (t) => {
  const now = 1_000_000;
  const guard = new KernelGuard(60_000, 16, () => now);
  const request = (id: string, at: number | null) =>
    leyline.KernelPrefetchRequest.create({ requestId: id, ...(at === null ? {} : { issuedAt: toTimestamp(at) }) });
  t.true(guard.check(request('edge', now - 60_000)).ok, 'exactly at the window is fresh');
  t.like(guard.check(request('old', now - 60_001)), { ok: false, reason: 'kernel_stale' });
  t.like(guard.check(request('ahead', now + 5_001)), { ok: false, reason: 'kernel_stale' });
  t.like(guard.check(request('none', null)), { ok: false, reason: 'kernel_stale' });
  t.like(guard.check(request('', now)), { ok: false, reason: 'kernel_invalid' });
  const first = guard.check(request('r1', now));
  t.true(first.ok);
  t.true(guard.check(request('r1', now)).ok, 'not yet handled: a retry passes');
  if (first.ok) guard.handled(first.key);
  t.like(guard.check(request('r1', now)), { ok: false, reason: 'kernel_replay' });
  const ready = guard.check(leyline.KernelArtifactReady.create({ requestId: 'r1' }));
  if (ready.ok) guard.handled(ready.key);
  t.like(
    guard.check(leyline.KernelArtifactError.create({ requestId: 'r1' })),
    { ok: false, reason: 'kernel_replay' },
    'ready and error share one cache',
  );
});

test('envelopes: the prototype test vector opens; stamps are checked; strict mode refuses unstamped ones', (t) => {
  const prototype = new SignatureContext('s3cret');
  const bytes = Buffer.from([0x08, 0x01, 0x12, 0x02, 0x08, 0x01]);
  const fields = { payload: bytes, signature: Buffer.from('TzLBVqdSMvYXww+C8gYknNCFhn/7suBrUdNvDjsjbBM=') };
  const opened = openEnvelope(fields, { signing: prototype, acceptUnstamped: true, maxAgeMs: 60_000 });
  t.true(opened.ok);
  if (opened.ok) {
    t.is(opened.envelope.messageType, T.BUS_MESSAGE_TYPE_SYSTEM_STATE);
    t.is(leyline.SystemStatePacket.decode(opened.envelope.payload).version, 1);
    t.is(opened.nonce, null);
  }
  t.like(openEnvelope(fields, { signing: prototype, acceptUnstamped: false, maxAgeMs: 0 }), {
    ok: false,
    reason: 'unstamped',
  });
  const signing = new SignatureContext('k');
  const now = 10_000_000;
  const sealed = sealEnvelope(T.BUS_MESSAGE_TYPE_TELEMETRY, new Uint8Array([1]), signing, {}, now);
  const entry = { payload: sealed.fields.payload, signature: Buffer.from(sealed.fields.signature) };
  t.true(openEnvelope(entry, { signing, acceptUnstamped: false, maxAgeMs: 1_000, now: now + 1_000 }).ok);
  t.like(openEnvelope(entry, { signing, acceptUnstamped: false, maxAgeMs: 1_000, now: now + 1_001 }), {
    ok: false,
    reason: 'stale',
  });
  t.like(openEnvelope(entry, { signing, acceptUnstamped: false, maxAgeMs: 1_000, now: now - 5_001 }), {
    ok: false,
    reason: 'future',
  });
  const tampered = Buffer.from(sealed.fields.payload);
  tampered[tampered.length - 1] ^= 1;
  t.like(
    openEnvelope(
      { payload: tampered, signature: Buffer.from(sealed.fields.signature) },
      { signing, acceptUnstamped: true, maxAgeMs: 0 },
    ),
    { ok: false, reason: 'bad_signature' },
  );
  t.is(sealed.fields.signature, sign(sealed.fields.payload, signing), 'the signature covers the exact envelope bytes');
});

test('conservative mode sheds routine telemetry and keeps urgent telemetry and other traffic', (t) => {
  const client = new OonaClient({ settings: resolveOonaConfig(), signing: new SignatureContext('k'), source: 'test' });
  client.conservative.trigger('publish_error');
  const routine = client.publish(
    leyline.TelemetryPacket.create({ packetId: 'a', level: TelemetryLevel.TELEMETRY_LEVEL_INFO }),
  );
  t.like(routine, { ok: false, reason: 'shed' });
  t.true(
    client.publish(leyline.TelemetryPacket.create({ packetId: 'b', level: TelemetryLevel.TELEMETRY_LEVEL_ERROR })).ok,
  );
  t.true(client.publish(leyline.FieldReport.create({ reportId: 'r' })).ok);
  t.is(client.metrics.counters.conservative_shed, 1);
});

test('configuration errors name the field', (t) => {
  t.throws(() => resolveOonaConfig({ emergencyMaxPerMin: -1 }), {
    instanceOf: OonaConfigError,
    message: /oona\.emergencyMaxPerMin must be an integer ≥ 0, got -1/,
  });
  t.throws(() => resolveOonaConfig({ url: 'http://x' }), {
    message: /oona\.url must be "embedded" or redis:\/\/host:port/,
  });
  t.throws(() => resolveOonaConfig({ retryMaxAttempts: 0 }), { message: /oona\.retryMaxAttempts/ });
  t.throws(() => resolveOonaConfig({ streams: { normal: ' ' } }), { message: /oona\.streams\.normal/ });
  t.is(resolveOonaConfig().streams.emergency, 'oona.emergency');
});

test("the bus's own telemetry carries the deepest backlog and its publish-latency SLO sample", async (t) => {
  const client = new OonaClient({ settings: resolveOonaConfig(), signing: new SignatureContext('k'), source: 'test' });
  await client.store.ensureGroup('oona.normal', 'slow');
  for (let i = 0; i < 3; i += 1) client.publish(leyline.FieldReport.create({ reportId: `r${i}` }));
  const packet = await client.metricsTelemetry();
  const value = (name: string) => packet.metrics.find((m) => m.name === name)?.value;
  t.is(packet.sourceSubsystem, 'test.oona');
  t.is(value('oona.queue.depth'), 3, 'three unread entries for group "slow"');
  t.is(value('slo.publish_latency_objective'), 25);
  t.true((value('slo.publish_latency_actual') ?? -1) >= 0);
  t.is(value('oona.publish_total'), 3);
  await client.close();
});
