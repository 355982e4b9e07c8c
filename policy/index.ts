// The policy model, shared by Tamiyo (deciding) and Simic (learning): the graph a state is read into, the network,
// the actions and their masks, how a choice is made, the proposal it becomes, and the named policies. Import from
// here only.
export {
  actionName,
  ACTIONS,
  BLENDING_METHODS,
  blendingName,
  CULL,
  GERMINATE,
  HEAD_OUTPUT,
  HEADS,
  learningRateBounds,
  LR_FACTORS,
  LR_RELATIVE_RANGE,
  maskOf,
  masksOf,
  OPTIMIZER,
  SUB_HEADS,
  WAIT,
} from './actions.ts';
export type { Choices, Head, Masks } from './actions.ts';
export { argmax, choose, headLogits, logSoftmax, type Chosen, type Strategy } from './choose.ts';
export {
  ARCHITECTURE,
  batchPrepared,
  checkWeights,
  parameterCount,
  prepareBatch,
  prepareGraph,
  sealWeights,
  TamiyoGnn,
  weightsChecksum,
  weightSpec,
  PolicyWeightsError,
} from './gnn.ts';
export type { GnnBatchOutputs, GnnOutputs, GnnReadout, PackedWeights, PreparedBatch, PreparedGraph } from './gnn.ts';
export {
  buildGraph,
  DEFAULT_GRAPH_OPTIONS,
  DEFAULT_LEARNING_RATE_RANGE,
  EDGE_DIM,
  FEATURE_DIMS,
  graphFromProto,
  graphToProto,
  NODE_TYPES,
  PolicyGraphError,
  RELATIONS,
  relationKey,
} from './graph.ts';
export type { GraphContext, GraphOptions, NodeType, PolicyGraphData } from './graph.ts';
export { DEFAULT_PRIOR_OPTIONS, heuristicPrior, type PriorDecision, type PriorOptions } from './heuristic-prior.ts';
export {
  candidateScore,
  fitForGrafting,
  freeSlots,
  plateaued,
  rankCandidates,
  slotWidth,
  type SlotInfo,
} from './observation.ts';
export { costKey, HEURISTIC_VERSION, PolicyInstance, PolicyOutputError, RANDOM_VERSION } from './policy-instance.ts';
export type { PolicyInstanceOptions, PolicyKind, PolicyMemory, PolicyMode, PolicyWorld } from './policy-instance.ts';
export { decodeParameters, proposal } from './proposal.ts';
export { scaleFeature } from './feature-scale.ts';
export {
  checkPolicyUpdate,
  PolicyFileError,
  readPolicyFile,
  signPolicyUpdate,
  type UpdateCheck,
} from './policy-update.ts';
export {
  graphSchema,
  loadShippedPolicy,
  SHIPPED_POLICY_DIR,
  SHIPPED_POLICY_MANIFEST,
  ShippedPolicyError,
  writeShippedPolicy,
  type HeldOutFigures,
  type PolicyManifest,
} from './shipped.ts';
