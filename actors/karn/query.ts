// Karn's answer to a BlueprintQuery, guarded by a circuit breaker, with its metrics and events. Pure domain
// logic: the actor (karn-actor.ts) owns one KarnState and calls handleQuery per message.
//
// Order of checks, first refusal wins:
//   breaker → (direct id) unknown id, query filters (FILTERED) | (selection) NO_CANDIDATES
//           → quarantine_only without drill (QUARANTINED) → approval_required without approval (APPROVAL_REQUIRED)
//           → parameters (direct id: always; selection: only when the query carries any).
// A refusal is an answer, not a failure of Karn: it counts in karn.requests.failed but never trips the breaker.
// Only internal errors (the catalog itself throwing) are breaker failures.
import { leyline, type v1 } from '../../contracts/index.ts';
import { buildTelemetryPacket, type EventInput, type MetricInput } from '../../contracts/telemetry.ts';
import { CircuitBreaker, type CircuitBreakerOptions } from '../../runtime/circuit-breaker.ts';
import type { KarnCatalogReader } from './catalog.ts';
import { breakerStateName, describeBlueprint, rejectionName, tierName } from './descriptor.ts';
import { BlueprintRequestError } from './errors.ts';
import { chooseTemplate, exclusionReason, type SelectionCriteria } from './selection.ts';
import { checkParameters, lookUpBlueprint } from './validation.ts';

const {
  BlueprintRejection: Rejection,
  BlueprintTier: Tier,
  CircuitBreakerState: BreakerState,
  TelemetryLevel,
  HealthStatus,
} = leyline;

/** The reference's breaker settings for Karn: 3 consecutive failures open it for 30 s; 1 success closes it. */
export const KARN_BREAKER_DEFAULTS: Readonly<CircuitBreakerOptions> = {
  failureThreshold: 3,
  successThreshold: 1,
  timeoutMs: 30_000,
};

/** Events kept between telemetry packets; beyond this the oldest are dropped (and counted) so memory stays bounded. */
export const MAX_PENDING_EVENTS = 1_000;

export interface KarnStateOptions {
  catalog: KarnCatalogReader;
  /** Blueprint ids approved once for all (configuration `karn.approved`). */
  approved?: readonly string[];
  /** Overrides of KARN_BREAKER_DEFAULTS (tests inject a clock). */
  breaker?: CircuitBreakerOptions;
  /** Monotonic milliseconds, for latency. Default performance.now. */
  now?: () => number;
}

/** Karn's counters and gauges, published under the reference's metric names (see `karnMetricPoints`). */
export interface KarnMetrics {
  /** Successful queries only. */
  requestsTotal: number;
  /** Refused queries: invalid input, policy refusals and internal errors (not breaker denials). */
  requestsFailed: number;
  breakerDenied: number;
  /** Transitions to OPEN. */
  breakerOpenTotal: number;
  /** The breaker's state as the Leyline CircuitBreakerState number (1 CLOSED, 2 OPEN, 3 HALF_OPEN). */
  breakerState: v1.CircuitBreakerState;
  selectionSafe: number;
  selectionExperimental: number;
  selectionAdversarial: number;
  /** Latency of the last successful query (a gauge). */
  latencyMs: number;
}

export interface KarnState {
  readonly catalog: KarnCatalogReader;
  readonly approved: ReadonlySet<string>;
  readonly breaker: CircuitBreaker;
  readonly metrics: KarnMetrics;
  /** Events not yet sent in a telemetry packet. */
  readonly events: EventInput[];
  eventsDropped: number;
  readonly now: () => number;
}

export function createKarnState(options: KarnStateOptions): KarnState {
  const breaker = new CircuitBreaker('karn', { ...KARN_BREAKER_DEFAULTS, ...options.breaker });
  const state: KarnState = {
    catalog: options.catalog,
    approved: new Set(options.approved ?? []),
    breaker,
    metrics: {
      requestsTotal: 0,
      requestsFailed: 0,
      breakerDenied: 0,
      breakerOpenTotal: 0,
      breakerState: breaker.state,
      selectionSafe: 0,
      selectionExperimental: 0,
      selectionAdversarial: 0,
      latencyMs: 0,
    },
    events: [],
    eventsDropped: 0,
    now: options.now ?? (() => performance.now()),
  };
  // Transitions, not observations: a denial while OPEN does not count as another opening.
  breaker.onTransition(({ to, failures }) => {
    state.metrics.breakerState = to;
    if (to === BreakerState.CIRCUIT_STATE_OPEN) {
      state.metrics.breakerOpenTotal += 1;
      pushEvent(state, 'karn.breaker_opened', TelemetryLevel.TELEMETRY_LEVEL_WARNING, { failures: String(failures) });
    }
  });
  return state;
}

