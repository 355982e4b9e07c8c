// Karn's query handling: selection and direct requests, the policy (filters, quarantine, approval), parameter
// validation, the breaker (internal failures only), metrics, events and the telemetry packet.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { BlueprintCatalog, type KarnCatalogReader } from '../actors/karn/catalog.ts';
import {
  buildKarnTelemetry,
  createKarnState,
  drainEvents,
  handleQuery,
  type KarnState,
  type KarnStateOptions,
} from '../actors/karn/query.ts';

const {
  BlueprintTier: Tier,
  BlueprintRejection: Rejection,
  CircuitBreakerState: Breaker,
  TelemetryLevel,
  HealthStatus,
} = leyline;

const query = (properties: v1.BlueprintQuery.$Properties = {}): v1.BlueprintQuery =>
  leyline.BlueprintQuery.create({ requestId: 'req-1', ...properties });

/** A catalog whose reads throw while `broken` is set: an internal failure, not bad input. */
class FlakyCatalog implements KarnCatalogReader {
  broken = false;
  readonly #inner = new BlueprintCatalog();
  #check(): void {
    if (this.broken) throw new RangeError('catalog storage unavailable');
  }
  get(id: string) {
    this.#check();
    return this.#inner.get(id);
  }
  has(id: string) {
    this.#check();
    return this.#inner.has(id);
  }
  all() {
    this.#check();
    return this.#inner.all();
  }
  listByTier(tier: v1.BlueprintTier) {
    this.#check();
    return this.#inner.listByTier(tier);
  }
  get size() {
    return this.#inner.size;
  }
}

function setUp(options: Partial<KarnStateOptions> = {}) {
  let now = 0;
  let latencyClock = 0;
  const state = createKarnState({
    catalog: new BlueprintCatalog(),
    breaker: { clock: () => now },
    // Each reading advances 1.234 ms, so a query's latency is 1.234 ms.
    now: () => (latencyClock += 1.234),
    ...options,
  });
  return { state, advance: (ms: number) => (now += ms) };
}

const eventsNamed = (state: KarnState, description: string) =>
  state.events.filter((e) => e.description === description);

const refusalOf = (selection: v1.BlueprintSelection) => ({
  ok: selection.ok,
  rejection: selection.rejection,
  error: selection.error,
});

// ---- success ----------------------------------------------------------------------------------------------

test('a selection answers with a descriptor copy, the parameters, tier and conservative flag; metrics and event', (t) => {
  const { state } = setUp();
  const selection = handleQuery(state, query({ context: 'run-123' }));
  t.true(selection instanceof leyline.BlueprintSelection);
  t.true(selection.ok);
  t.is(selection.requestId, 'req-1');
  t.is(selection.rejection, Rejection.BLUEPRINT_REJECTION_UNSPECIFIED);
  t.is(selection.descriptor?.blueprintId, 'BP016');
  t.true(selection.descriptor instanceof leyline.BlueprintDescriptor);
  t.is(selection.tier, Tier.BLUEPRINT_TIER_SAFE);
  t.false(selection.conservative);
  t.deepEqual({ ...selection.parameters }, {});
  t.like(state.metrics, {
    requestsTotal: 1,
    requestsFailed: 0,
    selectionSafe: 1,
    selectionExperimental: 0,
    selectionAdversarial: 0,
  });
  t.is(state.metrics.latencyMs.toFixed(3), '1.234');
  t.deepEqual(state.events, [
    {
      description: 'karn.selection_succeeded',
      level: TelemetryLevel.TELEMETRY_LEVEL_INFO,
      attributes: { blueprint_id: 'BP016', tier: 'BLUEPRINT_TIER_SAFE', latency_ms: '1.23', conservative: 'false' },
    },
  ]);
  selection.descriptor!.name = 'mutated';
  t.is(state.catalog.get('BP016')!.name, 'squeeze_excitation');
});

