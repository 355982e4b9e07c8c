// Kasmina's pure logic: the α schedule (the reference's sigmoid vector), the lifecycle's transition rules driven by
// gate results and training steps, and the gates G0–G5 on measured figures.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { alphaAt, DEFAULT_ALPHA_SCHEDULE } from '../actors/kasmina/alpha-schedule.ts';
import {
  gateGradientHealth,
  gateInterface,
  gateReset,
  gateSanity,
  gateStability,
  gateSystemImpact,
  type GateResult,
} from '../actors/kasmina/gates.ts';
import { canTransition, createSeedLifecycle, type SeedData, type SeedEvent } from '../actors/kasmina/lifecycle.ts';

const { SeedLifecycleStage: Stage, SeedLifecycleGate: Gate } = leyline;

const pass = (gate: number): GateResult => ({ gate, passed: true, reason: '', attributes: {} });
const fail = (gate: number, reason: string): GateResult => ({ gate, passed: false, reason, attributes: {} });

test('α follows the reference sigmoid σ((k − 10)/2) over 20 steps; linear and cosine ramps reach 1', (t) => {
  const expected = [
    0.0067, 0.011, 0.018, 0.0293, 0.0474, 0.0759, 0.1192, 0.1824, 0.2689, 0.3775, 0.5, 0.6225, 0.7311, 0.8176, 0.8808,
    0.9241, 0.9526, 0.9707, 0.982, 0.989, 0.9933,
  ];
  t.deepEqual(
    expected.map((_, k) => Number(alphaAt(DEFAULT_ALPHA_SCHEDULE, k).toFixed(4))),
    expected,
  );
  t.is(alphaAt({ kind: 'linear', totalSteps: 4 }, 2), 0.5);
  t.is(alphaAt({ kind: 'linear', totalSteps: 4 }, 9), 1);
  t.is(alphaAt({ kind: 'cosine', totalSteps: 4 }, 0), 0);
  t.true(Math.abs(alphaAt({ kind: 'cosine', totalSteps: 4 }, 2) - 0.5) < 1e-12);
  t.is(alphaAt({ kind: 'cosine', totalSteps: 4 }, 4), 1);
  t.is(alphaAt({ kind: 'sigmoid', totalSteps: 0, temperature: 2 }, 0), 1);
});

test('the transition table: the reference edges are legal, skipping a stage or leaving TERMINATED is not', (t) => {
  t.true(canTransition(Stage.SEED_STAGE_DORMANT, Stage.SEED_STAGE_GERMINATED));
  t.true(canTransition(Stage.SEED_STAGE_PROBATIONARY, Stage.SEED_STAGE_FOSSILIZED));
  t.true(canTransition(Stage.SEED_STAGE_RESETTING, Stage.SEED_STAGE_DORMANT));
  t.false(canTransition(Stage.SEED_STAGE_TRAINING, Stage.SEED_STAGE_SHADOWING));
  t.false(canTransition(Stage.SEED_STAGE_CULLED, Stage.SEED_STAGE_DORMANT));
  t.false(canTransition(Stage.SEED_STAGE_FOSSILIZED, Stage.SEED_STAGE_CULLED));
  for (let to = 0; to <= 11; to++) t.false(canTransition(Stage.SEED_STAGE_TERMINATED, to));

  const lifecycle = createSeedLifecycle();
  const seed = lifecycle.initialState('s', 'mlp.0');
  const training: SeedData = { ...seed, stage: Stage.SEED_STAGE_TRAINING };
  const { state, effects } = lifecycle.transition(training, { type: 'terminate' });
  t.is(state.stage, Stage.SEED_STAGE_TRAINING, 'an illegal transition changes nothing');
  t.deepEqual(effects, [
    { kind: 'illegal_transition', from: Stage.SEED_STAGE_TRAINING, requested: Stage.SEED_STAGE_TERMINATED },
  ]);
});

/** Feeds events in order; returns the final state and every effect. */
function run(lifecycle: ReturnType<typeof createSeedLifecycle>, events: SeedEvent[], start?: SeedData) {
  let state = start ?? lifecycle.initialState('seed-1', 'mlp.0');
  const effects = [];
  const stages = [state.stage];
  for (const event of events) {
    const next = lifecycle.transition(state, event);
    state = next.state;
    effects.push(...next.effects);
    if (stages.at(-1) !== state.stage) stages.push(state.stage);
  }
  return { state, effects, stages };
}

