// A run's decisions, from Tamiyo's field reports (one per decision, completed with its outcome once its observation
// window has passed). Read after the tree has stopped: the store is closed and complete then.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { leyline, type v1 } from '../../contracts/index.ts';
import { fromTimestamp } from '../../contracts/time.ts';
import { FieldReportLog, fieldReportsPath } from '../../actors/tamiyo/index.ts';
import { actionName } from '../../policy/index.ts';
import type { DecisionOutcome, DecisionRecord } from './records.ts';

/** The decisions of run `runId` in `<varDir>/tamiyo/field_reports.db`, oldest first (no store: no decisions). */
export function readDecisions(varDir: string, runId: string, retentionMs: number): DecisionRecord[] {
  const path = fieldReportsPath(join(varDir, 'tamiyo'));
  if (!existsSync(path)) return [];
  // Opened with Tamiyo's own retention, so reading prunes nothing Tamiyo would keep.
  const log = new FieldReportLog(path, { retentionMs });
  try {
    return log
      .reports()
      .filter((report) => report.trainingRunId === runId)
      .map(decisionRecord);
  } finally {
    log.close();
  }
}

export function decisionRecord(report: v1.FieldReport): DecisionRecord {
  const metrics = report.metrics ?? {};
  const action = actionName(metrics['decision.kind'] ?? leyline.PolicyAction.POLICY_ACTION_WAIT);
  const outcome = (leyline.FieldReportOutcome[report.outcome] ?? 'FIELD_REPORT_OUTCOME_UNSPECIFIED')
    .replace('FIELD_REPORT_OUTCOME_', '')
    .toLowerCase();
  return {
    event: 'decision',
    at: new Date(report.issuedAt ? fromTimestamp(report.issuedAt) : 0).toISOString(),
    commandId: report.commandId,
    epoch: metrics['decision.epoch'] ?? 0,
    action,
    seedId: report.seedId,
    blueprintId: report.blueprintId,
    // The policy's proposal names the slot of a germination (the command sent carries the same annotation).
    slot: action === 'germinate' ? (report.decision?.proposal?.annotations?.slot_id ?? '') : '',
    outcome: (outcome === 'unspecified' ? 'pending' : outcome) as DecisionOutcome,
    decidedBy: report.decision?.decidedBy ?? '',
    notes: report.notes,
    metrics: { ...metrics },
  };
}
