// Tolaria's public surface: boot-time set-up, the trainer actor, its monitor types, the configuration (with the
// dataset, optimizer and schedule types an experiment names), and the data layer's loaders and batcher.
export { setUpTrainer, defaultRunId, runsDir, type RunSelection, type TrainerSetup } from './trainer/setup.ts';
export {
  trainerLogic,
  type EpochSummary,
  type RunResult,
  type SeedSummary,
  type TrainerDeps,
  type TrainingMonitor,
} from './trainer/trainer-actor.ts';
export {
  resolveTolariaConfig,
  TolariaConfigError,
  type DatasetConfig,
  type TolariaConfig,
  type TolariaSettings,
} from './trainer/settings.ts';
export type { OptimizerConfig } from './optim/grouped-optimizer.ts';
export type { LrSchedule } from './optim/lr-schedule.ts';
export { loadDataset } from './trainer/training-run.ts';
export { Batcher, loadIdxDataset, mnistDefaultDir, prepareDataset, type Dataset } from './data/index.ts';
export { hostSlots, type HostConfig, type HostSlot } from './host/host-model.ts';
export { captureVariables, restoreVariables, type TensorMap } from './checkpoint/training-state.ts';
