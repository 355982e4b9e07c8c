// A learning run's record, `var/learn/<id>/learn.jsonl`: one JSON line per event, appended synchronously as it
// happens (a killed learn loses nothing written), read back for `--resume` and for the report. A damaged line stops
// the reader with the file and the line number.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EpisodeSummary, RoundFigures, UpdateStats } from '../../actors/simic/index.ts';
import { renameStoredSeed } from '../../runtime/seeded-random.ts';

export const LEARN_RECORD_FILE = 'learn.jsonl';

export interface LearnStartRecord {
  event: 'start';
  at: string;
  learnId: string;
  curriculum: { file: string; name: string };
  /** The learning run's random seed (`seed` in the records of earlier versions: read as this). */
  rngSeed: number;
  rounds: number;
  envs: number;
  episodesPerRound: number;
  temperature: number;
  tasks: string[];
  heldOut: string[];
  blueprints: string[];
  prices: { rent: number; cullCost: number };
  /** The round a resumed learn continued after (absent on the first start). */
  resumedAfter?: number;
}

/** A baseline policy's level on the training tasks (the learning curve's reference lines). */
export interface LearnBaselineRecord {
  event: 'baseline';
  at: string;
  policy: 'heuristic' | 'random';
  figures: RoundFigures;
  episodes: EpisodeSummary[];
}

export interface LearnRoundRecord {
  event: 'round';
  at: string;
  round: number;
  /** The policy that played this round's episodes. */
  policyVersion: string;
  figures: RoundFigures;
  update: UpdateStats;
  seconds: number;
  episodesPerSecond: number;
  /** The policy this round's update made (signed, under the learn's folder). */
  policyFile: string;
  episodes: EpisodeSummary[];
  /**
   * Over the bus (esper learn --bus): answers received while this round played and not learned from — copies of an
   * episode already answered, answers of another policy version, answers to no episode of the round.
   */
  dropped?: DroppedAnswers;
}

export interface DroppedAnswers {
  duplicate: number;
  'wrong-version': number;
  unknown: number;
}

/** One held-out episode of the final evaluation. */
export interface LearnHeldOutRecord {
  event: 'heldout';
  at: string;
  policy: 'learned' | 'heuristic' | 'random' | 'none';
  policyVersion: string;
  task: string;
  rngSeed: number;
  ok: boolean;
  testAccuracy: number;
  validationAccuracy: number;
  addedParameters: number;
  addedShare: number;
  objective: number;
  seconds: number;
}

export interface LearnFinishedRecord {
  event: 'finished';
  at: string;
  code: number;
  why: string;
  rounds: number;
  policyFile: string | null;
  seconds: number;
}

export type LearnRecordLine =
  | LearnStartRecord
  | LearnBaselineRecord
  | LearnRoundRecord
  | LearnHeldOutRecord
  | LearnFinishedRecord;

export class LearnRecordError extends Error {
  override readonly name = 'LearnRecordError';
}

const EVENTS: Readonly<Record<LearnRecordLine['event'], readonly string[]>> = {
  start: ['learnId', 'rngSeed', 'rounds', 'envs', 'episodesPerRound'],
  baseline: ['policy', 'figures', 'episodes'],
  round: ['round', 'policyVersion', 'figures', 'update', 'policyFile', 'episodes'],
  heldout: ['policy', 'task', 'rngSeed', 'testAccuracy', 'addedParameters'],
  finished: ['code', 'rounds'],
};

/** Every line of a record, checked: an unknown event or a missing field names the file and line. */
export function readLearnRecord(file: string): LearnRecordLine[] {
  if (!existsSync(file)) return [];
  const lines: LearnRecordLine[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.trim() === '') return;
      const where = `${file}:${i + 1}`;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new LearnRecordError(`${where}: not JSON (${(error as Error).message})`);
      }
      const record = renameStoredSeed(value as Record<string, unknown>);
      const fields = EVENTS[record?.event as LearnRecordLine['event']];
      if (!fields) throw new LearnRecordError(`${where}: unknown event ${JSON.stringify(record?.event)}`);
      const missing = fields.find((field) => record[field] === undefined);
      if (missing) throw new LearnRecordError(`${where}: a ${String(record.event)} line without ${missing}`);
      lines.push(record as unknown as LearnRecordLine);
    });
  return lines;
}

export class LearnRecord {
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  append(line: LearnRecordLine): void {
    appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }

  lines(): LearnRecordLine[] {
    return readLearnRecord(this.file);
  }
}
