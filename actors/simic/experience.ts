// What Simic learns from: one decision as an experience — the graph Tamiyo read, the choice it made per head, the
// log-probability of that choice under the network that decided (PPO's old policy), the value it estimated, and the
// reward its observed outcome earned. Rewards (reference 03 §16, with this project's decisions):
//
//   reward = −Δ validation loss over the observation window × LOSS_SCALE
//            − PARAMETER_COST × (the blueprint's parameter count, in thousands) for a GERMINATE
//            + an outcome term: SUCCESS +0.5, NEUTRAL 0, REGRESSION −0.5, ABORTED −1 (a refused or lost command).
//
// Every outcome value is handled; a report still waiting for its outcome (UNSPECIFIED) is not an experience.
// The masks a choice was made under (free slots, blueprints fit for grafting, seeds that may be paused) are read
// back from the graph's own features, so they are exactly those the decoder applied.
import { leyline, type v1 } from '../../contracts/index.ts';
import { graphFromProto, type PolicyGraphData } from '../tamiyo/graph.ts';

const { FieldReportOutcome: Outcome } = leyline;

export const LOSS_SCALE = 10;
export const PARAMETER_COST = 0.01;
const OUTCOME_TERM: Readonly<Record<number, number>> = {
  [Outcome.FIELD_REPORT_OUTCOME_SUCCESS]: 0.5,
  [Outcome.FIELD_REPORT_OUTCOME_NEUTRAL]: 0,
  [Outcome.FIELD_REPORT_OUTCOME_REGRESSION]: -0.5,
  [Outcome.FIELD_REPORT_OUTCOME_ABORTED]: -1,
};

/** The policy heads a decision chose on; absent heads were not part of that decision. */
export interface Choices {
  action: number;
  slot?: number;
  blueprint?: number;
  seed?: number;
  blending?: number;
}

export interface Masks {
  slots: boolean[];
  blueprints: boolean[];
  seeds: boolean[];
}

export interface Experience {
  graph: PolicyGraphData;
  masks: Masks;
  choices: Choices;
  /** Σ over the chosen heads of log π_old(choice). */
  oldLogProb: number;
  /** The old policy's value estimate. */
  value: number;
  reward: number;
  /** Decisions of one training run, in order (GAE runs along them). */
  runId: string;
  epoch: number;
}

/** The masks the decoder applied, from the graph's features (layer col 7 free; blueprint cols 6–7; seed cols 8, 10). */
export function masksOf(graph: PolicyGraphData): Masks {
  const column = (type: 'layer' | 'blueprint' | 'seed', dim: number, i: number, c: number): number => graph.nodes[type].features[i * dim + c]!;
  return {
    slots: graph.nodes.layer.ids.map((_, i) => column('layer', 8, i, 7) === 1),
    blueprints: graph.nodes.blueprint.ids.map((id, i) => id !== 'none' && column('blueprint', 8, i, 6) === 0 && column('blueprint', 8, i, 7) === 0),
    seeds: graph.nodes.seed.ids.map((_, i) => column('seed', 12, i, 10) === 1 && column('seed', 12, i, 8) === 0),
  };
}

/** The reward of a completed report (see the header); null while it waits for its outcome. */
export function rewardOf(report: v1.FieldReport, parameterCount = 0): number | null {
  const term = OUTCOME_TERM[report.outcome];
  if (term === undefined) return null;
  const lossDelta = report.metrics?.loss_delta ?? 0;
  const germinate = report.blueprintId !== '';
  return -lossDelta * LOSS_SCALE - (germinate ? (PARAMETER_COST * parameterCount) / 1000 : 0) + term;
}

export class ExperienceError extends Error {
  override readonly name = 'ExperienceError';
}

/** A completed report with its decision → an experience; null for reports Simic cannot learn from (no decision, pending). */
export function experienceOf(report: v1.FieldReport, parameterCount = 0): Experience | null {
  const decision = report.decision;
  const reward = rewardOf(report, parameterCount);
  if (!decision?.graph || reward === null) return null;
  const graph = graphFromProto(leyline.PolicyGraph.create(decision.graph));
  const recorded = decision.choices ?? {};
  if (recorded.action === undefined) throw new ExperienceError(`field report ${report.reportId}: the decision has no action choice`);
  const choices: Choices = { action: recorded.action };
  for (const head of ['slot', 'blueprint', 'seed', 'blending'] as const) if (recorded[head] !== undefined) choices[head] = recorded[head];
  const oldLogProb = Object.values(decision.logProbs ?? {}).reduce((a, b) => a + b, 0);
  if (!Number.isFinite(oldLogProb)) throw new ExperienceError(`field report ${report.reportId}: non-finite log-probability`);
  return {
    graph,
    masks: masksOf(graph),
    choices,
    oldLogProb,
    value: decision.outputs?.value ?? 0,
    reward,
    runId: report.trainingRunId,
    epoch: report.metrics?.['decision.epoch'] ?? 0,
  };
}
