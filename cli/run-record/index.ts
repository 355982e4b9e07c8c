// The run record (`<run-dir>/run.jsonl`): written by `esper run` as the run goes, read by `esper report`.
export * from './records.ts';
export { RunRecord } from './writer.ts';
export { readRunRecord, RunRecordError } from './reader.ts';
export { summarizeRun, epochs, decisions, alerts, starts, ending, type SummaryInput } from './summary.ts';
export { startRecord } from './start.ts';
export { readDecisions, decisionRecord } from './decisions.ts';
