// Weatherlight's public surface (README.md): booting a tree, and the configuration, experiment and curriculum files
// that say what it runs. The CLI, the benchmarks, experiments/*.ts and esper.config.ts import this file only.
export { startWeatherlight, type Weatherlight } from './weatherlight.ts';
export { defineConfig, validateConfig, type EsperConfig, type TreeNode } from './esper-config.ts';
export { defineExperiment, experimentConfig, isExperiment } from './experiment.ts';
export {
  defineCurriculum,
  validateCurriculum,
  isCurriculum,
  episodeExperiment,
  episodeWorkerConfig,
  failedEpisode,
  type Curriculum,
  type CurriculumTask,
} from './curriculum.ts';
export { SERVABLE, servingConfig } from './serve.ts';
export { pathOfKind } from './tree.ts';
export { resolveSigningSecret, sharedSecret } from './secret.ts';