const timings = {
  trainingSteps: 3,
  blending: { kind: 'linear' as const, totalSteps: 4 },
  shadowingSteps: 2,
  probationSteps: 2,
  embargoMs: 1_000,
  autoFossilize: true,
};
const steps = (n: number): SeedEvent[] =>
  Array.from({ length: n }, () => ({ type: 'step', g1: pass(Gate.SEED_GATE_G1_GRADIENT_HEALTH) }) as SeedEvent);

test('a healthy seed walks every stage to FOSSILIZED, one gate per stage, α rising over BLENDING', (t) => {
  const lifecycle = createSeedLifecycle(timings);
  const g4 = pass(Gate.SEED_GATE_G4_SYSTEM_IMPACT);
  const { state, effects, stages } = run(lifecycle, [
    { type: 'germinate', blueprintId: 'BP009', g0: pass(Gate.SEED_GATE_G0_SANITY) },
    { type: 'attach', g3: pass(Gate.SEED_GATE_G3_INTERFACE) },
    ...steps(3),
    { type: 'advance', result: pass(Gate.SEED_GATE_G2_STABILITY) },
    ...steps(2),
  ]);
  t.is(state.stage, Stage.SEED_STAGE_BLENDING);
  t.is(state.alpha, 0.5, 'two of four linear blending steps');
  t.deepEqual(
    effects.filter((e) => e.kind === 'gate_due').map((e) => (e as { gate: number }).gate),
    [Gate.SEED_GATE_G2_STABILITY],
    'G2 falls due after exactly the training steps',
  );
  const rest = run(
    lifecycle,
    [
      ...steps(2),
      { type: 'advance', result: g4 },
      ...steps(2),
      { type: 'advance', result: g4 },
      ...steps(2),
      { type: 'advance', result: g4 },
    ],
    state,
  );
  t.deepEqual(
    [...stages, ...rest.stages.slice(1)],
    [
      Stage.SEED_STAGE_DORMANT,
      Stage.SEED_STAGE_GERMINATED,
      Stage.SEED_STAGE_TRAINING,
      Stage.SEED_STAGE_BLENDING,
      Stage.SEED_STAGE_SHADOWING,
      Stage.SEED_STAGE_PROBATIONARY,
      Stage.SEED_STAGE_FOSSILIZED,
    ],
  );
  t.is(rest.state.alpha, 1);
  t.is(rest.state.blueprintId, 'BP009');
  t.is(rest.effects.filter((e) => e.kind === 'gate_due').length, 3);
  // A gate that does not close the stage is refused.
  const wrong = lifecycle.transition({ ...state, stage: Stage.SEED_STAGE_TRAINING }, { type: 'advance', result: g4 });
  t.is(wrong.effects[0]?.kind, 'rejected');
});

test('a failing seed: G1 fails in BLENDING → CULLED → EMBARGOED, then RESETTING after the embargo, G5 → DORMANT', (t) => {
  const lifecycle = createSeedLifecycle(timings);
  const blending = run(lifecycle, [
    { type: 'germinate', blueprintId: 'BP009', g0: pass(Gate.SEED_GATE_G0_SANITY) },
    { type: 'attach', g3: pass(Gate.SEED_GATE_G3_INTERFACE) },
    ...steps(3),
    { type: 'advance', result: pass(Gate.SEED_GATE_G2_STABILITY) },
  ]).state;
  const culled = lifecycle.transition(
    blending,
    { type: 'step', g1: fail(Gate.SEED_GATE_G1_GRADIENT_HEALTH, 'seed gradients are not finite') },
    5_000,
  );
  t.is(culled.state.stage, Stage.SEED_STAGE_EMBARGOED);
  t.is(culled.state.embargoUntil, 6_000);
  t.is(culled.state.lastFailure, 'seed gradients are not finite');
  t.deepEqual(
    culled.effects.map((e) => e.kind),
    ['gate', 'transition', 'detach', 'transition'],
  );

  t.is(
    lifecycle.transition(culled.state, { type: 'germinate', blueprintId: 'BP001', g0: pass(Gate.SEED_GATE_G0_SANITY) })
      .effects[0]?.kind,
    'rejected',
    'no re-germination under embargo',
  );
  t.is(lifecycle.transition(culled.state, { type: 'tick', now: 5_999 }).state.stage, Stage.SEED_STAGE_EMBARGOED);
  const resetting = lifecycle.transition(culled.state, { type: 'tick', now: 6_000 });
  t.is(resetting.state.stage, Stage.SEED_STAGE_RESETTING);
  t.true(resetting.effects.some((e) => e.kind === 'release'));
  const dirty = lifecycle.transition(resetting.state, {
    type: 'reset',
    g5: gateReset({ detached: true, tensorsReleased: false, registryReleased: true }),
  });
  t.is(dirty.state.stage, Stage.SEED_STAGE_RESETTING, 'an unclean reset stays in RESETTING');
  const dormant = lifecycle.transition(dirty.state, {
    type: 'reset',
    g5: gateReset({ detached: true, tensorsReleased: true, registryReleased: true }),
  });
  t.is(dormant.state.stage, Stage.SEED_STAGE_DORMANT);
  t.like(dormant.state, { alpha: 0, alphaSteps: 0, blueprintId: '', embargoUntil: null, lastFailure: null });
});

