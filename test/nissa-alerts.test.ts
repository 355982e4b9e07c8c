// Nissa's alert rules as plain logic: threshold rules with `forCount`/`forMs` and hysteresis, SLO burn rates over
// window pairs with a minimum of samples, the engine that keeps them per (rule, source), and the rules' check.
import test from 'ava';
import {
  burnTransition,
  QUIET,
  readPairs,
  tallyWindow,
  thresholdTransition,
  type SloSample,
  type ThresholdState,
} from '../actors/nissa/alert-logic.ts';
import {
  DEFAULT_ALERT_RULES,
  resolveRule,
  validateRules,
  type AlertRule,
  type ResolvedBurnRateRule,
  type ResolvedThresholdRule,
} from '../actors/nissa/alert-rules.ts';
import { AlertEngine, type AlertEvent } from '../actors/nissa/alerts.ts';
import { resolveNissaConfig } from '../actors/nissa/settings.ts';
import { ExperimentError, validateExperiment } from '../actors/weatherlight/experiment.ts';

const thresholdRule = (rule: Partial<ResolvedThresholdRule> = {}): ResolvedThresholdRule =>
  resolveRule({
    name: 'hot',
    metric: 'm',
    threshold: 10,
    comparator: '>',
    routes: ['log'],
    ...rule,
  }) as ResolvedThresholdRule;

/** The changes a series of (value, time) samples makes, in order. */
function run(rule: ResolvedThresholdRule, samples: Array<[number, number]>): string[] {
  let state: ThresholdState = QUIET;
  const changes: string[] = [];
  for (const [value, at] of samples) {
    const next = thresholdTransition(rule, state, value, at);
    state = next.state;
    if (next.change) changes.push(`${next.change}@${at}`);
  }
  return changes;
}

test('a threshold rule fires after forCount consecutive breaches; a sample at or under the line resets the count', (t) => {
  const rule = thresholdRule({ forCount: 3 });
  t.deepEqual(
    run(rule, [
      [11, 1],
      [12, 2],
      [10, 3],
      [11, 4],
      [11, 5],
    ]),
    [],
    'the run of breaches was broken at 3',
  );
  t.deepEqual(
    run(rule, [
      [11, 1],
      [12, 2],
      [13, 3],
      [14, 4],
    ]),
    ['fired@3'],
    'fires once, on the third',
  );
});

test('forMs: the breach must have lasted that long since its first sample, whatever the count', (t) => {
  const rule = thresholdRule({ forCount: 2, forMs: 100 });
  t.deepEqual(
    run(rule, [
      [11, 0],
      [11, 50],
      [11, 99],
    ]),
    [],
    'three samples, 99 ms',
  );
  t.deepEqual(
    run(rule, [
      [11, 0],
      [11, 50],
      [11, 100],
    ]),
    ['fired@100'],
  );
  t.deepEqual(
    run(rule, [
      [11, 0],
      [11, 500],
    ]),
    ['fired@500'],
  );
  t.deepEqual(
    run(thresholdRule({ forMs: 100 }), [
      [11, 0],
      [11, 100],
    ]),
    ['fired@100'],
    'forCount 1 with a time window: the second sample',
  );
});

test('hysteresis: a firing alert resolves only back past resolveThreshold; between the levels it neither resolves nor fires again', (t) => {
  const rule = thresholdRule({ resolveThreshold: 5 });
  t.deepEqual(
    run(rule, [
      [11, 1],
      [9, 2],
      [6, 3],
      [12, 4],
      [5.5, 5],
      [5, 6],
      [11, 7],
    ]),
    ['fired@1', 'resolved@6', 'fired@7'],
  );
  const below = thresholdRule({ comparator: '<', threshold: 2, resolveThreshold: 4 });
  t.deepEqual(
    run(below, [
      [1, 1],
      [3, 2],
      [1.5, 3],
      [4, 4],
    ]),
    ['fired@1', 'resolved@4'],
    'a "<" rule resolves at or above its level',
  );
  const inclusive = thresholdRule({ comparator: '>=', threshold: 3, resolveThreshold: 1 });
  t.deepEqual(
    run(inclusive, [
      [3, 1],
      [1, 2],
      [0, 3],
    ]),
    ['fired@1', 'resolved@3'],
    'a ">=" rule resolves under its level',
  );
  t.deepEqual(
    run(thresholdRule(), [
      [11, 1],
      [10, 2],
    ]),
    ['fired@1', 'resolved@2'],
    'without resolveThreshold, the threshold is the resolve level',
  );
});

