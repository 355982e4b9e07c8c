// A seed's lifecycle as plain logic (in the manner of XState's actor logic): `initialState` and
// `transition(state, event) → { state, effects }`, with no tensors, clocks or actors inside. The seed actor measures,
// evaluates the gates (gates.ts) and feeds the results in as events; the effects say what to do and report.
//
// Stages advance with training progress (docs/seed-lifecycle.md):
//   DORMANT ─germinate(G0)→ GERMINATED ─attach(G3)→ TRAINING ─N steps, G2→ BLENDING ─α schedule, G4→ SHADOWING
//   ─M steps, G4→ PROBATIONARY ─P steps, G4 (or a FOSSILIZE command)→ FOSSILIZED.
//   Every step in TRAINING…PROBATIONARY carries G1 (gradient health, isolation). Any failure → CULLED → EMBARGOED;
//   once the embargo has passed → RESETTING ─G5→ DORMANT.
// Beside the stages, a grafted seed (TRAINING…FOSSILIZED, holding its module) can be paused: its module leaves the
// forward pass, its stage and α stay, its steps stop counting; resumed, it goes on where it was.
// An illegal transition changes nothing and yields an `illegal_transition` effect naming both stages.
import { leyline, type v1 } from '../../contracts/index.ts';
import { ACTIVE_STAGES, EMBARGO_STAGES, TRIAL_STAGES } from '../../contracts/seed-stages.ts';
import { alphaAt, DEFAULT_ALPHA_SCHEDULE, type AlphaSchedule } from './alpha-schedule.ts';
import type { GateResult } from './gates.ts';

const { SeedLifecycleStage: Stage, SeedLifecycleGate: Gate } = leyline;
type StageT = v1.SeedLifecycleStage;

/** Allowed next stages; anything else is illegal. */
export const TRANSITIONS: ReadonlyMap<StageT, readonly StageT[]> = new Map<StageT, StageT[]>([
  [Stage.SEED_STAGE_UNKNOWN, [Stage.SEED_STAGE_DORMANT]],
  [Stage.SEED_STAGE_DORMANT, [Stage.SEED_STAGE_GERMINATED, Stage.SEED_STAGE_TERMINATED]],
  [Stage.SEED_STAGE_GERMINATED, [Stage.SEED_STAGE_TRAINING, Stage.SEED_STAGE_CULLED]],
  [Stage.SEED_STAGE_TRAINING, [Stage.SEED_STAGE_BLENDING, Stage.SEED_STAGE_CULLED]],
  [Stage.SEED_STAGE_BLENDING, [Stage.SEED_STAGE_SHADOWING, Stage.SEED_STAGE_CULLED]],
  [Stage.SEED_STAGE_SHADOWING, [Stage.SEED_STAGE_PROBATIONARY, Stage.SEED_STAGE_CULLED]],
  [Stage.SEED_STAGE_PROBATIONARY, [Stage.SEED_STAGE_FOSSILIZED, Stage.SEED_STAGE_CULLED]],
  [Stage.SEED_STAGE_FOSSILIZED, [Stage.SEED_STAGE_TERMINATED]],
  [Stage.SEED_STAGE_CULLED, [Stage.SEED_STAGE_EMBARGOED]],
  [Stage.SEED_STAGE_EMBARGOED, [Stage.SEED_STAGE_RESETTING]],
  [Stage.SEED_STAGE_RESETTING, [Stage.SEED_STAGE_DORMANT]],
  [Stage.SEED_STAGE_TERMINATED, []],
]);

export const canTransition = (from: StageT, to: StageT): boolean => TRANSITIONS.get(from)?.includes(to) ?? false;

export { ACTIVE_STAGES, EMBARGO_STAGES, TRIAL_STAGES };

export interface SeedTimings {
  /** Steps in TRAINING before G2 is evaluated. */
  trainingSteps: number;
  /** BLENDING lasts `blending.totalSteps` steps. */
  blending: AlphaSchedule;
  shadowingSteps: number;
  probationSteps: number;
  /** How long a culled seed's slot stays embargoed. */
  embargoMs: number;
  /** Fossilize at the end of probation when G4 passes (else wait for a FOSSILIZE command). */
  autoFossilize: boolean;
}

