// Actor names. nact accepts only RFC 1738 "safe" characters in a path segment and reports anything else with
// a generic message; we check first and say which character is wrong.
import { createHash } from 'node:crypto';
import { InvalidActorNameError } from './errors.ts';

const ALLOWED = /^[a-z0-9\-$_.+!*'(),]+$/i;
const DISALLOWED_CHAR = /[^a-z0-9\-$_.+!*'(),]/i;
const MAX_LENGTH = 200;

export function assertValidActorName(name: string): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new InvalidActorNameError(String(name), 'a name is required');
  if (name.length > MAX_LENGTH) throw new InvalidActorNameError(name, `longer than ${MAX_LENGTH} characters`);
  if (!ALLOWED.test(name)) {
    const bad = DISALLOWED_CHAR.exec(name)?.[0] ?? '?';
    throw new InvalidActorNameError(
      name,
      `character ${JSON.stringify(bad)} is not allowed (use letters, digits and - $ _ . + ! * ' ( ) ,; safeActorName() converts an id)`,
    );
  }
}

/**
 * A valid actor name for any id (e.g. a slot id "block1:conv"): disallowed characters become "_" and, when
 * anything was replaced, a short hash of the original keeps distinct ids distinct.
 */
export function safeActorName(id: string): string {
  if (ALLOWED.test(id) && id.length <= MAX_LENGTH) return id;
  const base = id.replace(new RegExp(DISALLOWED_CHAR.source, 'gi'), '_').slice(0, MAX_LENGTH - 9) || 'actor';
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 8);
  return `${base}.${hash}`;
}
