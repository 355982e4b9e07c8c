// Tamiyo's part of the configuration (`tamiyo` in esper.config.ts), checked at boot with field names.
import { ConfigError } from '../../runtime/config-error.ts';
import {
  DEFAULT_GRAPH_OPTIONS,
  DEFAULT_PRIOR_OPTIONS,
  type GraphOptions,
  type PolicyMode,
  type PriorOptions,
} from '../../policy/index.ts';
import { DEFAULT_OUTCOME_TOLERANCES, type OutcomeTolerances } from './outcome.ts';
import { DEFAULT_RISK_CONFIG, type RiskConfig } from './risk-engine.ts';

export interface TamiyoConfig {
  /**
   * A decision whose inference (graph, network, decoding, timed by the policy instance) took longer than this is
   * discarded for a safe PAUSE. Default 15 ms.
   */
  inferenceTimeoutMs?: number;
  /** A policy instance that does not answer at all within this is treated the same (a liveness guard). Default 500 ms, or the inference deadline when that is longer. */
  policyAnswerMs?: number;
  /** The blueprint metadata lookup's deadline. Default 20 ms. */
  metadataTimeoutMs?: number;
  /** Finished epochs after a decision before its outcome is judged. Default 2. */
  observationEpochs?: number;
  /** Field reports older than this are pruned. Default 24 h. */
  retentionHours?: number;
  /** Start in conservative mode (env TAMIYO_CONSERVATIVE_MODE=1 sets it too). */
  conservativeMode?: boolean;
  /** Risk thresholds and conservative-mode exit; see risk-engine.ts. */
  risk?: Partial<RiskConfig>;
  /** Shadow decisions a candidate policy must pass before promotion. Default 2. */
  shadowDecisions?: number;
  /** Where policy instances compute: the training thread ("inline", default) or a worker thread each ("worker"). */
  policyThread?: 'worker' | 'inline';
  /** A policy instance writes its memory (the run's validation-loss history) every N decisions and when it stops. Default 10. */
  persistEvery?: number;
  /**
   * Which policy decides: "shipped" (default: the learned policy in the package's `policies/`, when its graph schema
   * fits this build; else the heuristic, with a warning), "heuristic", "random" (uniform over the allowed actions),
   * the path of a policy file (a signed PolicyUpdate, as `esper learn` saves each round's), or "promoted" (the policy
   * promoted last in this folder, else the heuristic).
   */
  policy?: string;
  /** How a network policy chooses: "greedy" (default) or "sample" (draws from its distribution, as in learning). */
  mode?: PolicyMode;
  /** The sampling temperature (mode "sample"). Default 1. */
  temperature?: number;
  prior?: Partial<PriorOptions>;
  graph?: Partial<GraphOptions>;
  outcome?: Partial<OutcomeTolerances>;
  /** The blueprints this run's policy may germinate (ids in Karn's catalog). Default: the whole catalog. */
  blueprints?: string[];
}

export interface TamiyoSettings {
  inferenceTimeoutMs: number;
  policyAnswerMs: number;
  metadataTimeoutMs: number;
  observationEpochs: number;
  retentionMs: number;
  conservativeMode: boolean;
  risk: RiskConfig;
  shadowDecisions: number;
  persistEvery: number;
  policy: PolicyChoice;
  mode: PolicyMode;
  temperature: number;
  policyThread: 'worker' | 'inline';
  prior: PriorOptions;
  graph: GraphOptions;
  outcome: OutcomeTolerances;
  blueprints: string[] | null;
}

/** The policy a run uses, as configured (a file is read and checked at boot). */
export type PolicyChoice =
  | { kind: 'shipped' }
  | { kind: 'promoted' }
  | { kind: 'heuristic' }
  | { kind: 'random' }
  | { kind: 'file'; path: string };

export class TamiyoConfigError extends ConfigError {
  override readonly name = 'TamiyoConfigError';
}

