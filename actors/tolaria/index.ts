// Tolaria's public surface: boot-time set-up, the trainer actor, its monitor types, and the configuration.
export { setUpTrainer, defaultRunId, runsDir, type RunSelection, type TrainerSetup } from './trainer/setup.ts';
export { trainerLogic, type EpochSummary, type RunResult, type SeedSummary, type TrainerDeps, type TrainingMonitor } from './trainer/trainer-actor.ts';
export { resolveTolariaConfig, TolariaConfigError, type TolariaConfig, type TolariaSettings } from './trainer/settings.ts';
export { hostSlots, type HostConfig, type HostSlot } from './host/host-model.ts';
export { captureVariables, restoreVariables, type TensorMap } from './checkpoint/training-state.ts';
