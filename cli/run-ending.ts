// The end of `esper run`'s record, once the tree has stopped (Tamiyo's field reports are then closed and complete):
// the run's decisions, the finished line with the summary, and the report. A missing report is said, not fatal:
// the run itself is over and its record is on disk (`esper report <run-dir>` can try again).
import { resolveTamiyoConfig } from '../actors/tamiyo/index.ts';
import type { RunResult } from '../actors/tolaria/index.ts';
import type { EsperConfig } from '../actors/weatherlight/index.ts';
import { writeReport } from './report/index.ts';
import { readDecisions, type RunRecord } from './run-record/index.ts';
import type { RunEnding } from './run-output.ts';

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function endRunRecord(
  record: RunRecord,
  config: EsperConfig,
  run: { id: string; dir: string },
  outcome: { code: number; why: string; result: RunResult | null },
  warn: (text: string) => void = (text) => void process.stderr.write(`${text}\n`),
): RunEnding {
  try {
    record.decisions(readDecisions(config.run.varDir, run.id, resolveTamiyoConfig(config.tamiyo ?? {}).retentionMs));
  } catch (error) {
    warn(`esper: the run's decisions are not in its record: ${message(error)}`);
  }
  const { summary } = record.finish(outcome.code, outcome.why, outcome.result);
  try {
    return { summary, report: writeReport(run.dir) };
  } catch (error) {
    warn(`esper: no report: ${message(error)}`);
    return { summary, report: null };
  }
}
