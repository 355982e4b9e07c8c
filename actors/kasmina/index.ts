// Kasmina's public surface: the seed manager for the tree, its configuration, and the kernel source.
export { kasminaLogic, type KasminaDeps, type KasminaMessage } from './seed-manager-actor.ts';
export { resolveKasminaConfig, KasminaConfigError, type KasminaConfig, type KasminaSettings } from './settings.ts';
export { KernelSource, type KernelStore, type ProvidedKernel } from './kernel-source.ts';
export { ACTIVE_STAGES, EMBARGO_STAGES, TRIAL_STAGES, type SeedTimings } from './lifecycle.ts';
