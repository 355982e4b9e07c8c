// PAUSE and resume in the seed lifecycle (plain logic): only a grafted seed pauses; a paused seed keeps its stage and
// α and its steps do not count; resume goes on where it was; a seed culled while paused is germinated anew running.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import type { GateResult } from '../actors/kasmina/gates.ts';
import { createSeedLifecycle, type SeedData, type SeedEvent } from '../actors/kasmina/lifecycle.ts';

const { SeedLifecycleStage: Stage, SeedLifecycleGate: Gate } = leyline;

const pass = (gate: number): GateResult => ({ gate, passed: true, reason: '', attributes: {} });
const lifecycle = createSeedLifecycle({
  trainingSteps: 3,
  blending: { kind: 'linear', totalSteps: 4 },
  shadowingSteps: 2,
  probationSteps: 2,
  embargoMs: 1_000,
  autoFossilize: true,
});
const step: SeedEvent = { type: 'step', g1: pass(Gate.SEED_GATE_G1_GRADIENT_HEALTH) };
const seedIn = (stage: number, extra: Partial<SeedData> = {}): SeedData => ({
  ...lifecycle.initialState('s', 'mlp.0'),
  blueprintId: 'BP009',
  stage,
  ...extra,
});

test('a grafted seed pauses with its stage and α kept, its steps stop counting, and resume goes on where it was', (t) => {
  const blending = seedIn(Stage.SEED_STAGE_BLENDING, { alpha: 0.25, alphaSteps: 1, stageSteps: 1 });
  const paused = lifecycle.transition(blending, { type: 'pause', hasModule: true });
  t.deepEqual(paused.effects, [{ kind: 'pause' }]);
  t.true(paused.state.paused);
  t.like(paused.state, { stage: Stage.SEED_STAGE_BLENDING, alpha: 0.25, alphaSteps: 1, stageSteps: 1 });

  const stepped = lifecycle.transition(paused.state, step);
  t.is(stepped.state, paused.state, 'a step while paused changes nothing');
  t.deepEqual(stepped.effects, [{ kind: 'rejected', event: 'step', reason: 'no training step while paused' }]);

  const resumed = lifecycle.transition(paused.state, { type: 'resume', hasModule: true });
  t.deepEqual(resumed.effects, [{ kind: 'resume' }]);
  t.false(resumed.state.paused);
  const next = lifecycle.transition(resumed.state, step);
  t.like(next.state, { stage: Stage.SEED_STAGE_BLENDING, alphaSteps: 2, stageSteps: 2, alpha: 0.5 });
});

test('pausing twice or resuming a running seed is refused and changes nothing', (t) => {
  const training = seedIn(Stage.SEED_STAGE_TRAINING);
  const again = lifecycle.transition({ ...training, paused: true }, { type: 'pause', hasModule: true });
  t.deepEqual(again.effects, [{ kind: 'rejected', event: 'pause', reason: 'already paused' }]);
  t.true(again.state.paused);
  const running = lifecycle.transition(training, { type: 'resume', hasModule: true });
  t.deepEqual(running.effects, [{ kind: 'rejected', event: 'resume', reason: 'already running' }]);
  t.is(running.state, training);
});

test('only a seed whose module is in the host pauses: active stages and FOSSILIZED, with a module', (t) => {
  for (const stage of [
    Stage.SEED_STAGE_TRAINING,
    Stage.SEED_STAGE_SHADOWING,
    Stage.SEED_STAGE_PROBATIONARY,
    Stage.SEED_STAGE_FOSSILIZED,
  ]) {
    t.true(
      lifecycle.transition(seedIn(stage), { type: 'pause', hasModule: true }).state.paused,
      leyline.SeedLifecycleStage[stage],
    );
  }
  const refusals = [
    [seedIn(Stage.SEED_STAGE_DORMANT), 'pause', true, 'cannot pause a seed in DORMANT'],
    [seedIn(Stage.SEED_STAGE_GERMINATED), 'pause', true, 'cannot pause a seed in GERMINATED'],
    [seedIn(Stage.SEED_STAGE_EMBARGOED, { paused: true }), 'resume', true, 'cannot resume a seed in EMBARGOED'],
    [seedIn(Stage.SEED_STAGE_TRAINING), 'pause', false, 'cannot pause a seed in TRAINING'],
  ] as const;
  for (const [state, type, hasModule, reason] of refusals) {
    const { state: after, effects } = lifecycle.transition(state, { type, hasModule });
    t.deepEqual(effects, [{ kind: 'rejected', event: type, reason }]);
    t.is(after, state);
  }
});

test('a seed culled while paused stays paused through its embargo, and is germinated anew running', (t) => {
  const paused = lifecycle.transition(seedIn(Stage.SEED_STAGE_TRAINING), { type: 'pause', hasModule: true }).state;
  const culled = lifecycle.transition(paused, { type: 'cull', reason: 'operator', now: 0 });
  t.is(culled.state.stage, Stage.SEED_STAGE_EMBARGOED);
  t.true(culled.state.paused);
  const resetting = lifecycle.transition(culled.state, { type: 'tick', now: 1_000 }).state;
  const dormant = lifecycle.transition(resetting, { type: 'reset', g5: pass(Gate.SEED_GATE_G5_RESET) }).state;
  t.is(dormant.stage, Stage.SEED_STAGE_DORMANT);
  const germinated = lifecycle.transition(dormant, {
    type: 'germinate',
    blueprintId: 'BP009',
    g0: pass(Gate.SEED_GATE_G0_SANITY),
  }).state;
  t.is(germinated.stage, Stage.SEED_STAGE_GERMINATED);
  t.false(germinated.paused);
  const training = lifecycle.transition(germinated, { type: 'attach', g3: pass(Gate.SEED_GATE_G3_INTERFACE) }).state;
  t.is(lifecycle.transition(training, step).state.stageSteps, 1, 'its steps count');
});