test('the golden vectors hold through queries (tier UNSPECIFIED means any tier)', (t) => {
  const { state } = setUp();
  const pick = (properties: v1.BlueprintQuery.$Properties) =>
    handleQuery(state, query(properties)).descriptor?.blueprintId;
  t.is(pick({ context: 'control-run' }), 'BP001');
  t.is(pick({ context: 'control-run', conservative: true }), 'BP005');
  t.is(pick({ context: 'seed-1' }), 'BP032');
  t.is(pick({ context: 'run-123', tier: Tier.BLUEPRINT_TIER_UNSPECIFIED }), 'BP016');
  t.is(pick({}), 'BP001');
});

test('a custom blueprint with declared bounds: valid parameters pass, out-of-bounds is refused (prototype test)', (t) => {
  const catalog = new BlueprintCatalog({ loadDefaults: false });
  catalog.register({
    blueprintId: 'bp-1',
    name: 'test',
    tier: Tier.BLUEPRINT_TIER_SAFE,
    risk: 0.2,
    allowedParameters: { alpha: { minValue: 0, maxValue: 1 } },
  });
  const { state } = setUp({ catalog });
  const ok = handleQuery(state, query({ blueprintId: 'bp-1', parameters: { alpha: 0.5 } }));
  t.true(ok.ok);
  t.deepEqual({ ...ok.parameters }, { alpha: 0.5 });
  t.like(state.metrics, { requestsTotal: 1, requestsFailed: 0, selectionSafe: 1 });
  const bad = handleQuery(state, query({ blueprintId: 'bp-1', parameters: { alpha: 2 } }));
  t.deepEqual(refusalOf(bad), {
    ok: false,
    rejection: Rejection.BLUEPRINT_REJECTION_PARAMETER_OUT_OF_BOUNDS,
    error: "blueprint bp-1 (test): parameter 'alpha'=2 is outside its bounds [0, 1]",
  });
  t.is(bad.descriptor, null);
  t.like(state.metrics, { requestsTotal: 1, requestsFailed: 1 });
  t.deepEqual(eventsNamed(state, 'karn.selection_failed')[0], {
    description: 'karn.selection_failed',
    level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
    attributes: { error: 'BlueprintRequestError', rejection: 'BLUEPRINT_REJECTION_PARAMETER_OUT_OF_BOUNDS' },
  });
});

// ---- parameters ------------------------------------------------------------------------------------------

test('a selection validates parameters only when the query carries some; a direct request always does', (t) => {
  const { state } = setUp();
  t.true(handleQuery(state, query({ context: 'seed-1' })).ok, 'BP032 declares dilation, but none were given');
  t.is(
    handleQuery(state, query({ context: 'seed-1', parameters: { dilation: 100 } })).rejection,
    Rejection.BLUEPRINT_REJECTION_PARAMETER_OUT_OF_BOUNDS,
  );
  t.is(
    handleQuery(state, query({ context: 'seed-1', parameters: { dilation: 4, rate: 1 } })).rejection,
    Rejection.BLUEPRINT_REJECTION_UNDECLARED_PARAMETER,
  );
  const ok = handleQuery(state, query({ context: 'seed-1', parameters: { dilation: 4 } }));
  t.deepEqual({ ...ok.parameters }, { dilation: 4 });
  t.deepEqual(refusalOf(handleQuery(state, query({ blueprintId: 'BP032' }))), {
    ok: false,
    rejection: Rejection.BLUEPRINT_REJECTION_MISSING_PARAMETER,
    error: "blueprint BP032 (dilated_conv) requires parameter 'dilation' in [1, 8], but it was not given",
  });
  t.is(
    handleQuery(state, query({ blueprintId: 'BP001', parameters: { alpha: 0.1 } })).rejection,
    Rejection.BLUEPRINT_REJECTION_UNDECLARED_PARAMETER,
  );
  t.is(handleQuery(state, query({ blueprintId: 'BP404' })).rejection, Rejection.BLUEPRINT_REJECTION_UNKNOWN_BLUEPRINT);
});

// ---- policy ----------------------------------------------------------------------------------------------

