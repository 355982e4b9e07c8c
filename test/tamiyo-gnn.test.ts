// The policy's heterogeneous GNN (v2: four actions and a learning-rate head): its size against the prototype network's
// parameter count, the batched gather/segment forward pass against a plain per-relation implementation of the network
// (docs/tamiyo.md#the-policy-network) written here in float64, determinism, tensor hygiene, gradients on the WASM
// backend, and the weight bundle's checks.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { leyline, type v1 } from '../contracts/index.ts';
import { BlueprintCatalog } from '../actors/karn/index.ts';
import {
  buildGraph,
  checkWeights,
  EDGE_DIM,
  FEATURE_DIMS,
  NODE_TYPES,
  parameterCount,
  PolicyWeightsError,
  prepareGraph,
  rankCandidates,
  RELATIONS,
  sealWeights,
  TamiyoGnn,
  weightSpec,
  type GnnReadout,
  type NodeType,
  type PolicyGraphData,
} from '../policy/index.ts';
import { selectTensorBackend } from '../tensor/index.ts';

const { SeedLifecycleStage: Stage } = leyline;

test.before(async () => {
  await selectTensorBackend('wasm');
});

function sampleGraph(seeds = 3): PolicyGraphData {
  const packet = leyline.SystemStatePacket.create({
    currentEpoch: 3,
    validationLoss: 0.4,
    trainingLoss: 0.45,
    globalStep: 900n,
    trainingRunId: 'run',
    trainingMetrics: {
      loss: 0.45,
      gradient_norm: 1.3,
      'slot.mlp.0.mean': 0.4,
      'slot.mlp.0.std': 0.7,
      'slot.mlp.0.abs_max': 5,
      learning_rate: 1e-3,
      initial_learning_rate: 2e-3,
      epochs_total: 10,
      host_parameters: 60_000,
    },
    seedStates: Array.from({ length: seeds }, (_, i) =>
      leyline.SeedState.create({
        seedId: `s${i}`,
        stage: [Stage.SEED_STAGE_TRAINING, Stage.SEED_STAGE_BLENDING, Stage.SEED_STAGE_FOSSILIZED][i % 3],
        layerDepth: 1 + (i % 2),
        riskScore: 0.1 * i,
        gradientNorm: 0.5 + i,
        ageEpochs: i,
      }),
    ),
  });
  const slots = [
    { id: 'mlp.0', dims: [64] },
    { id: 'mlp.1', dims: [32] },
  ];
  // Costs that differ per blueprint and slot, so the cost features and edge attributes are not all zero.
  const cost = (blueprintId: string, slot: { dims: readonly number[] }): number =>
    (blueprintId.charCodeAt(blueprintId.length - 1) % 7) * slot.dims[0]! * 10;
  return buildGraph({
    packet,
    slots,
    candidates: rankCandidates(new BlueprintCatalog().all()),
    validationLosses: [0.6, 0.5, 0.4],
    cost,
  }).graph;
}

/** The network's weights with every value replaced by a seeded random one (the policy head starts at zero). */
function randomWeights(gnn: TamiyoGnn, rngSeed: number): v1.PolicyWeights {
  let a = rngSeed;
  const random = (): number => {
    a = (a * 1103515245 + 12345) % 2 ** 31;
    return a / 2 ** 31;
  };
  const weights = gnn.exportWeights();
  for (const tensor of weights.tensors) tensor.values = (tensor.values ?? []).map(() => (random() * 2 - 1) * 0.3);
  return sealWeights(weights);
}

test('parameter count: the reference network (≈169,963) plus the slot head, the v2 features, a fourth action and the lr head', (t) => {
  t.is(parameterCount(), 170_351);
  const count = (prefix: string): number =>
    weightSpec()
      .filter((s) => s.name.startsWith(prefix))
      .reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const slotHead = count('head.slot_score');
  t.is(slotHead, 49);
  t.is(count('head.lr.'), 48 * 2 + 2, 'the lr head: two factors');
  t.is(count('head.policy.'), 48 * 4 + 4, 'the action head: four classes');
  t.deepEqual([FEATURE_DIMS.global, FEATURE_DIMS.blueprint], [18, 10]);
  // v1 (global 16, blueprint 8 features, three actions, no lr head) was the reference's 169,963 plus the slot head.
  const v2Additions = 2 * 48 + 2 * 48 + (48 + 1) + count('head.lr.');
  t.is(parameterCount() - slotHead - v2Additions, 169_963, 'the reference checksum for the v1 dims');
  const gnn = new TamiyoGnn();
  t.is(gnn.parameterCount, 170_351);
  gnn.dispose();
});