/** Answers a query: a selection (ok) or a refusal with its BlueprintRejection and a sentence. Never throws. */
export function handleQuery(state: KarnState, query: v1.BlueprintQuery): v1.BlueprintSelection {
  const { metrics, breaker } = state;
  if (!breaker.allow()) {
    metrics.breakerDenied += 1;
    pushEvent(state, 'karn.breaker_denied', TelemetryLevel.TELEMETRY_LEVEL_WARNING, { reason: 'breaker_open' });
    return refusal(query, Rejection.BLUEPRINT_REJECTION_BREAKER_OPEN, 'Karn breaker open; blueprint query refused');
  }
  const started = state.now();
  try {
    const { descriptor, parameters } = resolveQuery(state, query);
    const latencyMs = state.now() - started;
    metrics.requestsTotal += 1;
    metrics.latencyMs = latencyMs;
    countTier(metrics, descriptor.tier);
    breaker.recordSuccess();
    pushEvent(state, 'karn.selection_succeeded', TelemetryLevel.TELEMETRY_LEVEL_INFO, {
      blueprint_id: descriptor.blueprintId,
      tier: tierName(descriptor.tier),
      latency_ms: latencyMs.toFixed(2),
      conservative: String(query.conservative),
    });
    return leyline.BlueprintSelection.create({
      requestId: query.requestId,
      ok: true,
      descriptor,
      parameters,
      conservative: query.conservative,
      tier: descriptor.tier,
    });
  } catch (error) {
    metrics.requestsFailed += 1;
    if (error instanceof BlueprintRequestError) {
      // Karn worked and said no. Recording a success also frees a half-open trial, which would otherwise stay
      // taken and keep the breaker refusing.
      breaker.recordSuccess();
      failed(state, error.name, error.rejection);
      return refusal(query, error.rejection, error.message);
    }
    breaker.recordFailure();
    const name = error instanceof Error ? error.constructor.name : typeof error;
    failed(state, name, Rejection.BLUEPRINT_REJECTION_INTERNAL);
    const detail = error instanceof Error ? error.message : String(error);
    return refusal(query, Rejection.BLUEPRINT_REJECTION_INTERNAL, `Karn internal error: ${detail}`);
  }
}

/** The blueprint a query gets and its validated parameters; throws BlueprintRequestError for a refusal. */
function resolveQuery(
  state: KarnState,
  query: v1.BlueprintQuery,
): { descriptor: v1.BlueprintDescriptor; parameters: Record<string, number> } {
  const parameters = { ...query.parameters };
  const criteria: SelectionCriteria = {
    // In a query UNSPECIFIED means "any tier"; chooseTemplate takes no tier for that.
    tier: query.tier === Tier.BLUEPRINT_TIER_UNSPECIFIED ? null : query.tier,
    context: query.context,
    allowAdversarial: query.allowAdversarial,
    conservative: query.conservative,
  };
  const direct = query.blueprintId !== '';
  let descriptor: v1.BlueprintDescriptor;
  if (direct) {
    descriptor = lookUpBlueprint(state.catalog, query.blueprintId);
    const excluded = exclusionReason(descriptor, state.catalog.all(), criteria);
    if (excluded) throw new BlueprintRequestError(Rejection.BLUEPRINT_REJECTION_FILTERED, excluded);
  } else {
    descriptor = chooseTemplate(state.catalog, criteria);
  }
  enforcePolicy(state, descriptor, query);
  // A selection without parameters returns the template as is (the caller fills them later, e.g. midpoints).
  if (direct || Object.keys(parameters).length > 0) {
    const problem = checkParameters(descriptor, parameters);
    if (problem) throw problem;
  }
  return { descriptor, parameters };
}

/** quarantine_only needs a drill; approval_required needs `approved_by` or the id in the configured `approved` list. */
function enforcePolicy(state: KarnState, descriptor: v1.BlueprintDescriptor, query: v1.BlueprintQuery): void {
  const blueprint = describeBlueprint(descriptor);
  if (descriptor.quarantineOnly && !query.drill) {
    throw new BlueprintRequestError(
      Rejection.BLUEPRINT_REJECTION_QUARANTINED,
      `blueprint ${blueprint} is quarantine-only: only a drill (drill = true) may use it`,
    );
  }
  if (descriptor.approvalRequired && query.approvedBy.trim() === '' && !state.approved.has(descriptor.blueprintId)) {
    throw new BlueprintRequestError(
      Rejection.BLUEPRINT_REJECTION_APPROVAL_REQUIRED,
      `blueprint ${blueprint} requires approval: name the approver in approved_by, or list the id in karn.approved`,
    );
  }
}

