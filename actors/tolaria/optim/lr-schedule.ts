// Learning-rate schedules (docs/training-loop.md#learning-rate-schedules): constant, cosine to zero over T steps, step
// decay per epochs, and a warm-up wrapper. Pure functions of (step, epoch); the trainer calls them after incrementing
// the global step.

export interface ConstantSchedule {
  kind: 'constant';
}
export interface CosineSchedule {
  kind: 'cosine';
  /** Steps to reach zero (then zero). */
  totalSteps: number;
}
export interface StepSchedule {
  kind: 'step';
  /** Epochs between decays. */
  stepSize: number;
  gamma: number;
}
export type LrSchedule = (ConstantSchedule | CosineSchedule | StepSchedule) & {
  /** Warm-up steps (0: none): lr = base · max(0.1, (step + 1) / W), then the schedule from step − W. */
  warmupSteps?: number;
};

export class LrScheduleError extends Error {
  override readonly name = 'LrScheduleError';
}

function inner(schedule: LrSchedule, base: number, step: number, epoch: number): number {
  switch (schedule.kind) {
    case 'constant':
      return base;
    case 'cosine': {
      const total = Math.max(1, schedule.totalSteps);
      const t = Math.min(Math.max(step, 0), total);
      return base * 0.5 * (1 + Math.cos((Math.PI * t) / total));
    }
    case 'step':
      return base * schedule.gamma ** Math.floor(Math.max(0, epoch) / Math.max(1, schedule.stepSize));
  }
}

/** The learning rate at a global step (and epoch) for a base rate. */
export function learningRate(schedule: LrSchedule, base: number, step: number, epoch = 0): number {
  const warmup = schedule.warmupSteps ?? 0;
  if (warmup > 0 && step < warmup) return base * Math.max(0.1, (step + 1) / warmup);
  return inner(schedule, base, warmup > 0 ? step - warmup : step, epoch);
}

export function validateLrSchedule(schedule: LrSchedule, field = 'tolaria.lrSchedule'): void {
  const fail = (name: string, problem: string): never => {
    throw new LrScheduleError(`configuration: ${field}.${name} ${problem}`);
  };
  if (!['constant', 'cosine', 'step'].includes(schedule.kind))
    fail('kind', `must be "constant", "cosine" or "step", got ${JSON.stringify(schedule.kind)}`);
  if (schedule.warmupSteps !== undefined && !(Number.isInteger(schedule.warmupSteps) && schedule.warmupSteps >= 0))
    fail('warmupSteps', 'must be an integer >= 0');
  if (schedule.kind === 'cosine' && !(Number.isInteger(schedule.totalSteps) && schedule.totalSteps > 0))
    fail('totalSteps', 'must be an integer > 0');
  if (schedule.kind === 'step') {
    if (!(Number.isInteger(schedule.stepSize) && schedule.stepSize > 0)) fail('stepSize', 'must be an integer > 0');
    if (!(schedule.gamma > 0 && schedule.gamma <= 1)) fail('gamma', 'must be in (0, 1]');
  }
}
