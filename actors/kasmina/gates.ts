// The gates G0–G5 as pure functions of measurements (docs/seed-lifecycle.md#gates). Each returns a
// GateResult: passed, the reason when not, and the measured figures as attributes (for the gate event).
import { leyline, type v1 } from '../../contracts/index.ts';
import { validateRequest, type KarnCatalogReader, type RequestParameters } from '../karn/index.ts';

const { SeedLifecycleGate: Gate } = leyline;

export interface GateResult {
  gate: v1.SeedLifecycleGate;
  passed: boolean;
  /** Empty when passed. */
  reason: string;
  attributes: Record<string, string>;
}

const result = (
  gate: v1.SeedLifecycleGate,
  reason: string | null,
  attributes: Record<string, string> = {},
): GateResult => ({
  gate,
  passed: reason === null,
  reason: reason ?? '',
  attributes,
});

/** G0 sanity: the blueprint is in Karn's catalog and its parameters are declared, finite and within bounds. */
export function gateSanity(catalog: KarnCatalogReader, blueprintId: string, parameters: RequestParameters): GateResult {
  if (blueprintId.trim() === '') return result(Gate.SEED_GATE_G0_SANITY, 'missing blueprint id');
  try {
    validateRequest(catalog, blueprintId, parameters);
    return result(Gate.SEED_GATE_G0_SANITY, null, { blueprint_id: blueprintId });
  } catch (error) {
    return result(Gate.SEED_GATE_G0_SANITY, (error as Error).message, { blueprint_id: blueprintId });
  }
}

export interface GradientHealth {
  /** Global L2 norm of the seed's gradients this step. */
  seedGradNorm: number;
  /** Isolation violations measured so far (isolation.ts). */
  isolationViolations: number;
}

/** G1 gradient health: the seed's gradients are finite and within `maxGradNorm`, and isolation holds. */
export function gateGradientHealth(health: GradientHealth, maxGradNorm: number): GateResult {
  const attributes = {
    grad_norm: health.seedGradNorm.toPrecision(4),
    isolation_violations: String(health.isolationViolations),
  };
  if (!Number.isFinite(health.seedGradNorm))
    return result(Gate.SEED_GATE_G1_GRADIENT_HEALTH, 'seed gradients are not finite', attributes);
  if (health.seedGradNorm > maxGradNorm) {
    return result(
      Gate.SEED_GATE_G1_GRADIENT_HEALTH,
      `seed gradient norm ${health.seedGradNorm.toPrecision(4)} exceeds ${maxGradNorm}`,
      attributes,
    );
  }
  if (health.isolationViolations > 0)
    return result(Gate.SEED_GATE_G1_GRADIENT_HEALTH, 'gradient isolation violations present', attributes);
  return result(Gate.SEED_GATE_G1_GRADIENT_HEALTH, null, attributes);
}

export interface Stability {
  /** The attached kernel's fetch latency (the fallback's own, when it is the fallback). */
  kernelLatencyMs: number;
  latencyBudgetMs: number;
  /** The seed's losses over its TRAINING steps, oldest first. */
  seedLosses: readonly number[];
  /**
   * The later half's mean may exceed the earlier half's by this fraction at most. Default 0.25: a report's mean loss
   * over a few steps is noisy (±15 % measured on MNIST at 10–20 steps), and G2 is after divergence, not noise.
   */
  tolerance?: number;
}

/** G2 stability: the kernel met its latency budget and the seed's loss is finite and not rising. */
export function gateStability(stability: Stability): GateResult {
  const { kernelLatencyMs, latencyBudgetMs, seedLosses, tolerance = 0.25 } = stability;
  const half = Math.floor(seedLosses.length / 2);
  const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const early = mean(seedLosses.slice(0, half));
  const late = mean(seedLosses.slice(half));
  const attributes = {
    latency_ms: kernelLatencyMs.toFixed(3),
    loss_early: early.toPrecision(4),
    loss_late: late.toPrecision(4),
  };
  if (kernelLatencyMs > latencyBudgetMs)
    return result(
      Gate.SEED_GATE_G2_STABILITY,
      `kernel latency ${kernelLatencyMs.toFixed(2)} ms exceeds the ${latencyBudgetMs} ms budget`,
      attributes,
    );
  if (!seedLosses.every(Number.isFinite))
    return result(Gate.SEED_GATE_G2_STABILITY, 'seed loss is not finite', attributes);
  if (half > 0 && late > early * (1 + tolerance))
    return result(
      Gate.SEED_GATE_G2_STABILITY,
      `seed loss rising (${early.toPrecision(4)} → ${late.toPrecision(4)})`,
      attributes,
    );
  return result(Gate.SEED_GATE_G2_STABILITY, null, attributes);
}

/** G3 interface: the module maps the slot's activation shape to itself. */
export function gateInterface(slotDims: readonly number[], moduleDims: readonly number[]): GateResult {
  const attributes = { slot: `[${slotDims.join(',')}]`, module: `[${moduleDims.join(',')}]` };
  if (slotDims.join(',') !== moduleDims.join(','))
    return result(
      Gate.SEED_GATE_G3_INTERFACE,
      `module shape ${attributes.module} does not fit slot ${attributes.slot}`,
      attributes,
    );
  return result(Gate.SEED_GATE_G3_INTERFACE, null, attributes);
}

export interface SystemImpact {
  /** Host validation loss with the seed as it is grafted now, and with the slot passing the host's own output. */
  withSeed: number;
  withoutSeed: number;
  /** Allowed relative worsening. Default 0.02. */
  tolerance?: number;
}

/** G4 system impact: the host with the seed is not worse on validation data than without it (within tolerance). */
export function gateSystemImpact(impact: SystemImpact): GateResult {
  const { withSeed, withoutSeed, tolerance = 0.02 } = impact;
  const attributes = { loss_with_seed: withSeed.toPrecision(5), loss_without_seed: withoutSeed.toPrecision(5) };
  if (!Number.isFinite(withSeed))
    return result(Gate.SEED_GATE_G4_SYSTEM_IMPACT, 'validation loss with the seed is not finite', attributes);
  if (withSeed > withoutSeed * (1 + tolerance)) {
    return result(
      Gate.SEED_GATE_G4_SYSTEM_IMPACT,
      `validation loss with the seed ${withSeed.toPrecision(5)} is worse than without ${withoutSeed.toPrecision(5)}`,
      attributes,
    );
  }
  return result(Gate.SEED_GATE_G4_SYSTEM_IMPACT, null, attributes);
}

export interface ResetFacts {
  /** The seed's module is out of the graft table. */
  detached: boolean;
  /** Its tensors were disposed (the tensor count fell by the module's count). */
  tensorsReleased: boolean;
  /** Its parameters are no longer registered to it. */
  registryReleased: boolean;
}

/** G5 reset: nothing of the old module remains. */
export function gateReset(facts: ResetFacts): GateResult {
  const missing = Object.entries(facts)
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  return result(
    Gate.SEED_GATE_G5_RESET,
    missing.length ? `reset state not clean: ${missing.join(', ')} not done` : null,
  );
}
