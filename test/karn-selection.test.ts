// Karn's deterministic selection: the prototype's golden vectors (pool size, hash value, chosen id) and the
// filter steps in their order.
import test from 'ava';
import { createHash } from 'node:crypto';
import { leyline } from '../contracts/index.ts';
import { BlueprintCatalog } from '../actors/karn/catalog.ts';
import { BlueprintRequestError } from '../actors/karn/errors.ts';
import {
  candidatePool,
  chooseTemplate,
  exclusionReason,
  selectionHash,
  type SelectionCriteria,
} from '../actors/karn/selection.ts';

const { BlueprintTier: Tier, BlueprintRejection: Rejection } = leyline;

const catalog = new BlueprintCatalog();
const criteria = (overrides: Partial<SelectionCriteria>): SelectionCriteria => ({
  allowAdversarial: false,
  conservative: false,
  ...overrides,
});

interface GoldenVector {
  title: string;
  criteria: SelectionCriteria;
  n: number;
  u32: number | null;
  expected: string;
}

// The prototype's vectors, on the default catalog.
const GOLDEN: readonly GoldenVector[] = [
  { title: 'control-run', criteria: criteria({ context: 'control-run' }), n: 42, u32: 1436219274, expected: 'BP001' },
  {
    title: 'control-run, adversarial',
    criteria: criteria({ context: 'control-run', allowAdversarial: true }),
    n: 50,
    u32: 1436219274,
    expected: 'BP025',
  },
  {
    title: 'control-run, conservative',
    criteria: criteria({ context: 'control-run', conservative: true }),
    n: 10,
    u32: 1436219274,
    expected: 'BP005',
  },
  {
    title: 'control-run, HIGH_RISK, adversarial',
    criteria: criteria({ context: 'control-run', tier: Tier.BLUEPRINT_TIER_HIGH_RISK, allowAdversarial: true }),
    n: 8,
    u32: 1436219274,
    expected: 'BP045',
  },
  {
    title: 'exp, EXPERIMENTAL',
    criteria: criteria({ context: 'exp', tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL }),
    n: 7,
    u32: 3715798125,
    expected: 'BP040',
  },
  {
    title: 'exp, EXPERIMENTAL, conservative (no SAFE candidate: the flag is ignored)',
    criteria: criteria({ context: 'exp', tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL, conservative: true }),
    n: 7,
    u32: 3715798125,
    expected: 'BP040',
  },
  { title: 'seed-1', criteria: criteria({ context: 'seed-1' }), n: 42, u32: 246425203, expected: 'BP032' },
  { title: 'run-123', criteria: criteria({ context: 'run-123' }), n: 42, u32: 656937639, expected: 'BP016' },
  {
    title: 'conservative, no context',
    criteria: criteria({ conservative: true }),
    n: 10,
    u32: null,
    expected: 'BP001',
  },
  {
    title: 'conservative, context ""',
    criteria: criteria({ conservative: true, context: '' }),
    n: 10,
    u32: null,
    expected: 'BP001',
  },
  { title: 'context "" (not conservative)', criteria: criteria({ context: '' }), n: 42, u32: null, expected: 'BP001' },
];

for (const vector of GOLDEN) {
  test(`golden vector: ${vector.title} → ${vector.expected}`, (t) => {
    const pool = candidatePool(catalog.all(), vector.criteria);
    t.is(pool.length, vector.n);
    const { context } = vector.criteria;
    if (vector.u32 !== null) {
      t.is(selectionHash(context!), vector.u32);
      t.is(pool[vector.u32 % vector.n]!.blueprintId, vector.expected);
    }
    const chosen = chooseTemplate(catalog, vector.criteria);
    t.true(chosen instanceof leyline.BlueprintDescriptor);
    t.is(chosen.blueprintId, vector.expected);
  });
}

test('the hash is the first 4 bytes of SHA-256 read big-endian unsigned (values ≥ 2^31 stay positive)', (t) => {
  const u32 = selectionHash('exp');
  t.true(u32 >= 2 ** 31, '"exp" hashes above 2^31: a signed shift would have gone negative');
  const digest = createHash('sha256').update('exp').digest();
  t.is(u32, ((digest[0]! * 256 + digest[1]!) * 256 + digest[2]!) * 256 + digest[3]!);
  t.is(selectionHash('ünïcödé'), createHash('sha256').update(Buffer.from('ünïcödé', 'utf8')).digest().readUInt32BE(0));
});

