// The graph Tamiyo's policy reads, built from real state: node sets and the seventeen relations, candidates that are
// catalog blueprints (never the packet id), slots and their activation statistics, seeds placed by layer depth,
// normaliser statistics touched only by metrics that exist, and the graph's Leyline form.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { BlueprintCatalog } from '../actors/karn/index.ts';
import { FeatureNormalizer } from '../actors/tamiyo/feature-normalizer.ts';
import { buildGraph, FEATURE_DIMS, graphFromProto, graphToProto, PolicyGraphError, RELATIONS, relationKey } from '../actors/tamiyo/graph.ts';
import { rankCandidates } from '../actors/tamiyo/observation.ts';

const { SeedLifecycleStage: Stage } = leyline;
const candidates = rankCandidates(new BlueprintCatalog().all());
const slots = [
  { id: 'mlp.0', dims: [256] },
  { id: 'mlp.1', dims: [128] },
  { id: 'mlp.2', dims: [64] },
  { id: 'mlp.3', dims: [32] },
];
const seed = (seedId: string, stage: v1.SeedLifecycleStage, layerDepth: number): v1.SeedState.$Properties => ({ seedId, stage, layerDepth, riskScore: 0.2 });
const packet = (over: Partial<v1.SystemStatePacket.$Properties> = {}): v1.SystemStatePacket =>
  leyline.SystemStatePacket.create({
    packetId: 'run-epoch-4',
    trainingRunId: 'run',
    currentEpoch: 4,
    validationLoss: 0.3,
    trainingLoss: 0.35,
    trainingMetrics: { loss: 0.35, 'slot.mlp.1.mean': 1.5, 'slot.mlp.1.std': 0.9, 'slot.mlp.1.abs_max': 6 },
    seedStates: [seed('a', Stage.SEED_STAGE_TRAINING, 1), seed('b', Stage.SEED_STAGE_EMBARGOED, 3), seed('c', Stage.SEED_STAGE_CULLED, 2)],
    ...over,
  });
const build = (p = packet(), normalizer = new FeatureNormalizer()) => buildGraph({ packet: p, slots, candidates, validationLosses: [0.5, 0.4, 0.3] }, normalizer);
const edgeCount = (graph: ReturnType<typeof build>['graph'], key: string): number => graph.edges[RELATIONS.findIndex((r) => relationKey(r) === key)]!.sources.length;

test('node sets: one global node, the seeds, up to four catalog candidates, a layer and an activation node per slot', (t) => {
  const { graph, context } = build();
  t.deepEqual(graph.nodes.global.ids, ['global']);
  t.deepEqual(graph.nodes.seed.ids, ['a', 'b', 'c']);
  t.deepEqual(graph.nodes.blueprint.ids, candidates.slice(0, 4).map((d) => d.blueprintId));
  t.false(graph.nodes.blueprint.ids.includes('run-epoch-4'), 'the packet id is never a blueprint');
  t.deepEqual(graph.nodes.layer.ids, ['mlp.0', 'mlp.1', 'mlp.2', 'mlp.3']);
  t.is(graph.nodes.activation.ids.length, 4);
  t.true(graph.nodes.parameter.ids.length >= 1 && graph.nodes.parameter.ids.length <= 8);
  for (const type of Object.keys(FEATURE_DIMS) as Array<keyof typeof FEATURE_DIMS>) {
    t.is(graph.nodes[type].features.length, graph.nodes[type].ids.length * FEATURE_DIMS[type], type);
    t.true(graph.nodes[type].features.every(Number.isFinite), type);
  }
  // Seeds sit at the slot of their layer depth; one on trial, or culled and under embargo, holds its slot.
  t.deepEqual([...context.seedSlots], [['a', 'mlp.0'], ['b', 'mlp.2'], ['c', 'mlp.1']]);
  t.deepEqual([...context.freeSlots], ['mlp.3']);
});

