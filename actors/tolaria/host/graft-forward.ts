// What a host slot outputs when a seed is grafted there (docs/architecture.md#what-a-slot-outputs), one rule per stage:
//
// | stage                      | slot output                 | gradient                                               |
// |----------------------------|-----------------------------|--------------------------------------------------------|
// | TRAINING                   | h (value unchanged)         | seed learns from the task loss as if added residually; |
// |                            |                             | its input is detached, so nothing reaches the host      |
// | BLENDING                   | (1 − α)·h + α·seed(h)       | host through the (1 − α) path only; seed input detached |
// | SHADOWING, PROBATIONARY    | seed(h)                     | seed only; seed input detached (the host is not trained |
// |                            |                             | through a seed that may still be rolled back)           |
// | FOSSILIZED                 | seed(h)                     | everywhere: the seed is part of the host                |
// | any other stage            | h                           | the seed is not run                                     |
//
// A module that throws is bypassed from then on (its failure goes to Kasmina in the next step report).
//
// TRAINING uses a straight-through form, h + s − stop(s) with s = seed(stop(h)): its value is exactly h, its
// gradient reaches the seed's weights. Seeds start near-neutral (seed(h) ≈ h), so BLENDING begins without a jolt.
import { leyline } from '../../../contracts/index.ts';
import { tf, stopGradient } from '../../../tensor/index.ts';
import type { Graft } from '../../../surface/index.ts';

const { SeedLifecycleStage: Stage } = leyline;

/**
 * A module that throws is contained here: the slot passes the host's output through, the failure is recorded on the
 * graft (Tolaria reports it to the seed, which is culled), and the step goes on.
 */
export function graftForward(host: tf.Tensor, graft: Graft | undefined, training: boolean): tf.Tensor {
  if (!graft || graft.failure !== undefined) return host;
  try {
    return stageForward(host, graft, training);
  } catch (error) {
    graft.failure = error instanceof Error ? error.message : String(error);
    return host;
  }
}

function stageForward(host: tf.Tensor, graft: Graft, training: boolean): tf.Tensor {
  switch (graft.stage) {
    case Stage.SEED_STAGE_TRAINING: {
      const seed = graft.module.apply(stopGradient(host), { training });
      return tf.add(host, tf.sub(seed, stopGradient(seed)));
    }
    case Stage.SEED_STAGE_BLENDING: {
      const alpha = Math.min(1, Math.max(0, graft.alpha));
      const seed = graft.module.apply(stopGradient(host), { training });
      return tf.add(tf.mul(host, 1 - alpha), tf.mul(seed, alpha));
    }
    case Stage.SEED_STAGE_SHADOWING:
    case Stage.SEED_STAGE_PROBATIONARY:
      return graft.module.apply(stopGradient(host), { training });
    case Stage.SEED_STAGE_FOSSILIZED:
      return graft.module.apply(host, { training });
    default:
      return host;
  }
}
