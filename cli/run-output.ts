// What `esper run` prints on stdout, by mode: the set-up and progress lines and the summary (default), only the outcome
// (`--quiet`), or one JSON object per line (`--json`: `{"event":"epoch",…}` per epoch, `{"event":"finished",…}` at
// the end; nothing else on stdout). Log entries are not among them (cli/run-log.ts).
import type { EpochSummary, RunResult } from '../actors/tolaria/index.ts';
import type { v1 } from '../contracts/index.ts';
import { formatTree } from './format-tree.ts';
import type { RunSummary } from './run-record/index.ts';
import { EpochClock, formatEpoch, formatSummary } from './training-progress.ts';

export type OutputMode = 'human' | 'quiet' | 'json';

/** What the run left behind: its summary and the path of its report (null: no training run, or no report). */
export interface RunEnding {
  summary: RunSummary | null;
  report: string | null;
}

export class RunOutput {
  constructor(
    readonly mode: OutputMode,
    /** `--verbose`: the whole actor tree, not just its size. */
    readonly verbose = false,
    private readonly write: (text: string) => void = (text) => void process.stdout.write(text),
    private readonly clock: EpochClock = new EpochClock(),
  ) {}

  /** Progress and set-up lines (the tree, the run's directory): the default mode only. */
  info(line: string): void {
    if (this.mode === 'human') this.write(`${line}\n`);
  }

  /** The tree is up: how many actors run (the tree itself under `--verbose`; `esper inspect` shows it live). */
  ready(tree: readonly v1.WorkerState[]): void {
    if (this.verbose) this.info(formatTree(tree));
    this.info(
      `esper: ready, ${tree.length} actors running${this.verbose ? '' : ', tree: esper inspect'} (Ctrl-C to stop)`,
    );
  }

  epoch(summary: EpochSummary): void {
    const eta = this.clock.lap(summary);
    if (this.mode === 'human') this.write(`${formatEpoch(summary, eta)}\n`);
    else if (this.mode === 'json') this.write(`${JSON.stringify({ event: 'epoch', ...summary, etaSeconds: eta })}\n`);
  }

  /**
   * How the run ended. The default mode printed the outcome line already (before shutting down): it adds the
   * summary block and the report's path; `--quiet` prints the outcome line alone; `--json` one object with all.
   */
  outcome(code: number, why: string, result: RunResult | null, ending: RunEnding): void {
    if (this.mode === 'json') {
      this.write(
        `${JSON.stringify({ event: 'finished', code, why, ...(result ? { result } : {}), summary: ending.summary, report: ending.report })}\n`,
      );
    } else if (this.mode === 'quiet') this.write(`esper: ${why}\n`);
    else {
      if (ending.summary) this.write(`${formatSummary(ending.summary)}\n`);
      if (ending.report) this.write(`esper: report written to ${ending.report}\n`);
    }
  }
}