test('selection is deterministic and returns a copy', (t) => {
  const first = chooseTemplate(catalog, criteria({ context: 'run-123' }));
  first.name = 'changed';
  const second = chooseTemplate(catalog, criteria({ context: 'run-123' }));
  t.is(second.blueprintId, first.blueprintId);
  t.is(second.name, 'squeeze_excitation');
});

test('filters run in insertion order before the sort; the conservative pool is the first 10 SAFE in insertion order', (t) => {
  const custom = new BlueprintCatalog({ loadDefaults: false });
  // Registered in an order that differs from id order: the pool is taken before sorting.
  const ids = ['z12', 'a11', 'm10', 'b09', 'y08', 'c07', 'x06', 'd05', 'w04', 'e03', 'v02', 'f01'];
  for (const id of ids) custom.register({ blueprintId: id, name: id, tier: Tier.BLUEPRINT_TIER_SAFE });
  const pool = candidatePool(custom.all(), criteria({ conservative: true })).map((d) => d.blueprintId);
  t.deepEqual(pool, [...ids.slice(0, 10)].sort());
  t.is(chooseTemplate(custom, criteria({ conservative: true })).blueprintId, 'a11');
});

test('HIGH_RISK is dropped unless adversarial is allowed, even when HIGH_RISK is the tier asked for', (t) => {
  const error = t.throws(() => chooseTemplate(catalog, criteria({ tier: Tier.BLUEPRINT_TIER_HIGH_RISK })), {
    instanceOf: BlueprintRequestError,
  });
  t.is(error.rejection, Rejection.BLUEPRINT_REJECTION_NO_CANDIDATES);
  t.is(error.message, 'no blueprint matches tier BLUEPRINT_TIER_HIGH_RISK, adversarial not allowed');
  t.is(candidatePool(catalog.all(), criteria({ allowAdversarial: false })).length, 42);
});

test('a tier of UNSPECIFIED (0) matches nothing in chooseTemplate (queries map "any tier" to no tier)', (t) => {
  const error = t.throws(() => chooseTemplate(catalog, criteria({ tier: Tier.BLUEPRINT_TIER_UNSPECIFIED })), {
    instanceOf: BlueprintRequestError,
  });
  t.is(error.rejection, Rejection.BLUEPRINT_REJECTION_NO_CANDIDATES);
  t.is(chooseTemplate(catalog, criteria({ tier: null })).blueprintId, 'BP001');
});

test('an empty catalog has no candidates', (t) => {
  const empty = new BlueprintCatalog({ loadDefaults: false });
  t.throws(() => chooseTemplate(empty, criteria({ context: 'x' })), {
    instanceOf: BlueprintRequestError,
    message: /no blueprint matches any tier/,
  });
});

test('exclusionReason says which filter excludes a blueprint, and null for one in the pool', (t) => {
  const all = catalog.all();
  const bp = (id: string) => catalog.get(id)!;
  t.is(exclusionReason(bp('BP003'), all, criteria({ conservative: true })), null);
  t.is(
    exclusionReason(bp('BP043'), all, criteria({})),
    'blueprint BP043 (exploding_gradient) is BLUEPRINT_TIER_HIGH_RISK and the query does not allow adversarial blueprints',
  );
  t.is(
    exclusionReason(bp('BP002'), all, criteria({ tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL })),
    'blueprint BP002 (linear_projection) is BLUEPRINT_TIER_SAFE, but the query asks for BLUEPRINT_TIER_EXPERIMENTAL',
  );
  t.is(
    exclusionReason(bp('BP011'), all, criteria({ conservative: true })),
    'blueprint BP011 (gelu_activation) is outside the conservative pool (BP001, BP002, BP003, BP004, BP005, BP006, BP007, BP008, BP009, BP010)',
  );
  t.is(
    exclusionReason(bp('BP040'), all, criteria({ conservative: true })),
    'blueprint BP040 (differentiable_nas) is outside the conservative pool (BP001, BP002, BP003, BP004, BP005, BP006, BP007, BP008, BP009, BP010)',
  );
  t.is(
    exclusionReason(bp('BP040'), all, criteria({ tier: Tier.BLUEPRINT_TIER_EXPERIMENTAL, conservative: true })),
    null,
  );
});