function countTier(metrics: KarnMetrics, tier: v1.BlueprintTier): void {
  if (tier === Tier.BLUEPRINT_TIER_SAFE) metrics.selectionSafe += 1;
  else if (tier === Tier.BLUEPRINT_TIER_EXPERIMENTAL) metrics.selectionExperimental += 1;
  else if (tier === Tier.BLUEPRINT_TIER_HIGH_RISK) metrics.selectionAdversarial += 1;
}

function failed(state: KarnState, errorName: string, rejection: v1.BlueprintRejection): void {
  pushEvent(state, 'karn.selection_failed', TelemetryLevel.TELEMETRY_LEVEL_WARNING, {
    error: errorName,
    rejection: rejectionName(rejection),
  });
}

function refusal(query: v1.BlueprintQuery, rejection: v1.BlueprintRejection, error: string): v1.BlueprintSelection {
  return leyline.BlueprintSelection.create({ requestId: query.requestId, ok: false, rejection, error });
}

function pushEvent(
  state: KarnState,
  description: string,
  level: v1.TelemetryLevel,
  attributes: Record<string, string>,
): void {
  state.events.push({ description, level, attributes });
  if (state.events.length > MAX_PENDING_EVENTS) {
    const excess = state.events.length - MAX_PENDING_EVENTS;
    state.events.splice(0, excess);
    state.eventsDropped += excess;
  }
}

/** The pending events, oldest first; the buffer is left empty. */
export function drainEvents(state: KarnState): EventInput[] {
  return state.events.splice(0, state.events.length);
}

/** The metrics under the reference's names, in a fixed order. */
export function karnMetricPoints(metrics: KarnMetrics): MetricInput[] {
  return [
    { name: 'karn.requests.total', value: metrics.requestsTotal, unit: 'count' },
    { name: 'karn.requests.failed', value: metrics.requestsFailed, unit: 'count' },
    { name: 'karn.breaker.denied', value: metrics.breakerDenied, unit: 'count' },
    { name: 'karn.breaker.open_total', value: metrics.breakerOpenTotal, unit: 'count' },
    { name: 'karn.breaker.state', value: metrics.breakerState },
    { name: 'karn.selection.safe', value: metrics.selectionSafe, unit: 'count' },
    { name: 'karn.selection.experimental', value: metrics.selectionExperimental, unit: 'count' },
    { name: 'karn.selection.adversarial', value: metrics.selectionAdversarial, unit: 'count' },
    { name: 'karn.selection.latency_ms', value: metrics.latencyMs, unit: 'ms' },
  ];
}

/**
 * Karn's TelemetryPacket (source "karn"): the metrics and the events drained since the last packet. WARNING
 * when a warning event is in it or the breaker is not closed; health DEGRADED while the breaker is not closed.
 */
export function buildKarnTelemetry(
  state: KarnState,
  packetId: string,
  timestamp: number = Date.now(),
): v1.TelemetryPacket {
  const events = drainEvents(state);
  const breakerState = state.metrics.breakerState;
  const closed = breakerState === BreakerState.CIRCUIT_STATE_CLOSED;
  const warned = events.some(
    (event) => (event.level ?? TelemetryLevel.TELEMETRY_LEVEL_INFO) >= TelemetryLevel.TELEMETRY_LEVEL_WARNING,
  );
  return buildTelemetryPacket({
    packetId,
    source: 'karn',
    level: warned || !closed ? TelemetryLevel.TELEMETRY_LEVEL_WARNING : TelemetryLevel.TELEMETRY_LEVEL_INFO,
    metrics: karnMetricPoints(state.metrics),
    events,
    healthStatus: closed ? HealthStatus.HEALTH_STATUS_HEALTHY : HealthStatus.HEALTH_STATUS_DEGRADED,
    healthSummary: closed
      ? 'steady'
      : breakerState === BreakerState.CIRCUIT_STATE_OPEN
        ? 'breaker_open'
        : 'breaker_half_open',
    healthIndicators: { breaker_state: breakerStateName(breakerState) },
    timestamp,
  });
}
