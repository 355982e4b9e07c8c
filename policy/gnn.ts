// The policy network, a heterogeneous GNN in TensorFlow.js: a node encoder per type (Linear → exact GELU →
// LayerNorm), one GraphSAGE layer and one GAT layer (edge features, one head, no self loops) with one weight set per
// relation, relations mean-aggregated per destination type, then the heads (policy/README.md). Inference is
// deterministic (no dropout).
//
// Message passing is batched over all seventeen relations and built from gather / segment-sum ops: the per-relation
// weights are stacked ([R, in, out]) and applied to every node at once; edges gather their source's row, rows
// (relation, target) sum their edges, nodes sum their rows. Index arrays are built on the CPU per graph (graphs
// have tens of nodes). The whole forward pass is about a hundred kernels, none per relation. (On WASM,
// UnsortedSegmentSum — also tf.gather's gradient — is ours: tensor/wasm-kernels.) The kernel count does not grow
// with the graph, so training runs a whole minibatch as one graph (`prepareBatch`, `forwardBatch`): the disjoint
// union of its graphs, the graph-level heads read from each graph's global node.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { leyline, type v1 } from '../contracts/index.ts';
import { mulberry32 } from '../runtime/seeded-random.ts';
import { EDGE_DIM, FEATURE_DIMS, NODE_TYPES, RELATIONS, type NodeType, type PolicyGraphData } from './graph.ts';

/** Version 2: four actions (wait, germinate, cull, optimizer) and an lr head; deterministic graph features. */
export const ARCHITECTURE = 'tamiyo_gnn_v2';

export interface GnnDims {
  hidden: number;
  headHidden: number;
  policyClasses: number;
  lrClasses: number;
  blendingClasses: number;
  riskClasses: number;
  scheduleOutputs: number;
  breakerClasses: number;
}

/** H 48, one attention head, the four actions of actions.ts, two learning-rate factors. */
export const TAMIYO_GNN_DIMS: GnnDims = {
  hidden: 48,
  headHidden: 24,
  policyClasses: 4,
  lrClasses: 2,
  blendingClasses: 3,
  riskClasses: 5,
  scheduleOutputs: 2,
  breakerClasses: 2,
};

export interface TensorSpec {
  name: string;
  shape: number[];
}

/**
 * Every weight, in a fixed order: the encoders, the message passing, and the heads — graph-level (policy, learning
 * rate, blending, risk, value, schedule, breaker, parameter delta) and per node (a score per seed, blueprint and
 * slot, so the policy chooses which seed to cull, what to germinate and where).
 */
