// Karn's catalog: the 50 default templates, the ordered map's copy semantics, custom blueprints from
// configuration (errors naming the field), and parameter validation with its Leyline reasons.
import test from 'ava';
import { decodeLeyline, encodeLeyline } from '../contracts/codec.ts';
import { leyline, type v1 } from '../contracts/index.ts';
import { BlueprintCatalog, registerCustomBlueprints, type KarnCatalogReader } from '../actors/karn/catalog.ts';
import { setUpKarn } from '../actors/karn/settings.ts';
import { BlueprintRequestError, KarnConfigError } from '../actors/karn/errors.ts';
import { defaultBlueprints } from '../actors/karn/templates.ts';
import { checkParameters, validateRequest } from '../actors/karn/validation.ts';

const { BlueprintTier: Tier, BlueprintRejection: Rejection } = leyline;

const bounds = (descriptor: v1.BlueprintDescriptor): Record<string, [number, number]> =>
  Object.fromEntries(
    Object.entries(descriptor.allowedParameters).map(([k, b]) => [k, [b.minValue ?? NaN, b.maxValue ?? NaN]]),
  );

// ---- the 50 templates -------------------------------------------------------------------------------------

test('50 default blueprints BP001…BP050 in order, 35 SAFE / 7 EXPERIMENTAL / 8 HIGH_RISK', (t) => {
  const all = defaultBlueprints();
  t.is(all.length, 50);
  t.deepEqual(
    all.map((d) => d.blueprintId),
    Array.from({ length: 50 }, (_, i) => `BP${String(i + 1).padStart(3, '0')}`),
  );
  t.true(all.every((d) => d instanceof leyline.BlueprintDescriptor));
  const catalog = new BlueprintCatalog();
  t.is(catalog.size, 50);
  t.is(catalog.listByTier(Tier.BLUEPRINT_TIER_SAFE).length, 35);
  t.is(catalog.listByTier(Tier.BLUEPRINT_TIER_EXPERIMENTAL).length, 7);
  t.is(catalog.listByTier(Tier.BLUEPRINT_TIER_HIGH_RISK).length, 8);
  const firstSafe = catalog.listByTier(Tier.BLUEPRINT_TIER_SAFE)[0]!;
  t.is(firstSafe.blueprintId, 'BP001');
  t.is(firstSafe.stage, 0);
  t.is(firstSafe.risk, 0);
});

test('tiers, stages, risks and flags by block: SAFE BP001–035, EXPERIMENTAL BP036–042 (A), HIGH_RISK BP043–050 (Q+A)', (t) => {
  for (const d of defaultBlueprints()) {
    const n = Number(d.blueprintId.slice(2));
    if (n <= 35) {
      t.is(d.tier, Tier.BLUEPRINT_TIER_SAFE, d.blueprintId);
      t.true(d.stage <= 4 && d.risk <= Math.fround(0.5), d.blueprintId);
      t.false(d.approvalRequired || d.quarantineOnly, d.blueprintId);
    } else if (n <= 42) {
      t.is(d.tier, Tier.BLUEPRINT_TIER_EXPERIMENTAL, d.blueprintId);
      t.is(d.stage, 5);
      t.true(d.risk === Math.fround(0.7) || d.risk === Math.fround(0.8), d.blueprintId);
      t.true(d.approvalRequired, d.blueprintId);
      t.false(d.quarantineOnly, d.blueprintId);
    } else {
      t.is(d.tier, Tier.BLUEPRINT_TIER_HIGH_RISK, d.blueprintId);
      t.is(d.stage, 6);
      t.true(d.risk === Math.fround(0.9) || d.risk === 1, d.blueprintId);
      t.true(d.approvalRequired && d.quarantineOnly, d.blueprintId);
    }
    t.false('alpha' in d.allowedParameters, 'no default declares alpha');
  }
  const withoutParameters = defaultBlueprints().filter((d) => Object.keys(d.allowedParameters).length === 0);
  t.deepEqual(
    withoutParameters.map((d) => d.blueprintId),
    ['BP001', 'BP005', 'BP008', 'BP011'],
  );
});

