// How Tamiyo holds its policies, as plain logic: `transition(state, event) → { state, effects }`, with no actors,
// files or clocks inside. The active policy decides; a checked PolicyUpdate becomes a candidate that decides in shadow
// on the same states and is promoted after `shadowDecisions` in-budget answers (the policy it replaced kept for
// rollback), or rejected. The rollback rule: an active policy that misses ROLLBACK_AFTER decisions in a row, or that its
// supervisor gave up on, goes back to the policy it replaced, else the heuristic; the heuristic has nowhere to go.
//
// Instances are named here by a number (`id`), counted from 1 in each incarnation of the controller; the controller
// maps them to the actors it spawns for them. Effects say what to start, stop, save and announce, in order.
import { leyline, type v1 } from '../../contracts/index.ts';
import {
  HEURISTIC_VERSION,
  RANDOM_VERSION,
  type PolicyKind,
  type PolicyMode,
  type UpdateCheck,
} from '../../policy/index.ts';

const { TelemetryLevel } = leyline;

/** A policy the controller runs: what its instances are built from, and the update that brought it (if any). */
export interface PolicySpec {
  version: string;
  kind: PolicyKind;
  /** The network's weights (kind `network`); null otherwise. */
  weights: v1.PolicyWeights | null;
  update: v1.PolicyUpdate | null;
  mode: PolicyMode;
  temperature: number;
}

/** The heuristic policy: what decides when no other is given, and what a failing policy falls back to. */
export const HEURISTIC_POLICY: PolicySpec = {
  version: HEURISTIC_VERSION,
  kind: 'heuristic',
  weights: null,
  update: null,
  mode: 'greedy',
  temperature: 1,
};
/** The random policy: uniform over the allowed actions (a baseline). */
export const RANDOM_POLICY: PolicySpec = {
  version: RANDOM_VERSION,
  kind: 'random',
  weights: null,
  update: null,
  mode: 'greedy',
  temperature: 1,
};

/** A promoted policy that misses this many decisions in a row is rolled back. */
export const ROLLBACK_AFTER = 3;

/** A policy with the instance running it. */
export interface RunningPolicy extends PolicySpec {
  id: number;
}

/** A policy update deciding in shadow. */
export interface Candidate extends RunningPolicy {
  update: v1.PolicyUpdate;
  shadowed: number;
  /** Shadow decisions whose action matched the active policy's. */
  agreed: number;
}

export interface PolicyVersions {
  active: RunningPolicy;
  /** The policy the active one replaced, kept for rollback. */
  previous: PolicySpec | null;
  /** The active policy's missed decisions in a row (no answer in time, or a late one). */
  activeFailures: number;
  candidate: Candidate | null;
  /** Instances started in this incarnation (the last id given). */
  started: number;
}

export interface PolicyVersionSettings {
  /** Shadow decisions a candidate must pass before promotion. */
  shadowDecisions: number;
  /** A shadow decision whose own inference took longer than this rejects the candidate. */
  inferenceTimeoutMs: number;
  /** How a candidate network chooses. */
  mode: PolicyMode;
  temperature: number;
}

export type PolicyVersionEvent =
  /**
   * The active policy's decision: `answered` (kept), `missed` (no answer in time, or a late one) or `held` (gated,
   * still starting, or the policy failed: a crash is its supervisor's to count).
   */
  | { type: 'decided'; outcome: 'answered' | 'missed' | 'held' }
  /** A PolicyUpdate, with what `checkPolicyUpdate` found (against `knownVersions`). */
  | { type: 'update'; update: v1.PolicyUpdate; check: UpdateCheck }
  /** Candidate `id`'s shadow answer (or its failure), beside the active policy's decision on the same state. */
  | {
      type: 'shadowed';
      id: number;
      active: v1.PolicyDecision | null;
      answer: { decision: v1.PolicyDecision } | { error: string };
    }
  /** Instance `id` failed past its restarts; its supervisor has stopped it. */
  | { type: 'gave-up'; id: number; error: string };

export type PolicyVersionEffect =
  /** Start an instance of `policy`; a new policy with no memory of its own starts from `seedMemoryFrom`'s. */
  | { type: 'spawn'; id: number; policy: PolicySpec; seedMemoryFrom: string | null }
  /** Stop an instance on purpose (release it from supervision first: not a failure to restart). */
  | { type: 'retire'; id: number; reason: string }
  /** `policy.pb` now holds this update (null: no promoted policy). */
  | { type: 'save-promoted'; update: v1.PolicyUpdate | null }
  /** Telemetry and counters: what happened to a policy version. */
  | { type: 'announce'; announcement: PolicyAnnouncement }
  /** The heuristic failed past its restarts: no policy until the controller restarts. */
  | { type: 'no-policy'; error: string };

