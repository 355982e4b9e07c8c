// Simic's public surface: the trainer actor, its configuration, and the offline training job the CLI runs.
export { simicLogic, type SimicDeps, type SimicMessage } from './policy-trainer-actor.ts';
export { resolveSimicConfig, SimicConfigError, type SimicConfig, type SimicSettings } from './settings.ts';
export { runTrainingJob, weightsOf, type TrainingJob, type TrainingOutcome } from './training-job.ts';
export { ReplayBuffer } from './replay.ts';
export { keepUpdate, policyUpdate } from './publish.ts';
export { DEFAULT_REWARD_PRICES, episodeReward, type EpisodeReward, type RewardPrices } from './learner/reward.ts';
export { episodeExperiences, REWARD_SCALE } from './learner/trajectory.ts';
export { decisionExperience, type Experience } from './experience.ts';
export { summarizeEpisode, summarizeRound, type EpisodeSummary, type RoundFigures } from './learner/summary.ts';
export { DEFAULT_PPO_CONFIG, PpoTrainer, type PpoConfig, type SavedTensor, type UpdateStats } from './ppo.ts';