test('direct requests pass the same filters as a selection (FILTERED)', (t) => {
  const { state } = setUp();
  const bp043 = { blueprintId: 'BP043', parameters: { scale: 10 }, drill: true, approvedBy: 'ops' };
  t.deepEqual(refusalOf(handleQuery(state, query(bp043))), {
    ok: false,
    rejection: Rejection.BLUEPRINT_REJECTION_FILTERED,
    error:
      'blueprint BP043 (exploding_gradient) is BLUEPRINT_TIER_HIGH_RISK and the query does not allow adversarial blueprints',
  });
  t.is(
    handleQuery(state, query({ blueprintId: 'BP011', conservative: true })).rejection,
    Rejection.BLUEPRINT_REJECTION_FILTERED,
  );
  t.true(handleQuery(state, query({ blueprintId: 'BP005', conservative: true })).ok);
  t.is(
    handleQuery(
      state,
      query({ blueprintId: 'BP002', parameters: { scale: 1 }, tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL }),
    ).rejection,
    Rejection.BLUEPRINT_REJECTION_FILTERED,
  );
  t.true(
    handleQuery(state, query({ blueprintId: 'BP002', parameters: { scale: 1 }, tier: Tier.BLUEPRINT_TIER_SAFE })).ok,
  );
  const allowed = handleQuery(state, query({ ...bp043, allowAdversarial: true }));
  t.true(allowed.ok);
  t.is(allowed.tier, Tier.BLUEPRINT_TIER_HIGH_RISK);
  t.is(state.metrics.selectionAdversarial, 1);
});

test('quarantine-only blueprints need a drill; approval-required blueprints need approved_by or the configured list', (t) => {
  const { state } = setUp({ approved: ['BP037'] });
  const adversarial = { blueprintId: 'BP045', parameters: { frequency: 0.05 }, allowAdversarial: true };
  t.deepEqual(refusalOf(handleQuery(state, query(adversarial))), {
    ok: false,
    rejection: Rejection.BLUEPRINT_REJECTION_QUARANTINED,
    error: 'blueprint BP045 (nan_injection) is quarantine-only: only a drill (drill = true) may use it',
  });
  t.deepEqual(refusalOf(handleQuery(state, query({ ...adversarial, drill: true }))), {
    ok: false,
    rejection: Rejection.BLUEPRINT_REJECTION_APPROVAL_REQUIRED,
    error:
      'blueprint BP045 (nan_injection) requires approval: name the approver in approved_by, or list the id in karn.approved',
  });
  t.is(
    handleQuery(state, query({ ...adversarial, drill: true, approvedBy: '   ' })).rejection,
    Rejection.BLUEPRINT_REJECTION_APPROVAL_REQUIRED,
  );
  t.true(handleQuery(state, query({ ...adversarial, drill: true, approvedBy: 'alice' })).ok);
  // Quarantine is checked before parameters: a policy refusal does not depend on the values.
  t.is(
    handleQuery(state, query({ blueprintId: 'BP045', allowAdversarial: true })).rejection,
    Rejection.BLUEPRINT_REJECTION_QUARANTINED,
  );

  // Selection picks first (the golden vectors are unchanged), then the policy applies to what it picked.
  const experimental = { context: 'exp', tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL };
  const refused = handleQuery(state, query(experimental));
  t.is(refused.rejection, Rejection.BLUEPRINT_REJECTION_APPROVAL_REQUIRED);
  t.regex(refused.error, /^blueprint BP040 \(differentiable_nas\) requires approval/);
  const approved = handleQuery(state, query({ ...experimental, approvedBy: 'alice' }));
  t.is(approved.descriptor?.blueprintId, 'BP040');
  t.is(approved.tier, Tier.BLUEPRINT_TIER_EXPERIMENTAL);
  t.true(
    handleQuery(state, query({ blueprintId: 'BP037', parameters: { levels: 3 } })).ok,
    'BP037 is approved in configuration',
  );
  t.like(state.metrics, { selectionExperimental: 2, selectionAdversarial: 1 });
  t.is(state.breaker.state, Breaker.CIRCUIT_STATE_CLOSED);
});

test('no candidates: HIGH_RISK asked for without allowing adversarial blueprints', (t) => {
  const { state } = setUp();
  t.deepEqual(refusalOf(handleQuery(state, query({ tier: Tier.BLUEPRINT_TIER_HIGH_RISK }))), {
    ok: false,
    rejection: Rejection.BLUEPRINT_REJECTION_NO_CANDIDATES,
    error: 'no blueprint matches tier BLUEPRINT_TIER_HIGH_RISK, adversarial not allowed',
  });
});