export type PolicyAnnouncement =
  | { description: 'policy_update_received'; attributes: { version: string; shadow_decisions_needed: string } }
  | {
      description: 'policy_update_applied';
      attributes: { version: string; previous: string; shadow_decisions: string; agreement: string };
    }
  | { description: 'policy_update_rejected'; attributes: { version: string; reason: string } }
  | { description: 'policy_rolled_back'; attributes: { from: string; to: string; reason: string } };

/** The telemetry level of each announcement: a rejection or a rollback is a warning. */
export const announcementLevel = (announcement: PolicyAnnouncement): v1.TelemetryLevel =>
  announcement.description === 'policy_update_rejected' || announcement.description === 'policy_rolled_back'
    ? TelemetryLevel.TELEMETRY_LEVEL_WARNING
    : TelemetryLevel.TELEMETRY_LEVEL_INFO;

export interface PolicyVersionTransition {
  state: PolicyVersions;
  effects: PolicyVersionEffect[];
}

/** The start of an incarnation: `policy` active (instance 1), nothing shadowed, no failures. */
export function initialPolicyVersions(policy: PolicySpec): PolicyVersionTransition {
  const state: PolicyVersions = {
    active: { ...specOf(policy), id: 1 },
    previous: null,
    activeFailures: 0,
    candidate: null,
    started: 1,
  };
  return { state, effects: [{ type: 'spawn', id: 1, policy: specOf(policy), seedMemoryFrom: null }] };
}

/** The versions an update may not reuse: the active one and the candidate's. */
export const knownVersions = (state: PolicyVersions): string[] => [
  state.active.version,
  ...(state.candidate ? [state.candidate.version] : []),
];

/** The version instance `id` runs ('' when it is neither the active policy nor the candidate). */
export const versionOf = (state: PolicyVersions, id: number): string =>
  [state.active, state.candidate].find((slot) => slot?.id === id)?.version ?? '';

/**
 * The rollback rule: where a failing active policy goes — the policy it replaced, else the heuristic. Null for the
 * heuristic itself (it replaced nothing: a promoted policy is always a network).
 */
export const rollbackTarget = (state: PolicyVersions): PolicySpec | null =>
  state.active.kind === 'heuristic' ? null : (state.previous ?? HEURISTIC_POLICY);

/** Applies one event; the state is updated in place and returned with the effects to carry out, in order. */
export function transition(
  state: PolicyVersions,
  event: PolicyVersionEvent,
  settings: PolicyVersionSettings,
): PolicyVersionTransition {
  const effects: PolicyVersionEffect[] = [];
  switch (event.type) {
    case 'decided':
      onDecided(state, event.outcome, effects);
      break;
    case 'update':
      onUpdate(state, event.update, event.check, settings, effects);
      break;
    case 'shadowed':
      onShadowed(state, event, settings, effects);
      break;
    case 'gave-up':
      onGaveUp(state, event.id, event.error, effects);
      break;
  }
  return { state, effects };
}

function onDecided(
  state: PolicyVersions,
  outcome: 'answered' | 'missed' | 'held',
  effects: PolicyVersionEffect[],
): void {
  if (outcome === 'missed') state.activeFailures += 1;
  else if (outcome === 'answered') state.activeFailures = 0;
  if (state.activeFailures >= ROLLBACK_AFTER) rollBack(state, `${ROLLBACK_AFTER} failed decisions in a row`, effects);
}

function onUpdate(
  state: PolicyVersions,
  update: v1.PolicyUpdate,
  check: UpdateCheck,
  settings: PolicyVersionSettings,
  effects: PolicyVersionEffect[],
): void {
  if (!check.ok) {
    effects.push(rejected(update.tamiyoPolicyVersion ?? '', check.reason));
    return;
  }
  if (state.candidate) {
    effects.push(
      { type: 'retire', id: state.candidate.id, reason: `superseded by ${check.version}` },
      rejected(state.candidate.version, `superseded by ${check.version} before promotion`),
    );
  }
  const policy: PolicySpec = {
    version: check.version,
    kind: 'network',
    weights: check.weights,
    update,
    mode: settings.mode,
    temperature: settings.temperature,
  };
  const id = nextId(state);
  state.candidate = { ...policy, update, id, shadowed: 0, agreed: 0 };
  effects.push(
    { type: 'spawn', id, policy, seedMemoryFrom: state.active.version },
    {
      type: 'announce',
      announcement: {
        description: 'policy_update_received',
        attributes: { version: check.version, shadow_decisions_needed: String(settings.shadowDecisions) },
      },
    },
  );
}

