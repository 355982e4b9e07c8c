// The blend weight α while a seed is BLENDING, as a function of the steps spent blending (docs/seed-lifecycle.md):
// sigmoid σ((k − total/2) / T) by default (total 20, T 2.0: the prototype's vector), or linear or cosine ramps.
// The sigmoid never reaches 1 by schedule; the lifecycle sets α = 1 when the seed leaves BLENDING.

export type AlphaSchedule =
  | { kind: 'sigmoid'; totalSteps: number; temperature: number }
  | { kind: 'linear'; totalSteps: number }
  | { kind: 'cosine'; totalSteps: number };

const DEFAULT_SIGMOID_TEMPERATURE = 2;
export const DEFAULT_ALPHA_SCHEDULE: AlphaSchedule = {
  kind: 'sigmoid',
  totalSteps: 20,
  temperature: DEFAULT_SIGMOID_TEMPERATURE,
};

/** α after `step` blending steps, in [0, 1]; a schedule of 0 steps is fully blended at once. */
export function alphaAt(schedule: AlphaSchedule, step: number): number {
  const total = schedule.totalSteps;
  if (total <= 0) return 1;
  const k = Math.max(0, step);
  switch (schedule.kind) {
    case 'sigmoid':
      // Rounded through float32, as the prototype computes it.
      return Math.fround(1 / (1 + Math.exp(-(k - total / 2) / Math.max(schedule.temperature, 1e-6))));
    case 'linear':
      return Math.min(1, k / total);
    case 'cosine':
      return k >= total ? 1 : 0.5 * (1 - Math.cos((Math.PI * k) / total));
  }
}

export function validateAlphaSchedule(schedule: AlphaSchedule, field: string): string | null {
  if (!['sigmoid', 'linear', 'cosine'].includes(schedule.kind))
    return `${field}.kind must be "sigmoid", "linear" or "cosine"`;
  if (!Number.isInteger(schedule.totalSteps) || schedule.totalSteps < 0)
    return `${field}.totalSteps must be an integer >= 0`;
  if (schedule.kind === 'sigmoid' && !(schedule.temperature > 0)) return `${field}.temperature must be > 0`;
  return null;
}

/** The configured schedule with its kind replaced by `method` (linear, cosine or sigmoid) when one is named. */
export function blendingSchedule(configured: AlphaSchedule, method: string | undefined): AlphaSchedule {
  if (method === 'linear' || method === 'cosine') return { kind: method, totalSteps: configured.totalSteps };
  if (method === 'sigmoid' && configured.kind !== 'sigmoid')
    return { kind: 'sigmoid', totalSteps: configured.totalSteps, temperature: DEFAULT_SIGMOID_TEMPERATURE };
  return configured;
}