// ---- the reference forward pass, plainly ------------------------------------------------------------------------

type Weights = Map<string, { shape: number[]; values: number[] }>;
const erf = (x: number): number => {
  // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
  const sign = Math.sign(x);
  const z = Math.abs(x);
  const k = 1 / (1 + 0.3275911 * z);
  const y =
    1 -
    ((((1.061405429 * k - 1.453152027) * k + 1.421413741) * k - 0.284496736) * k + 0.254829592) * k * Math.exp(-z * z);
  return sign * y;
};
const gelu = (v: number[]): number[] => v.map((x) => 0.5 * x * (1 + erf(x / Math.SQRT2)));
/** x (1×n) · W (n×m, row-major at `offset`) */
function vecMat(x: number[], w: number[], m: number, offset = 0): number[] {
  const out = new Array<number>(m).fill(0);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < m; j++) out[j]! += x[i]! * w[offset + i * m + j]!;
  return out;
}
const add = (a: number[], b: number[]): number[] => a.map((x, i) => x + b[i]!);
const slice = (w: number[], at: number, n: number): number[] => w.slice(at, at + n);

function referenceForward(graph: PolicyGraphData, weights: Weights): GnnReadout {
  const H = 48;
  const W = (name: string): number[] => weights.get(name)!.values;
  const nodes = new Map<NodeType, number[][]>();
  for (const type of NODE_TYPES) {
    const dim = FEATURE_DIMS[type];
    const features = Array.from(graph.nodes[type].features);
    const rows = graph.nodes[type].ids.map((_, i) => {
      const h = gelu(
        add(vecMat(features.slice(i * dim, (i + 1) * dim), W(`encoder.${type}.weight`), H), W(`encoder.${type}.bias`)),
      );
      const mean = h.reduce((a, b) => a + b, 0) / H;
      const variance = h.reduce((a, b) => a + (b - mean) ** 2, 0) / H;
      return h.map(
        (x, k) =>
          ((x - mean) / Math.sqrt(variance + 1e-5)) * W(`encoder.${type}.norm.gamma`)[k]! +
          W(`encoder.${type}.norm.beta`)[k]!,
      );
    });
    nodes.set(type, rows);
  }
  const relationsInto = (type: NodeType): number => RELATIONS.filter((r) => r.target === type).length;
  const layer = (perRelation: (r: number, target: number) => number[]): Map<NodeType, number[][]> => {
    const next = new Map<NodeType, number[][]>();
    for (const type of NODE_TYPES) {
      next.set(
        type,
        nodes.get(type)!.map((_, i) => {
          let sum = new Array<number>(H).fill(0);
          RELATIONS.forEach((rel, r) => {
            if (rel.target === type) sum = add(sum, perRelation(r, i));
          });
          return gelu(sum.map((x) => x / relationsInto(type)));
        }),
      );
    }
    return next;
  };
  const incoming = (r: number, target: number): number[] => {
    const set = graph.edges[r]!;
    return [...set.targets.keys()].filter((k) => set.targets[k] === target);
  };
  // GraphSAGE
  const sage = layer((r, i) => {
    const rel = RELATIONS[r]!;
    const edges = incoming(r, i);
    let mean = new Array<number>(H).fill(0);
    for (const k of edges) mean = add(mean, nodes.get(rel.source)![graph.edges[r]!.sources[k]!]!);
    mean = mean.map((x) => (edges.length > 0 ? x / edges.length : 0));
    return add(
      add(vecMat(mean, W('sage.lin_l.weight'), H, r * H * H), slice(W('sage.lin_l.bias'), r * H, H)),
      vecMat(nodes.get(rel.target)![i]!, W('sage.lin_r.weight'), H, r * H * H),
    );
  });
  nodes.clear();
  for (const [type, rows] of sage) nodes.set(type, rows);
  // GAT
  const gat = layer((r, i) => {
    const rel = RELATIONS[r]!;
    const set = graph.edges[r]!;
    const xd = vecMat(nodes.get(rel.target)![i]!, W('gat.lin_dst.weight'), H, r * H * H);
    const dot = (a: number[], b: number[]): number => a.reduce((s, x, k) => s + x * b[k]!, 0);
    const terms = incoming(r, i).map((k) => {
      const xs = vecMat(nodes.get(rel.source)![set.sources[k]!]!, W('gat.lin_src.weight'), H, r * H * H);
      const e = vecMat(
        Array.from(set.attributes.slice(k * EDGE_DIM, (k + 1) * EDGE_DIM)),
        W('gat.lin_edge.weight'),
        H,
        r * EDGE_DIM * H,
      );
      const logit =
        dot(xs, slice(W('gat.att_src'), r * H, H)) +
        dot(xd, slice(W('gat.att_dst'), r * H, H)) +
        dot(e, slice(W('gat.att_edge'), r * H, H));
      return { xs, logit: logit > 0 ? logit : 0.2 * logit };
    });
    const max = Math.max(...terms.map((x) => x.logit));
    const z = terms.reduce((s, x) => s + Math.exp(x.logit - max), 0);
    let out = slice(W('gat.bias'), r * H, H);
    for (const term of terms)
      out = add(
        out,
        term.xs.map((x) => (x * Math.exp(term.logit - max)) / z),
      );
    return out;
  });
  const embedding = gat.get('global')![0]!;
  const head = (name: string, width: number, x = embedding): number[] =>
    add(vecMat(x, W(`${name}.weight`), width), W(`${name}.bias`));
  const mlp = (name: string, width: number): number[] =>
    head(`${name}.1`, width, gelu(head(`${name}.0`, 24))).map(Math.tanh);
  const scores = (type: NodeType, name: string): number[] => gat.get(type)!.map((x) => head(name, 1, x)[0]!);
  return {
    policyLogits: head('head.policy', 4),
    lrLogits: head('head.lr', 2),
    paramDelta: mlp('head.param_delta', 1),
    blendingLogits: head('head.blending', 3),
    riskLogits: head('head.risk', 5),
    value: head('head.value', 1),
    schedule: mlp('head.schedule', 2),
    breakerLogits: head('head.breaker', 2),
    seedScores: scores('seed', 'head.seed_score'),
    blueprintScores: scores('blueprint', 'head.blueprint_score'),
    slotScores: scores('layer', 'head.slot_score'),
  };
}