export function resolveTamiyoConfig(
  config: TamiyoConfig = {},
  env: NodeJS.ProcessEnv = process.env,
  field = 'tamiyo',
): TamiyoSettings {
  const number = (
    value: number | undefined,
    name: string,
    fallback: number,
    check: (n: number) => boolean,
    rule: string,
  ): number => {
    const n = value ?? fallback;
    if (typeof n !== 'number' || !Number.isFinite(n) || !check(n))
      throw new TamiyoConfigError(`${field}.${name}`, `must be ${rule}, got ${JSON.stringify(value)}`);
    return n;
  };
  const positive = (value: number | undefined, name: string, fallback: number): number =>
    number(value, name, fallback, (n) => n > 0, 'a number > 0');
  const count = (value: number | undefined, name: string, fallback: number): number =>
    number(value, name, fallback, (n) => Number.isInteger(n) && n >= 1, 'an integer >= 1');
  const fraction = (value: number | undefined, name: string, fallback: number): number =>
    number(value, name, fallback, (n) => n >= 0 && n <= 1, 'a number in [0, 1]');
  const risk = { ...DEFAULT_RISK_CONFIG, ...config.risk };
  for (const key of ['policyCritical', 'policyElevated', 'blueprintQuarantine', 'blueprintRisk'] as const)
    fraction(risk[key], `risk.${key}`, 0);
  for (const key of ['maxLossSpike', 'hookBudgetMs', 'breakerCooldownMs'] as const)
    positive(risk[key], `risk.${key}`, 1);
  for (const key of ['stableCallsToExit', 'breakerFailures'] as const) count(risk[key], `risk.${key}`, 1);
  const prior = { ...DEFAULT_PRIOR_OPTIONS, ...config.prior };
  count(prior.plateauEpochs, 'prior.plateauEpochs', 1);
  fraction(prior.plateauTolerance, 'prior.plateauTolerance', 0);
  fraction(prior.maxRisk, 'prior.maxRisk', 0);
  const graph = {
    ...DEFAULT_GRAPH_OPTIONS,
    ...config.graph,
    plateauEpochs: prior.plateauEpochs,
    plateauTolerance: prior.plateauTolerance,
  };
  count(graph.maxCandidates, 'graph.maxCandidates', 1);
  count(graph.maxParameters, 'graph.maxParameters', 1);
  const outcome = { ...DEFAULT_OUTCOME_TOLERANCES, ...config.outcome };
  fraction(outcome.successTolerance, 'outcome.successTolerance', 0);
  fraction(outcome.regressionTolerance, 'outcome.regressionTolerance', 0);
  const envConservative = env.TAMIYO_CONSERVATIVE_MODE;
  if (envConservative !== undefined && !['0', '1', 'true', 'false', ''].includes(envConservative)) {
    throw new TamiyoConfigError(
      'TAMIYO_CONSERVATIVE_MODE',
      `must be 0, 1, true or false, got ${JSON.stringify(envConservative)}`,
    );
  }
  const inferenceTimeoutMs = positive(config.inferenceTimeoutMs, 'inferenceTimeoutMs', 15);
  return {
    inferenceTimeoutMs,
    // The liveness guard never cuts a decision short of the inference deadline (a network's decision takes longer
    // than the heuristic's, more so on a loaded machine).
    policyAnswerMs: positive(config.policyAnswerMs, 'policyAnswerMs', Math.max(500, inferenceTimeoutMs)),
    metadataTimeoutMs: positive(config.metadataTimeoutMs, 'metadataTimeoutMs', 20),
    observationEpochs: count(config.observationEpochs, 'observationEpochs', 2),
    retentionMs: positive(config.retentionHours, 'retentionHours', 24) * 3_600_000,
    conservativeMode: config.conservativeMode ?? (envConservative === '1' || envConservative === 'true'),
    risk,
    shadowDecisions: count(config.shadowDecisions, 'shadowDecisions', 2),
    persistEvery: count(config.persistEvery, 'persistEvery', 10),
    policy: policyChoice(config.policy, field),
    mode: policyMode(config.mode, field),
    temperature: positive(config.temperature, 'temperature', 1),
    policyThread: policyThread(config.policyThread, field),
    prior,
    graph,
    outcome,
    blueprints: blueprintList(config.blueprints, field),
  };
}

function blueprintList(value: unknown, field: string): string[] | null {
  if (value === undefined) return null;
  if (!Array.isArray(value) || value.length === 0 || value.some((id) => typeof id !== 'string' || id === '')) {
    throw new TamiyoConfigError(
      `${field}.blueprints`,
      `must be a non-empty list of blueprint ids, got ${JSON.stringify(value)}`,
    );
  }
  return value as string[];
}

function policyThread(value: unknown, field: string): 'worker' | 'inline' {
  if (value === undefined) return 'inline';
  if (value === 'worker' || value === 'inline') return value;
  throw new TamiyoConfigError(`${field}.policyThread`, `must be "worker" or "inline", got ${JSON.stringify(value)}`);
}

function policyChoice(value: unknown, field: string): PolicyChoice {
  if (value === undefined || value === 'shipped') return { kind: 'shipped' };
  if (value === 'promoted' || value === 'heuristic' || value === 'random') return { kind: value };
  if (typeof value === 'string' && value !== '') return { kind: 'file', path: value };
  throw new TamiyoConfigError(
    `${field}.policy`,
    `must be "shipped", "heuristic", "random", "promoted" or a policy file's path, got ${JSON.stringify(value)}`,
  );
}

function policyMode(value: unknown, field: string): PolicyMode {
  if (value === undefined) return 'greedy';
  if (value === 'greedy' || value === 'sample') return value;
  throw new TamiyoConfigError(`${field}.mode`, `must be "greedy" or "sample", got ${JSON.stringify(value)}`);
}