export const DEFAULT_SEED_TIMINGS: SeedTimings = {
  trainingSteps: 100,
  blending: DEFAULT_ALPHA_SCHEDULE,
  shadowingSteps: 50,
  probationSteps: 50,
  embargoMs: 30_000,
  autoFossilize: true,
};

export interface SeedData {
  readonly seedId: string;
  readonly slotId: string;
  blueprintId: string;
  stage: StageT;
  /** Steps spent in the current stage. */
  stageSteps: number;
  alpha: number;
  alphaSteps: number;
  embargoUntil: number | null;
  /** Why the seed was last culled (or a gate last failed). */
  lastFailure: string | null;
  /** The latest result of each gate evaluated. */
  gates: Partial<Record<v1.SeedLifecycleGate, GateResult>>;
  /** Out of the forward pass by a PAUSE command (module, stage and α kept). */
  paused: boolean;
}

export type SeedEvent =
  | { type: 'germinate'; blueprintId: string; g0: GateResult }
  | { type: 'attach'; g3: GateResult }
  /** One training step of an active seed, with its gradient-health gate. */
  | { type: 'step'; g1: GateResult }
  /** The gate that closes the current stage (G2 out of TRAINING, G4 out of BLENDING, SHADOWING, PROBATIONARY). */
  | { type: 'advance'; result: GateResult }
  | { type: 'fossilize'; g4: GateResult }
  | { type: 'cull'; reason: string; now: number }
  | { type: 'tick'; now: number }
  | { type: 'reset'; g5: GateResult }
  | { type: 'terminate' }
  /** PAUSE and its `resume`; `hasModule`: the seed holds a module (only a grafted seed can pause). */
  | { type: 'pause'; hasModule: boolean }
  | { type: 'resume'; hasModule: boolean };

/** PAUSE or its resume, as the lifecycle names them. */
export type PauseAction = Extract<SeedEvent, { hasModule: boolean }>['type'];

export type SeedEffect =
  | { kind: 'transition'; from: StageT; to: StageT }
  | { kind: 'gate'; result: GateResult }
  | { kind: 'illegal_transition'; from: StageT; requested: StageT }
  | { kind: 'rejected'; event: SeedEvent['type']; reason: string }
  /** The stage's steps are done: evaluate `gate` and send `advance`. */
  | { kind: 'gate_due'; gate: v1.SeedLifecycleGate }
  /** Take the module out of the forward pass (cull). */
  | { kind: 'detach' }
  /** Free the module's tensors and release its registrations (reset). */
  | { kind: 'release' }
  /** Take the module out of the forward pass, stage and α kept (pause). */
  | { kind: 'pause' }
  /** Put the module back into the forward pass with its stage and α (resume). */
  | { kind: 'resume' };

export interface Transition {
  state: SeedData;
  effects: SeedEffect[];
}

/** The gate that closes each stage once its steps are done. */
const CLOSING_GATE: ReadonlyMap<StageT, v1.SeedLifecycleGate> = new Map([
  [Stage.SEED_STAGE_TRAINING, Gate.SEED_GATE_G2_STABILITY],
  [Stage.SEED_STAGE_BLENDING, Gate.SEED_GATE_G4_SYSTEM_IMPACT],
  [Stage.SEED_STAGE_SHADOWING, Gate.SEED_GATE_G4_SYSTEM_IMPACT],
  [Stage.SEED_STAGE_PROBATIONARY, Gate.SEED_GATE_G4_SYSTEM_IMPACT],
]);

const NEXT_STAGE: ReadonlyMap<StageT, StageT> = new Map([
  [Stage.SEED_STAGE_TRAINING, Stage.SEED_STAGE_BLENDING],
  [Stage.SEED_STAGE_BLENDING, Stage.SEED_STAGE_SHADOWING],
  [Stage.SEED_STAGE_SHADOWING, Stage.SEED_STAGE_PROBATIONARY],
  [Stage.SEED_STAGE_PROBATIONARY, Stage.SEED_STAGE_FOSSILIZED],
]);

