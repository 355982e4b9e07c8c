// What `esper run` prints, by mode: everything (default), only the outcome (`--quiet`), or one JSON object per line
// (`--json`: `{"event":"epoch",…}` per epoch, `{"event":"finished",…}` at the end; nothing else on stdout).
import type { EpochSummary, RunResult } from '../actors/tolaria/index.ts';
import { formatEpoch } from './training-progress.ts';

export type OutputMode = 'human' | 'quiet' | 'json';

export class RunOutput {
  constructor(readonly mode: OutputMode, private readonly write: (text: string) => void = (text) => void process.stdout.write(text)) {}

  /** Progress and set-up lines (the tree, the run's directory): the default mode only. */
  info(line: string): void {
    if (this.mode === 'human') this.write(`${line}\n`);
  }

  epoch(summary: EpochSummary): void {
    if (this.mode === 'human') this.write(`${formatEpoch(summary)}\n`);
    else if (this.mode === 'json') this.write(`${JSON.stringify({ event: 'epoch', ...summary })}\n`);
  }

  /** How the run ended: a line in both text modes, an object in JSON. */
  outcome(code: number, why: string, result: RunResult | null): void {
    if (this.mode === 'json') this.write(`${JSON.stringify({ event: 'finished', code, why, ...(result ? { result } : {}) })}\n`);
    else this.write(`esper: ${why}\n`);
  }
}