test('a value oscillating around the fire line fires at most once', (t) => {
  const wobble = Array.from({ length: 200 }, (_, i): [number, number] => [i % 2 === 0 ? 10.5 : 9.5, i]);
  t.deepEqual(
    run(thresholdRule({ resolveThreshold: 8 }), wobble),
    ['fired@0'],
    'with hysteresis: fired once, never resolved',
  );
  t.deepEqual(
    run(thresholdRule({ forCount: 2, resolveThreshold: 8 }), wobble),
    [],
    'with a for count: never two breaches in a row',
  );
  const noisy = Array.from({ length: 200 }, (_, i): [number, number] => [10 + Math.sin(i) * 1.5, i]);
  t.true(
    run(thresholdRule({ forCount: 3, resolveThreshold: 8 }), noisy).filter((c) => c.startsWith('fired')).length <= 1,
  );
});

const burnRule = (rule: Partial<ResolvedBurnRateRule> = {}): ResolvedBurnRateRule =>
  resolveRule({
    kind: 'slo_burn_rate',
    name: 'burn',
    objective: 0.9,
    windows: [{ name: 'fast', longMs: 1_000, shortMs: 200, factor: 5, minEvents: 4 }],
    routes: ['log'],
    ...rule,
  }) as ResolvedBurnRateRule;

const samples = (...list: Array<[number, boolean]>): SloSample[] => list.map(([at, violation]) => ({ at, violation }));

test('a window counts the samples in (at − window, at]; the burn rate is the violation share over the error budget', (t) => {
  const list = samples([100, true], [500, false], [900, true], [1_000, false]);
  t.deepEqual(
    tallyWindow(list, 1_000, 500, 0.1),
    { events: 2, violations: 1, burnRate: 5 },
    '500 is out, 900 and 1000 are in',
  );
  t.deepEqual(
    tallyWindow(list, 1_000, 900, 0.1),
    { events: 3, violations: 1, burnRate: 1 / 3 / 0.1 },
    'the edge: 100 is out',
  );
  t.deepEqual(tallyWindow(list, 1_000, 1_000, 0.1), { events: 4, violations: 2, burnRate: 5 });
  t.deepEqual(
    tallyWindow(list, 50, 1_000, 0.1),
    { events: 0, violations: 0, burnRate: 0 },
    'later samples do not count',
  );
});

test('one slow sample burns at 1 / budget but cannot fire: too few samples (the first epoch of every run)', (t) => {
  const [reading] = readPairs(burnRule(), samples([10, true]), 10);
  t.is(reading?.long.burnRate, 10);
  t.false(reading?.burning);
  const readings = readPairs(
    burnRule(),
    samples([10, true], [20, true], [30, false], [40, false], [50, false], [60, false]),
    60,
  );
  t.false(readings[0]?.burning, 'two slow of six: burn 3.3, under the factor 5');
});

test('a pair fires only with enough samples in both windows, both over the factor', (t) => {
  const rule = burnRule();
  // Four misses spread over the long window, only two of them in the short one.
  const spread = samples([100, true], [400, true], [850, true], [950, true]);
  t.like(
    readPairs(rule, spread, 1_000)[0],
    { long: { events: 4 }, short: { events: 2 }, burning: false },
    'the short window is short of samples',
  );
  // Four misses in the short window, but the long one holds many good samples.
  const diluted = samples(
    ...Array.from({ length: 30 }, (_, i): [number, boolean] => [i * 25, false]),
    [850, true],
    [900, true],
    [950, true],
    [1_000, true],
  );
  t.like(
    readPairs(rule, diluted, 1_000)[0],
    { short: { events: 4, burnRate: 10 }, burning: false },
    'the long window burns under the factor',
  );
  const burning = samples([820, true], [880, true], [940, true], [1_000, true]);
  const [reading] = readPairs(rule, burning, 1_000);
  t.like(reading, { long: { events: 4 }, short: { events: 4 }, burning: true });
  t.is(reading?.burnRate, 10, "the pair's rate is the lower of its windows'");
});

