// One Simic training job, as plain code (run on a worker thread in the tree, inline in tests and the CLI): the
// active policy's weights, a batch of experiences → a PPO update on a copy of the network, the held-out comparison,
// validation, and — only when it passes — the new weights.
import { leyline, type v1 } from '../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import { mulberry32 } from '../../runtime/seeded-random.ts';
import { TamiyoGnn } from '../../policy/index.ts';
import type { Experience } from './experience.ts';
import { DEFAULT_PPO_CONFIG, PpoTrainer, type PpoConfig, type UpdateStats } from './ppo.ts';
import {
  DEFAULT_VALIDATION,
  heldOutEstimate,
  validate,
  type HeldOut,
  type ValidationThresholds,
} from './validation.ts';

export interface TrainingJob {
  experiences: Experience[];
  /** The active policy's weights (encoded PolicyWeights); null: the untrained network. */
  activeWeights: Uint8Array | null;
  ppo?: Partial<PpoConfig>;
  validation?: Partial<ValidationThresholds>;
  /** Share of the experiences kept out of training for the comparison with the active policy. Default 0.2. */
  heldOutShare?: number;
  /** The random seed of the held-out draw. Default 1. */
  rngSeed?: number;
}

export interface TrainingOutcome {
  stats: UpdateStats;
  heldOut: HeldOut | null;
  passed: boolean;
  reasons: string[];
  /** The trained weights (encoded PolicyWeights), only when validation passed. */
  weights: Uint8Array | null;
}

export function runTrainingJob(job: TrainingJob): TrainingOutcome {
  const gnn = new TamiyoGnn();
  try {
    if (job.activeWeights) {
      const decoded = decodeLeyline(leyline.PolicyWeights, job.activeWeights);
      if (!decoded.ok) throw decoded.error;
      gnn.loadWeights(decoded.message);
    }
    const random = mulberry32(job.rngSeed ?? 1);
    const shuffled = [...job.experiences];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const held = Math.floor(shuffled.length * (job.heldOutShare ?? 0.2));
    const heldOutSet = shuffled.slice(0, held);
    const trainer = new PpoTrainer(gnn, { ...DEFAULT_PPO_CONFIG, ...job.ppo });
    const stats = trainer.update(shuffled.slice(held));
    trainer.dispose();
    const heldOut = heldOutSet.length > 0 ? heldOutEstimate(gnn, heldOutSet) : null;
    const { passed, reasons } = validate(stats, heldOut, { ...DEFAULT_VALIDATION, ...job.validation });
    return { stats, heldOut, passed, reasons, weights: passed ? encodeLeyline(gnn.exportWeights()) : null };
  } finally {
    gnn.dispose();
  }
}

/** The PolicyWeights in an update's payload, for a job's `activeWeights`. */
export const weightsOf = (update: v1.PolicyUpdate | null): Uint8Array | null =>
  update?.payload && update.payload.length > 0 ? update.payload : null;