export function weightSpec(dims: GnnDims = TAMIYO_GNN_DIMS): TensorSpec[] {
  const H = dims.hidden;
  const R = RELATIONS.length;
  const specs: TensorSpec[] = [];
  const linear = (name: string, inputs: number, outputs: number): void => {
    specs.push({ name: `${name}.weight`, shape: [inputs, outputs] }, { name: `${name}.bias`, shape: [outputs] });
  };
  for (const type of NODE_TYPES) {
    linear(`encoder.${type}`, FEATURE_DIMS[type], H);
    specs.push({ name: `encoder.${type}.norm.gamma`, shape: [H] }, { name: `encoder.${type}.norm.beta`, shape: [H] });
  }
  specs.push(
    { name: 'sage.lin_l.weight', shape: [R, H, H] },
    { name: 'sage.lin_l.bias', shape: [R, 1, H] },
    { name: 'sage.lin_r.weight', shape: [R, H, H] },
    { name: 'gat.lin_src.weight', shape: [R, H, H] },
    { name: 'gat.lin_dst.weight', shape: [R, H, H] },
    { name: 'gat.lin_edge.weight', shape: [R, EDGE_DIM, H] },
    { name: 'gat.att_src', shape: [R, H] },
    { name: 'gat.att_dst', shape: [R, H] },
    { name: 'gat.att_edge', shape: [R, H] },
    { name: 'gat.bias', shape: [R, 1, H] },
  );
  linear('head.policy', H, dims.policyClasses);
  linear('head.lr', H, dims.lrClasses);
  linear('head.param_delta.0', H, dims.headHidden);
  linear('head.param_delta.1', dims.headHidden, 1);
  linear('head.blending', H, dims.blendingClasses);
  linear('head.risk', H, dims.riskClasses);
  linear('head.value', H, 1);
  linear('head.schedule.0', H, dims.headHidden);
  linear('head.schedule.1', dims.headHidden, dims.scheduleOutputs);
  linear('head.breaker', H, dims.breakerClasses);
  linear('head.seed_score', H, 1);
  linear('head.blueprint_score', H, 1);
  linear('head.slot_score', H, 1);
  return specs;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function parameterCount(dims: GnnDims = TAMIYO_GNN_DIMS): number {
  return weightSpec(dims).reduce((n, spec) => n + size(spec.shape), 0);
}

/**
 * Initial values: Glorot-uniform weights, zero biases, unit LayerNorm gains. The policy head starts from its bias
 * alone (zero weights): WAIT twice as likely as each other action, whatever the state, until learning moves it.
 */
function initialValues(spec: TensorSpec, random: () => number): Float32Array {
  const values = new Float32Array(size(spec.shape));
  if (spec.name.endsWith('.gamma')) values.fill(1);
  else if (spec.name === 'head.policy.bias') values.set([Math.log(2), 0, 0, 0].slice(0, values.length));
  else if (spec.name === 'head.policy.weight' || spec.name.endsWith('.bias') || spec.name.endsWith('.beta'))
    values.fill(0);
  else {
    const [fanIn, fanOut] = spec.shape.length === 1 ? [spec.shape[0]!, 1] : spec.shape.slice(-2);
    const limit = Math.sqrt(6 / (fanIn! + fanOut!));
    for (let i = 0; i < values.length; i++) values[i] = (random() * 2 - 1) * limit;
  }
  return values;
}

/**
 * The index arrays message passing reads (built on the CPU). A "row" is one (relation, target node) pair for every
 * node of the relation's target type: M = Σ_r |target type of r| rows. Per-relation transforms of all nodes are laid
 * out as [N·R, H] (row n·R + r is node n through relation r's weight), so an edge reads its source's row by one gather.
 */
export interface GraphArrays {
  nodeCount: number;
  edgeCount: number;
  rowCount: number;
  /** [N, F] every node's features, zero-padded to the widest type (F columns). */
  inputs: Float32Array;
  /** [N, T] one-hot type of each node. */
  nodeType: Float32Array;
  /** [E] source node · R + relation: the edge's source through its relation. */
  edgeSource: Int32Array;
  /** [E] the row the edge arrives at; [E] its relation. */
  edgeRow: Int32Array;
  edgeRelation: Int32Array;
  /** [E, 3] edge attributes. */
  attributes: Float32Array;
  /** [M] target node · R + relation; [M] the target node; [M] the relation. */
  rowSelf: Int32Array;
  rowNode: Int32Array;
  rowRelation: Int32Array;
  /** [M, 1] 1 / (edges arriving at the row), 0 for none: the SAGE mean. */
  inverseIncoming: Float32Array;
  /** [M, 1] 1 / (relations into the target's type): the mean over relations. */
  rowMix: Float32Array;
}

/** One graph's arrays; its nodes are stacked by type (NODE_TYPES order, the global node first). */
export interface PreparedGraph extends GraphArrays {
  /** Node count per type and where each type starts in the stacked node matrix (NODE_TYPES order). */
  counts: Record<NodeType, number>;
  offsets: Record<NodeType, number>;
}

/** The node types with a score head (a score per node: which seed, blueprint, slot). */
export type ScoredType = 'seed' | 'blueprint' | 'layer';
export const SCORED_TYPES: readonly ScoredType[] = ['seed', 'blueprint', 'layer'];

/**
 * Several graphs as one: their disjoint union (graph-major: graph 0's nodes and rows, then graph 1's, ...), so one
 * forward pass serves a whole minibatch. Nothing crosses between graphs: every edge stays inside its own graph.
 */
export interface PreparedBatch extends GraphArrays {
  graphCount: number;
  /** [B] each graph's global node (its embedding). */
  globalRows: Int32Array;
  /** Per score head: the rows of its nodes (graph-major, each graph's in its own order) and their graph index. */
  scoreRows: Record<ScoredType, Int32Array>;
  scoreSegments: Record<ScoredType, Int32Array>;
}

export function prepareGraph(graph: PolicyGraphData): PreparedGraph {
  const counts = {} as Record<NodeType, number>;
  const offsets = {} as Record<NodeType, number>;
  let N = 0;
  for (const type of NODE_TYPES) {
    counts[type] = graph.nodes[type].ids.length;
    offsets[type] = N;
    N += counts[type];
  }
  const T = NODE_TYPES.length;
  const inputs = new Float32Array(N * MAX_FEATURES);
  const nodeType = new Float32Array(N * T);
  NODE_TYPES.forEach((type, t) => {
    const dim = FEATURE_DIMS[type];
    for (let i = 0; i < counts[type]; i++) {
      const node = offsets[type] + i;
      inputs.set(graph.nodes[type].features.subarray(i * dim, (i + 1) * dim), node * MAX_FEATURES);
      nodeType[node * T + t] = 1;
    }
  });
  const R = RELATIONS.length;
  const relationsInto = new Map<NodeType, number>();
  for (const rel of RELATIONS) relationsInto.set(rel.target, (relationsInto.get(rel.target) ?? 0) + 1);
  const rowStart: number[] = [];
  let M = 0;
  for (const rel of RELATIONS) {
    rowStart.push(M);
    M += counts[rel.target];
  }
  const rowSelf = new Int32Array(M);
  const rowNode = new Int32Array(M);
  const rowRelation = new Int32Array(M);
  const rowMix = new Float32Array(M);
  RELATIONS.forEach((rel, r) => {
    for (let i = 0; i < counts[rel.target]; i++) {
      const row = rowStart[r]! + i;
      const node = offsets[rel.target] + i;
      rowSelf[row] = node * R + r;
      rowNode[row] = node;
      rowRelation[row] = r;
      rowMix[row] = 1 / relationsInto.get(rel.target)!;
    }
  });
  const E = graph.edges.reduce((n, set) => n + set.sources.length, 0);
  const edgeSource = new Int32Array(E);
  const edgeRow = new Int32Array(E);
  const edgeRelation = new Int32Array(E);
  const attributes = new Float32Array(E * EDGE_DIM);
  const incoming = new Float32Array(M);
  let e = 0;
  RELATIONS.forEach((rel, r) => {
    const set = graph.edges[r]!;
    for (let k = 0; k < set.sources.length; k++, e++) {
      const row = rowStart[r]! + set.targets[k]!;
      edgeSource[e] = (offsets[rel.source] + set.sources[k]!) * R + r;
      edgeRow[e] = row;
      edgeRelation[e] = r;
      attributes.set(set.attributes.subarray(k * EDGE_DIM, (k + 1) * EDGE_DIM), e * EDGE_DIM);
      incoming[row]! += 1;
    }
  });
  const inverseIncoming = incoming.map((count) => (count > 0 ? 1 / count : 0));
  return {
    counts,
    offsets,
    nodeCount: N,
    edgeCount: E,
    rowCount: M,
    inputs,
    nodeType,
    edgeSource,
    edgeRow,
    edgeRelation,
    attributes,
    rowSelf,
    rowNode,
    rowRelation,
    inverseIncoming,
    rowMix,
  };
}

/** The disjoint union of `graphs` (see PreparedBatch). */
export function prepareBatch(graphs: readonly PolicyGraphData[]): PreparedBatch {
  return batchPrepared(graphs.map(prepareGraph));
}

/** prepareBatch of graphs already prepared: their arrays concatenated, every index moved by its graph's base. */
export function batchPrepared(graphs: readonly PreparedGraph[]): PreparedBatch {
  const R = RELATIONS.length;
  const T = NODE_TYPES.length;
  const total = (key: 'nodeCount' | 'edgeCount' | 'rowCount'): number => graphs.reduce((n, g) => n + g[key], 0);
  const [N, E, M] = [total('nodeCount'), total('edgeCount'), total('rowCount')];
  const batch: PreparedBatch = {
    graphCount: graphs.length,
    nodeCount: N,
    edgeCount: E,
    rowCount: M,
    inputs: new Float32Array(N * MAX_FEATURES),
    nodeType: new Float32Array(N * T),
    edgeSource: new Int32Array(E),
    edgeRow: new Int32Array(E),
    edgeRelation: new Int32Array(E),
    attributes: new Float32Array(E * EDGE_DIM),
    rowSelf: new Int32Array(M),
    rowNode: new Int32Array(M),
    rowRelation: new Int32Array(M),
    inverseIncoming: new Float32Array(M),
    rowMix: new Float32Array(M),
    globalRows: new Int32Array(graphs.length),
    scoreRows: { seed: new Int32Array(0), blueprint: new Int32Array(0), layer: new Int32Array(0) },
    scoreSegments: { seed: new Int32Array(0), blueprint: new Int32Array(0), layer: new Int32Array(0) },
  };
  const shifted = (target: Int32Array, source: Int32Array, at: number, by: number): void => {
    for (let i = 0; i < source.length; i++) target[at + i] = source[i]! + by;
  };
  let [n, e, m] = [0, 0, 0];
  graphs.forEach((g, b) => {
    batch.inputs.set(g.inputs, n * MAX_FEATURES);
    batch.nodeType.set(g.nodeType, n * T);
    shifted(batch.edgeSource, g.edgeSource, e, n * R);
    shifted(batch.edgeRow, g.edgeRow, e, m);
    batch.edgeRelation.set(g.edgeRelation, e);
    batch.attributes.set(g.attributes, e * EDGE_DIM);
    shifted(batch.rowSelf, g.rowSelf, m, n * R);
    shifted(batch.rowNode, g.rowNode, m, n);
    batch.rowRelation.set(g.rowRelation, m);
    batch.inverseIncoming.set(g.inverseIncoming, m);
    batch.rowMix.set(g.rowMix, m);
    batch.globalRows[b] = n + g.offsets.global;
    n += g.nodeCount;
    e += g.edgeCount;
    m += g.rowCount;
  });
  for (const type of SCORED_TYPES) {
    const count = graphs.reduce((k, g) => k + g.counts[type], 0);
    const rows = new Int32Array(count);
    const segments = new Int32Array(count);
    let at = 0;
    let base = 0;
    graphs.forEach((g, b) => {
      for (let i = 0; i < g.counts[type]; i++, at++) {
        rows[at] = base + g.offsets[type] + i;
        segments[at] = b;
      }
      base += g.nodeCount;
    });
    batch.scoreRows[type] = rows;
    batch.scoreSegments[type] = segments;
  }
  return batch;
}

/** The network's outputs for one graph, as tensors (Simic differentiates through them). */
export interface GnnOutputs {
  policyLogits: tf.Tensor1D;
  lrLogits: tf.Tensor1D;
  paramDelta: tf.Scalar;
  blendingLogits: tf.Tensor1D;
  riskLogits: tf.Tensor1D;
  value: tf.Scalar;
  schedule: tf.Tensor1D;
  breakerLogits: tf.Tensor1D;
  seedScores: tf.Tensor1D;
  blueprintScores: tf.Tensor1D;
  slotScores: tf.Tensor1D;
}

/** The graph-level outputs (one row per graph in a batch). */
const GRAPH_OUTPUTS = [
  'policyLogits',
  'lrLogits',
  'paramDelta',
  'blendingLogits',
  'riskLogits',
  'value',
  'schedule',
  'breakerLogits',
] as const;

/**
 * The outputs for a batch of B graphs (`TamiyoGnn.forwardBatch`): graph-level heads [B, classes] (value and
 * parameter delta [B]); each score head flat over the batch, graph-major, with each entry's graph index (segment).
 */
// A type alias: tf.tidy may return it.
export type GnnBatchOutputs = {
  graphCount: number;
  policyLogits: tf.Tensor2D;
  lrLogits: tf.Tensor2D;
  paramDelta: tf.Tensor1D;
  blendingLogits: tf.Tensor2D;
  riskLogits: tf.Tensor2D;
  value: tf.Tensor1D;
  schedule: tf.Tensor2D;
  breakerLogits: tf.Tensor2D;
  seedScores: tf.Tensor1D;
  blueprintScores: tf.Tensor1D;
  slotScores: tf.Tensor1D;
  seedSegments: Int32Array;
  blueprintSegments: Int32Array;
  slotSegments: Int32Array;
};

/** The weights laid out for the forward pass (see `TamiyoGnn.pack`). */
// A type alias, not an interface: tf.tidy may return it (a TensorContainer needs the implicit index signature).
export type PackedWeights = {
  encoderWeight: tf.Tensor2D;
  encoderBias: tf.Tensor2D;
  encoderGamma: tf.Tensor2D;
  encoderBeta: tf.Tensor2D;
  sageL: tf.Tensor2D;
  sageBias: tf.Tensor2D;
  sageR: tf.Tensor2D;
  gatSource: tf.Tensor2D;
  gatTarget: tf.Tensor2D;
  attSource: tf.Tensor2D;
  attTarget: tf.Tensor2D;
  edgeVector: tf.Tensor2D;
  gatBias: tf.Tensor2D;
  headWeight: tf.Tensor2D;
  headBias: tf.Tensor1D;
  scoreWeight: tf.Tensor2D;
  scoreBias: tf.Tensor1D;
};

/** The same outputs as plain numbers. */
export type GnnReadout = { [K in keyof GnnOutputs]: number[] };

const OUTPUT_KEYS: ReadonlyArray<keyof GnnOutputs> = [...GRAPH_OUTPUTS, 'seedScores', 'blueprintScores', 'slotScores'];

/** Linear heads read from the graph embedding, in the order their outputs are split. */
const GRAPH_HEADS = [
  'head.policy',
  'head.lr',
  'head.blending',
  'head.risk',
  'head.value',
  'head.breaker',
  'head.param_delta.0',
  'head.schedule.0',
] as const;
/** Score heads, one score per node of their type. */
const SCORE_HEADS: ReadonlyArray<[NodeType, string]> = [
  ['seed', 'head.seed_score'],
  ['blueprint', 'head.blueprint_score'],
  ['layer', 'head.slot_score'],
];
const MAX_FEATURES = Math.max(...Object.values(FEATURE_DIMS));

/**
 * tf.unsortedSegmentSum with a plain gather as its gradient. Our ids are never negative, so tfjs's own gradient's
 * masking of negative ids (a LogicalAnd and a Select as wide as the input, slow on WASM) is skipped; same values.
 */
/** The largest of `values` in each of `count` rows (`rows[i]` is value i's row); a row with no value gets 0. */
function rowMaxima(values: ArrayLike<number>, rows: Int32Array, count: number): Float32Array {
  const max = new Float32Array(count).fill(-Infinity);
  for (let i = 0; i < rows.length; i++) max[rows[i]!] = Math.max(max[rows[i]!]!, values[i]!);
  return max.map((m) => (m === -Infinity ? 0 : m));
}

function segmentSum(x: tf.Tensor, ids: tf.Tensor1D, count: number): tf.Tensor {
  const sum = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([ids]); // kept until the backward pass (the caller's tidy may free `ids` before it)
    return {
      value: tf.unsortedSegmentSum(input, ids, count),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.gather(dy, saved[0]!),
    };
  });
  return sum(x);
}

