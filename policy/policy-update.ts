// PolicyUpdates (Simic → Tamiyo, and the policy files `esper learn` saves), signed and checked: the signature is an
// HMAC over the canonical encoding of the update without its signature field; the payload is an encoded
// PolicyWeights that must fit the network exactly (architecture, every tensor's name and shape, finite values, its
// checksum). Nothing is ever unpickled or partly loaded.
import { existsSync, readFileSync } from 'node:fs';
import { leyline, type v1 } from '../contracts/index.ts';
import { decodeLeyline, encodeLeyline, withFields } from '../contracts/codec.ts';
import { sign, verify, type SignatureContext } from '../contracts/signing.ts';
import { checkWeights, PolicyWeightsError } from './gnn.ts';

export function signPolicyUpdate(update: v1.PolicyUpdate, ctx: SignatureContext): v1.PolicyUpdate {
  const unsigned = withFields(update, { signature: '' });
  return withFields(unsigned, { signature: sign(encodeLeyline(unsigned), ctx) });
}

export type UpdateCheck = { ok: true; version: string; weights: v1.PolicyWeights } | { ok: false; reason: string };

/** Checks an update in order: version, signature, a new policy version, the payload's weights. */
export function checkPolicyUpdate(
  update: v1.PolicyUpdate,
  ctx: SignatureContext,
  knownVersions: readonly string[],
): UpdateCheck {
  if (update.version !== 1) return { ok: false, reason: `unsupported update version ${update.version}` };
  if (!update.signature || !verify(encodeLeyline(withFields(update, { signature: '' })), update.signature, ctx))
    return { ok: false, reason: 'bad_signature' };
  const version = update.tamiyoPolicyVersion;
  if (!version) return { ok: false, reason: 'tamiyo_policy_version is empty' };
  if (knownVersions.includes(version)) return { ok: false, reason: `policy version ${version} is already loaded` };
  const decoded = decodeLeyline(leyline.PolicyWeights, update.payload ?? new Uint8Array());
  if (!decoded.ok) return { ok: false, reason: `payload is not PolicyWeights: ${decoded.error.message}` };
  try {
    checkWeights(decoded.message);
  } catch (error) {
    if (error instanceof PolicyWeightsError) return { ok: false, reason: error.message };
    throw error;
  }
  return { ok: true, version, weights: decoded.message };
}

export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`policy file ${file}: ${problem}`);
  }
}

/**
 * A policy saved as a signed PolicyUpdate (`esper learn` writes one per round): read, its signature verified with
 * this folder's secret, its weights checked. Throws PolicyFileError naming the file and the problem.
 */
export function readPolicyFile(
  file: string,
  ctx: SignatureContext,
): { version: string; weights: v1.PolicyWeights; update: v1.PolicyUpdate } {
  if (!existsSync(file)) throw new PolicyFileError(file, 'no such file');
  const decoded = decodeLeyline(leyline.PolicyUpdate, readFileSync(file));
  if (!decoded.ok) throw new PolicyFileError(file, `not a PolicyUpdate (${decoded.error.message})`);
  const check = checkPolicyUpdate(decoded.message, ctx, []);
  if (!check.ok) {
    const hint =
      check.reason === 'bad_signature'
        ? ': it was signed with another secret (set ESPER_LEYLINE_SECRET to the one it was signed with)'
        : '';
    throw new PolicyFileError(file, `${check.reason}${hint}`);
  }
  return { version: check.version, weights: check.weights, update: decoded.message };
}