function onShadowed(
  state: PolicyVersions,
  event: Extract<PolicyVersionEvent, { type: 'shadowed' }>,
  settings: PolicyVersionSettings,
  effects: PolicyVersionEffect[],
): void {
  const candidate = state.candidate;
  // Replaced or rejected while it was deciding: its answer no longer counts.
  if (!candidate || candidate.id !== event.id) return;
  if ('error' in event.answer) {
    state.candidate = null;
    effects.push(
      { type: 'retire', id: candidate.id, reason: 'failed in shadow' },
      rejected(candidate.version, `failed in shadow: ${event.answer.error}`),
    );
    return;
  }
  const decision = event.answer.decision;
  if (decision.inferenceMs > settings.inferenceTimeoutMs) {
    state.candidate = null;
    effects.push(
      { type: 'retire', id: candidate.id, reason: 'too slow in shadow' },
      rejected(candidate.version, `shadow decision over the ${settings.inferenceTimeoutMs} ms deadline`),
    );
    return;
  }
  candidate.shadowed += 1;
  if (event.active && event.active.choices?.action === decision.choices?.action) candidate.agreed += 1;
  if (candidate.shadowed >= settings.shadowDecisions) promote(state, candidate, effects);
}

function onGaveUp(state: PolicyVersions, id: number, error: string, effects: PolicyVersionEffect[]): void {
  if (state.candidate?.id === id) {
    const gone = state.candidate;
    state.candidate = null;
    effects.push(rejected(gone.version, `candidate failed past its restarts: ${error}`));
  } else if (state.active.id === id) {
    // The heuristic itself keeps failing: no more restarts; decisions hold (and the breaker gates).
    if (!rollBack(state, `failed past its restarts: ${error}`, effects)) effects.push({ type: 'no-policy', error });
  }
}

function promote(state: PolicyVersions, candidate: Candidate, effects: PolicyVersionEffect[]): void {
  const replaced = state.active;
  state.previous = specOf(replaced);
  state.active = { ...specOf(candidate), id: candidate.id };
  state.activeFailures = 0;
  state.candidate = null;
  effects.push(
    { type: 'save-promoted', update: candidate.update },
    { type: 'retire', id: replaced.id, reason: `replaced by policy ${candidate.version}` },
    {
      type: 'announce',
      announcement: {
        description: 'policy_update_applied',
        attributes: {
          version: candidate.version,
          previous: replaced.version,
          shadow_decisions: String(candidate.shadowed),
          agreement: (candidate.agreed / Math.max(1, candidate.shadowed)).toFixed(3),
        },
      },
    },
  );
}

/** Applies the rollback rule; false when there is nowhere to roll back to. */
function rollBack(state: PolicyVersions, reason: string, effects: PolicyVersionEffect[]): boolean {
  const target = rollbackTarget(state);
  if (!target) return false;
  const failed = state.active;
  const id = nextId(state);
  state.active = { ...specOf(target), id };
  state.previous = null;
  state.activeFailures = 0;
  effects.push(
    { type: 'retire', id: failed.id, reason: 'rolled back' },
    { type: 'save-promoted', update: target.update },
    { type: 'spawn', id, policy: specOf(target), seedMemoryFrom: null },
    {
      type: 'announce',
      announcement: {
        description: 'policy_rolled_back',
        attributes: { from: failed.version, to: target.version, reason },
      },
    },
  );
  return true;
}

const rejected = (version: string, reason: string): PolicyVersionEffect => ({
  type: 'announce',
  announcement: { description: 'policy_update_rejected', attributes: { version, reason } },
});

function nextId(state: PolicyVersions): number {
  state.started += 1;
  return state.started;
}

/** A policy without its instance or shadow figures. */
const specOf = (policy: PolicySpec): PolicySpec => ({
  version: policy.version,
  kind: policy.kind,
  weights: policy.weights,
  update: policy.update,
  mode: policy.mode,
  temperature: policy.temperature,
});
