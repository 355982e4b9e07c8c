import test from 'ava';
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { encodeLeyline } from '../contracts/codec.ts';
import { leyline } from '../contracts/index.ts';
import {
  MissingSecretError,
  SECRET_ENV_VAR,
  sign,
  SignatureContext,
  signatureContextFromEnv,
  signatureMetadata,
  verify,
} from '../contracts/signing.ts';
import { toTimestamp } from '../contracts/time.ts';

const VECTOR_BYTES = Uint8Array.of(0x08, 0x01, 0x12, 0x02, 0x08, 0x01);

test('prototype vector: key "s3cret" over 08 01 12 02 08 01', (t) => {
  t.is(sign(VECTOR_BYTES, new SignatureContext('s3cret')), 'TzLBVqdSMvYXww+C8gYknNCFhn/7suBrUdNvDjsjbBM=');
});

test('the vector bytes are the BusEnvelope Oona writes for SystemStatePacket{version:1}', (t) => {
  const envelope = leyline.BusEnvelope.create({
    messageType: leyline.BusMessageType.BUS_MESSAGE_TYPE_SYSTEM_STATE,
    payload: encodeLeyline(leyline.SystemStatePacket.create({ version: 1 })),
  });
  const bytes = encodeLeyline(envelope);
  t.deepEqual(Buffer.from(bytes), Buffer.from(VECTOR_BYTES));
  t.is(sign(bytes, new SignatureContext('s3cret')), 'TzLBVqdSMvYXww+C8gYknNCFhn/7suBrUdNvDjsjbBM=');
});

test('prototype vector: key "kasmina-leyline-test" over empty bytes', (t) => {
  t.is(
    sign(new Uint8Array(0), new SignatureContext('kasmina-leyline-test')),
    'LzFsY1x7kygGTTvlOuBWCiwbjSgHPpmQ+TyRqR3bYFg=',
  );
});

test('signatures are standard padded base64 of 44 characters', (t) => {
  const signature = sign(Uint8Array.of(1, 2, 3), new SignatureContext('k'));
  t.is(signature.length, 44);
  t.regex(signature, /^[A-Za-z0-9+/]{43}=$/);
});

test('the key is the UTF-8 of the secret as written: a hex secret is not hex-decoded, non-ASCII is UTF-8', (t) => {
  const hex = new SignatureContext('00ff');
  t.not(sign(VECTOR_BYTES, hex), sign(VECTOR_BYTES, new SignatureContext('\u0000\u00ff')));
  const accented = new SignatureContext('clé');
  t.is(accented.keyId, createHash('sha256').update(Buffer.from('clé', 'utf8')).digest('hex').slice(0, 8));
  t.not(
    sign(VECTOR_BYTES, new SignatureContext(' s3cret')),
    sign(VECTOR_BYTES, new SignatureContext('s3cret')),
    'no trimming',
  );
});

test('keyId is the first 8 hex characters of SHA-256(secret)', (t) => {
  t.is(new SignatureContext('s3cret').keyId, createHash('sha256').update('s3cret').digest('hex').slice(0, 8));
  t.regex(new SignatureContext('x').keyId, /^[0-9a-f]{8}$/);
});

test('a context never shows its secret when logged or serialised', (t) => {
  const ctx = new SignatureContext('top-secret-value');
  t.false(JSON.stringify(ctx).includes('top-secret'));
  t.false(inspect(ctx, { showHidden: true, depth: 5 }).includes('top-secret'));
  t.deepEqual(Object.keys(ctx), ['keyId']);
});

test('signatureContextFromEnv reads ESPER_LEYLINE_SECRET', (t) => {
  const ctx = signatureContextFromEnv({ [SECRET_ENV_VAR]: 's3cret' });
  t.is(sign(VECTOR_BYTES, ctx), 'TzLBVqdSMvYXww+C8gYknNCFhn/7suBrUdNvDjsjbBM=');
});

test('a missing, empty or blank secret stops start-up with an error naming ESPER_LEYLINE_SECRET', (t) => {
  for (const env of [{}, { [SECRET_ENV_VAR]: '' }, { [SECRET_ENV_VAR]: '   \t\n' }]) {
    const error = t.throws(() => signatureContextFromEnv(env), { instanceOf: MissingSecretError });
    t.regex(error?.message ?? '', /ESPER_LEYLINE_SECRET/);
  }
  t.throws(() => new SignatureContext(''), { instanceOf: MissingSecretError, message: /ESPER_LEYLINE_SECRET/ });
});

test('verify accepts the right signature and rejects everything else without throwing', (t) => {
  const ctx = new SignatureContext('s3cret');
  const good = sign(VECTOR_BYTES, ctx);
  t.true(verify(VECTOR_BYTES, good, ctx));
  t.true(verify(Buffer.from(VECTOR_BYTES), good, ctx), 'a Buffer is fine');

  t.false(verify(VECTOR_BYTES, good, new SignatureContext('other')), 'other key');
  t.false(verify(Uint8Array.of(0x08, 0x02, 0x12, 0x02, 0x08, 0x01), good, ctx), 'tampered bytes');
  t.false(verify(VECTOR_BYTES, good.slice(0, 43), ctx), 'too short');
  t.false(verify(VECTOR_BYTES, `${good}=`, ctx), 'too long');
  t.false(
    verify(
      VECTOR_BYTES,
      good.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
      ctx,
    ),
    'one character off',
  );
  t.false(verify(VECTOR_BYTES, 'é'.repeat(22), ctx), 'multi-byte characters of the right length in chars');
  t.false(verify(VECTOR_BYTES, '', ctx));
  for (const signature of [null, undefined, 42, {}, Buffer.from(good)]) t.false(verify(VECTOR_BYTES, signature, ctx));
  t.false(verify(null as unknown as Uint8Array, good, ctx), 'non-bytes payload');
  t.false(verify(VECTOR_BYTES, good, {} as SignatureContext), 'not a context');
});

test('signatureMetadata records algorithm, key id, nonce and issued_at as a Leyline message', (t) => {
  const ctx = new SignatureContext('s3cret');
  const meta = signatureMetadata(ctx, {
    signature: sign(VECTOR_BYTES, ctx),
    nonce: 'n-1',
    issuedAt: toTimestamp(1000),
  });
  t.true(meta instanceof leyline.SignatureMetadata);
  t.is(meta.algorithm, 'HMAC-SHA256');
  t.is(meta.keyId, ctx.keyId);
  t.is(meta.nonce, 'n-1');
  t.is(meta.issuedAt?.seconds, 1);
  t.is(meta.signature.length, 44);
});
