// Where `esper run`'s log entries go: every one to `<run-dir>/esper.log`, a JSON line each; warnings and errors to the
// terminal (stderr) as well, and with `--verbose` every entry. The terminal then shows the progress, not the
// bookkeeping (a checkpoint saved, a socket ready), and the file keeps it all beside the run's record.
// The run's folder is known only once the tree has booted: entries logged before are held and written when it is.
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { atLeast, logJson, logLine, type LogEntry } from '../runtime/log.ts';

export const RUN_LOG_FILE = 'esper.log';

export class RunLog {
  #file: number | null = null;
  #held: LogEntry[] = [];

  constructor(
    private readonly verbose: boolean,
    private readonly terminal: (line: string) => void = (line) => void process.stderr.write(`${line}\n`),
  ) {}

  /** The sink to install (`setLogSink`). */
  readonly write = (entry: LogEntry): void => {
    if (this.verbose || atLeast(entry.level, 'warn')) this.terminal(logLine(entry));
    if (this.#file !== null) writeSync(this.#file, `${logJson(entry)}\n`);
    else this.#held.push(entry);
  };

  /** From now on entries go to `<runDir>/esper.log` (appended: a resumed run adds to its log); held ones first. */
  open(runDir: string): void {
    this.#file = openSync(join(runDir, RUN_LOG_FILE), 'a');
    for (const entry of this.#held.splice(0)) writeSync(this.#file, `${logJson(entry)}\n`);
  }

  /**
   * Closes the file. Entries still held (no run folder was ever opened: boot failed, or the tree trains nothing)
   * go to the terminal, the one place left to keep them, unless it showed them already.
   */
  close(): void {
    if (this.#file !== null) closeSync(this.#file);
    this.#file = null;
    for (const entry of this.#held.splice(0))
      if (!this.verbose && !atLeast(entry.level, 'warn')) this.terminal(logLine(entry));
  }
}
