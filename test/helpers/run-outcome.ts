// What a finished `esper run` left, as comparable data — its record's decisions and epochs, its summary, the grown
// network of its last checkpoint, Tamiyo's field reports — and how two of them differ. The kill -9 test
// (test/run-crash-resume.test.ts) and the crash benchmark (bench/crash.bench.ts) compare runs with it.
import { join } from 'node:path';
import { leyline } from '../../contracts/index.ts';
import { decodeLeyline } from '../../contracts/codec.ts';
import { FieldReportLog } from '../../actors/tamiyo/index.ts';
import { CheckpointStore } from '../../actors/tolaria/checkpoint/checkpoint-store.ts';
import type { TensorMap, TrainingState } from '../../actors/tolaria/checkpoint/training-state.ts';
import { decisions, epochs, ending, readRunRecord, summarizeRun } from '../../cli/run-record/index.ts';

export interface GrownNetwork {
  epoch: number;
  globalStep: number;
  host: Record<string, number[]>;
  seeds: Array<{
    seedId: string;
    stage: number;
    alpha: number;
    blueprintId: string;
    weights: Record<string, number[]>;
  }>;
}

export interface RunOutcome {
  /** `epoch action seed blueprint slot outcome`, one per decision (an epoch decided again counts once). */
  decisions: string[];
  epochs: Array<{ epoch: number; validationLoss: number | null; seeds: Array<{ id: string; stage: string }> }>;
  /** The run's summary without its wall time. */
  summary: Record<string, unknown>;
  finished: boolean;
  network: GrownNetwork | null;
  /** `report-id outcome seed blueprint`, sorted. */
  reports: string[];
}

const values = (map: TensorMap): Record<string, number[]> =>
  Object.fromEntries(Object.entries(map).map(([k, v]) => [k, [...v.data]]));

/** The grown network a checkpoint holds: the host's weights and each seed's record and weights. */
export function grownNetwork(state: TrainingState): GrownNetwork {
  return {
    epoch: state.epoch,
    globalStep: state.globalStep,
    host: values(state.weights),
    seeds: state.seeds.map(({ record, weights }) => {
      const decoded = decodeLeyline(leyline.SeedRecord, record);
      if (!decoded.ok) throw decoded.error;
      const { seedId, stage, alpha, blueprintId } = decoded.message;
      return { seedId, stage, alpha, blueprintId, weights: values(weights) };
    }),
  };
}

/** The outcome of the run in `runDir` whose folder (its `var/`) is `cwd`. */
export async function runOutcome(cwd: string, runDir: string): Promise<RunOutcome> {
  const record = readRunRecord(join(runDir, 'run.jsonl'));
  const { seconds: _seconds, ...summary } = summarizeRun(record);
  const loaded = await new CheckpointStore(join(runDir, 'checkpoints')).loadLatest();
  const log = new FieldReportLog(join(cwd, 'var', 'tamiyo', 'field_reports.db'));
  try {
    return {
      decisions: decisions(record).map(
        (d) => `${d.epoch} ${d.action} ${d.seedId} ${d.blueprintId} ${d.slot} ${d.outcome}`,
      ),
      epochs: epochs(record).map(({ epoch, validationLoss, seeds }) => ({
        epoch,
        validationLoss,
        seeds: seeds.map(({ id, stage }) => ({ id, stage })),
      })),
      summary,
      finished: ending(record)?.code === 0,
      network: loaded ? grownNetwork(loaded.state) : null,
      reports: log
        .reports()
        .map((r) => `${r.reportId} ${r.outcome} ${r.seedId} ${r.blueprintId}`)
        .sort(),
    };
  } finally {
    log.close();
  }
}

export interface OutcomeDifference {
  identical: boolean;
  /** Field reports (by id) of the reference missing from the other run. */
  reportsLost: number;
  /** Field reports (by id) the other run holds that the reference does not. */
  reportsExtra: number;
  /** Seeds of the reference's final network missing from the other's, or in another stage there. */
  seedsLost: number;
  /** What differs, for a message. */
  differences: string[];
}

export function compareOutcomes(reference: RunOutcome, other: RunOutcome): OutcomeDifference {
  const differences: string[] = [];
  const same = (what: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(what);
  };
  same('decisions', reference.decisions, other.decisions);
  same('epochs', reference.epochs, other.epochs);
  same('summary', reference.summary, other.summary);
  same('finished', reference.finished, other.finished);
  same('final weights', reference.network, other.network);
  same('field reports', reference.reports, other.reports);
  const ids = (outcome: RunOutcome): Set<string> => new Set(outcome.reports.map((r) => r.split(' ')[0]!));
  const [ours, theirs] = [ids(reference), ids(other)];
  const seeds = (outcome: RunOutcome): Set<string> =>
    new Set((outcome.network?.seeds ?? []).map((s) => `${s.seedId} ${s.stage}`));
  const theirSeeds = seeds(other);
  return {
    identical: differences.length === 0,
    reportsLost: [...ours].filter((id) => !theirs.has(id)).length,
    reportsExtra: [...theirs].filter((id) => !ours.has(id)).length,
    seedsLost: [...seeds(reference)].filter((s) => !theirSeeds.has(s)).length,
    differences,
  };
}
