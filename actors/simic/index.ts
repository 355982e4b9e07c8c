// Simic's public surface: the trainer actor, its configuration, and the offline training job the CLI runs.
export { simicLogic, type SimicDeps, type SimicMessage } from './trainer-actor.ts';
export { resolveSimicConfig, SimicConfigError, type SimicConfig, type SimicSettings } from './settings.ts';
export { runTrainingJob, weightsOf, type TrainingJob, type TrainingOutcome } from './training-job.ts';
export { ReplayBuffer } from './replay.ts';
export { keepUpdate, policyUpdate } from './publish.ts';