test('exact rows', (t) => {
  const byId = new Map(defaultBlueprints().map((d) => [d.blueprintId, d]));
  const row = (id: string) => {
    const d = byId.get(id)!;
    return {
      name: d.name,
      tier: d.tier,
      risk: d.risk,
      stage: d.stage,
      bounds: bounds(d),
      a: d.approvalRequired,
      q: d.quarantineOnly,
      description: d.description,
    };
  };
  t.deepEqual(row('BP001'), {
    name: 'identity_passthrough',
    tier: Tier.BLUEPRINT_TIER_SAFE,
    risk: 0,
    stage: 0,
    bounds: {},
    a: false,
    q: false,
    description: 'Identity pass-through block',
  });
  t.deepEqual(row('BP002'), {
    name: 'linear_projection',
    tier: Tier.BLUEPRINT_TIER_SAFE,
    risk: Math.fround(0.1),
    stage: 0,
    bounds: { scale: [0.5, 2] },
    a: false,
    q: false,
    description: 'Linear projection layer',
  });
  t.deepEqual(row('BP003'), {
    name: 'layer_norm_basic',
    tier: Tier.BLUEPRINT_TIER_SAFE,
    risk: Math.fround(0.1),
    stage: 0,
    bounds: { epsilon: [1e-6, 0.001] },
    a: false,
    q: false,
    description: 'Layer normalization',
  });
  t.deepEqual(row('BP014'), {
    name: 'highway_gate',
    tier: Tier.BLUEPRINT_TIER_SAFE,
    risk: Math.fround(0.4),
    stage: 1,
    bounds: { gate_bias: [-3, 3] },
    a: false,
    q: false,
    description: 'Highway gating block',
  });
  t.deepEqual(row('BP035'), {
    name: 'learned_positional',
    tier: Tier.BLUEPRINT_TIER_SAFE,
    risk: Math.fround(0.5),
    stage: 4,
    bounds: { frequency: [0.1, 1] },
    a: false,
    q: false,
    description: 'Learned positional encoding',
  });
  t.deepEqual(row('BP036'), {
    name: 'mixture_of_experts_4',
    tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL,
    risk: Math.fround(0.7),
    stage: 5,
    bounds: { experts: [4, 8], capacity: [1, 2] },
    a: true,
    q: false,
    description: 'Mixture-of-Experts block (4 experts)',
  });
  t.deepEqual(Object.keys(byId.get('BP036')!.allowedParameters), ['experts', 'capacity'], 'declaration order is kept');
  t.deepEqual(row('BP040'), {
    name: 'differentiable_nas',
    tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL,
    risk: Math.fround(0.8),
    stage: 5,
    bounds: { temperature: [0.5, 2] },
    a: true,
    q: false,
    description: 'Differentiable NAS head',
  });
  t.deepEqual(row('BP045'), {
    name: 'nan_injection',
    tier: Tier.BLUEPRINT_TIER_HIGH_RISK,
    risk: 1,
    stage: 6,
    bounds: { frequency: [0.01, 0.1] },
    a: true,
    q: true,
    description: 'NaN injection adversarial template',
  });
  t.deepEqual(row('BP046'), {
    name: 'infinite_loop',
    tier: Tier.BLUEPRINT_TIER_HIGH_RISK,
    risk: 1,
    stage: 6,
    bounds: { iterations: [1000, 10000] },
    a: true,
    q: true,
    description: 'Infinite loop adversarial template',
  });
  t.deepEqual(row('BP050'), {
    name: 'adversarial_noise',
    tier: Tier.BLUEPRINT_TIER_HIGH_RISK,
    risk: Math.fround(0.9),
    stage: 6,
    bounds: { epsilon: [0.1, 1] },
    a: true,
    q: true,
    description: 'Adversarial noise injection',
  });
});

test('risk is held as the float32 the wire carries: an encode/decode round trip changes nothing', (t) => {
  for (const d of defaultBlueprints()) {
    const decoded = decodeLeyline(leyline.BlueprintDescriptor, encodeLeyline(d));
    if (!decoded.ok) return t.fail(decoded.error.message);
    t.is(decoded.message.risk, d.risk, d.blueprintId);
    t.deepEqual(bounds(decoded.message), bounds(d));
  }
  t.not(defaultBlueprints()[1]!.risk, 0.1, '0.1 as float32 is 0.10000000149…');
});

// ---- the catalog --------------------------------------------------------------------------------------------

