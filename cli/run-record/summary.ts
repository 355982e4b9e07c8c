// Views of a run record (the epochs, the decisions, the sessions, each seed's fate) and the run's summary: what
// `esper run` prints at the end and the report's header shows. Pure: records in, figures out.
import type {
  AlertRecord,
  DecisionRecord,
  EpochRecord,
  FinishedRecord,
  RunRecordLine,
  RunSummary,
  StartRecord,
} from './records.ts';

/** A line as the summary reads it: a finished line's own summary is not needed (it is what is computed). */
export type SummaryInput = Exclude<RunRecordLine, FinishedRecord> | Omit<FinishedRecord, 'summary'>;

/** Stages after which a seed is out of the host for good. */
const CULLED_STAGES: ReadonlySet<string> = new Set(['culled', 'embargoed', 'resetting', 'terminated']);

export const starts = (records: readonly SummaryInput[]): StartRecord[] =>
  records.filter((r): r is StartRecord => r.event === 'start');
export const alerts = (records: readonly SummaryInput[]): AlertRecord[] =>
  records.filter((r): r is AlertRecord => r.event === 'alert');

/** One line per epoch, in order; an epoch trained twice (a resume after a crash) counts as its last run. */
export function epochs(records: readonly SummaryInput[]): EpochRecord[] {
  const byEpoch = new Map<number, EpochRecord>();
  for (const r of records) if (r.event === 'epoch') byEpoch.set(r.epoch, r);
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

/**
 * One line per decision, oldest first; a decision recorded again (its outcome known by then) counts as its last line.
 * An epoch decided again by a later session (a resume after a crash re-trains the epochs after its checkpoint) counts
 * as that session's decisions only.
 */
export function decisions(records: readonly SummaryInput[]): DecisionRecord[] {
  const byCommand = new Map<string, DecisionRecord>();
  const sessionOfEpoch = new Map<number, number>();
  let session = 0;
  for (const r of records) {
    if (r.event === 'start') session += 1;
    if (r.event !== 'decision') continue;
    const decided = sessionOfEpoch.get(r.epoch);
    if (decided !== undefined && decided < session && !byCommand.has(r.commandId)) {
      for (const [id, d] of byCommand) if (d.epoch === r.epoch) byCommand.delete(id);
    }
    sessionOfEpoch.set(r.epoch, session);
    byCommand.set(r.commandId, r);
  }
  return [...byCommand.values()].sort((a, b) => a.epoch - b.epoch || Date.parse(a.at) - Date.parse(b.at));
}

/** How the run ended: the finished line of its last session (none: it is still running, or was killed). */
export function ending(records: readonly SummaryInput[]): Omit<FinishedRecord, 'summary'> | null {
  let end: Omit<FinishedRecord, 'summary'> | null = null;
  for (const r of records) {
    if (r.event === 'start') end = null;
    else if (r.event === 'finished') end = r;
  }
  return end;
}

/** What became of a seed: kept in the host (fossilized), dropped (culled, or gone from the list), or still on trial. */
type SeedFate = 'kept' | 'dropped' | 'live';

/** Each seed seen, by id: fossilized, culled (a culling stage, or gone from the list before fossilizing), or live. */
function seedFates(records: readonly SummaryInput[]): Map<string, SeedFate> {
  const list = epochs(records);
  const fates = new Map<string, SeedFate>();
  const lastSeen = new Map<string, number>();
  for (const [i, epoch] of list.entries()) {
    for (const seed of epoch.seeds) {
      lastSeen.set(seed.id, i);
      if (fates.get(seed.id) === 'kept') continue;
      fates.set(
        seed.id,
        seed.stage === 'fossilized'
          ? 'kept'
          : CULLED_STAGES.has(seed.stage)
            ? 'dropped'
            : (fates.get(seed.id) ?? 'live'),
      );
    }
  }
  for (const [id, i] of lastSeen) if (fates.get(id) === 'live' && i < list.length - 1) fates.set(id, 'dropped');
  return fates;
}

/** Wall seconds of the recorded sessions: each from its start line to its last line. */
function wallSeconds(records: readonly SummaryInput[]): number {
  let total = 0;
  let session: { from: number; to: number } | null = null;
  for (const r of records) {
    const at = Date.parse(r.at);
    if (r.event === 'start') {
      if (session) total += session.to - session.from;
      session = { from: at, to: at };
    } else if (session && at > session.to) session.to = at;
  }
  if (session) total += session.to - session.from;
  return total / 1000;
}

export function summarizeRun(records: readonly SummaryInput[]): RunSummary {
  const list = epochs(records);
  const last = list.at(-1);
  const fates = [...seedFates(records).values()];
  return {
    testAccuracy: ending(records)?.result?.testAccuracy ?? null,
    hostParameters: last?.parameters.host ?? 0,
    parametersAdded: last?.parameters.seeds ?? 0,
    germinated: fates.length,
    fossilized: fates.filter((f) => f === 'kept').length,
    culled: fates.filter((f) => f === 'dropped').length,
    seconds: wallSeconds(records),
    epochs: list.length,
    // A decision that never ran a policy (a timeout, the breaker) names none.
    policies: [...new Set(decisions(records).flatMap((d) => (d.decidedBy ? [d.decidedBy] : [])))],
    policyLearning: starts(records).at(-1)?.policyLearning ?? false,
  };
}
