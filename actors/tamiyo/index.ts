// Tamiyo's public surface: the controller actor, its configuration and policy choice, and the field-report log.
// The policy model itself (graph, network, actions, policy files) is the package-level `policy/` module.
export { tamiyoLogic, type TamiyoDeps, type TamiyoMessage } from './controller-actor.ts';
export { safePause, type TamiyoCounters } from './decision-step.ts';
export { HEURISTIC_POLICY, RANDOM_POLICY, type PolicySpec } from './policy-versions.ts';
export {
  resolveTamiyoConfig,
  TamiyoConfigError,
  type PolicyChoice,
  type TamiyoConfig,
  type TamiyoSettings,
} from './settings.ts';
export { FieldReportLog, FieldReportError, fieldReportsPath } from './field-report-log.ts';
export { resolvePolicy } from './policy-choice.ts';
