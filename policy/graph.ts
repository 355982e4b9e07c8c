// The heterogeneous graph the policy reads, built from what is real: the SystemStatePacket (global metrics, seed
// states), the host's slots and their activation statistics, the candidate blueprints from Karn's catalog and what
// each would cost at each slot. Six node types, seventeen relations, 3-wide edge attributes (policy/README.md lists
// the features). Every feature is a fixed function of the state (no wall-clock figure, no adaptive scaling), so the
// same state gives the same graph, and the masks of the actions the policy may take are readable from it.
import { leyline, type v1 } from '../contracts/index.ts';
import { stableUnit } from '../runtime/stable-hash.ts';
import { EMBARGO_STAGES, TRIAL_STAGES } from '../contracts/seed-stages.ts';
import { learningRateBounds, LR_FACTORS } from './actions.ts';
import { scaleFeature } from './feature-scale.ts';
import { candidateScore, freeSlots, plateaued, seedSlotMap, slotWidth, type SlotInfo } from './observation.ts';

const { SeedLifecycleStage: Stage } = leyline;

export const NODE_TYPES = ['global', 'seed', 'blueprint', 'layer', 'activation', 'parameter'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export const FEATURE_DIMS: Readonly<Record<NodeType, number>> = {
  global: 18,
  seed: 12,
  blueprint: 10,
  layer: 8,
  activation: 6,
  parameter: 6,
};
export const EDGE_DIM = 3;

export interface Relation {
  source: NodeType;
  name: string;
  target: NodeType;
}

/** The prototype's seventeen relations, in a fixed order (the network keeps one weight set per relation). */
export const RELATIONS: readonly Relation[] = [
  ['global', 'influences', 'seed'],
  ['seed', 'reports', 'global'],
  ['global', 'annotates', 'blueprint'],
  ['blueprint', 'monitored_by', 'global'],
  ['seed', 'peer', 'seed'],
  ['global', 'operates', 'layer'],
  ['layer', 'feedback', 'global'],
  ['layer', 'activates', 'activation'],
  ['activation', 'affects', 'layer'],
  ['activation', 'configures', 'parameter'],
  ['parameter', 'modulates', 'activation'],
  ['seed', 'allowed', 'parameter'],
  ['parameter', 'associated', 'seed'],
  ['blueprint', 'composes', 'layer'],
  ['layer', 'belongs_to', 'blueprint'],
  ['blueprint', 'energizes', 'activation'],
  ['parameter', 'targets', 'blueprint'],
].map(([source, name, target]) => ({ source: source as NodeType, name: name!, target: target as NodeType }));

export const relationKey = (r: Relation): string => `${r.source}.${r.name}.${r.target}`;

export interface NodeSet {
  ids: string[];
  /** Row-major, FEATURE_DIMS[type] columns. */
  features: Float32Array;
}

export interface EdgeSet {
  sources: Int32Array;
  targets: Int32Array;
  /** Row-major, EDGE_DIM columns. */
  attributes: Float32Array;
}

export interface PolicyGraphData {
  nodes: Record<NodeType, NodeSet>;
  /** One per RELATIONS entry, same order. */
  edges: EdgeSet[];
}

/** What the decoder needs to turn node indices back into ids, slots and bounds. */
export interface GraphContext {
  /** Seed node i is this seed. */
  seeds: readonly v1.SeedState[];
  /** Layer node i is this slot. */
  slots: readonly SlotInfo[];
  /** Blueprint node i is this candidate (empty: one placeholder node, nothing to germinate). */
  candidates: readonly v1.BlueprintDescriptor[];
  /** Slots a new seed may take (no seed holds it). */
  freeSlots: ReadonlySet<string>;
  /** Seed id → slot id (from each seed's layer depth). */
  seedSlots: ReadonlyMap<string, string>;
}

export interface GraphInput {
  packet: v1.SystemStatePacket;
  slots: readonly SlotInfo[];
  /** Ranked candidates (the controller picks them); at most `maxCandidates` are used. */
  candidates: readonly v1.BlueprintDescriptor[];
  /** Validation loss per finished epoch, oldest first (trend features). */
  validationLosses: readonly number[];
  /** Trainable weights a blueprint's module adds at a slot (its cost); absent: unknown (0). */
  cost?: (blueprintId: string, slot: SlotInfo) => number;
  /** The learning rates the OPTIMIZER action may move to (inclusive), before narrowing around the starting rate. */
  learningRateRange?: readonly [number, number];
}

export interface GraphOptions {
  maxCandidates: number;
  maxParameters: number;
  plateauEpochs: number;
  plateauTolerance: number;
}

export const DEFAULT_GRAPH_OPTIONS: GraphOptions = {
  maxCandidates: 4,
  maxParameters: 8,
  plateauEpochs: 2,
  plateauTolerance: 0.01,
};

export const DEFAULT_LEARNING_RATE_RANGE: readonly [number, number] = [1e-5, 0.1];

const MAX_STAGE = 11;

/** Blending is possible for a seed in BLENDING or later, but never for one culled, embargoed or ended. */
function blendAllowed(stage: number): number {
  const ended = stage === Stage.SEED_STAGE_CULLED || stage === Stage.SEED_STAGE_TERMINATED || EMBARGO_STAGES.has(stage);
  return stage >= Stage.SEED_STAGE_BLENDING && !ended ? 1 : 0;
}

interface Bounds {
  blueprint: number;
  name: string;
  min: number;
  max: number;
}

/** A cost as the share of the host's own weights it adds, compressed (log1p) so a 4× module is not 40× a 0.1× one. */
const costFeature = (parameters: number, hostParameters: number): number =>
  hostParameters > 0 ? Math.log1p(parameters / hostParameters) : 0;

export function buildGraph(
  input: GraphInput,
  options: GraphOptions = DEFAULT_GRAPH_OPTIONS,
): { graph: PolicyGraphData; context: GraphContext } {
  const { packet, slots } = input;
  const m = packet.trainingMetrics ?? {};
  // As full messages (a packet built in process may hold plain property objects).
  const seeds = (packet.seedStates ?? []).map((seed) => leyline.SeedState.create(seed));
  const candidates = input.candidates.slice(0, options.maxCandidates);
  const seedSlots = seedSlotMap(seeds, slots);
  const free = freeSlots(seeds, slots, seedSlots);
  const hostParameters = m.host_parameters ?? 0;
  const cost = (blueprintId: string, slot: SlotInfo): number =>
    costFeature(input.cost?.(blueprintId, slot) ?? 0, hostParameters);

  // global
  const losses = input.validationLosses;
  const last = losses.at(-1);
  const previous = losses.at(-2);
  const epochsTotal = m.epochs_total ?? 0;
  const trial = seeds.filter((s) => TRIAL_STAGES.has(s.stage)).length;
  const seedParameters = seeds
    .filter((s) => TRIAL_STAGES.has(s.stage) || s.stage === Stage.SEED_STAGE_FOSSILIZED)
    .reduce((n, s) => n + (s.metrics?.parameters ?? 0), 0);
  const learningRate = m.learning_rate ?? 0;
  const initialRate = m.initial_learning_rate ?? 0;
  const [lowest, highest] = learningRateBounds(initialRate, input.learningRateRange ?? DEFAULT_LEARNING_RATE_RANGE);
  const global = new Float32Array(FEATURE_DIMS.global);
  global.set([
    scaleFeature('validation_loss', packet.validationLoss || undefined),
    scaleFeature('training_loss', packet.trainingLoss || undefined),
    scaleFeature('gradient_norm', m.gradient_norm),
    packet.validationAccuracy ?? 0,
    epochsTotal > 0 ? packet.currentEpoch / epochsTotal : 0,
    Math.log1p(Number(packet.globalStep ?? 0)) / 10,
    seeds.length,
    last !== undefined && previous !== undefined && previous > 0 ? (previous - last) / previous : 0,
    plateaued(losses, options.plateauEpochs, options.plateauTolerance) ? 1 : 0,
    learningRate > 0 ? -Math.log10(learningRate) / 5 : 0,
    learningRate > 0 && initialRate > 0 ? Math.log2(learningRate / initialRate) / 4 : 0,
    m.conservative ?? 0,
    slots.length > 0 ? free.size / slots.length : 0,
    slots.length > 0 ? trial / slots.length : 0,
    hostParameters > 0 ? seedParameters / hostParameters : 0,
    hostParameters > 0 ? Math.log10(hostParameters) / 6 : 0,
    learningRate > 0 && learningRate * LR_FACTORS[0] >= lowest * (1 - 1e-9) ? 1 : 0,
    learningRate > 0 && learningRate * LR_FACTORS[1] <= highest * (1 + 1e-9) ? 1 : 0,
  ]);

  // seeds
  const seedFeatures = new Float32Array(seeds.length * FEATURE_DIMS.seed);
  seeds.forEach((seed, i) => {
    const sm = seed.metrics ?? {};
    seedFeatures.set(
      [
        scaleFeature('seed_learning_rate', seed.learningRate),
        seed.riskScore ?? 0,
        scaleFeature('gradient_norm', seed.gradientNorm),
        (seed.ageEpochs ?? 0) / 10,
        seed.stage / MAX_STAGE,
        slots.length > 0 ? (seed.layerDepth ?? 0) / slots.length : 0,
        costFeature(sm.parameters ?? 0, hostParameters),
        sm.alpha ?? 0,
        sm.paused ?? 0,
        Math.min(1, sm.isolation_violations ?? 0),
        TRIAL_STAGES.has(seed.stage) ? 1 : 0,
        blendAllowed(seed.stage),
      ],
      i * FEATURE_DIMS.seed,
    );
  });

  // blueprints (a placeholder node when there is no candidate, so the graph keeps its shape)
  const blueprintCount = Math.max(1, candidates.length);
  const blueprintFeatures = new Float32Array(blueprintCount * FEATURE_DIMS.blueprint);
  candidates.forEach((d, i) => {
    const costs = slots.map((slot) => cost(d.blueprintId, slot));
    blueprintFeatures.set(
      [
        stableUnit(d.blueprintId),
        d.risk,
        d.stage / 10,
        d.tier / 10,
        Math.tanh(Object.keys(d.allowedParameters ?? {}).length / 4),
        candidateScore(d),
        d.quarantineOnly ? 1 : 0,
        d.approvalRequired ? 1 : 0,
        costs.length > 0 ? costs.reduce((a, b) => a + b, 0) / costs.length : 0,
        costs.length > 0 ? Math.min(...costs) : 0,
      ],
      i * FEATURE_DIMS.blueprint,
    );
  });

  // layers and activations: one of each per host slot
  const L = slots.length;
  const narrowest = [...slots].filter((s) => free.has(s.id)).sort((a, b) => slotWidth(a) - slotWidth(b))[0]?.id;
  const layerFeatures = new Float32Array(L * FEATURE_DIMS.layer);
  const activationFeatures = new Float32Array(L * FEATURE_DIMS.activation);
  slots.forEach((slot, i) => {
    const here = seeds.filter((s) => seedSlots.get(s.seedId) === slot.id);
    layerFeatures.set(
      [
        (i + 1) / L,
        Math.log2(slotWidth(slot)) / 12,
        here.some((s) => TRIAL_STAGES.has(s.stage)) ? 1 : 0,
        here.some((s) => EMBARGO_STAGES.has(s.stage)) ? 1 : 0,
        stableUnit(slot.dims.length > 1 ? 'conv' : 'dense'),
        here.filter((s) => s.stage === Stage.SEED_STAGE_FOSSILIZED).length,
        slot.id === narrowest ? 1 : 0,
        free.has(slot.id) ? 1 : 0,
      ],
      i * FEATURE_DIMS.layer,
    );
    const mean = m[`slot.${slot.id}.mean`];
    const std = m[`slot.${slot.id}.std`];
    const absMax = m[`slot.${slot.id}.abs_max`];
    activationFeatures.set(
      [
        stableUnit('relu'),
        scaleFeature('activation_mean', mean),
        scaleFeature('activation_std', std),
        scaleFeature('activation_abs_max', absMax),
        std !== undefined && absMax !== undefined && absMax > 0 ? std / absMax : 0,
        i / Math.max(1, L - 1),
      ],
      i * FEATURE_DIMS.activation,
    );
  });

  // parameters: each candidate's bounds (capped), or the prototype's single default α
  const bounds: Bounds[] = [];
  candidates.forEach((d, b) => {
    for (const [name, range] of Object.entries(d.allowedParameters ?? {}).sort(([a], [c]) => a.localeCompare(c))) {
      bounds.push({ blueprint: b, name, min: range.minValue ?? 0, max: range.maxValue ?? 0 });
    }
  });
  if (bounds.length === 0) bounds.push({ blueprint: 0, name: 'alpha', min: 0, max: 1 });
  const params = bounds.slice(0, options.maxParameters);
  const parameterFeatures = new Float32Array(params.length * FEATURE_DIMS.parameter);
  params.forEach((p, i) => {
    const d = candidates[p.blueprint];
    parameterFeatures.set(
      [
        scaleFeature('parameter_min', p.min),
        scaleFeature('parameter_max', p.max),
        scaleFeature('parameter_span', p.max - p.min),
        scaleFeature('parameter_default', (p.min + p.max) / 2),
        d?.risk ?? 0,
        (d?.stage ?? 0) / 10,
      ],
      i * FEATURE_DIMS.parameter,
    );
  });

  const nodes: Record<NodeType, NodeSet> = {
    global: { ids: ['global'], features: global },
    seed: { ids: seeds.map((s, i) => s.seedId || `seed-${i}`), features: seedFeatures },
    blueprint: {
      ids: candidates.length > 0 ? candidates.map((d) => d.blueprintId) : ['none'],
      features: blueprintFeatures,
    },
    layer: { ids: slots.map((s) => s.id), features: layerFeatures },
    activation: { ids: slots.map((s) => `${s.id}.act`), features: activationFeatures },
    parameter: {
      ids: params.map((p) => `${candidates[p.blueprint]?.blueprintId ?? 'default'}.${p.name}`),
      features: parameterFeatures,
    },
  };

  const S = seeds.length;
  const A = L;
  const P = params.length;
  const bpRisk = (b: number): number => candidates[b]?.risk ?? 0;
  const bpStage = (b: number): number => candidates[b]?.stage ?? 0;
  const edges = new Map<string, Array<[number, number, number, number, number]>>();
  const add = (key: string, s: number, t: number, a: [number, number, number]): void => {
    const list = edges.get(key) ?? [];
    list.push([s, t, ...a]);
    edges.set(key, list);
  };
  const both = (forward: string, backward: string, s: number, t: number, a: [number, number, number]): void => {
    add(forward, s, t, a);
    add(backward, t, s, a);
  };
  seeds.forEach((seed, i) =>
    both('global.influences.seed', 'seed.reports.global', 0, i, [1, seed.stage / MAX_STAGE, seed.riskScore ?? 0]),
  );
  for (let b = 0; b < blueprintCount; b++)
    both('global.annotates.blueprint', 'blueprint.monitored_by.global', 0, b, [1, bpStage(b), bpRisk(b)]);
  for (let i = 0; i + 1 < S; i++) add('seed.peer.seed', i, i + 1, [0.5, 0, 0]);
  for (let i = 0; i < L; i++) both('global.operates.layer', 'layer.feedback.global', 0, i, [1, (i + 1) / L, 0]);
  // A slot's activation node carries that slot's statistics: layer i ↔ activation i (the prototype joined all pairs).
  for (let i = 0; i < L; i++)
    both('layer.activates.activation', 'activation.affects.layer', i, i, [(i + 1) / L, (i + 1) / A, 1]);
  for (let a = 0; a < A; a++)
    for (let p = 0; p < P; p++)
      both('activation.configures.parameter', 'parameter.modulates.activation', a, p, [(a + 1) / A, (p + 1) / P, 1]);
  seeds.forEach((seed, i) => {
    for (let p = 0; p < P; p++)
      both('seed.allowed.parameter', 'parameter.associated.seed', i, p, [
        blendAllowed(seed.stage),
        1,
        seed.stage / MAX_STAGE,
      ]);
  });
  for (let b = 0; b < blueprintCount; b++) {
    // A blueprint's edge to a slot carries what its module would cost there.
    for (let i = 0; i < L; i++)
      both('blueprint.composes.layer', 'layer.belongs_to.blueprint', b, i, [
        bpRisk(b),
        (i + 1) / L,
        candidates[b] ? cost(candidates[b]!.blueprintId, slots[i]!) : 0,
      ]);
    for (let a = 0; a < A; a++) add('blueprint.energizes.activation', b, a, [bpRisk(b), (a + 1) / A, 1]);
  }
  params.forEach((p, i) => add('parameter.targets.blueprint', i, p.blueprint, [(i + 1) / P, bpRisk(p.blueprint), 1]));

  const edgeSets = RELATIONS.map((r) => {
    const list = edges.get(relationKey(r)) ?? [];
    return {
      sources: Int32Array.from(list, (e) => e[0]),
      targets: Int32Array.from(list, (e) => e[1]),
      attributes: Float32Array.from(list.flatMap((e) => [e[2], e[3], e[4]])),
    };
  });
  return { graph: { nodes, edges: edgeSets }, context: { seeds, slots, candidates, freeSlots: free, seedSlots } };
}

/** The graph as its Leyline form (what a FieldReport carries for Simic). */
export function graphToProto(graph: PolicyGraphData): v1.PolicyGraph {
  return leyline.PolicyGraph.create({
    nodes: NODE_TYPES.map((type) =>
      leyline.PolicyNodeSet.create({
        nodeType: type,
        featureDim: FEATURE_DIMS[type],
        features: Array.from(graph.nodes[type].features),
        nodeIds: graph.nodes[type].ids,
      }),
    ),
    edges: RELATIONS.map((r, i) =>
      leyline.PolicyEdgeSet.create({
        relation: relationKey(r),
        sources: Array.from(graph.edges[i]!.sources),
        targets: Array.from(graph.edges[i]!.targets),
        attributes: Array.from(graph.edges[i]!.attributes),
      }),
    ),
  });
}

export class PolicyGraphError extends Error {
  override readonly name = 'PolicyGraphError';
}

/** Reads a graph back from its Leyline form, checking every shape and index (it may come from another process). */
export function graphFromProto(proto: v1.PolicyGraph): PolicyGraphData {
  const nodes = {} as Record<NodeType, NodeSet>;
  for (const type of NODE_TYPES) {
    const set = (proto.nodes ?? []).find((n) => n.nodeType === type);
    if (!set) throw new PolicyGraphError(`policy graph: node type ${type} is missing`);
    const dim = FEATURE_DIMS[type];
    const features = set.features ?? [];
    const ids = set.nodeIds ?? [];
    if (set.featureDim !== dim || features.length !== ids.length * dim) {
      throw new PolicyGraphError(
        `policy graph: ${type} nodes have ${features.length} features for ${ids.length} nodes of ${set.featureDim ?? 0} (expected ${dim})`,
      );
    }
    nodes[type] = { ids: [...ids], features: Float32Array.from(features) };
  }
  if (nodes.global.ids.length !== 1) throw new PolicyGraphError('policy graph: exactly one global node expected');
  const edges = RELATIONS.map((r) => {
    const key = relationKey(r);
    const set = (proto.edges ?? []).find((e) => e.relation === key);
    if (!set) throw new PolicyGraphError(`policy graph: relation ${key} is missing`);
    const sources = Int32Array.from(set.sources ?? []);
    const targets = Int32Array.from(set.targets ?? []);
    const attributes = Float32Array.from(set.attributes ?? []);
    if (targets.length !== sources.length || attributes.length !== sources.length * EDGE_DIM)
      throw new PolicyGraphError(`policy graph: relation ${key} has mismatched edge arrays`);
    if (sources.some((s) => s >= nodes[r.source].ids.length) || targets.some((t) => t >= nodes[r.target].ids.length)) {
      throw new PolicyGraphError(`policy graph: relation ${key} refers to a node that does not exist`);
    }
    return { sources, targets, attributes };
  });
  return { nodes, edges };
}