test('the batched gather/segment forward pass computes the reference network, relation by relation', (t) => {
  const gnn = new TamiyoGnn();
  const weights = randomWeights(gnn, 5);
  gnn.loadWeights(weights);
  const graph = sampleGraph(3);
  const ours = gnn.infer(graph);
  const reference = referenceForward(
    graph,
    new Map(weights.tensors.map((w) => [w.name ?? '', { shape: w.shape ?? [], values: w.values ?? [] }])),
  );
  t.deepEqual(Object.keys(ours).sort(), Object.keys(reference).sort(), 'every head is compared');
  for (const key of Object.keys(reference) as Array<keyof GnnReadout>) {
    t.is(ours[key].length, reference[key].length, key);
    ours[key].forEach((x, i) =>
      t.true(Math.abs(x - reference[key][i]!) < 1e-4, `${key}[${i}]: ${x} vs ${reference[key][i]}`),
    );
  }
  t.is(ours.seedScores.length, 3);
  t.is(ours.slotScores.length, 2);
  t.is(ours.policyLogits.length, 4);
  t.is(ours.lrLogits.length, 2);
  gnn.dispose();
});

test('inference is deterministic, leaves no tensors behind, and an untrained network prefers WAIT twice over each other action', (t) => {
  const gnn = new TamiyoGnn();
  const graph = sampleGraph(4);
  const first = gnn.infer(graph);
  const before = tf.memory().numTensors;
  const second = gnn.infer(graph);
  t.is(tf.memory().numTensors, before, 'no tensor outlives an inference');
  t.deepEqual(second, first, 'no dropout at inference: same input, same outputs');
  t.deepEqual(first.policyLogits, [Math.fround(Math.log(2)), 0, 0, 0], 'the policy head starts from its bias alone');
  gnn.dispose();
  t.is(tf.memory().numTensors, before - parameterCountTensors(), 'dispose frees the weights and the packed copies');
});