test('edges: the reference relations, with per-slot layer ↔ activation pairs', (t) => {
  const { graph } = build();
  t.is(graph.edges.length, 17);
  const S = 3;
  const B = 4;
  const L = 4;
  const P = graph.nodes.parameter.ids.length;
  t.is(edgeCount(graph, 'global.influences.seed'), S);
  t.is(edgeCount(graph, 'seed.reports.global'), S);
  t.is(edgeCount(graph, 'seed.peer.seed'), S - 1);
  t.is(edgeCount(graph, 'global.annotates.blueprint'), B);
  t.is(edgeCount(graph, 'global.operates.layer'), L);
  t.is(edgeCount(graph, 'layer.activates.activation'), L);
  t.is(edgeCount(graph, 'activation.configures.parameter'), L * P);
  t.is(edgeCount(graph, 'seed.allowed.parameter'), S * P);
  t.is(edgeCount(graph, 'blueprint.composes.layer'), B * L);
  t.is(edgeCount(graph, 'blueprint.energizes.activation'), B * L);
  t.is(edgeCount(graph, 'parameter.targets.blueprint'), P);
  for (const set of graph.edges) t.is(set.attributes.length, set.sources.length * 3);
});

test('features: activation statistics per slot, blending allowed never for culled or embargoed seeds, a free-slot flag', (t) => {
  const { graph } = build();
  const activation = (i: number) => Array.from(graph.nodes.activation.features.slice(i * 6, (i + 1) * 6));
  t.not(activation(1)[1], 0, 'mlp.1 has statistics');
  t.is(activation(0)[1], 0, 'mlp.0 has none in this packet');
  t.is(activation(1)[4], Math.fround(0.9 / 6), 'spread relative to the largest magnitude');
  const seedFeature = (i: number, column: number) => graph.nodes.seed.features[i * 12 + column];
  t.is(seedFeature(1, 11), 0, 'embargoed: no blending');
  t.is(seedFeature(2, 11), 0, 'culled: no blending');
  t.is(seedFeature(0, 10), 1, 'on trial');
  const layerFeature = (i: number, column: number) => graph.nodes.layer.features[i * 8 + column];
  t.deepEqual([0, 1, 2, 3].map((i) => layerFeature(i, 7)), [0, 0, 0, 1], 'only mlp.3 is free');
  t.deepEqual([0, 1, 2, 3].map((i) => layerFeature(i, 6)), [0, 0, 0, 1], 'the narrowest free slot is marked');
});

test('a metric that is absent leaves the normaliser untouched; one that is present updates it', (t) => {
  const normalizer = new FeatureNormalizer();
  const before = normalizer.stats('samples_per_s');
  build(packet(), normalizer);
  t.deepEqual(normalizer.stats('samples_per_s'), before, 'samples_per_s was not in the packet');
  t.notDeepEqual(normalizer.stats('loss'), new FeatureNormalizer().stats('loss'), 'loss was');
});

test('with no candidate there is one placeholder blueprint node, so the graph keeps its shape', (t) => {
  const { graph, context } = buildGraph({ packet: packet(), slots, candidates: [], validationLosses: [] }, new FeatureNormalizer());
  t.deepEqual(graph.nodes.blueprint.ids, ['none']);
  t.is(context.candidates.length, 0);
  t.deepEqual(graph.nodes.parameter.ids, ['default.alpha']);
});

test('the graph round-trips through its Leyline form, and a malformed one is refused by name', (t) => {
  const { graph } = build();
  const proto = leyline.PolicyGraph.decode(leyline.PolicyGraph.encode(graphToProto(graph)).finish());
  t.deepEqual(graphFromProto(proto), graph);
  const broken = (edit: (g: v1.PolicyGraph) => void) => {
    const copy = leyline.PolicyGraph.decode(leyline.PolicyGraph.encode(proto).finish());
    edit(copy);
    return () => graphFromProto(copy);
  };
  t.throws(broken((g) => g.nodes.splice(1, 1)), { instanceOf: PolicyGraphError, message: /node type seed is missing/ });
  t.throws(broken((g) => (g.nodes[0]!.featureDim = 15)), { message: /global nodes have 16 features/ });
  t.throws(broken((g) => g.edges.pop()), { message: /relation parameter\.targets\.blueprint is missing/ });
  t.throws(broken((g) => (g.edges[0]!.targets![0] = 99)), { message: /refers to a node that does not exist/ });
  t.throws(broken((g) => g.edges[0]!.attributes!.pop()), { message: /mismatched edge arrays/ });
});
