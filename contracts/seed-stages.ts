// Groups of Leyline seed lifecycle stages that several subsystems read (Kasmina runs the lifecycle; the policy
// model reads seeds' stages to see which slots are free and which seeds may be culled).
import { leyline, type v1 } from './index.ts';

const { SeedLifecycleStage: Stage } = leyline;
type StageT = v1.SeedLifecycleStage;

/** A culled seed in these stages keeps its slot closed to new seeds. */
export const EMBARGO_STAGES: ReadonlySet<StageT> = new Set([
  Stage.SEED_STAGE_CULLED,
  Stage.SEED_STAGE_EMBARGOED,
  Stage.SEED_STAGE_RESETTING,
]);

/** Stages whose module is grafted and trains, so every step carries G1. */
export const ACTIVE_STAGES: ReadonlySet<StageT> = new Set([
  Stage.SEED_STAGE_TRAINING,
  Stage.SEED_STAGE_BLENDING,
  Stage.SEED_STAGE_SHADOWING,
  Stage.SEED_STAGE_PROBATIONARY,
]);

/** Seeds still on trial: germinated and not yet fossilized or culled. */
export const TRIAL_STAGES: ReadonlySet<StageT> = new Set([Stage.SEED_STAGE_GERMINATED, ...ACTIVE_STAGES]);
