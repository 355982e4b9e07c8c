// Writes a run's record as it happens: each line is appended synchronously, so a crash loses nothing already
// written. What arrives before the run's directory is known (an epoch or an alert during boot) waits and follows the
// start line. A resumed run appends to the same file. The record never stops training: a write that fails is said
// once, and the record ends there.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AlertEvent } from '../../actors/nissa/index.ts';
import type { EpochSummary, RunResult } from '../../actors/tolaria/index.ts';
import {
  RUN_RECORD_FILE,
  type DecisionRecord,
  type FinishedRecord,
  type RunRecordLine,
  type StartRecord,
} from './records.ts';
import { parseRecordLine } from './reader.ts';
import { summarizeRun } from './summary.ts';

const decisionKey = (d: DecisionRecord): string => `${d.commandId}/${d.outcome}`;

export class RunRecord {
  #file: string | null = null;
  #failed = false;
  #waiting: RunRecordLine[] = [];
  /** Every line of the run, earlier sessions' included (the summary covers the whole run). */
  readonly #lines: RunRecordLine[] = [];

  constructor(
    private readonly warn: (text: string) => void = (text) => void process.stderr.write(`${text}\n`),
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Starts writing `<dir>/run.jsonl` with the start line, then what arrived before. */
  open(dir: string, start: Omit<StartRecord, 'event' | 'at'>): void {
    const file = join(dir, RUN_RECORD_FILE);
    try {
      mkdirSync(dir, { recursive: true });
      if (existsSync(file)) this.#lines.push(...earlierLines(readFileSync(file, 'utf8')));
    } catch (error) {
      this.#fail(file, error);
      return;
    }
    this.#file = file;
    this.#append({ event: 'start', at: this.#at(), ...start });
    for (const line of this.#waiting.splice(0)) this.#append(line);
  }

  epoch(summary: EpochSummary): void {
    this.#append({ event: 'epoch', at: this.#at(), ...summary });
  }

  alert(event: AlertEvent): void {
    const { kind, rule, metric, source, value, threshold } = event;
    // Called from inside Nissa: a sample without a usable time must not throw there.
    const when = Number.isFinite(event.at) ? new Date(event.at) : this.now();
    this.#append({ event: 'alert', at: when.toISOString(), kind, rule, metric, source, value, threshold });
  }

  /** Tamiyo's decisions with their outcomes; those already recorded as they are now are not written again. */
  decisions(list: readonly DecisionRecord[]): void {
    const known = new Set(this.#lines.filter((l): l is DecisionRecord => l.event === 'decision').map(decisionKey));
    for (const decision of list) if (!known.has(decisionKey(decision))) this.#append(decision);
  }

  /** The last line: how the run ended and its summary (computed over the whole record). */
  finish(code: number, why: string, result: RunResult | null): FinishedRecord {
    const end = { event: 'finished' as const, at: this.#at(), code, why, result };
    const line: FinishedRecord = { ...end, summary: summarizeRun([...this.#lines, ...this.#waiting, end]) };
    this.#append(line);
    return line;
  }

  #at(): string {
    return this.now().toISOString();
  }

  #append(line: RunRecordLine): void {
    if (this.#failed) return;
    if (this.#file === null) {
      this.#waiting.push(line);
      return;
    }
    try {
      appendFileSync(this.#file, `${JSON.stringify(line)}\n`);
    } catch (error) {
      this.#fail(this.#file, error);
      return;
    }
    this.#lines.push(line);
  }

  #fail(file: string, error: unknown): void {
    this.#failed = true;
    this.#waiting = [];
    this.warn(`esper: the run record ${file} stopped: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The lines an earlier session wrote; a damaged one is skipped here (it must not stop training: `esper report` names it). */
function earlierLines(text: string): RunRecordLine[] {
  const lines: RunRecordLine[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      lines.push(parseRecordLine(line));
    } catch {
      // a damaged line: skipped (see the doc comment)
    }
  }
  return lines;
}