test('a burn-rate rule fires on the first burning pair and resolves once no pair burns', (t) => {
  const rule = burnRule({
    windows: [
      { name: 'fast', longMs: 1_000, shortMs: 200, factor: 5, minEvents: 4 },
      { name: 'slow', longMs: 5_000, shortMs: 1_000, factor: 2, minEvents: 4 },
    ],
  });
  const misses = samples([820, true], [880, true], [940, true], [1_000, true]);
  const fired = burnTransition(null, readPairs(rule, misses, 1_000));
  t.like(fired, { firingPair: 'fast', change: 'fired' });
  const still = burnTransition('fast', readPairs(rule, [...misses, ...samples([1_050, false])], 1_050));
  t.like(still, { firingPair: 'fast', change: null }, 'the fast pair still burns (4 of 5)');
  const slowStill = [...misses, ...samples([1_250, false], [1_260, false], [1_270, false], [1_280, false])];
  t.like(
    burnTransition('fast', readPairs(rule, slowStill, 1_280)),
    { firingPair: 'fast', change: null },
    'the fast pair has cooled, the slow one still burns: still firing',
  );
  const recovered = [
    ...misses,
    ...samples([1_500, false], [1_600, false], [1_700, false], [1_800, false], [2_100, false]),
  ];
  const resolved = burnTransition('fast', readPairs(rule, recovered, 2_100));
  t.like(resolved, { firingPair: null, change: 'resolved' });
  t.is(resolved.reading?.window.name, 'fast', 'the event reports the pair that had fired');
});

test('the engine keeps threshold state per (rule, source) and burn state per SLO, with a bounded history', (t) => {
  const events: AlertEvent[] = [];
  const engine = new AlertEngine(
    [{ ...thresholdRule({ forCount: 2, resolveThreshold: 5 }) }, burnRule()],
    (e) => events.push(e),
    4,
  );
  engine.evaluate(new Map([['m', 11]]), 'a', 1);
  engine.evaluate(new Map([['m', 11]]), 'b', 2);
  engine.evaluate(new Map([['other', 0]]), 'a', 3);
  engine.evaluate(new Map([['m', 11]]), 'a', 4);
  t.deepEqual(
    events.map((e) => `${e.kind} ${e.rule} ${e.source} ${e.threshold}`),
    ['fired hot a 10'],
    "b's breach and a packet without the metric do not count for a",
  );
  engine.evaluate(new Map([['m', 4]]), 'a', 5);
  t.like(
    events.at(-1),
    { kind: 'resolved', source: 'a', value: 4, threshold: 5 },
    'a resolved event names the resolve level',
  );
  const misses = samples([820, true], [880, true], [940, true], [1_000, true]);
  engine.evaluateSlo('tolaria', 'hook', misses, 1_000);
  t.like(events.at(-1), {
    kind: 'fired',
    rule: 'burn',
    metric: 'slo.burn_rate',
    source: 'tolaria/hook',
    value: 10,
    threshold: 5,
    window: 'fast (1s/0.2s)',
  });
  t.deepEqual(
    engine.active().map((e) => e.source),
    ['tolaria/hook'],
  );
  t.is(engine.history().length, 3);
  for (let i = 0; i < 3; i++) {
    engine.evaluate(new Map([['m', 20]]), 'c', 10 + 2 * i);
    engine.evaluate(new Map([['m', 20]]), 'c', 11 + 2 * i);
    engine.evaluate(new Map([['m', 0]]), 'c', 12 + 2 * i);
  }
  t.is(engine.history().length, 4, 'history keeps the last historySize events');
  t.is(engine.burnRules('any').length, 1, 'a rule without slo watches every SLO');
  t.is(new AlertEngine([burnRule({ slo: 'hook' })], () => undefined).burnRules('other').length, 0);
});

