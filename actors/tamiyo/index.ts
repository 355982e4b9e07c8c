// Tamiyo's public surface: the controller actor, its configuration, and what Simic shares with it (the network,
// the graph's wire form, signed policy updates, the field-report log).
export { tamiyoLogic, safePause, KINDS as DECISION_KINDS, type TamiyoDeps, type TamiyoMessage, type TamiyoCounters } from './controller-actor.ts';
export { resolveTamiyoConfig, TamiyoConfigError, type TamiyoConfig, type TamiyoSettings } from './settings.ts';
export { TamiyoGnn, ARCHITECTURE, checkWeights, parameterCount, prepareGraph, sealWeights, weightSpec, PolicyWeightsError, type GnnOutputs, type GnnReadout } from './gnn.ts';
export { graphFromProto, graphToProto, PolicyGraphError, type PolicyGraphData } from './graph.ts';
export { signPolicyUpdate, checkPolicyUpdate } from './policy-update.ts';
export { FieldReportLog, FieldReportError } from './field-report-log.ts';
export { PRIOR_VERSION } from './policy-instance.ts';
export { fitForGrafting } from './observation.ts';