export function createSeedLifecycle(timings: SeedTimings = DEFAULT_SEED_TIMINGS) {
  const stepsFor = (stage: StageT): number | null => {
    switch (stage) {
      case Stage.SEED_STAGE_TRAINING:
        return timings.trainingSteps;
      case Stage.SEED_STAGE_BLENDING:
        return timings.blending.totalSteps;
      case Stage.SEED_STAGE_SHADOWING:
        return timings.shadowingSteps;
      case Stage.SEED_STAGE_PROBATIONARY:
        return timings.autoFossilize ? timings.probationSteps : null;
      default:
        return null;
    }
  };

  /** Moves to `to` if legal, applying the stage's entry rules (α, counters). */
  function move(state: SeedData, to: StageT, effects: SeedEffect[]): SeedData {
    const from = state.stage;
    if (from === to) return state;
    if (!canTransition(from, to)) {
      effects.push({ kind: 'illegal_transition', from, requested: to });
      return state;
    }
    const next: SeedData = { ...state, stage: to, stageSteps: 0 };
    if (to === Stage.SEED_STAGE_BLENDING) {
      next.alphaSteps = 0;
      next.alpha = alphaAt(timings.blending, 0);
    } else if (
      to === Stage.SEED_STAGE_SHADOWING ||
      to === Stage.SEED_STAGE_PROBATIONARY ||
      to === Stage.SEED_STAGE_FOSSILIZED
    ) {
      next.alpha = 1;
    } else if (to === Stage.SEED_STAGE_DORMANT) {
      next.alpha = 0;
      next.alphaSteps = 0;
      next.embargoUntil = null;
      next.blueprintId = '';
    }
    effects.push({ kind: 'transition', from, to });
    return next;
  }

  function recordGate(state: SeedData, result: GateResult, effects: SeedEffect[]): SeedData {
    effects.push({ kind: 'gate', result });
    return {
      ...state,
      gates: { ...state.gates, [result.gate]: result },
      ...(result.passed ? {} : { lastFailure: result.reason }),
    };
  }

  function cull(state: SeedData, reason: string, now: number, effects: SeedEffect[]): SeedData {
    let next = move(state, Stage.SEED_STAGE_CULLED, effects);
    if (next.stage !== Stage.SEED_STAGE_CULLED) return next;
    effects.push({ kind: 'detach' });
    next = { ...next, lastFailure: reason };
    next = move(next, Stage.SEED_STAGE_EMBARGOED, effects);
    return { ...next, embargoUntil: now + timings.embargoMs };
  }

  return {
    initialState(seedId: string, slotId: string): SeedData {
      return {
        seedId,
        slotId,
        blueprintId: '',
        stage: Stage.SEED_STAGE_DORMANT,
        stageSteps: 0,
        alpha: 0,
        alphaSteps: 0,
        embargoUntil: null,
        lastFailure: null,
        gates: {},
        paused: false,
      };
    },

    transition(state: SeedData, event: SeedEvent, now = 0): Transition {
      const effects: SeedEffect[] = [];
      const reject = (reason: string): Transition => ({
        state,
        effects: [{ kind: 'rejected', event: event.type, reason }],
      });
      switch (event.type) {
        case 'germinate': {
          if (state.stage !== Stage.SEED_STAGE_DORMANT)
            return reject(`germinate needs a DORMANT seed, this one is ${stageName(state.stage)}`);
          const gated = recordGate({ ...state, blueprintId: event.blueprintId }, event.g0, effects);
          if (!event.g0.passed) return { state: { ...gated, blueprintId: state.blueprintId }, effects };
          // A seed culled while paused is germinated anew running: its new module trains.
          return { state: move({ ...gated, paused: false }, Stage.SEED_STAGE_GERMINATED, effects), effects };
        }
        case 'attach': {
          if (state.stage !== Stage.SEED_STAGE_GERMINATED)
            return reject(`attach needs a GERMINATED seed, this one is ${stageName(state.stage)}`);
          const gated = recordGate(state, event.g3, effects);
          if (!event.g3.passed) return { state: cull(gated, event.g3.reason, now, effects), effects };
          return { state: move(gated, Stage.SEED_STAGE_TRAINING, effects), effects };
        }
        case 'step': {
          if (!ACTIVE_STAGES.has(state.stage)) return reject(`no training step in ${stageName(state.stage)}`);
          if (state.paused) return reject('no training step while paused');
          if (!event.g1.passed)
            return { state: cull(recordGate(state, event.g1, effects), event.g1.reason, now, effects), effects };
          const next: SeedData = {
            ...state,
            stageSteps: state.stageSteps + 1,
            gates: { ...state.gates, [event.g1.gate]: event.g1 },
          };
          if (state.stage === Stage.SEED_STAGE_BLENDING) {
            next.alphaSteps = state.alphaSteps + 1;
            next.alpha = alphaAt(timings.blending, next.alphaSteps);
          }
          const due = stepsFor(state.stage);
          if (due !== null && next.stageSteps === due)
            effects.push({ kind: 'gate_due', gate: CLOSING_GATE.get(state.stage)! });
          return { state: next, effects };
        }
        case 'advance': {
          const gate = CLOSING_GATE.get(state.stage);
          if (gate === undefined || event.result.gate !== gate) {
            return reject(`gate ${gateName(event.result.gate)} does not close ${stageName(state.stage)}`);
          }
          const gated = recordGate(state, event.result, effects);
          if (!event.result.passed) return { state: cull(gated, event.result.reason, now, effects), effects };
          return { state: move(gated, NEXT_STAGE.get(state.stage)!, effects), effects };
        }
        case 'fossilize': {
          if (state.stage !== Stage.SEED_STAGE_PROBATIONARY)
            return reject(`fossilize needs a PROBATIONARY seed, this one is ${stageName(state.stage)}`);
          const gated = recordGate(state, event.g4, effects);
          // A refused FOSSILIZE command is not a failure of the seed: it stays on probation.
          if (!event.g4.passed)
            return {
              state: gated,
              effects: [...effects, { kind: 'rejected', event: 'fossilize', reason: event.g4.reason }],
            };
          return { state: move(gated, Stage.SEED_STAGE_FOSSILIZED, effects), effects };
        }
        case 'cull': {
          if (!ACTIVE_STAGES.has(state.stage) && state.stage !== Stage.SEED_STAGE_GERMINATED) {
            return reject(`cannot cull a seed in ${stageName(state.stage)}`);
          }
          return { state: cull(state, event.reason, event.now, effects), effects };
        }
        case 'tick': {
          if (
            state.stage !== Stage.SEED_STAGE_EMBARGOED ||
            state.embargoUntil === null ||
            event.now < state.embargoUntil
          )
            return { state, effects };
          return {
            state: move(state, Stage.SEED_STAGE_RESETTING, effects),
            effects: [...effects, { kind: 'release' }],
          };
        }
        case 'reset': {
          if (state.stage !== Stage.SEED_STAGE_RESETTING)
            return reject(`reset needs a RESETTING seed, this one is ${stageName(state.stage)}`);
          const gated = recordGate(state, event.g5, effects);
          if (!event.g5.passed) return { state: gated, effects };
          return {
            state: move({ ...gated, lastFailure: null, gates: {} }, Stage.SEED_STAGE_DORMANT, effects),
            effects,
          };
        }
        case 'terminate':
          return { state: move(state, Stage.SEED_STAGE_TERMINATED, effects), effects };
        case 'pause':
        case 'resume': {
          const resume = event.type === 'resume';
          const grafted =
            event.hasModule && (ACTIVE_STAGES.has(state.stage) || state.stage === Stage.SEED_STAGE_FOSSILIZED);
          if (!grafted) return reject(`cannot ${event.type} a seed in ${stageName(state.stage)}`);
          if (state.paused !== resume) return reject(`already ${resume ? 'running' : 'paused'}`);
          return { state: { ...state, paused: !resume }, effects: [{ kind: event.type }] };
        }
      }
    },
  };
}

export type SeedLifecycle = ReturnType<typeof createSeedLifecycle>;

export const stageName = (stage: StageT): string =>
  (leyline.SeedLifecycleStage[stage] ?? String(stage)).replace('SEED_STAGE_', '');
export const gateName = (gate: v1.SeedLifecycleGate): string =>
  (leyline.SeedLifecycleGate[gate] ?? String(gate)).replace('SEED_GATE_', '');
