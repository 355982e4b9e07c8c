// Trained weights → a signed PolicyUpdate for Tamiyo (the payload is the encoded PolicyWeights; the signature covers
// the whole update), kept on disk under `<stateDir>/updates/` until it has been sent.
import { mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { leyline, type v1 } from '../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import type { SignatureContext } from '../../contracts/signing.ts';
import { toTimestamp } from '../../contracts/time.ts';
import { writeFileAtomic } from '../../runtime/atomic-file.ts';
import { signPolicyUpdate } from '../../policy/index.ts';

export function policyUpdate(
  weights: Uint8Array,
  version: string,
  trainingRunId: string,
  signing: SignatureContext,
): v1.PolicyUpdate {
  return signPolicyUpdate(
    leyline.PolicyUpdate.create({
      version: 1,
      policyId: 'simic',
      trainingRunId,
      issuedAt: toTimestamp(Date.now()),
      tamiyoPolicyVersion: version,
      payload: weights,
    }),
    signing,
  );
}

const outbox = (stateDir: string): string => join(stateDir, 'updates');

/** Keeps an update until it is sent (a run that is not up yet gets it when it starts). */
export function keepUpdate(stateDir: string, update: v1.PolicyUpdate): string {
  const path = join(outbox(stateDir), `${update.tamiyoPolicyVersion.replace(/[^A-Za-z0-9_.-]/g, '_')}.pb`);
  writeFileAtomic(path, encodeLeyline(update));
  return path;
}

/** Updates waiting to be sent, oldest name first; undecodable files are named in `broken`. */
export function pendingUpdates(stateDir: string): {
  updates: Array<{ path: string; update: v1.PolicyUpdate }>;
  broken: string[];
} {
  const dir = outbox(stateDir);
  const updates: Array<{ path: string; update: v1.PolicyUpdate }> = [];
  const broken: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.pb'))
      .sort();
  } catch {
    return { updates, broken };
  }
  for (const name of names) {
    const path = join(dir, name);
    const decoded = decodeLeyline(leyline.PolicyUpdate, readFileSync(path));
    if (decoded.ok) updates.push({ path, update: decoded.message });
    else broken.push(path);
  }
  return { updates, broken };
}

/** Moves a sent update to `updates/sent/`. */
export function markSent(path: string): void {
  const sent = join(path, '..', 'sent');
  mkdirSync(sent, { recursive: true });
  renameSync(path, join(sent, path.split('/').pop()!));
}
