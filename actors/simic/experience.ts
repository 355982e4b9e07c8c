// What Simic learns from: one decision as an experience — the graph the policy read, the choice it made per head,
// the log-probability of that choice under the policy that decided (PPO's old policy) at the temperature it decided
// at, the value it estimated, and a reward. Two sources:
//
// - `esper learn`'s episodes (learner/): every decision of a sampled episode, rewarded by the episode's outcome
//   (learner/reward.ts);
// - completed field reports of ordinary runs (the in-run trainer): rewarded by their observed outcome (below).
//
// The masks a choice was made under come from the graph's own features (policy/actions.ts), exactly those the
// policy applied.
import { leyline, type v1 } from '../../contracts/index.ts';
import { graphFromProto, HEADS, masksOf, type Choices, type Masks, type PolicyGraphData } from '../../policy/index.ts';

const { FieldReportOutcome: Outcome } = leyline;

export const LOSS_SCALE = 10;
export const PARAMETER_COST = 0.01;
const OUTCOME_TERM: Readonly<Record<number, number>> = {
  [Outcome.FIELD_REPORT_OUTCOME_SUCCESS]: 0.5,
  [Outcome.FIELD_REPORT_OUTCOME_NEUTRAL]: 0,
  [Outcome.FIELD_REPORT_OUTCOME_REGRESSION]: -0.5,
  [Outcome.FIELD_REPORT_OUTCOME_ABORTED]: -1,
};

export type { Choices, Masks };

export interface Experience {
  graph: PolicyGraphData;
  masks: Masks;
  choices: Choices;
  /** Σ over the chosen heads of log π_old(choice). */
  oldLogProb: number;
  /** The temperature the choice was drawn at (1 unless sampled). */
  temperature: number;
  /** The old policy's value estimate. */
  value: number;
  reward: number;
  /** Decisions of one training run, in order (GAE runs along them). */
  runId: string;
  epoch: number;
}

/**
 * The in-run reward of a completed report: −Δ validation loss over the observation window × LOSS_SCALE, − PARAMETER_COST
 * per thousand weights a GERMINATE added, + the outcome's term (SUCCESS 0.5, NEUTRAL 0, REGRESSION −0.5, ABORTED −1);
 * null while the report waits for its outcome.
 */
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
  return {
    ...decisionExperience(leyline.PolicyDecision.create(decision), `field report ${report.reportId}`),
    reward,
    runId: report.trainingRunId,
    epoch: report.metrics?.['decision.epoch'] ?? 0,
  };
}

/** What a PolicyDecision says for learning (graph, masks, choices, old log-probability, value); `what` names it in errors. */
export function decisionExperience(
  decision: v1.PolicyDecision,
  what: string,
): Pick<Experience, 'graph' | 'masks' | 'choices' | 'oldLogProb' | 'temperature' | 'value'> {
  if (!decision.graph) throw new ExperienceError(`${what}: the decision has no graph`);
  const graph = graphFromProto(leyline.PolicyGraph.create(decision.graph));
  const recorded = decision.choices ?? {};
  if (recorded.action === undefined) throw new ExperienceError(`${what}: the decision has no action choice`);
  const choices: Choices = { action: recorded.action };
  for (const head of HEADS) if (head !== 'action' && recorded[head] !== undefined) choices[head] = recorded[head];
  const oldLogProb = Object.values(decision.logProbs ?? {}).reduce((a, b) => a + b, 0);
  if (!Number.isFinite(oldLogProb)) throw new ExperienceError(`${what}: non-finite log-probability`);
  return {
    graph,
    masks: masksOf(graph),
    choices,
    oldLogProb,
    temperature: decision.temperature > 0 ? decision.temperature : 1,
    value: decision.outputs?.value ?? 0,
  };
}