// ---- the breaker -------------------------------------------------------------------------------------------

test('bad input never trips the breaker', (t) => {
  const { state } = setUp();
  const bad: v1.BlueprintQuery.$Properties[] = [
    { blueprintId: 'missing' },
    { blueprintId: 'BP002', parameters: { scale: 99 } },
    { blueprintId: 'BP002' },
    { blueprintId: 'BP043' },
    { tier: Tier.BLUEPRINT_TIER_HIGH_RISK },
    { context: 'exp', tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL },
  ];
  for (let round = 0; round < 3; round += 1)
    for (const properties of bad) t.false(handleQuery(state, query(properties)).ok);
  t.like(state.metrics, {
    requestsFailed: 18,
    requestsTotal: 0,
    breakerDenied: 0,
    breakerOpenTotal: 0,
    breakerState: Breaker.CIRCUIT_STATE_CLOSED,
  });
  t.is(state.breaker.state, Breaker.CIRCUIT_STATE_CLOSED);
  t.true(handleQuery(state, query()).ok);
});

test('internal failures open the breaker after 3; then queries are denied and counted; one opening is one transition', (t) => {
  const catalog = new FlakyCatalog();
  const { state, advance } = setUp({ catalog });
  catalog.broken = true;
  for (let i = 0; i < 3; i += 1) {
    const failed = handleQuery(state, query({ context: 'x' }));
    t.deepEqual(refusalOf(failed), {
      ok: false,
      rejection: Rejection.BLUEPRINT_REJECTION_INTERNAL,
      error: 'Karn internal error: catalog storage unavailable',
    });
  }
  t.is(state.breaker.state, Breaker.CIRCUIT_STATE_OPEN);
  const denied = handleQuery(state, query({ requestId: 'req-9' }));
  t.deepEqual(refusalOf(denied), {
    ok: false,
    rejection: Rejection.BLUEPRINT_REJECTION_BREAKER_OPEN,
    error: 'Karn breaker open; blueprint query refused',
  });
  t.is(denied.requestId, 'req-9');
  handleQuery(state, query());
  t.like(state.metrics, {
    requestsFailed: 3,
    breakerDenied: 2,
    breakerOpenTotal: 1,
    breakerState: Breaker.CIRCUIT_STATE_OPEN,
    requestsTotal: 0,
  });
  t.deepEqual(eventsNamed(state, 'karn.selection_failed')[0]?.attributes, {
    error: 'RangeError',
    rejection: 'BLUEPRINT_REJECTION_INTERNAL',
  });
  t.deepEqual(eventsNamed(state, 'karn.breaker_opened'), [
    {
      description: 'karn.breaker_opened',
      level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
      attributes: { failures: '3' },
    },
  ]);
  t.deepEqual(
    eventsNamed(state, 'karn.breaker_denied').map((e) => [e.level, e.attributes]),
    [
      [TelemetryLevel.TELEMETRY_LEVEL_WARNING, { reason: 'breaker_open' }],
      [TelemetryLevel.TELEMETRY_LEVEL_WARNING, { reason: 'breaker_open' }],
    ],
  );

  // After the 30 s timeout one trial is admitted; the catalog works again, so the breaker closes.
  advance(29_999);
  t.is(handleQuery(state, query()).rejection, Rejection.BLUEPRINT_REJECTION_BREAKER_OPEN);
  advance(1);
  catalog.broken = false;
  t.true(handleQuery(state, query()).ok);
  t.like(state.metrics, { breakerState: Breaker.CIRCUIT_STATE_CLOSED, breakerOpenTotal: 1, requestsTotal: 1 });
});

test('a refusal during the half-open trial frees it: the breaker does not stay stuck', (t) => {
  const catalog = new FlakyCatalog();
  const { state, advance } = setUp({ catalog });
  catalog.broken = true;
  for (let i = 0; i < 3; i += 1) handleQuery(state, query());
  catalog.broken = false;
  advance(30_000);
  t.is(handleQuery(state, query({ blueprintId: 'nope' })).rejection, Rejection.BLUEPRINT_REJECTION_UNKNOWN_BLUEPRINT);
  t.is(state.breaker.state, Breaker.CIRCUIT_STATE_CLOSED);
  t.true(handleQuery(state, query()).ok);
});

