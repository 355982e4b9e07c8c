// The run record's lines: one JSON object per line in `<run-dir>/run.jsonl`, each with its `event` and `at` (ISO
// time). A run writes `start` (what was planned: data, host, random seed, budgets), an `epoch` per finished epoch, an
// `alert` per Nissa alert fired or resolved, then, once the tree has stopped, a `decision` per Tamiyo field report
// and `finished`. A resumed run appends a second `start` and carries on in the same file.
import { leyline } from '../../contracts/index.ts';
import type { EpochSummary, RunResult } from '../../actors/tolaria/index.ts';

/** What the run was allowed: compared with what it used in the report. */
export interface Budgets {
  epochs: number;
  /** End-of-epoch control work above this fails the epoch. */
  hookBudgetMs: number;
  /** Tolaria's deadline for Tamiyo's answer. */
  tamiyoDeadlineMs: number;
  /** A Tamiyo inference slower than this is discarded for a safe pause. */
  inferenceTimeoutMs: number;
  /** Failed epochs in a row that halt the run. */
  haltAfterFailedEpochs: number;
}

export interface StartRecord {
  event: 'start';
  at: string;
  runId: string;
  experiment: string;
  resumed: boolean;
  dataset: string;
  host: string;
  /** The run's random seed (`seed` in the records of earlier versions: read as this). */
  rngSeed: number;
  budgets: Budgets;
  /** Whether Simic learned the policy during the run (absent in records written before this was recorded: no). */
  policyLearning?: boolean;
}

// JSON has no NaN: a diverged loss is recorded as null. Records written before the hook's parts were measured have
// no hookPhases.
export type EpochRecord = { event: 'epoch'; at: string } & Omit<EpochSummary, 'trainLoss' | 'hookPhases'> & {
    trainLoss: number | null;
    hookPhases?: EpochSummary['hookPhases'];
  };

export interface AlertRecord {
  event: 'alert';
  at: string;
  kind: 'fired' | 'resolved';
  rule: string;
  metric: string;
  source: string;
  value: number | null;
  threshold: number;
}

/** A field report's outcome, Leyline's FieldReportOutcome name without its prefix in lower case; "pending" until observed. */
export type DecisionOutcome = string;

export const DECISION_OUTCOMES: readonly DecisionOutcome[] = [
  'pending',
  ...Object.keys(leyline.FieldReportOutcome)
    .filter((name) => name.startsWith('FIELD_REPORT_OUTCOME_') && name !== 'FIELD_REPORT_OUTCOME_UNSPECIFIED')
    .map((name) => name.replace('FIELD_REPORT_OUTCOME_', '').toLowerCase()),
];

/** A Tamiyo decision and what it led to (its field report). */
export interface DecisionRecord {
  event: 'decision';
  at: string;
  commandId: string;
  epoch: number;
  /** wait, germinate, cull, optimizer or pause_seed: what the command sent did, after the risk engine. */
  action: string;
  seedId: string;
  blueprintId: string;
  slot: string;
  outcome: DecisionOutcome;
  decidedBy: string;
  notes: string;
  /** The report's metrics: `decision.*` at the decision, `observed.*` and `loss_delta` after its window. */
  metrics: Record<string, number>;
}

export type RecordedResult = Omit<RunResult, 'testLoss'> & { testLoss: number | null };

export interface RunSummary {
  /** null: the run ended before its test evaluation. */
  testAccuracy: number | null;
  /** The host's own trainable weights, and what grafted seeds (fossilized or still on trial) add at the end. */
  hostParameters: number;
  parametersAdded: number;
  germinated: number;
  fossilized: number;
  culled: number;
  /** Wall time of the recorded sessions. */
  seconds: number;
  epochs: number;
  /** The policy versions that decided (`heuristic`, `random`, a network's version), in the order they first did. */
  policies: string[];
  /** Whether Simic learned the policy during the run (its last session), so that the policy could change on the way. */
  policyLearning: boolean;
}

export interface FinishedRecord {
  event: 'finished';
  at: string;
  /** The exit code of `esper run`, and why it ended. */
  code: number;
  why: string;
  /** null: stopped by a signal, or the supervisor gave up. */
  result: RecordedResult | null;
  summary: RunSummary;
}

export type RunRecordLine = StartRecord | EpochRecord | AlertRecord | DecisionRecord | FinishedRecord;

export const RUN_RECORD_FILE = 'run.jsonl';
