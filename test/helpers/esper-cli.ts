// The `esper` command as the CLI tests run it: a real process (bin/esper.js) in a folder of its own, with no signing
// secret in its environment (single-process runs generate one), and quick spirals configurations.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ESPER_BIN = fileURLToPath(new URL('../../bin/esper.js', import.meta.url));

export interface EsperRun {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface EsperOptions {
  /** Sent once the tree reports ready. */
  signal?: NodeJS.Signals;
  /** Written to stdin, which is then closed. */
  input?: string;
  /** ESPER_LOG_LEVEL. Default "warn". */
  logLevel?: string;
  /** More environment (e.g. a shared ESPER_LEYLINE_SECRET for a multi-process run). */
  env?: NodeJS.ProcessEnv;
}

/** The environment of a spawned `esper`: this one, without the signing secret. */
export function esperEnv(logLevel = 'warn'): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ESPER_LOG_LEVEL: logLevel };
  delete env.ESPER_LEYLINE_SECRET;
  return env;
}

/** Runs `esper args` in `cwd` to its end. */
export function esper(args: readonly string[], cwd: string, options: EsperOptions = {}): Promise<EsperRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ESPER_BIN, ...args], {
      cwd,
      env: { ...esperEnv(options.logLevel), ...options.env },
    });
    let stdout = '';
    let stderr = '';
    let signal = options.signal;
    // A guard against a hung process, not a deadline: booting loads MNIST, which takes a while on a loaded machine.
    const guard = setTimeout(() => child.kill('SIGKILL'), 170_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (signal && stdout.includes('esper: ready')) {
        child.kill(signal);
        signal = undefined;
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ stdout, stderr, code });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A new temporary folder, an ES-module package (so config files in it load as modules). */
export function freshDir(prefix = 'esper-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return dir;
}

/** A config file in `cwd`: the defaults with a quick spirals run of `epochs`, plus `extra` top-level fields. */
export function quickConfig(cwd: string, epochs: number, extra = ''): string {
  const defaults = fileURLToPath(new URL('../../esper.config.ts', import.meta.url));
  writeFileSync(join(cwd, 'package.json'), '{ "type": "module" }\n');
  const file = join(cwd, `quick-${epochs}.config.ts`);
  writeFileSync(
    file,
    `import defaults from ${JSON.stringify(defaults)};\n` +
      `export default { ...defaults, tolaria: { experiment: 'spirals', dataset: { kind: 'spirals' }, optimizer: { kind: 'adam', learningRate: 0.01 }, epochs: ${epochs}, control: { hookBudgetMs: 10000 } }${extra ? `, ${extra}` : ''} };\n`,
  );
  return file;
}