test('a failed half-open trial opens the breaker again and counts a second opening', (t) => {
  const catalog = new FlakyCatalog();
  const { state, advance } = setUp({ catalog });
  catalog.broken = true;
  for (let i = 0; i < 3; i += 1) handleQuery(state, query());
  advance(30_000);
  t.is(handleQuery(state, query()).rejection, Rejection.BLUEPRINT_REJECTION_INTERNAL);
  t.like(state.metrics, { breakerState: Breaker.CIRCUIT_STATE_OPEN, breakerOpenTotal: 2, requestsFailed: 4 });
});

// ---- telemetry ----------------------------------------------------------------------------------------------

const METRIC_NAMES = [
  'karn.requests.total',
  'karn.requests.failed',
  'karn.breaker.denied',
  'karn.breaker.open_total',
  'karn.breaker.state',
  'karn.selection.safe',
  'karn.selection.experimental',
  'karn.selection.adversarial',
  'karn.selection.latency_ms',
];

test('the telemetry packet: source karn, the reference metric names, the drained events', (t) => {
  const { state } = setUp();
  const fresh = buildKarnTelemetry(state, 'karn-0', 1_000);
  t.is(fresh.sourceSubsystem, 'karn');
  t.deepEqual(
    fresh.metrics.map((m) => m.name),
    METRIC_NAMES,
  );
  t.is(fresh.metrics.find((m) => m.name === 'karn.breaker.state')?.value, 1, 'CLOSED is 1.0 from the start');
  t.is(fresh.level, TelemetryLevel.TELEMETRY_LEVEL_INFO);
  t.is(fresh.systemHealth?.status, HealthStatus.HEALTH_STATUS_HEALTHY);

  handleQuery(state, query({ context: 'exp', tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL, approvedBy: 'alice' }));
  handleQuery(state, query({ blueprintId: 'nope' }));
  const packet = buildKarnTelemetry(state, 'karn-1', 2_000);
  t.true(packet instanceof leyline.TelemetryPacket);
  t.is(packet.packetId, 'karn-1');
  const value = (name: string) => packet.metrics.find((m) => m.name === name)?.value;
  t.is(value('karn.requests.total'), 1);
  t.is(value('karn.requests.failed'), 1);
  t.is(value('karn.selection.experimental'), 1);
  t.deepEqual(
    packet.events.map((e) => e.description),
    ['karn.selection_succeeded', 'karn.selection_failed'],
  );
  t.is(packet.events[0]?.attributes?.tier, 'BLUEPRINT_TIER_EXPERIMENTAL');
  t.is(packet.level, TelemetryLevel.TELEMETRY_LEVEL_WARNING, 'a warning event makes a warning packet');
  t.is(packet.systemHealth?.indicators?.priority, 'MESSAGE_PRIORITY_HIGH');
  t.is(state.events.length, 0, 'drained');
  t.deepEqual(buildKarnTelemetry(state, 'karn-2').events, []);
});

test('the packet reports an open breaker as DEGRADED; events beyond the cap are dropped oldest first and counted', (t) => {
  const catalog = new FlakyCatalog();
  const { state } = setUp({ catalog });
  catalog.broken = true;
  for (let i = 0; i < 3; i += 1) handleQuery(state, query());
  const packet = buildKarnTelemetry(state, 'karn-open');
  t.is(packet.systemHealth?.status, HealthStatus.HEALTH_STATUS_DEGRADED);
  t.is(packet.systemHealth?.summary, 'breaker_open');
  t.is(packet.systemHealth?.indicators?.breaker_state, 'CIRCUIT_STATE_OPEN');
  t.is(packet.metrics.find((m) => m.name === 'karn.breaker.state')?.value, 2);

  for (let i = 0; i < 1_005; i += 1) handleQuery(state, query());
  t.is(state.events.length, 1_000);
  t.is(state.eventsDropped, 5);
  t.is(drainEvents(state).length, 1_000);
});
