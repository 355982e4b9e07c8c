// HMAC-SHA256 signing shared by every process of one Esper deployment (and by the Python prototype: same key
// derivation, same base64 output, same test vectors).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { leyline, type v1 } from './index.ts';
import type { Timestamp } from './time.ts';

/** The environment variable every Esper process reads its signing secret from. */
export const SECRET_ENV_VAR = 'ESPER_LEYLINE_SECRET';

export const SIGNATURE_ALGORITHM = 'HMAC-SHA256';

// The key bytes live here, not on the context object, so logging or serialising a context can never leak them.
const keys = new WeakMap<SignatureContext, Buffer>();

/** Thrown when the signing secret is missing; the message names the variable to set. */
export class MissingSecretError extends Error {
  override readonly name = 'MissingSecretError';
}

/**
 * What signatures are made with. The key is the UTF-8 encoding of the secret exactly as written (a hex-looking
 * secret is *not* hex-decoded: the prototype does the same, and the test vectors depend on it).
 */
export class SignatureContext {
  /** First 8 hex chars of SHA-256(secret): names the key in logs and SignatureMetadata without revealing it. */
  readonly keyId: string;

  constructor(secret: string) {
    if (typeof secret !== 'string' || secret.trim() === '') {
      throw new MissingSecretError(`signing secret is empty: set ${SECRET_ENV_VAR} to a non-blank value`);
    }
    const key = Buffer.from(secret, 'utf8');
    keys.set(this, key);
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  toJSON(): { keyId: string } {
    return { keyId: this.keyId };
  }

  [inspect.custom](): string {
    return `SignatureContext { keyId: '${this.keyId}' }`;
  }
}

/**
 * The context for this process, from ESPER_LEYLINE_SECRET. One rule everywhere: the variable must be set and not
 * blank, otherwise start-up stops here with an error that names it.
 */
export function signatureContextFromEnv(env: NodeJS.ProcessEnv = process.env): SignatureContext {
  const secret = env[SECRET_ENV_VAR];
  if (secret === undefined) {
    throw new MissingSecretError(
      `signing secret missing: set ${SECRET_ENV_VAR} (any non-blank string, e.g. the output of \`openssl rand -hex 32\`); ` +
        'every Esper process needs the same value',
    );
  }
  if (secret.trim() === '') {
    throw new MissingSecretError(`signing secret is blank: set ${SECRET_ENV_VAR} to a non-blank value`);
  }
  return new SignatureContext(secret);
}

function keyOf(ctx: SignatureContext): Buffer {
  const key = keys.get(ctx);
  if (!key) throw new TypeError('not a SignatureContext');
  return key;
}

/** Standard base64 (with `+/` and padding, 44 chars) of HMAC-SHA256(key, bytes). */
export function sign(bytes: Uint8Array, ctx: SignatureContext): string {
  return createHmac('sha256', keyOf(ctx)).update(bytes).digest('base64');
}

/**
 * Whether `signature` is the signature of `bytes` under `ctx`. Compares in constant time (for a signature of the
 * right length). Never throws: any malformed input is simply `false`.
 */
export function verify(bytes: Uint8Array, signature: unknown, ctx: SignatureContext): boolean {
  try {
    if (typeof signature !== 'string' || !(bytes instanceof Uint8Array)) return false;
    const expected = Buffer.from(sign(bytes, ctx), 'utf8');
    const given = Buffer.from(signature, 'utf8');
    // timingSafeEqual needs equal lengths; the length of a valid signature is public (44), so checking it first
    // leaks nothing.
    return given.length === expected.length && timingSafeEqual(given, expected);
  } catch {
    return false;
  }
}

/** The Leyline record of a signature: algorithm, key id, and what it covered. */
export function signatureMetadata(
  ctx: SignatureContext,
  fields: { signature: string; nonce?: string; issuedAt?: Timestamp },
): v1.SignatureMetadata {
  return leyline.SignatureMetadata.create({
    algorithm: SIGNATURE_ALGORITHM,
    keyId: ctx.keyId,
    signature: fields.signature,
    ...(fields.nonce === undefined ? {} : { nonce: fields.nonce }),
    ...(fields.issuedAt === undefined ? {} : { issuedAt: fields.issuedAt }),
  });
}