/** Tensors a network holds: one variable per weight plus the packed copies kept for inference (17). */
const parameterCountTensors = (): number => weightSpec().length + 17;

test('gradients reach every weight through gathers and segment sums on the WASM backend', (t) => {
  t.is(tf.getBackend(), 'wasm');
  const gnn = new TamiyoGnn();
  gnn.loadWeights(randomWeights(gnn, 9));
  const prepared = prepareGraph(sampleGraph(3));
  const { value, grads } = tf.variableGrads(() =>
    tf.tidy(() => {
      const out = gnn.forward(prepared);
      return tf.addN([
        tf.sum(out.policyLogits),
        tf.sum(out.lrLogits),
        out.value,
        tf.sum(out.seedScores),
        tf.sum(out.slotScores),
        tf.sum(out.blueprintScores),
        out.paramDelta,
        tf.sum(out.schedule),
      ]) as tf.Scalar;
    }),
  );
  const specName = new Map(gnn.variables.map((v, i) => [v.name, gnn.specs[i]!.name]));
  const norms = Object.fromEntries(
    Object.entries(grads).map(([name, g]) => [specName.get(name) ?? name, tf.norm(g).dataSync()[0]!]),
  );
  t.true(Object.values(norms).every(Number.isFinite));
  t.is(Object.keys(norms).length, weightSpec().length, 'a gradient for every weight');
  const zero = Object.entries(norms)
    .filter(([, n]) => n === 0)
    .map(([name]) => name);
  // The breaker, blending and risk heads are outside this loss; every other weight moves it.
  t.deepEqual(zero, [
    'head.blending.weight',
    'head.blending.bias',
    'head.risk.weight',
    'head.risk.bias',
    'head.breaker.weight',
    'head.breaker.bias',
  ]);
  tf.dispose([value, ...Object.values(grads)]);
  gnn.dispose();
});

test('a weight bundle loads only whole and exact: architecture, names, shapes, finite values', (t) => {
  const gnn = new TamiyoGnn();
  const weights = randomWeights(gnn, 3);
  const other = new TamiyoGnn();
  other.loadWeights(weights);
  gnn.loadWeights(weights);
  t.deepEqual(other.infer(sampleGraph()), gnn.infer(sampleGraph()), 'a loaded bundle reproduces the network');
  const broken = (edit: (w: v1.PolicyWeights) => void): v1.PolicyWeights => {
    const copy = leyline.PolicyWeights.decode(leyline.PolicyWeights.encode(weights).finish());
    edit(copy);
    return copy;
  };
  t.throws(() => checkWeights(broken((w) => (w.architecture = 'other'))), {
    instanceOf: PolicyWeightsError,
    message: /architecture/,
  });
  t.throws(() => checkWeights(broken((w) => w.tensors.pop())), { message: /head\.slot_score\.bias is missing/ });
  t.throws(() => checkWeights(broken((w) => (w.tensors[0]!.shape = [8, 48]))), {
    message: /shape \[8, 48\], expected \[18, 48\]/,
  });
  t.throws(() => checkWeights(broken((w) => (w.tensors[1]!.values![0] = Number.NaN))), { message: /non-finite/ });
  t.throws(
    () =>
      checkWeights(
        broken((w) => w.tensors.push(leyline.PolicyTensor.create({ name: 'extra', shape: [1], values: [0] }))),
      ),
    { message: /unknown tensor extra/ },
  );
  t.throws(
    () => checkWeights(broken((w) => (w.tensors[2]!.values![0] = 0.123))),
    { message: /checksum mismatch/ },
    'a changed value is caught',
  );
  t.throws(() => checkWeights(broken((w) => (w.checksum = ''))), { message: /checksum missing/ });
  const before = other.infer(sampleGraph());
  t.throws(() => other.loadWeights(broken((w) => (w.tensors[5]!.values![3] = Number.POSITIVE_INFINITY))));
  t.deepEqual(other.infer(sampleGraph()), before, 'a refused bundle changes nothing');
  gnn.dispose();
  other.dispose();
});
