// `esper report <run-dir> [--out file]`: renders a run's record (`<run-dir>/run.jsonl`) into one HTML file,
// `<run-dir>/report.html` by default. `esper run` calls `writeReport` itself when a run ends.
import { existsSync } from 'node:fs';
import { writeReportOf } from './write.ts';
import { join, resolve } from 'node:path';
import { readRunRecord, RUN_RECORD_FILE } from '../run-record/index.ts';
import { UsageError } from '../forge.ts';
import { renderReport } from './render.ts';
import { LEARN_RECORD_FILE } from '../learn/record.ts';
import { writeLearnReport } from '../learn/report.ts';

export const REPORT_USAGE = `  report <run-dir | learn-dir> [--out file]
                    write the run's report (one self-contained HTML file: curves, seed
                    timeline, decisions, alerts, budgets) to <run-dir>/report.html or --out;
                    for a learning run's folder (var/learn/<id>), the learning report
`;

/** Renders `<runDir>/run.jsonl` to `out` (default `<runDir>/report.html`); returns the path written. */
export function writeReport(runDir: string, out?: string): string {
  return writeReportOf(runDir, RUN_RECORD_FILE, 'run', (file) => renderReport(readRunRecord(file)), out);
}

export function report(args: readonly string[]): number {
  let runDir: string | undefined;
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--out') {
      out = args[++i];
      if (out === undefined) throw new UsageError('--out needs a file');
    } else if (arg.startsWith('--')) throw new UsageError(`esper report: unknown option ${arg}`);
    else if (runDir === undefined) runDir = arg;
    else throw new UsageError(`esper report: one run folder, got ${runDir} and ${arg}`);
  }
  if (runDir === undefined)
    throw new UsageError("esper report needs a run folder (var/runs/<run-id>) or a learning run's (var/learn/<id>)");
  const dir = resolve(runDir);
  const target = out === undefined ? undefined : resolve(out);
  const path = existsSync(join(dir, LEARN_RECORD_FILE)) ? writeLearnReport(dir, target) : writeReport(dir, target);
  process.stdout.write(`esper: report written to ${path}\n`);
  return 0;
}
