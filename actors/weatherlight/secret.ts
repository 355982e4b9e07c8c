// Where this run's signing secret comes from. One rule: ESPER_LEYLINE_SECRET, when set, must
// not be blank. A single-process run without it generates a secret once and keeps it in a mode-0600 file, so
// `npx esper run` needs no set-up; a multi-process run refuses to start, since its processes must share a key.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MissingSecretError,
  SECRET_ENV_VAR,
  SignatureContext,
  signatureContextFromEnv,
} from '../../contracts/signing.ts';
import type { Logger } from '../../runtime/logic.ts';

export const SECRET_FILE = 'leyline.secret';

export interface SecretSource {
  env: NodeJS.ProcessEnv;
  /** The directory that holds run state (`var/`). */
  varDir: string;
  multiProcess: boolean;
  log: Logger;
}

export function resolveSigningSecret(source: SecretSource): SignatureContext {
  if (source.env[SECRET_ENV_VAR] !== undefined) return signatureContextFromEnv(source.env);
  return new SignatureContext(folderSecret(source));
}

/**
 * The secret a process that starts others hands them (`esper learn`'s episode workers share its key): the
 * environment's, else this folder's (generated once, as for a single-process run).
 */
export function sharedSecret(source: SecretSource): string {
  const value = source.env[SECRET_ENV_VAR];
  if (value !== undefined) {
    signatureContextFromEnv(source.env);
    return value;
  }
  return folderSecret(source);
}

function folderSecret({ varDir, multiProcess, log }: SecretSource): string {
  if (multiProcess) {
    throw new MissingSecretError(
      `a multi-process run needs ${SECRET_ENV_VAR}: set it to the same non-blank value in every process`,
    );
  }
  const file = join(varDir, SECRET_FILE);
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
    if ((statSync(file).mode & 0o077) !== 0) {
      chmodSync(file, 0o600);
      log.warn('signing secret file was readable by others; its mode is now 0600', { file });
    }
    log.info(`using the signing secret generated earlier in ${file}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    secret = randomBytes(32).toString('hex');
    mkdirSync(varDir, { recursive: true });
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    log.info(`${SECRET_ENV_VAR} is not set: generated a signing secret in ${file} (mode 0600) for single-process runs`);
  }
  return secret;
}