test('register stores a copy; get returns a copy or null', (t) => {
  const catalog = new BlueprintCatalog({ loadDefaults: false });
  const descriptor = leyline.BlueprintDescriptor.create({
    blueprintId: 'bp-1',
    name: 'test',
    tier: Tier.BLUEPRINT_TIER_SAFE,
    risk: 0.2,
    stage: 1,
    allowedParameters: { alpha: leyline.BlueprintParameterBounds.create({ minValue: 0, maxValue: 1 }) },
  });
  catalog.register(descriptor);
  descriptor.name = 'mutated after register';
  descriptor.allowedParameters.alpha!.maxValue = 9;
  const got = catalog.get('bp-1')!;
  t.is(got.name, 'test');
  t.deepEqual(bounds(got), { alpha: [0, 1] });
  t.is(got.risk, Math.fround(0.2));
  got.allowedParameters.alpha!.minValue = -5;
  t.deepEqual(bounds(catalog.get('bp-1')!), { alpha: [0, 1] }, 'mutating what get returned changes nothing');
  t.is(catalog.get('nope'), null);
  t.is(catalog.listByTier(Tier.BLUEPRINT_TIER_SAFE)[0]!.blueprintId, 'bp-1');
});

test('re-registering an id replaces it in place; remove is a no-op for an absent id', (t) => {
  const catalog = new BlueprintCatalog();
  catalog.register({ ...catalog.get('BP002')!, description: 'replaced' });
  const ids = catalog.all().map((d) => d.blueprintId);
  t.is(ids[1], 'BP002');
  t.is(catalog.size, 50);
  t.is(catalog.get('BP002')!.description, 'replaced');
  t.true(catalog.remove('BP002'));
  t.false(catalog.remove('BP002'));
  t.is(catalog.size, 49);
  t.false(catalog.has('BP002'));
  t.is(catalog.all()[1]!.blueprintId, 'BP003');
});

test('register refuses an invalid descriptor, naming the field', (t) => {
  const catalog = new BlueprintCatalog({ loadDefaults: false });
  t.throws(() => catalog.register({ blueprintId: 'bp 1', name: 'x', tier: Tier.BLUEPRINT_TIER_SAFE }), {
    instanceOf: KarnConfigError,
    message: /descriptor "bp 1"\.blueprintId must be 1–64 letters/,
  });
  t.throws(() => catalog.register({ blueprintId: 'bp-1', name: 'x' }), {
    message: /descriptor "bp-1"\.tier must be BLUEPRINT_TIER_SAFE/,
  });
  t.is(catalog.size, 0);
});

test('the catalog serves other subsystems through KarnCatalogReader', (t) => {
  const reader: KarnCatalogReader = new BlueprintCatalog();
  t.is(reader.get('BP016')?.name, 'squeeze_excitation');
  t.true(reader.has('BP050'));
  t.is(reader.all().length, reader.size);
});

// ---- custom blueprints from configuration -------------------------------------------------------------------

const custom = (overrides: Record<string, unknown> = {}) => ({
  blueprintId: 'bp-end',
  name: 'end_to_end',
  tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL,
  risk: 0.85,
  stage: 3,
  allowedParameters: { alpha: { min: 0.1, max: 0.9 } },
  ...overrides,
});

test('custom blueprints are registered after the defaults, in list order', (t) => {
  const { catalog, approved, telemetryIntervalMs } = setUpKarn({
    blueprints: [
      custom(),
      custom({
        blueprintId: 'bp-conv-1',
        name: 'conv',
        tier: Tier.BLUEPRINT_TIER_SAFE,
        risk: 0.1,
        allowedParameters: undefined,
      }),
    ],
    approved: ['bp-end', 'BP036'],
  });
  t.is(catalog.size, 52);
  t.deepEqual(
    catalog
      .all()
      .slice(-2)
      .map((d) => d.blueprintId),
    ['bp-end', 'bp-conv-1'],
  );
  const end = catalog.get('bp-end')!;
  t.is(end.risk, Math.fround(0.85));
  t.deepEqual(bounds(end), { alpha: [0.1, 0.9] });
  t.false(end.approvalRequired);
  t.deepEqual(approved, ['bp-end', 'BP036']);
  t.is(telemetryIntervalMs, 10_000);
  t.is(setUpKarn({ loadDefaults: false, blueprints: [custom()] }).catalog.size, 1);
});