/** Exact GELU. */
const gelu = (x: tf.Tensor): tf.Tensor => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));

export class PolicyWeightsError extends Error {
  override readonly name = 'PolicyWeightsError';
}

export class TamiyoGnn {
  readonly specs: readonly TensorSpec[];
  readonly #weights = new Map<string, tf.Variable>();
  /** pack() of the current weights, kept between inferences; dropped whenever the weights change. */
  #packed: PackedWeights | null = null;
  readonly #headWidths: number[];

  constructor(
    readonly dims: GnnDims = TAMIYO_GNN_DIMS,
    rngSeed = 7,
  ) {
    this.specs = weightSpec(dims);
    this.#headWidths = GRAPH_HEADS.map((name) => this.specs.find((spec) => spec.name === `${name}.bias`)!.shape[0]!);
    // Seeded: initial weights are the same on every backend and machine.
    const random = mulberry32(rngSeed);
    for (const spec of this.specs) {
      this.#weights.set(
        spec.name,
        tf.tidy(() => tf.variable(tf.tensor(initialValues(spec, random), spec.shape))),
      );
    }
  }

  get parameterCount(): number {
    return this.specs.reduce((n, spec) => n + size(spec.shape), 0);
  }

  /** The trainable variables (Simic's optimizer updates them). */
  get variables(): tf.Variable[] {
    return [...this.#weights.values()];
  }

  #w(name: string): tf.Variable {
    const w = this.#weights.get(name);
    if (!w) throw new Error(`tamiyo gnn: no weight ${name}`);
    return w;
  }

  /**
   * The weights rearranged for the forward pass (per-type and per-relation weights side by side, the graph-level
   * heads joined). Differentiable: Simic calls it inside its loss so gradients reach the variables.
   */
  pack(): PackedWeights {
    const H = this.dims.hidden;
    const R = RELATIONS.length;
    const T = NODE_TYPES.length;
    const stacked = (suffix: string): tf.Tensor2D =>
      tf.stack(NODE_TYPES.map((type) => this.#w(`encoder.${type}.${suffix}`))) as tf.Tensor2D; // [T, H]
    const padded = NODE_TYPES.map((type) =>
      tf.pad(this.#w(`encoder.${type}.weight`), [
        [0, MAX_FEATURES - FEATURE_DIMS[type]],
        [0, 0],
      ]),
    );
    const sideBySide = (weight: tf.Tensor): tf.Tensor2D =>
      tf.reshape(tf.transpose(weight, [1, 0, 2]), [H, R * H]) as tf.Tensor2D;
    const perRelation = (vectors: tf.Tensor): tf.Tensor2D => tf.reshape(vectors, [R, H]) as tf.Tensor2D;
    return {
      encoderWeight: tf.reshape(tf.transpose(tf.stack(padded), [1, 0, 2]), [MAX_FEATURES, T * H]) as tf.Tensor2D,
      encoderBias: stacked('bias'),
      encoderGamma: stacked('norm.gamma'),
      encoderBeta: stacked('norm.beta'),
      sageL: sideBySide(this.#w('sage.lin_l.weight')),
      sageBias: perRelation(this.#w('sage.lin_l.bias')),
      sageR: sideBySide(this.#w('sage.lin_r.weight')),
      gatSource: sideBySide(this.#w('gat.lin_src.weight')),
      gatTarget: sideBySide(this.#w('gat.lin_dst.weight')),
      attSource: perRelation(this.#w('gat.att_src')),
      attTarget: perRelation(this.#w('gat.att_dst')),
      // a_e · (W_e · attributes) = attributes · (W_eᵀ a_e): one 3-vector per relation.
      edgeVector: tf.reshape(
        tf.matMul(
          this.#w('gat.lin_edge.weight') as tf.Tensor3D,
          tf.expandDims(this.#w('gat.att_edge'), 2) as tf.Tensor3D,
        ),
        [R, EDGE_DIM],
      ) as tf.Tensor2D,
      gatBias: perRelation(this.#w('gat.bias')),
      headWeight: tf.concat(
        GRAPH_HEADS.map((name) => this.#w(`${name}.weight`)),
        1,
      ) as tf.Tensor2D,
      headBias: tf.concat(GRAPH_HEADS.map((name) => this.#w(`${name}.bias`))) as tf.Tensor1D,
      scoreWeight: tf.concat(
        SCORE_HEADS.map(([, name]) => this.#w(`${name}.weight`)),
        1,
      ) as tf.Tensor2D,
      scoreBias: tf.concat(SCORE_HEADS.map(([, name]) => this.#w(`${name}.bias`))) as tf.Tensor1D,
    };
  }

  /** The forward pass; call inside tf.tidy (or dispose the outputs). `packed` defaults to `pack()` of the variables. */
  forward(g: PreparedGraph, packed: PackedWeights = this.pack()): GnnOutputs {
    const H = this.dims.hidden;
    const nodes = this.#propagate(g, packed);
    // The graph embedding is the global node (there is one, first in the stack).
    const heads = this.#graphHeads(tf.slice(nodes, [0, 0], [1, H]) as tf.Tensor2D, packed);
    const nodeScores = tf.add(tf.matMul(nodes, packed.scoreWeight), packed.scoreBias);
    const scores = (index: number): tf.Tensor1D => {
      const type = SCORE_HEADS[index]![0];
      return g.counts[type] === 0
        ? tf.zeros([0])
        : (tf.reshape(tf.slice(nodeScores, [g.offsets[type], index], [g.counts[type], 1]), [-1]) as tf.Tensor1D);
    };
    const row = (x: tf.Tensor): tf.Tensor1D => tf.reshape(x, [-1]) as tf.Tensor1D;
    return {
      policyLogits: row(heads.policyLogits),
      lrLogits: row(heads.lrLogits),
      paramDelta: tf.reshape(heads.paramDelta, []) as tf.Scalar,
      blendingLogits: row(heads.blendingLogits),
      riskLogits: row(heads.riskLogits),
      value: tf.reshape(heads.value, []) as tf.Scalar,
      schedule: row(heads.schedule),
      breakerLogits: row(heads.breakerLogits),
      seedScores: scores(0),
      blueprintScores: scores(1),
      slotScores: scores(2),
    };
  }

  /**
   * The forward pass on a batch of graphs at once (`prepareBatch`): the same outputs as `forward` per graph, with
   * the graph-level heads as [B, classes] (value and parameter delta [B]) and each score head flat over the batch
   * with its graph index per entry. Call inside tf.tidy.
   */
  forwardBatch(batch: PreparedBatch, packed: PackedWeights = this.pack()): GnnBatchOutputs {
    const nodes = this.#propagate(batch, packed);
    const heads = this.#graphHeads(tf.gather(nodes, tf.tensor1d(batch.globalRows, 'int32')) as tf.Tensor2D, packed);
    // Score head i of node n is entry n·3 + i of the flattened [N, 3] scores.
    const flatScores = tf.reshape(tf.add(tf.matMul(nodes, packed.scoreWeight), packed.scoreBias), [-1]);
    const width = SCORE_HEADS.length;
    const scores = (index: number): tf.Tensor1D => {
      const rows = batch.scoreRows[SCORE_HEADS[index]![0] as ScoredType];
      return rows.length === 0
        ? tf.zeros([0])
        : (tf.gather(
            flatScores,
            tf.tensor1d(
              rows.map((r) => r * width + index),
              'int32',
            ),
          ) as tf.Tensor1D);
    };
    return {
      graphCount: batch.graphCount,
      policyLogits: heads.policyLogits,
      lrLogits: heads.lrLogits,
      paramDelta: tf.reshape(heads.paramDelta, [-1]) as tf.Tensor1D,
      blendingLogits: heads.blendingLogits,
      riskLogits: heads.riskLogits,
      value: tf.reshape(heads.value, [-1]) as tf.Tensor1D,
      schedule: heads.schedule,
      breakerLogits: heads.breakerLogits,
      seedScores: scores(0),
      blueprintScores: scores(1),
      slotScores: scores(2),
      seedSegments: batch.scoreSegments.seed,
      blueprintSegments: batch.scoreSegments.blueprint,
      slotSegments: batch.scoreSegments.layer,
    };
  }

  /** Encoders and message passing (shared by `forward` and `forwardBatch`): every node's embedding, [N, H]. */
  #propagate(g: GraphArrays, p: PackedWeights): tf.Tensor2D {
    const H = this.dims.hidden;
    const R = RELATIONS.length;
    const T = NODE_TYPES.length;
    const N = g.nodeCount;
    const E = g.edgeCount;
    const M = g.rowCount;

    // 1. Encoders, all node types in one product: features zero-padded to the widest type, each node keeping its
    // own type's block. Then exact GELU and LayerNorm (per-type gains).
    const nodeType = tf.tensor2d(g.nodeType, [N, T]);
    const projected = tf.reshape(tf.matMul(tf.tensor2d(g.inputs, [N, MAX_FEATURES]), p.encoderWeight), [N, T, H]);
    const encoded = gelu(
      tf.add(tf.sum(tf.mul(projected, tf.expandDims(nodeType, 2)), 1), tf.matMul(nodeType, p.encoderBias)),
    );
    const { mean, variance } = tf.moments(encoded, -1, true);
    const normed = tf.div(tf.sub(encoded, mean), tf.sqrt(tf.add(variance, 1e-5)));
    let nodes = tf.add(tf.mul(normed, tf.matMul(nodeType, p.encoderGamma)), tf.matMul(nodeType, p.encoderBeta));

    const index = (values: Int32Array): tf.Tensor1D => tf.tensor1d(values, 'int32');
    const edgeSource = index(g.edgeSource);
    const edgeRow = index(g.edgeRow);
    const edgeRelation = index(g.edgeRelation);
    const rowSelf = index(g.rowSelf);
    const rowNode = index(g.rowNode);
    const rowRelation = index(g.rowRelation);
    const rowMix = tf.tensor2d(g.rowMix, [M, 1]);
    // Every node through every relation's weight: [N·R, H], row n·R + r.
    const throughAll = (x: tf.Tensor, sideBySide: tf.Tensor2D): tf.Tensor =>
      tf.reshape(tf.matMul(x as tf.Tensor2D, sideBySide), [N * R, H]);
    // Rows → nodes: each node's mean over the relations into its type.
    const mixRows = (rows: tf.Tensor): tf.Tensor => segmentSum(tf.mul(rows, rowMix), rowNode, N);

    // 2. GraphSAGE per row: W_l · mean of the sources (= mean of W_l · source) + b_l + W_r · the target.
    const meanOfSources = tf.mul(
      segmentSum(tf.gather(throughAll(nodes, p.sageL), edgeSource), edgeRow, M),
      tf.tensor2d(g.inverseIncoming, [M, 1]),
    );
    const sage = tf.add(
      tf.add(meanOfSources, tf.gather(p.sageBias, rowRelation)),
      tf.gather(throughAll(nodes, p.sageR), rowSelf),
    );
    nodes = gelu(mixRows(sage));

    // 3. GAT (one head, edge features): α over the edges arriving at each row.
    const sources = tf.gather(throughAll(nodes, p.gatSource), edgeSource); // [E, H]
    const targets = tf.gather(throughAll(nodes, p.gatTarget), rowSelf); // [M, H]
    const targetScore = tf.sum(tf.mul(targets, tf.gather(p.attTarget, rowRelation)), 1); // [M]
    const logits = tf.leakyRelu(
      tf.add(
        tf.add(tf.sum(tf.mul(sources, tf.gather(p.attSource, edgeRelation)), 1), tf.gather(targetScore, edgeRow)),
        tf.sum(tf.mul(tf.tensor2d(g.attributes, [E, EDGE_DIM]), tf.gather(p.edgeVector, edgeRelation)), 1),
      ),
      0.2,
    ); // [E]
    // Softmax per row, shifted by the row's own maximum (a constant: the shift changes neither the softmax nor its
    // gradient). One shift for all rows — or all graphs of a batch — underflows a row far below it to 0/0.
    const shift = tf.gather(tf.tensor1d(rowMaxima(logits.dataSync(), g.edgeRow, M)), edgeRow);
    const exp = tf.exp(tf.sub(logits, shift));
    const alpha = tf.div(exp, tf.gather(segmentSum(exp, edgeRow, M), edgeRow));
    const attended = segmentSum(tf.mul(sources, tf.expandDims(alpha, 1)), edgeRow, M); // [M, H]
    return gelu(mixRows(tf.add(attended, tf.gather(p.gatBias, rowRelation)))) as tf.Tensor2D;
  }

  /**
   * 4–5. The graph-level heads on graph embeddings [B, H]: one product for all of them (and the first layers of the
   * two small MLP heads); each output [B, width].
   */
  #graphHeads(embedding: tf.Tensor2D, p: PackedWeights): Record<(typeof GRAPH_OUTPUTS)[number], tf.Tensor2D> {
    const linear = (x: tf.Tensor, name: string): tf.Tensor =>
      tf.add(tf.matMul(x as tf.Tensor2D, this.#w(`${name}.weight`) as tf.Tensor2D), this.#w(`${name}.bias`));
    const joined = tf.add(tf.matMul(embedding, p.headWeight), p.headBias);
    const [policyLogits, lrLogits, blendingLogits, riskLogits, value, breakerLogits, paramHidden, scheduleHidden] =
      tf.split(joined, this.#headWidths, 1) as tf.Tensor2D[];
    const second = (hidden: tf.Tensor, name: string): tf.Tensor2D => tf.tanh(linear(gelu(hidden), name)) as tf.Tensor2D;
    return {
      policyLogits: policyLogits!,
      lrLogits: lrLogits!,
      paramDelta: second(paramHidden!, 'head.param_delta.1'),
      blendingLogits: blendingLogits!,
      riskLogits: riskLogits!,
      value: value!,
      schedule: second(scheduleHidden!, 'head.schedule.1'),
      breakerLogits: breakerLogits!,
    };
  }

  /** Inference: the outputs as numbers, read back in one transfer; no tensor outlives the call. */
  infer(graph: PolicyGraphData): GnnReadout {
    const prepared = prepareGraph(graph);
    const lengths: number[] = [];
    this.#packed ??= tf.tidy(() => this.pack());
    const packed = this.#packed;
    const flat = tf.tidy(() => {
      const outputs = this.forward(prepared, packed);
      const parts = OUTPUT_KEYS.map((key) => tf.reshape(outputs[key], [-1]));
      for (const part of parts) lengths.push(part.shape[0]!);
      return tf.concat(parts);
    });
    const values = flat.dataSync();
    flat.dispose();
    const readout = {} as GnnReadout;
    let at = 0;
    OUTPUT_KEYS.forEach((key, i) => {
      readout[key] = Array.from(values.subarray(at, at + lengths[i]!));
      at += lengths[i]!;
    });
    return readout;
  }

  /** The weights as a Leyline PolicyWeights (a PolicyUpdate's payload), sealed with their checksum. */
  exportWeights(): v1.PolicyWeights {
    return sealWeights(
      leyline.PolicyWeights.create({
        architecture: ARCHITECTURE,
        tensors: this.specs.map((spec) =>
          leyline.PolicyTensor.create({
            name: spec.name,
            shape: spec.shape,
            values: Array.from(this.#w(spec.name).dataSync()),
          }),
        ),
      }),
    );
  }

  /** Replaces every weight at once; a bundle that does not fit is refused whole, naming the problem. */
  loadWeights(weights: v1.PolicyWeights): void {
    const values = checkWeights(weights, this.specs);
    this.weightsChanged();
    tf.tidy(() => {
      for (const spec of this.specs) this.#w(spec.name).assign(tf.tensor(values.get(spec.name)!, spec.shape));
    });
  }

  /** Drops the packed weights kept for inference (call after changing the variables directly, e.g. training). */
  weightsChanged(): void {
    if (this.#packed) tf.dispose(Object.values(this.#packed));
    this.#packed = null;
  }

  dispose(): void {
    this.weightsChanged();
    for (const w of this.#weights.values()) w.dispose();
    this.#weights.clear();
  }
}

/** SHA-256 (hex) of every tensor's name, shape and float32 values, in order. */
export function weightsChecksum(weights: v1.PolicyWeights): string {
  const hash = createHash('sha256');
  for (const tensor of weights.tensors ?? []) {
    hash.update(`${tensor.name ?? ''}:${(tensor.shape ?? []).join('x')};`);
    hash.update(new Uint8Array(Float32Array.from(tensor.values ?? []).buffer));
  }
  return hash.digest('hex');
}

/** Sets a bundle's checksum (after its tensors are final). */
export function sealWeights(weights: v1.PolicyWeights): v1.PolicyWeights {
  weights.checksum = weightsChecksum(weights);
  return weights;
}

/**
 * Checks a weight bundle against the network: the architecture, every tensor present once with its exact shape, no
 * extra tensor, every value finite, and its checksum. Returns the values by name.
 */
export function checkWeights(
  weights: v1.PolicyWeights,
  specs: readonly TensorSpec[] = weightSpec(),
): Map<string, Float32Array> {
  if (weights.architecture !== ARCHITECTURE)
    throw new PolicyWeightsError(
      `policy weights: architecture ${JSON.stringify(weights.architecture)}, expected ${ARCHITECTURE}`,
    );
  const byName = new Map<string, v1.PolicyTensor>();
  for (const tensor of weights.tensors ?? []) {
    const name = tensor.name ?? '';
    if (byName.has(name)) throw new PolicyWeightsError(`policy weights: tensor ${name} appears twice`);
    byName.set(name, leyline.PolicyTensor.create(tensor));
  }
  const values = new Map<string, Float32Array>();
  for (const spec of specs) {
    const tensor = byName.get(spec.name);
    if (!tensor) throw new PolicyWeightsError(`policy weights: tensor ${spec.name} is missing`);
    const shape = tensor.shape ?? [];
    if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
      throw new PolicyWeightsError(
        `policy weights: tensor ${spec.name} has shape [${shape.join(', ')}], expected [${spec.shape.join(', ')}]`,
      );
    }
    const data = Float32Array.from(tensor.values ?? []);
    if (data.length !== size(spec.shape))
      throw new PolicyWeightsError(
        `policy weights: tensor ${spec.name} has ${data.length} values for shape [${spec.shape.join(', ')}]`,
      );
    if (!data.every(Number.isFinite))
      throw new PolicyWeightsError(`policy weights: tensor ${spec.name} has non-finite values`);
    values.set(spec.name, data);
    byName.delete(spec.name);
  }
  if (byName.size > 0) throw new PolicyWeightsError(`policy weights: unknown tensor ${[...byName.keys()][0]}`);
  if (weights.checksum !== weightsChecksum(weights))
    throw new PolicyWeightsError(`policy weights: checksum ${weights.checksum ? 'mismatch' : 'missing'}`);
  return values;
}
