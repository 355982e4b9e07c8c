// A seed actor's state, and the two Leyline forms it takes: its SeedState (what it answers the manager with, and what
// the manager's receipts carry) and its SeedRecord (what a checkpoint keeps, and what a restored or restarted seed
// starts from). Plain functions: the figures read from outside (the catalog's risk, the run's epoch and learning
// rate) are given.
import { leyline, type v1 } from '../../contracts/index.ts';
import { trainableParameters } from '../karn/index.ts';
import type { ProvidedKernel } from './kernel-source.ts';
import type { SeedData } from './lifecycle.ts';

const { SeedLifecycleStage: Stage } = leyline;

/** One incarnation of a seed actor: what a restart starts afresh (from its record), and what a checkpoint keeps. */
export interface SeedActorState {
  data: SeedData;
  kernel: ProvidedKernel | null;
  /** Task losses seen while TRAINING (G2 judges their trend). */
  losses: number[];
  isolationViolations: number;
  reports: number;
  lastGradNorm: number;
  germinatedAt: number;
  /** The training epoch at germination (SeedState.age_epochs counts from it). */
  germinatedEpoch: number;
  /** What the last isolation measurement cost (its overhead, reported per seed). */
  isolationMs: number;
  /** Its SeedState as last published (after each change): what it answers the manager with. */
  published: v1.SeedState;
}

/** What the SeedState reads from outside the seed, as of publishing. */
export interface PublishFacts {
  /** The slot's 1-based position in the host. */
  layerDepth: number;
  /** The blueprint's risk in Karn's catalog (0 without a blueprint). */
  risk: number;
  /** The running training run's epoch and learning rate (0 between runs). */
  epoch: number;
  learningRate: number;
}

export function seedStateOf(seedId: string, state: SeedActorState, facts: PublishFacts): v1.SeedState {
  const grafted = state.kernel !== null;
  return leyline.SeedState.create({
    seedId,
    stage: state.data.stage,
    gradientNorm: state.lastGradNorm,
    learningRate: grafted && !state.data.paused ? facts.learningRate : 0,
    layerDepth: facts.layerDepth,
    riskScore: facts.risk,
    metrics: {
      alpha: state.data.alpha,
      steps_in_stage: state.data.stageSteps,
      isolation_violations: state.isolationViolations,
      kernel_latency_ms: state.kernel?.latencyMs ?? 0,
      fallback_used: state.kernel && state.kernel.origin !== 'urza' ? 1 : 0,
      paused: state.data.paused ? 1 : 0,
      isolation_ms: state.isolationMs,
      // What the seed adds to the host (Simic's reward charges for it).
      parameters: state.kernel ? trainableParameters(state.kernel.module) : 0,
    },
    ageEpochs: grafted ? Math.max(0, facts.epoch - state.germinatedEpoch) : 0,
  });
}

/** The seed as a checkpoint keeps it (its module's weights are in the graft table: Tolaria keeps those). */
export function seedRecordOf(state: SeedActorState, blendingMethod: string): v1.SeedRecord {
  const { data } = state;
  return leyline.SeedRecord.create({
    seedId: data.seedId,
    slotId: data.slotId,
    blueprintId: data.blueprintId,
    kernelDigest: state.kernel?.digest ?? '',
    stage: data.stage,
    stageSteps: data.stageSteps,
    alpha: data.alpha,
    alphaSteps: data.alphaSteps,
    lastFailure: data.lastFailure ?? '',
    blendingMethod,
    paused: data.paused,
    germinatedEpoch: state.germinatedEpoch,
    isolationViolations: state.isolationViolations,
    reports: state.reports,
    losses: state.losses,
    lastGradNorm: state.lastGradNorm,
    parameters: state.kernel ? trainableParameters(state.kernel.module) : 0,
    gates: Object.values(data.gates).map((g) =>
      leyline.SeedGateRecord.create({ gate: g.gate, passed: g.passed, reason: g.reason }),
    ),
  });
}

/**
 * The seed `initial` (a DORMANT seed of this actor) as `saved` records it, without a kernel (the caller provides one)
 * and with `published` as its SeedState until it publishes again. A culled seed's embargo starts afresh at `now`.
 */
export function stateFromRecord(
  saved: v1.SeedRecord,
  initial: SeedData,
  options: { now: number; embargoMs: number; germinatedAt: number; published: v1.SeedState },
): SeedActorState {
  const gates: SeedData['gates'] = {};
  for (const g of saved.gates.map((gate) => leyline.SeedGateRecord.create(gate)))
    gates[g.gate] = { gate: g.gate, passed: g.passed, reason: g.reason, attributes: {} };
  const data: SeedData = {
    ...initial,
    blueprintId: saved.blueprintId,
    stage: saved.stage,
    stageSteps: saved.stageSteps,
    alpha: saved.alpha,
    alphaSteps: saved.alphaSteps,
    lastFailure: saved.lastFailure || null,
    embargoUntil: saved.stage === Stage.SEED_STAGE_EMBARGOED ? options.now + options.embargoMs : null,
    gates,
    paused: saved.paused,
  };
  return {
    data,
    kernel: null,
    losses: [...saved.losses],
    isolationViolations: saved.isolationViolations,
    reports: saved.reports,
    lastGradNorm: saved.lastGradNorm,
    germinatedAt: options.germinatedAt,
    germinatedEpoch: saved.germinatedEpoch,
    isolationMs: 0,
    published: options.published,
  };
}
