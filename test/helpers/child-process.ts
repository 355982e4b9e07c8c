// A child process for crash tests (a TypeScript script, or the esper command): its stdout lines, a way to wait for
// a line, and kill -9.
import { spawn } from 'node:child_process';

export interface ChildRun {
  pid: number;
  lines: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Resolves when `match` has been printed `times` times (counting from the start); rejects if the child exits first. */
  waitFor(match: (line: string) => boolean, times?: number): Promise<void>;
}

export function runTsChild(script: string, args: readonly string[], timeoutMs = 40_000): ChildRun {
  return runChild(
    ['--import', 'tsx', script, ...args],
    { env: { ...process.env, ESPER_LOG_LEVEL: 'silent' } },
    timeoutMs,
  );
}

/** `node argv…` with its stdout read line by line. */
export function runChild(
  argv: readonly string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv },
  timeoutMs = 40_000,
): ChildRun {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let partial = '';
  let stderr = '';
  let exited = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      exited = true;
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, signal });
    }),
  );
  return {
    pid: child.pid ?? -1,
    lines,
    exit,
    kill: () => child.kill('SIGKILL'),
    stderr: () => stderr,
    waitFor(match, times = 1) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`child did not print the awaited line; stderr: ${stderr}`)),
          timeoutMs,
        );
        const check = (): void => {
          if (lines.filter(match).length >= times) {
            clearTimeout(timer);
            resolve();
          } else if (exited) {
            clearTimeout(timer);
            reject(new Error(`child exited first; stderr: ${stderr}\nstdout: ${lines.join('\n')}`));
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
  };
}