const problem = (rules: unknown): string => {
  try {
    validateRules(rules as AlertRule[], 'nissa.alerts');
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
};

test('the rules are checked with the field named: types, levels on the right side, windows, factors, names', (t) => {
  const rule = { name: 'x', metric: 'm', threshold: 10, comparator: '>', routes: ['log'] };
  t.is(problem(DEFAULT_ALERT_RULES), 'accepted');
  t.regex(
    problem([{ ...rule, resolveThreshold: 12 }]),
    /nissa\.alerts\[0\]\.resolveThreshold must be at or below threshold \(10\) for a > rule, got 12/,
  );
  t.regex(
    problem([{ ...rule, comparator: '<', resolveThreshold: 8 }]),
    /nissa\.alerts\[0\]\.resolveThreshold must be at or above threshold/,
  );
  t.regex(problem([{ ...rule, forCount: 0 }]), /nissa\.alerts\[0\]\.forCount expected an integer ≥ 1, got 0/);
  t.regex(problem([{ ...rule, forMs: -1 }]), /nissa\.alerts\[0\]\.forMs expected an integer ≥ 0, got -1/);
  t.regex(
    problem([{ ...rule, forcount: 2 }]),
    /nissa\.alerts\[0\]\.forcount unknown field \(did you mean "forCount"\?\)/,
  );
  t.regex(problem([rule, rule]), /nissa\.alerts\[1\]\.name repeats "x"/);
  const burn = { kind: 'slo_burn_rate', name: 'b', routes: ['log'] };
  t.is(problem([burn]), 'accepted', 'a burn-rate rule may take every default');
  t.regex(problem([{ ...burn, objective: 1 }]), /nissa\.alerts\[0\]\.objective expected a number > 0 and < 1, got 1/);
  t.regex(
    problem([{ ...burn, windows: [{ name: 'w', longMs: 60_000, shortMs: 60_000, factor: 2, minEvents: 5 }] }]),
    /nissa\.alerts\[0\]\.windows\[0\]\.shortMs must be shorter than longMs \(60000\), got 60000/,
  );
  t.regex(
    problem([
      { ...burn, objective: 0.9, windows: [{ name: 'w', longMs: 60_000, shortMs: 1_000, factor: 10, minEvents: 5 }] },
    ]),
    /nissa\.alerts\[0\]\.windows\[0\]\.factor must be below 10 \(1 \/ the error budget 0\.1\), got 10/,
  );
  t.regex(
    problem([{ ...burn, windows: [{ name: 'w', longMs: 60_000, shortMs: 1_000, factor: 2, minEvents: 0 }] }]),
    /nissa\.alerts\[0\]\.windows\[0\]\.minEvents expected an integer ≥ 1, got 0/,
  );
  t.regex(
    problem([{ ...burn, minEvents: 5 }]),
    /nissa\.alerts\[0\]\.minEvents unknown field/,
    'the minimum is per window pair',
  );
  t.regex(
    problem([{ ...burn, metric: 'm' }]),
    /nissa\.alerts\[0\]\.metric unknown field/,
    'a burn-rate rule has no metric',
  );
});

test('the same checks run on an experiment file at load, and the old nissa.slo settings are named', (t) => {
  const experiment = {
    name: 'x',
    dataset: { kind: 'spirals' },
    host: { kind: 'mlp', inputs: 16, hidden: [8], classes: 4 },
  };
  const issues = (alerts: unknown[]): string[] => {
    try {
      validateExperiment({ ...experiment, alerts });
    } catch (error) {
      if (error instanceof ExperimentError) return error.issues.map((i) => `${i.path}: ${i.message}`);
      throw error;
    }
    return [];
  };
  t.deepEqual(
    issues([
      { name: 'a', metric: 'm', threshold: 1, resolveThreshold: 0, forCount: 2, routes: ['log'] },
      { kind: 'slo_burn_rate', name: 'b', slo: 'epoch_hook_latency', routes: ['log'] },
    ]),
    [],
  );
  t.deepEqual(issues([{ name: 'a', metric: 'm', threshold: 1, resolveThreshold: 2, routes: ['log'] }]), [
    'alerts[0].resolveThreshold: must be at or below threshold (1) for a > rule, got 2',
  ]);
  t.deepEqual(
    issues([
      {
        kind: 'slo_burn_rate',
        name: 'b',
        routes: ['log'],
        windows: [{ name: 'w', longMs: 10, shortMs: 20, factor: 2, minEvents: 5 }],
      },
    ]),
    ['alerts[0].windows[0].shortMs: must be shorter than longMs (10), got 20'],
  );
  t.throws(() => resolveNissaConfig({ slo: { windowHours: 24 } } as never), {
    message: /nissa\.slo is not a setting: SLO objectives and burn-rate windows are fields of the slo_burn_rate rule/,
  });
});
