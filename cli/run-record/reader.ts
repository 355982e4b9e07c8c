// Reads a run record back, checking every line's shape, so a hand-edited or damaged file stops with its file and
// line number instead of a report drawn from half a line.
import { readFileSync } from 'node:fs';
import { renameStoredSeed } from '../../runtime/seeded-random.ts';
import { DECISION_OUTCOMES, type RunRecordLine } from './records.ts';

export class RunRecordError extends Error {
  override readonly name = 'RunRecordError';
}

/** A field's check: null when it holds, else what is wrong, naming the field. */
type Check = (value: unknown, path: string) => string | null;

const show = (value: unknown): string => (value === undefined ? 'nothing' : JSON.stringify(value).slice(0, 40));
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const is =
  (type: 'string' | 'number' | 'boolean'): Check =>
  (value, path) =>
    typeof value === type ? null : `${path} must be a ${type}, got ${show(value)}`;
const nullable =
  (check: Check): Check =>
  (value, path) =>
    value === null ? null : check(value, path);
const oneOf =
  (...allowed: string[]): Check =>
  (value, path) =>
    allowed.includes(value as string) ? null : `${path} must be one of ${allowed.join(', ')}, got ${show(value)}`;
const optional =
  (check: Check): Check =>
  (value, path) =>
    value === undefined ? null : check(value, path);
const listOf =
  (check: Check): Check =>
  (value, path) => {
    if (!Array.isArray(value)) return `${path} must be a list, got ${show(value)}`;
    for (const [i, item] of value.entries()) {
      const problem = check(item, `${path}[${i}]`);
      if (problem) return problem;
    }
    return null;
  };
const mapOf =
  (check: Check): Check =>
  (value, path) => {
    if (!isObject(value)) return `${path} must be an object, got ${show(value)}`;
    for (const [key, item] of Object.entries(value)) {
      const problem = check(item, `${path}.${key}`);
      if (problem) return problem;
    }
    return null;
  };
const shape =
  (fields: Record<string, Check>): Check =>
  (value, path) => {
    if (!isObject(value)) return `${path} must be an object, got ${show(value)}`;
    for (const [key, check] of Object.entries(fields)) {
      const problem = check(value[key], `${path}.${key}`);
      if (problem) return problem;
    }
    return null;
  };

const string = is('string');
const number = is('number');
const at = string;

const summary = shape({
  testAccuracy: nullable(number),
  hostParameters: number,
  parametersAdded: number,
  germinated: number,
  fossilized: number,
  culled: number,
  seconds: number,
  epochs: number,
});

/** What each event must hold (what the report reads); other fields are kept as they are. */
const EVENTS: Record<RunRecordLine['event'], Check> = {
  start: shape({
    at,
    runId: string,
    experiment: string,
    resumed: is('boolean'),
    dataset: string,
    host: string,
    rngSeed: number,
    budgets: shape({
      epochs: number,
      hookBudgetMs: number,
      tamiyoDeadlineMs: number,
      inferenceTimeoutMs: number,
      haltAfterFailedEpochs: number,
    }),
  }),
  epoch: shape({
    at,
    epoch: number,
    epochs: number,
    trainLoss: nullable(number),
    trainAccuracy: number,
    validationLoss: nullable(number),
    validationAccuracy: nullable(number),
    samplesPerSecond: number,
    trainSeconds: number,
    hookMs: number,
    // Absent in records written before the hook's parts were measured.
    hookPhases: optional(shape({ assemblyMs: number, tamiyoMs: number, kasminaMs: number, applyMs: number })),
    seedsByStage: mapOf(number),
    failedReason: nullable(string),
    decision: nullable(string),
    parameters: shape({ host: number, seeds: number }),
    seeds: listOf(
      shape({ id: string, slot: string, blueprint: string, stage: string, alpha: number, parameters: number }),
    ),
  }),
  alert: shape({
    at,
    kind: oneOf('fired', 'resolved'),
    rule: string,
    metric: string,
    source: string,
    value: nullable(number),
    threshold: number,
  }),
  decision: shape({
    at,
    commandId: string,
    epoch: number,
    action: string,
    seedId: string,
    blueprintId: string,
    slot: string,
    outcome: oneOf(...DECISION_OUTCOMES),
    decidedBy: string,
    notes: string,
    metrics: mapOf(number),
  }),
  finished: shape({
    at,
    code: number,
    why: string,
    result: nullable(
      shape({
        runId: string,
        status: oneOf('completed', 'halted'),
        epochs: number,
        testAccuracy: number,
        testLoss: nullable(number),
        reason: nullable(string),
        seconds: number,
      }),
    ),
    summary,
  }),
};

/** One line, checked; throws a RunRecordError naming the problem (the caller adds where). */
export function parseRecordLine(text: string): RunRecordLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RunRecordError(`not JSON (${(error as Error).message})`);
  }
  if (!isObject(value)) throw new RunRecordError(`not a JSON object: ${show(value)}`);
  // A start line written while the random seed was `seed` reads as `rngSeed`.
  const record = renameStoredSeed(value);
  const check = Object.hasOwn(EVENTS, record.event as string)
    ? EVENTS[record.event as RunRecordLine['event']]
    : undefined;
  if (!check)
    throw new RunRecordError(`unknown event ${show(record.event)} (expected ${Object.keys(EVENTS).join(', ')})`);
  const problem = check(record, record.event as string);
  if (problem) throw new RunRecordError(problem);
  return record as unknown as RunRecordLine;
}

/** Every line of a record file, in order (blank lines skipped); a broken line throws with `file:line: problem`. */
export function readRunRecord(file: string): RunRecordLine[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const records: RunRecordLine[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    try {
      records.push(parseRecordLine(line));
    } catch (error) {
      throw new RunRecordError(`${file}:${i + 1}: ${(error as Error).message}`);
    }
  }
  return records;
}
