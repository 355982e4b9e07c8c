import test from 'ava';
import { decodeLeyline, encodeLeyline } from '../contracts/codec.ts';
import {
  COMMAND_VERDICTS,
  CommandVerifier,
  NonceLedger,
  SIGNATURE_ANNOTATION,
  signCommand,
  type CommandVerdict,
} from '../contracts/command-signing.ts';
import { leyline, type v1 } from '../contracts/index.ts';
import { sign, SignatureContext, verify } from '../contracts/signing.ts';
import { fromTimestamp, toTimestamp } from '../contracts/time.ts';
import { adaptationCommandFixture, FIXTURE_TIME_MS } from './fixtures/leyline-fixtures.ts';

const ctx = new SignatureContext('kasmina-leyline-test');
const T = FIXTURE_TIME_MS;

/** A verifier whose wall clock reads `wall.now` and whose monotonic clock reads `mono.now`. */
function rig(now = T): { verifier: CommandVerifier; wall: { now: number }; mono: { now: number } } {
  const wall = { now };
  const mono = { now: 0 };
  const verifier = new CommandVerifier(ctx, { wallClock: () => wall.now, monotonicClock: () => mono.now });
  return { verifier, wall, mono };
}

function signedAt(issuedMs: number): v1.AdaptationCommand {
  return signCommand(adaptationCommandFixture(), ctx, { now: () => issuedMs });
}

/** Signs `command` as-is (no stamping), for commands signCommand would never produce. */
function signRaw(command: v1.AdaptationCommand): v1.AdaptationCommand {
  delete command.annotations[SIGNATURE_ANNOTATION];
  command.annotations[SIGNATURE_ANNOTATION] = sign(encodeLeyline(command), ctx);
  return command;
}

function expectOnly(
  t: { deepEqual(a: unknown, b: unknown, m?: string): void },
  verifier: CommandVerifier,
  expected: Partial<Record<CommandVerdict, number>>,
): void {
  const all = Object.fromEntries(COMMAND_VERDICTS.map((verdict) => [verdict, expected[verdict] ?? 0]));
  t.deepEqual(verifier.counters(), all);
}

// ---- signing ---------------------------------------------------------------------------------------------------