test('G0 failure leaves the seed DORMANT; a refused FOSSILIZE keeps it on probation; culling a DORMANT seed is refused', (t) => {
  const lifecycle = createSeedLifecycle({ ...timings, autoFossilize: false });
  const g0 = lifecycle.transition(lifecycle.initialState('s', 'mlp.0'), {
    type: 'germinate',
    blueprintId: 'BP999',
    g0: fail(Gate.SEED_GATE_G0_SANITY, "blueprint 'BP999' is not in the catalog"),
  });
  t.is(g0.state.stage, Stage.SEED_STAGE_DORMANT);
  t.is(g0.state.blueprintId, '');
  t.is(g0.state.lastFailure, "blueprint 'BP999' is not in the catalog");
  const probation: SeedData = {
    ...lifecycle.initialState('s', 'mlp.0'),
    stage: Stage.SEED_STAGE_PROBATIONARY,
    alpha: 1,
  };
  t.is(
    run(lifecycle, steps(10), probation).effects.filter((e) => e.kind === 'gate_due').length,
    0,
    'without auto-fossilize probation waits for the command',
  );
  const refused = lifecycle.transition(probation, {
    type: 'fossilize',
    g4: fail(Gate.SEED_GATE_G4_SYSTEM_IMPACT, 'worse'),
  });
  t.is(refused.state.stage, Stage.SEED_STAGE_PROBATIONARY);
  t.is(
    lifecycle.transition(probation, { type: 'fossilize', g4: pass(Gate.SEED_GATE_G4_SYSTEM_IMPACT) }).state.stage,
    Stage.SEED_STAGE_FOSSILIZED,
  );
  t.is(
    lifecycle.transition(lifecycle.initialState('s', 'x'), { type: 'cull', reason: 'r', now: 0 }).effects[0]?.kind,
    'rejected',
  );
});

test('gates on measured figures', (t) => {
  const { catalog } = setUpKarn({});
  t.true(gateSanity(catalog, 'BP001', {}).passed);
  t.regex(gateSanity(catalog, 'BP999', {}).reason, /not in the catalog/);
  t.is(gateSanity(catalog, '  ', {}).reason, 'missing blueprint id');
  t.regex(gateSanity(catalog, 'BP001', { nope: 1 }).reason, /not declared/);

  t.true(gateGradientHealth({ seedGradNorm: 2, isolationViolations: 0 }, 100).passed);
  t.regex(gateGradientHealth({ seedGradNorm: Number.NaN, isolationViolations: 0 }, 100).reason, /not finite/);
  t.regex(gateGradientHealth({ seedGradNorm: 500, isolationViolations: 0 }, 100).reason, /exceeds 100/);
  t.regex(gateGradientHealth({ seedGradNorm: 1, isolationViolations: 2 }, 100).reason, /isolation/);

  t.true(
    gateStability({ kernelLatencyMs: 10, latencyBudgetMs: 10, seedLosses: [1, 0.9, 0.8, 0.7] }).passed,
    'exactly the budget passes',
  );
  t.regex(gateStability({ kernelLatencyMs: 10.5, latencyBudgetMs: 10, seedLosses: [1, 0.9] }).reason, /latency/);
  t.regex(gateStability({ kernelLatencyMs: 1, latencyBudgetMs: 10, seedLosses: [0.5, 0.5, 0.9, 1] }).reason, /rising/);
  t.regex(
    gateStability({ kernelLatencyMs: 1, latencyBudgetMs: 10, seedLosses: [0.5, Number.NaN] }).reason,
    /not finite/,
  );

  t.true(gateInterface([32], [32]).passed);
  t.regex(gateInterface([32], [8, 8, 4]).reason, /does not fit slot \[32\]/);

  t.true(gateSystemImpact({ withSeed: 0.101, withoutSeed: 0.1 }).passed, 'within 2 %');
  t.regex(gateSystemImpact({ withSeed: 0.11, withoutSeed: 0.1 }).reason, /worse than without/);
  t.is(gateReset({ detached: true, tensorsReleased: true, registryReleased: true }).passed, true);
});