const configError = (t: import('ava').ExecutionContext, config: unknown, message: string): void => {
  const error = t.throws(() => setUpKarn(config), { instanceOf: KarnConfigError });
  t.is(error.message, message);
};

test('configuration errors name the bad field', (t) => {
  configError(
    t,
    { blueprints: [custom({ blueprintId: 'bad id!' })] },
    'configuration: karn.blueprints[0].blueprintId must be 1–64 letters, digits, "_", "." or "-", starting with a letter or digit; got "bad id!"',
  );
  configError(
    t,
    { blueprints: [custom({ blueprintId: '' })] },
    'configuration: karn.blueprints[0].blueprintId must be 1–64 letters, digits, "_", "." or "-", starting with a letter or digit; got ""',
  );
  configError(
    t,
    { blueprints: [custom(), custom()] },
    'configuration: karn.blueprints[1].blueprintId duplicates the id "bp-end" already in the catalog',
  );
  configError(
    t,
    { blueprints: [custom({ blueprintId: 'BP001' })] },
    'configuration: karn.blueprints[0].blueprintId duplicates the id "BP001" already in the catalog',
  );
  configError(
    t,
    { blueprints: [custom({ tier: Tier.BLUEPRINT_TIER_UNSPECIFIED })] },
    'configuration: karn.blueprints[0].tier must be BLUEPRINT_TIER_SAFE, _EXPERIMENTAL or _HIGH_RISK (1–3), got 0',
  );
  configError(
    t,
    { blueprints: [custom({ tier: 7 })] },
    'configuration: karn.blueprints[0].tier must be BLUEPRINT_TIER_SAFE, _EXPERIMENTAL or _HIGH_RISK (1–3), got 7',
  );
  configError(
    t,
    { blueprints: [custom({ tier: 'SAFE' })] },
    'configuration: karn.blueprints[0].tier must be a BlueprintTier, got "SAFE"',
  );
  configError(
    t,
    { blueprints: [custom({ allowedParameters: { alpha: { min: 2, max: 1 } } })] },
    'configuration: karn.blueprints[0].allowedParameters.alpha min 2 must be ≤ max 1',
  );
  configError(
    t,
    { blueprints: [custom({ allowedParameters: { alpha: { min: 0, max: Infinity } } })] },
    'configuration: karn.blueprints[0].allowedParameters.alpha bounds must be finite numbers, got [0, Infinity]',
  );
  configError(
    t,
    { blueprints: [custom({ allowedParameters: { alpha: [0, 1] } })] },
    'configuration: karn.blueprints[0].allowedParameters.alpha must be {min, max} with numbers, got [0,1]',
  );
  configError(
    t,
    { blueprints: [custom({ risk: 1.5 })] },
    'configuration: karn.blueprints[0].risk must be in [0, 1], got 1.5',
  );
  configError(
    t,
    { blueprints: [custom({ risk: -0.1 })] },
    'configuration: karn.blueprints[0].risk must be in [0, 1], got -0.1',
  );
  configError(
    t,
    { blueprints: [custom({ risk: NaN })] },
    'configuration: karn.blueprints[0].risk must be in [0, 1], got NaN',
  );
  configError(
    t,
    { blueprints: [custom({ stage: 1.5 })] },
    'configuration: karn.blueprints[0].stage must be a non-negative integer, got 1.5',
  );
  configError(t, { blueprints: [custom({ name: '' })] }, 'configuration: karn.blueprints[0].name must not be empty');
  configError(t, { blueprints: 'BP001' }, 'configuration: karn.blueprints must be a list of blueprints');
  configError(
    t,
    { approved: ['BP036', 'BP999'] },
    'configuration: karn.approved[1] must be the id of a blueprint in the catalog, got "BP999"',
  );
  configError(t, { telemetryIntervalMs: 0 }, 'configuration: karn.telemetryIntervalMs must be an integer > 0, got 0');
});

test('a bad entry registers nothing: every entry is checked first', (t) => {
  const catalog = new BlueprintCatalog({ loadDefaults: false });
  t.throws(() => registerCustomBlueprints(catalog, [custom(), custom({ blueprintId: 'bp-2', risk: 2 })]), {
    instanceOf: KarnConfigError,
  });
  t.is(catalog.size, 0);
});