test('signCommand stamps a fresh UUID command id and issued_at, and signs the command without the annotation', (t) => {
  const command = adaptationCommandFixture();
  command.annotations[SIGNATURE_ANNOTATION] = 'stale-signature-from-before';
  const returned = signCommand(command, ctx, { now: () => T + 1.5 });
  t.is(returned, command, 'signed in place');
  t.regex(command.commandId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.is(command.issuedAt?.seconds, T / 1000);
  t.is(command.issuedAt?.nanos, 1_500_000);
  const signature = command.annotations[SIGNATURE_ANNOTATION] ?? '';
  t.is(signature.length, 44);
  t.is(command.annotations.policy, 'v1', 'other annotations stay');
  const unsigned = leyline.AdaptationCommand.decode(encodeLeyline(command));
  delete unsigned.annotations[SIGNATURE_ANNOTATION];
  t.true(verify(encodeLeyline(unsigned), signature, ctx));
  t.not(signCommand(adaptationCommandFixture(), ctx).commandId, signCommand(adaptationCommandFixture(), ctx).commandId);
});

test('a signed command is accepted, also after crossing the wire', (t) => {
  const { verifier } = rig();
  const command = signedAt(T);
  t.deepEqual(verifier.verify(command), { accepted: true, reason: 'ok' });
  const decoded = decodeLeyline(leyline.AdaptationCommand, encodeLeyline(signedAt(T)));
  t.true(decoded.ok);
  if (decoded.ok) t.deepEqual(verifier.verify(decoded.message), { accepted: true, reason: 'ok' });
  expectOnly(t, verifier, { ok: 2 });
});

test('verification does not modify the command it is given', (t) => {
  const { verifier } = rig();
  const command = signedAt(T);
  const before = Buffer.from(encodeLeyline(command));
  const annotations = command.annotations;
  verifier.verify(command);
  t.is(command.annotations, annotations);
  t.truthy(command.annotations[SIGNATURE_ANNOTATION]);
  t.deepEqual(Buffer.from(encodeLeyline(command)), before);
});

test('signatures do not depend on annotation insertion order', (t) => {
  const { verifier } = rig();
  const command = signedAt(T);
  const signature = command.annotations[SIGNATURE_ANNOTATION] as string;
  // Rebuild the annotations map in reverse insertion order: same canonical bytes, still valid.
  const reversed: Record<string, string> = {};
  for (const key of Object.keys(command.annotations).reverse()) reversed[key] = command.annotations[key] as string;
  command.annotations = reversed;
  t.is(command.annotations[SIGNATURE_ANNOTATION], signature);
  t.is(verifier.verify(command).reason, 'ok');
});

test('a signed command from a newer peer, with a field this schema lacks, still verifies', (t) => {
  const { verifier } = rig();
  const command = adaptationCommandFixture();
  command.commandId = 'newer-peer-1';
  // The newer peer's unsigned encoding: our fields, then its new field 21 (a varint 5).
  const unsigned = Buffer.concat([encodeLeyline(command), Uint8Array.of(0xa8, 0x01, 0x05)]);
  const decoded = decodeLeyline(leyline.AdaptationCommand, unsigned);
  t.true(decoded.ok);
  if (!decoded.ok) return;
  decoded.message.annotations[SIGNATURE_ANNOTATION] = sign(unsigned, ctx);
  t.is(verifier.verify(decoded.message).reason, 'ok');
});

// ---- every rejection reason ------------------------------------------------------------------------------------

test('missing_signature: no annotation, or an empty one', (t) => {
  const { verifier } = rig();
  t.deepEqual(verifier.verify(adaptationCommandFixture()), { accepted: false, reason: 'missing_signature' });
  const empty = signedAt(T);
  empty.annotations[SIGNATURE_ANNOTATION] = '';
  t.is(verifier.verify(empty).reason, 'missing_signature');
  expectOnly(t, verifier, { missing_signature: 2 });
});

test('invalid_signature: tampered field, tampered annotation, other key, garbage signature', (t) => {
  const { verifier } = rig();
  const tampered = signedAt(T);
  tampered.targetSeedId = 'seed-2';
  t.deepEqual(verifier.verify(tampered), { accepted: false, reason: 'invalid_signature' });
  const annotated = signedAt(T);
  annotated.annotations.policy = 'v2';
  t.is(verifier.verify(annotated).reason, 'invalid_signature');
  const otherKey = signCommand(adaptationCommandFixture(), new SignatureContext('someone-else'), { now: () => T });
  t.is(verifier.verify(otherKey).reason, 'invalid_signature');
  const garbage = signedAt(T);
  garbage.annotations[SIGNATURE_ANNOTATION] = 'not base64 at all';
  t.is(verifier.verify(garbage).reason, 'invalid_signature');
  expectOnly(t, verifier, { invalid_signature: 4 });
});

test('missing_command_id: a validly signed command without an id', (t) => {
  const { verifier } = rig();
  const command = adaptationCommandFixture();
  command.commandId = '';
  command.issuedAt = toTimestamp(T);
  t.deepEqual(verifier.verify(signRaw(command)), { accepted: false, reason: 'missing_command_id' });
  expectOnly(t, verifier, { missing_command_id: 1 });
});

test('nonce_replayed: the same command twice, and a different command reusing an id', (t) => {
  const { verifier } = rig();
  const command = signedAt(T);
  t.is(verifier.verify(command).reason, 'ok');
  t.deepEqual(verifier.verify(command), { accepted: false, reason: 'nonce_replayed' });
  const reuse = adaptationCommandFixture();
  reuse.commandId = command.commandId;
  reuse.targetSeedId = 'seed-9';
  reuse.issuedAt = toTimestamp(T);
  t.is(verifier.verify(signRaw(reuse)).reason, 'nonce_replayed');
  expectOnly(t, verifier, { ok: 1, nonce_replayed: 2 });
});

test('missing_timestamp: a validly signed command without issued_at (reachable, unlike in the prototype)', (t) => {
  const { verifier } = rig();
  const command = adaptationCommandFixture();
  command.commandId = 'no-time-1';
  command.issuedAt = null;
  t.deepEqual(verifier.verify(signRaw(command)), { accepted: false, reason: 'missing_timestamp' });
  expectOnly(t, verifier, { missing_timestamp: 1 });
});

test('issued_in_future: exactly 5 s ahead is accepted, 1 ms or 1 µs more is not', (t) => {
  const { verifier } = rig(T);
  t.is(verifier.verify(signedAt(T + 5000)).reason, 'ok');
  t.deepEqual(verifier.verify(signedAt(T + 5001)), { accepted: false, reason: 'issued_in_future' });
  t.is(verifier.verify(signedAt(T + 5000.001)).reason, 'issued_in_future');
  expectOnly(t, verifier, { ok: 1, issued_in_future: 2 });
});

test('stale_command: exactly 60 s old is accepted, 1 ms or 1 µs older is not', (t) => {
  const { verifier } = rig(T + 60_000);
  t.is(verifier.verify(signedAt(T)).reason, 'ok');
  t.deepEqual(verifier.verify(signedAt(T - 1)), { accepted: false, reason: 'stale_command' });
  t.is(verifier.verify(signedAt(T - 0.001)).reason, 'stale_command');
  expectOnly(t, verifier, { ok: 1, stale_command: 2 });
});

test('the nonce is registered before the time checks: a stale command uses up its id', (t) => {
  const { verifier, wall } = rig(T + 120_000);
  const command = signedAt(T);
  t.is(verifier.verify(command).reason, 'stale_command');
  wall.now = T; // even once the clock agrees, the id is spent
  t.is(verifier.verify(command).reason, 'nonce_replayed');
});

test('checks run in order: each command reports only its first failure', (t) => {
  const { verifier } = rig(T);
  // Bad signature and stale: reported as invalid_signature.
  const both = signedAt(T - 3_600_000);
  both.issuedBy = 'mallory';
  t.is(verifier.verify(both).reason, 'invalid_signature');
  // No id and no timestamp: reported as missing_command_id.
  const bare = adaptationCommandFixture();
  bare.commandId = '';
  bare.issuedAt = null;
  t.is(verifier.verify(signRaw(bare)).reason, 'missing_command_id');
});

test('every verdict is reachable and counted on one verifier', (t) => {
  const { verifier } = rig(T);
  const replayed = signedAt(T);
  const noId = adaptationCommandFixture();
  noId.commandId = '';
  const noTime = adaptationCommandFixture();
  noTime.commandId = 'no-time-2';
  noTime.issuedAt = null;
  const tampered = signedAt(T);
  tampered.targetSeedId = 'x';
  const commands: Array<[v1.AdaptationCommand, CommandVerdict]> = [
    [adaptationCommandFixture(), 'missing_signature'],
    [tampered, 'invalid_signature'],
    [signRaw(noId), 'missing_command_id'],
    [replayed, 'ok'],
    [replayed, 'nonce_replayed'],
    [signRaw(noTime), 'missing_timestamp'],
    [signedAt(T + 10_000), 'issued_in_future'],
    [signedAt(T - 61_000), 'stale_command'],
  ];
  for (const [command, reason] of commands) t.is(verifier.verify(command).reason, reason);
  t.deepEqual(verifier.counters(), Object.fromEntries(COMMAND_VERDICTS.map((verdict) => [verdict, 1])));
  const snapshot = verifier.counters() as Record<CommandVerdict, number>;
  snapshot.ok = 99;
  t.is(verifier.counters().ok, 1, 'the snapshot is a copy');
});

test('verify never throws, even on a value that is not a well-formed command', (t) => {
  const { verifier } = rig();
  const broken = signedAt(T);
  (broken as unknown as { version: string }).version = 'one';
  t.notThrows(() => verifier.verify(broken));
  t.is(verifier.verify(broken).reason, 'invalid_signature');
});

test('issued_at keeps sub-millisecond precision', (t) => {
  const command = signedAt(T + 0.25);
  t.is(fromTimestamp(command.issuedAt ?? {}), T + 0.25);
});

// ---- nonce ledger ----------------------------------------------------------------------------------------------

test('NonceLedger remembers a nonce for 300 s of monotonic time, then forgets it', (t) => {
  let now = 1_000;
  const ledger = new NonceLedger({ clock: () => now });
  t.is(ledger.ttlMs, 300_000);
  t.true(ledger.register('a'));
  t.false(ledger.register('a'));
  now += 299_999;
  t.false(ledger.register('a'));
  now += 1;
  t.true(ledger.register('a'), 'expired after exactly the TTL');
});

test('NonceLedger purges expired entries on every register', (t) => {
  let now = 0;
  const ledger = new NonceLedger({ ttlMs: 100, clock: () => now });
  for (const nonce of ['a', 'b', 'c']) ledger.register(nonce);
  now = 50;
  ledger.register('d');
  t.is(ledger.size, 4);
  now = 100;
  ledger.register('e');
  t.is(ledger.size, 2, 'a, b and c expired');
  now = 150;
  ledger.register('f');
  t.is(ledger.size, 2, 'd expired');
});

test('NonceLedger is bounded: when full it evicts the oldest nonce and counts it', (t) => {
  let now = 0;
  const ledger = new NonceLedger({ maxEntries: 3, clock: () => now });
  for (const nonce of ['a', 'b', 'c', 'd']) {
    now += 1;
    t.true(ledger.register(nonce));
  }
  t.is(ledger.size, 3);
  t.is(ledger.evicted, 1);
  t.false(ledger.register('d'));
  t.false(ledger.register('b'));
  t.true(ledger.register('a'), 'the evicted nonce is forgotten');
});

test('NonceLedger stays exact over many registrations (front compaction)', (t) => {
  let now = 0;
  const ledger = new NonceLedger({ maxEntries: 10, ttlMs: 1_000, clock: () => now });
  for (let i = 0; i < 5_000; i++) {
    now += 0.1;
    t.true(ledger.register(`n-${i}`));
  }
  t.is(ledger.size, 10);
  t.is(ledger.evicted, 4_990);
  for (let i = 4_990; i < 5_000; i++) t.false(ledger.register(`n-${i}`), `n-${i} is still remembered`);
  t.true(ledger.register('n-4989'), 'evicted');
  now += 1_000;
  t.true(ledger.register('late'));
  t.is(ledger.size, 1, 'everything else expired');
});

test('the verifier uses an injected ledger and its monotonic clock', (t) => {
  let mono = 0;
  const ledger = new NonceLedger({ ttlMs: 1_000, clock: () => mono });
  const verifier = new CommandVerifier(ctx, { wallClock: () => T, ledger });
  const command = signedAt(T);
  t.is(verifier.verify(command).reason, 'ok');
  t.is(verifier.verify(command).reason, 'nonce_replayed');
  mono = 1_000;
  t.is(verifier.verify(command).reason, 'ok', 'after the ledger TTL the nonce is new again (freshness still applies)');
});