// ---- parameter validation -----------------------------------------------------------------------------------

const catalog = new BlueprintCatalog();
const refusal = (t: import('ava').ExecutionContext, id: string, parameters: Record<string, number>) => {
  const error = t.throws(() => validateRequest(catalog, id, parameters), { instanceOf: BlueprintRequestError });
  return { rejection: error.rejection, message: error.message };
};

test('valid parameters pass, bounds are inclusive', (t) => {
  t.is(validateRequest(catalog, 'BP002', { scale: 0.5 }).blueprintId, 'BP002');
  t.is(validateRequest(catalog, 'BP002', { scale: 2.0 }).blueprintId, 'BP002');
  t.is(validateRequest(catalog, 'BP036', { experts: 4, capacity: 2 }).blueprintId, 'BP036');
  t.is(validateRequest(catalog, 'BP001', {}).blueprintId, 'BP001');
});

test('unknown id, missing, out-of-bounds, non-finite and undeclared parameters: reason and sentence', (t) => {
  t.deepEqual(refusal(t, 'BP999', {}), {
    rejection: Rejection.BLUEPRINT_REJECTION_UNKNOWN_BLUEPRINT,
    message: "blueprint 'BP999' is not in the catalog",
  });
  t.deepEqual(refusal(t, 'BP002', {}), {
    rejection: Rejection.BLUEPRINT_REJECTION_MISSING_PARAMETER,
    message: "blueprint BP002 (linear_projection) requires parameter 'scale' in [0.5, 2], but it was not given",
  });
  t.deepEqual(refusal(t, 'BP002', { scale: 2.0000001 }), {
    rejection: Rejection.BLUEPRINT_REJECTION_PARAMETER_OUT_OF_BOUNDS,
    message: "blueprint BP002 (linear_projection): parameter 'scale'=2.0000001 is outside its bounds [0.5, 2]",
  });
  t.deepEqual(refusal(t, 'BP003', { epsilon: 0 }), {
    rejection: Rejection.BLUEPRINT_REJECTION_PARAMETER_OUT_OF_BOUNDS,
    message: "blueprint BP003 (layer_norm_basic): parameter 'epsilon'=0 is outside its bounds [0.000001, 0.001]",
  });
  t.deepEqual(refusal(t, 'BP002', { scale: NaN }), {
    rejection: Rejection.BLUEPRINT_REJECTION_PARAMETER_OUT_OF_BOUNDS,
    message: "blueprint BP002 (linear_projection): parameter 'scale'=NaN is not a finite number (bounds [0.5, 2])",
  });
  t.is(refusal(t, 'BP002', { scale: Infinity }).rejection, Rejection.BLUEPRINT_REJECTION_PARAMETER_OUT_OF_BOUNDS);
  t.deepEqual(refusal(t, 'BP002', { scale: 1, alpha: 0.5 }), {
    rejection: Rejection.BLUEPRINT_REJECTION_UNDECLARED_PARAMETER,
    message: "blueprint BP002 (linear_projection): parameter 'alpha'=0.5 is not declared (it declares scale [0.5, 2])",
  });
  t.deepEqual(refusal(t, 'BP001', { alpha: 0.5 }), {
    rejection: Rejection.BLUEPRINT_REJECTION_UNDECLARED_PARAMETER,
    message: "blueprint BP001 (identity_passthrough): parameter 'alpha'=0.5 is not declared (it declares none)",
  });
});

test('the first failure in declaration order wins; declared keys are checked before undeclared ones', (t) => {
  const bp036 = catalog.get('BP036')!;
  const first = (parameters: Record<string, number>) => checkParameters(bp036, parameters)?.message;
  // Request order does not matter: "experts" is declared first.
  t.regex(first({ capacity: 9, experts: 99 })!, /'experts'=99 is outside/);
  t.regex(first({ capacity: 9 })!, /requires parameter 'experts'/);
  t.regex(first({ experts: 5, capacity: 9 })!, /'capacity'=9 is outside/);
  t.regex(first({ zeta: 1, experts: 5 })!, /requires parameter 'capacity'/);
  t.regex(first({ zeta: 1, experts: 5, capacity: 1 })!, /'zeta'=1 is not declared/);
  t.is(first({ experts: 5, capacity: 1 }), undefined);
});
