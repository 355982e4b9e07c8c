// The graph the policy reads (v2), built from real state: node sets and the seventeen relations, candidates that are
// catalog blueprints (never the packet id), slots and their activation statistics, seeds placed by layer depth, what a
// blueprint would cost at each slot, the learning rate against its initial value and its range, the masks read back
// from the graph's own features, the same graph for the same state (fixed scaling, no wall-clock figure), and the
// graph's Leyline form.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { BlueprintCatalog } from '../actors/karn/index.ts';
import {
  buildGraph,
  DEFAULT_GRAPH_OPTIONS,
  FEATURE_DIMS,
  graphFromProto,
  graphToProto,
  masksOf,
  PolicyGraphError,
  rankCandidates,
  RELATIONS,
  relationKey,
  scaleFeature,
  type PolicyGraphData,
  type SlotInfo,
} from '../policy/index.ts';

const { SeedLifecycleStage: Stage } = leyline;
const candidates = rankCandidates(new BlueprintCatalog().all());
const slots = [
  { id: 'mlp.0', dims: [256] },
  { id: 'mlp.1', dims: [128] },
  { id: 'mlp.2', dims: [64] },
  { id: 'mlp.3', dims: [32] },
];
const seed = (seedId: string, stage: v1.SeedLifecycleStage, layerDepth: number, parameters = 0): v1.SeedState =>
  leyline.SeedState.create({
    seedId,
    stage,
    layerDepth,
    riskScore: 0.2,
    metrics: parameters > 0 ? { parameters } : {},
  });
const packet = (over: Partial<v1.SystemStatePacket.$Properties> = {}): v1.SystemStatePacket =>
  leyline.SystemStatePacket.create({
    packetId: 'run-epoch-4',
    trainingRunId: 'run',
    currentEpoch: 4,
    validationLoss: 0.3,
    trainingLoss: 0.35,
    trainingMetrics: {
      loss: 0.35,
      learning_rate: 1e-3,
      'slot.mlp.1.mean': 1.5,
      'slot.mlp.1.std': 0.9,
      'slot.mlp.1.abs_max': 6,
    },
    seedStates: [
      seed('a', Stage.SEED_STAGE_TRAINING, 1),
      seed('b', Stage.SEED_STAGE_EMBARGOED, 3),
      seed('c', Stage.SEED_STAGE_CULLED, 2),
    ],
    ...over,
  });
type Input = Parameters<typeof buildGraph>[0];
const build = (p = packet(), over: Partial<Input> = {}) =>
  buildGraph({ packet: p, slots, candidates, validationLosses: [0.5, 0.4, 0.3], ...over });
const edgeSet = (graph: PolicyGraphData, key: string) =>
  graph.edges[RELATIONS.findIndex((r) => relationKey(r) === key)]!;
const edgeCount = (graph: PolicyGraphData, key: string): number => edgeSet(graph, key).sources.length;
const row = (graph: PolicyGraphData, type: keyof typeof FEATURE_DIMS, i: number): number[] =>
  Array.from(graph.nodes[type].features.slice(i * FEATURE_DIMS[type], (i + 1) * FEATURE_DIMS[type]));
const close = (a: number, b: number, message?: string) =>
  [Math.abs(a - b) < 1e-6, `${message ?? ''} ${a} vs ${b}`] as const;

test('node sets: one global node, the seeds, up to four catalog candidates by default, a layer and an activation node per slot', (t) => {
  const { graph, context } = build();
  t.is(DEFAULT_GRAPH_OPTIONS.maxCandidates, 4);
  t.deepEqual(graph.nodes.global.ids, ['global']);
  t.deepEqual(graph.nodes.seed.ids, ['a', 'b', 'c']);
  t.deepEqual(
    graph.nodes.blueprint.ids,
    candidates.slice(0, 4).map((d) => d.blueprintId),
  );
  t.false(graph.nodes.blueprint.ids.includes('run-epoch-4'), 'the packet id is never a blueprint');
  t.deepEqual(graph.nodes.layer.ids, ['mlp.0', 'mlp.1', 'mlp.2', 'mlp.3']);
  t.is(graph.nodes.activation.ids.length, 4);
  t.true(graph.nodes.parameter.ids.length >= 1 && graph.nodes.parameter.ids.length <= 8);
  t.deepEqual([FEATURE_DIMS.global, FEATURE_DIMS.blueprint], [18, 10]);
  for (const type of Object.keys(FEATURE_DIMS) as Array<keyof typeof FEATURE_DIMS>) {
    t.is(graph.nodes[type].features.length, graph.nodes[type].ids.length * FEATURE_DIMS[type], type);
    t.true(graph.nodes[type].features.every(Number.isFinite), type);
  }
  // Seeds sit at the slot of their layer depth; one on trial, or culled and under embargo, holds its slot.
  t.deepEqual(
    [...context.seedSlots],
    [
      ['a', 'mlp.0'],
      ['b', 'mlp.2'],
      ['c', 'mlp.1'],
    ],
  );
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
  t.deepEqual(Array.from(edgeSet(graph, 'layer.activates.activation').targets), [0, 1, 2, 3], 'layer i ↔ activation i');
  t.is(edgeCount(graph, 'activation.configures.parameter'), L * P);
  t.is(edgeCount(graph, 'seed.allowed.parameter'), S * P);
  t.is(edgeCount(graph, 'blueprint.composes.layer'), B * L);
  t.is(edgeCount(graph, 'layer.belongs_to.blueprint'), B * L);
  t.is(edgeCount(graph, 'blueprint.energizes.activation'), B * L);
  t.is(edgeCount(graph, 'parameter.targets.blueprint'), P);
  for (const set of graph.edges) t.is(set.attributes.length, set.sources.length * 3);
});

test('features: activation statistics per slot, blending allowed never for culled or embargoed seeds, a free-slot flag', (t) => {
  const { graph } = build();
  const activation = (i: number) => row(graph, 'activation', i);
  t.is(
    activation(1)[1],
    Math.fround(scaleFeature('activation_mean', 1.5)),
    'mlp.1 has statistics, scaled by the fixed prior',
  );
  t.not(activation(1)[1], 0);
  t.is(activation(0)[1], 0, 'mlp.0 has none in this packet');
  t.is(activation(1)[4], Math.fround(0.9 / 6), 'spread relative to the largest magnitude');
  const seedFeature = (i: number, column: number) => graph.nodes.seed.features[i * 12 + column];
  t.is(seedFeature(1, 11), 0, 'embargoed: no blending');
  t.is(seedFeature(2, 11), 0, 'culled: no blending');
  t.is(seedFeature(0, 10), 1, 'on trial');
  t.is(seedFeature(1, 10), 0, 'embargoed: not on trial');
  const layerFeature = (i: number, column: number) => graph.nodes.layer.features[i * 8 + column];
  t.deepEqual(
    [0, 1, 2, 3].map((i) => layerFeature(i, 7)),
    [0, 0, 0, 1],
    'only mlp.3 is free',
  );
  t.deepEqual(
    [0, 1, 2, 3].map((i) => layerFeature(i, 6)),
    [0, 0, 0, 1],
    'the narrowest free slot is marked',
  );
});

test('global features: the learning rate against its initial value, the host size, the seeds\u2019 share of it', (t) => {
  const host = 1_000_000;
  const p = packet({
    trainingMetrics: { learning_rate: 5e-4, initial_learning_rate: 1e-3, host_parameters: host },
    seedStates: [
      seed('a', Stage.SEED_STAGE_TRAINING, 1, 200_000),
      seed('f', Stage.SEED_STAGE_FOSSILIZED, 2, 100_000),
      seed('b', Stage.SEED_STAGE_EMBARGOED, 3, 400_000),
    ],
  });
  const global = row(build(p).graph, 'global', 0);
  t.is(global.length, 18);
  t.true(...close(global[9]!, -Math.log10(5e-4) / 5, 'the learning rate, log scale'));
  t.true(...close(global[10]!, -0.25, 'half the initial rate: log2(0.5) / 4'));
  t.true(...close(global[14]!, 0.3, 'trial and fossilized seeds add 30 % of the host; the embargoed one is gone'));
  t.true(...close(global[15]!, 1, 'log10(10⁶) / 6'));
  t.true(...close(global[12]!, 1 / 4, 'one slot in four is free'));
  t.true(...close(global[13]!, 1 / 4, 'one seed on trial per four slots'));
  const seedCost = build(p).graph.nodes.seed.features[0 * 12 + 6]!;
  t.true(...close(seedCost, Math.log1p(0.2), "a seed's own cost: its share of the host, log1p"));
  // Without the host's size or an initial rate, those features read 0 instead of dividing by nothing.
  const bare = row(build(packet()).graph, 'global', 0);
  t.deepEqual([bare[10], bare[14], bare[15]], [0, 0, 0]);
});

test('a cost function shows in the blueprint features and on the blueprint → layer edges', (t) => {
  const host = 100_000;
  const p = packet({ trainingMetrics: { learning_rate: 1e-3, host_parameters: host } });
  // Each blueprint costs (its rank + 1) × the slot's width × 10 weights.
  const rank = new Map(candidates.map((d, i) => [d.blueprintId, i]));
  const cost = (blueprintId: string, slot: SlotInfo): number => (rank.get(blueprintId)! + 1) * slot.dims[0]! * 10;
  const calls: string[] = [];
  const { graph } = build(p, {
    cost: (id, slot) => {
      calls.push(`${id}@${slot.id}`);
      return cost(id, slot);
    },
  });
  const feature = (id: string, slot: SlotInfo): number => Math.log1p(cost(id, slot) / host);
  t.true(calls.includes(`${candidates[0]!.blueprintId}@mlp.3`), 'asked per blueprint and slot');
  graph.nodes.blueprint.ids.forEach((id, b) => {
    const features = row(graph, 'blueprint', b);
    const perSlot = slots.map((slot) => feature(id, slot));
    t.true(
      ...close(features[8]!, perSlot.reduce((a, x) => a + x, 0) / slots.length, `${id}: mean cost over the slots`),
    );
    t.true(...close(features[9]!, Math.min(...perSlot), `${id}: the cheapest slot`));
  });
  t.true(row(graph, 'blueprint', 1)[8]! > row(graph, 'blueprint', 0)[8]!, 'a costlier blueprint reads costlier');
  for (const key of ['blueprint.composes.layer', 'layer.belongs_to.blueprint']) {
    const set = edgeSet(graph, key);
    const forward = key.startsWith('blueprint');
    for (let k = 0; k < set.sources.length; k++) {
      const [b, l] = forward ? [set.sources[k]!, set.targets[k]!] : [set.targets[k]!, set.sources[k]!];
      t.true(
        ...close(set.attributes[k * 3 + 2]!, feature(graph.nodes.blueprint.ids[b]!, slots[l]!), `${key} ${b}→${l}`),
      );
    }
  }
  // No cost function, or no host size to compare with: the cost reads 0 everywhere.
  for (const unknown of [build(p).graph, build(packet(), { cost }).graph]) {
    t.true(
      unknown.nodes.blueprint.ids.every(
        (_, b) => row(unknown, 'blueprint', b)[8] === 0 && row(unknown, 'blueprint', b)[9] === 0,
      ),
    );
    const set = edgeSet(unknown, 'blueprint.composes.layer');
    t.true(set.sources.every((_, k) => set.attributes[k * 3 + 2] === 0));
  }
});

test('masks read back from the graph match the state: free slots, fit blueprints, seeds on trial', (t) => {
  const quarantined = leyline.BlueprintDescriptor.create({ blueprintId: 'BPQ', quarantineOnly: true, risk: 0.1 });
  const approval = leyline.BlueprintDescriptor.create({ blueprintId: 'BPA', approvalRequired: true, risk: 0.1 });
  const fit = candidates[0]!;
  const p = packet({
    seedStates: [
      seed('a', Stage.SEED_STAGE_TRAINING, 1),
      seed('b', Stage.SEED_STAGE_EMBARGOED, 3),
      seed('c', Stage.SEED_STAGE_FOSSILIZED, 2),
      seed('d', Stage.SEED_STAGE_BLENDING, 4),
    ],
  });
  const masks = masksOf(build(p, { candidates: [quarantined, fit, approval] }).graph);
  t.deepEqual(masks.slots, [false, false, false, false], 'every slot is held');
  t.deepEqual(masks.blueprints, [false, true, false], 'quarantine-only and approval-required are masked');
  t.deepEqual(
    masks.seeds,
    [true, false, false, true],
    'training and blending are on trial; embargoed and fossilized are not',
  );
  t.deepEqual(masks.actions, [true, false, true, true], 'no free slot: no GERMINATE; CULL has seeds on trial');
  t.deepEqual(masks.blending, [true, true, true]);

  const open = masksOf(
    build(packet({ seedStates: [seed('b', Stage.SEED_STAGE_EMBARGOED, 3)] }), { candidates: [quarantined, fit] }).graph,
  );
  t.deepEqual(open.slots, [true, true, false, true], 'only the embargoed slot is held');
  t.deepEqual(open.seeds, [false]);
  t.deepEqual(
    open.actions,
    [true, true, false, true],
    'a free slot and a fit blueprint: GERMINATE; nothing on trial: no CULL',
  );

  const unfit = masksOf(build(packet({ seedStates: [] }), { candidates: [quarantined, approval] }).graph);
  t.deepEqual(unfit.actions, [true, false, false, true], 'free slots but no fit blueprint: no GERMINATE');
  const none = masksOf(build(packet({ seedStates: [] }), { candidates: [] }).graph);
  t.deepEqual(none.blueprints, [false], 'the placeholder node is never a choice');
  t.false(none.actions[1]!);
});

test('masks: an lr factor is allowed only while the learning rate stays within its range (inclusive)', (t) => {
  const lr = (rate: number | undefined, range: readonly [number, number]) => {
    const metrics: Record<string, number> = rate === undefined ? {} : { learning_rate: rate };
    const { graph } = build(packet({ trainingMetrics: metrics }), { learningRateRange: range });
    const masks = masksOf(graph);
    t.deepEqual(
      [graph.nodes.global.features[16] === 1, graph.nodes.global.features[17] === 1],
      masks.lr,
      'read from global columns 16, 17',
    );
    return [masks.lr, masks.actions[3]] as const;
  };
  t.deepEqual(lr(1e-3, [1e-5, 1e-1]), [[true, true], true], 'well inside: both');
  t.deepEqual(lr(1e-3, [1e-3, 1e-2]), [[false, true], true], 'at the floor: × 0.5 would leave the range');
  t.deepEqual(lr(2e-3, [1e-3, 1e-2]), [[true, true], true], '× 0.5 lands exactly on the floor');
  t.deepEqual(lr(5e-3, [1e-3, 1e-2]), [[true, true], true], '× 2 lands exactly on the ceiling');
  t.deepEqual(lr(6e-3, [1e-3, 1e-2]), [[true, false], true], '× 2 would pass the ceiling');
  t.deepEqual(lr(1e-3, [8e-4, 1.5e-3]), [[false, false], false], 'a range too narrow for either factor: no OPTIMIZER');
  t.deepEqual(lr(undefined, [1e-5, 1e-1]), [[false, false], false], 'no learning rate known: no OPTIMIZER');
  // Without a range given, the default one (1e-5 … 0.1).
  const { graph } = buildGraph({
    packet: packet({ trainingMetrics: { learning_rate: 0.08 } }),
    slots,
    candidates,
    validationLosses: [],
  });
  t.deepEqual(masksOf(graph).lr, [true, false]);
  // With the run's starting rate known, the range narrows around it (an eighth of it … twice it, within the range).
  const fromStart = (rate: number, initial: number) =>
    masksOf(
      build(packet({ trainingMetrics: { learning_rate: rate, initial_learning_rate: initial } }), {
        learningRateRange: [1e-5, 1e-1],
      }).graph,
    ).lr;
  t.deepEqual(fromStart(1e-3, 1e-3), [true, true]);
  t.deepEqual(fromStart(2e-3, 1e-3), [true, false], 'already twice the starting rate');
  t.deepEqual(fromStart(2.5e-4, 1e-3), [true, true], '× 0.5 lands exactly on an eighth');
  t.deepEqual(fromStart(2e-4, 1e-3), [false, true], '× 0.5 would go below an eighth');
  t.deepEqual(fromStart(2e-5, 1e-4), [false, true], 'an eighth of 1e-4 is below the range: the range floor holds');
});

test('the same state builds the same graph, whatever was built before, and wall-clock figures change nothing', (t) => {
  const first = build();
  for (let i = 0; i < 5; i++)
    build(
      packet({ validationLoss: 10 + i, trainingMetrics: { loss: 50, gradient_norm: 100 * i, 'slot.mlp.1.mean': 40 } }),
    );
  const again = build();
  t.deepEqual(again.graph, first.graph, 'no adaptive scaling: earlier states leave no trace');
  const timed = build(
    packet({ trainingMetrics: { ...packet().trainingMetrics, samples_per_s: 6000, hook_latency_ms: 3.5 } }),
  );
  t.deepEqual(timed.graph, first.graph, 'samples/s and hook latency are not features');
  const other = build(packet({ trainingMetrics: { ...packet().trainingMetrics, gradient_norm: 2 } }));
  t.notDeepEqual(other.graph, first.graph, 'a real change of state does change the graph');
});

test('with no candidate there is one placeholder blueprint node, so the graph keeps its shape', (t) => {
  const { graph, context } = buildGraph({ packet: packet(), slots, candidates: [], validationLosses: [] });
  t.deepEqual(graph.nodes.blueprint.ids, ['none']);
  t.is(context.candidates.length, 0);
  t.deepEqual(graph.nodes.parameter.ids, ['default.alpha']);
  t.is(edgeCount(graph, 'blueprint.composes.layer'), slots.length);
});

test('the graph round-trips through its Leyline form, and a malformed one is refused by name', (t) => {
  const { graph } = build();
  const proto = leyline.PolicyGraph.decode(leyline.PolicyGraph.encode(graphToProto(graph)).finish());
  const back = graphFromProto(proto);
  t.deepEqual(back, graph);
  t.deepEqual(masksOf(back), masksOf(graph), 'the masks read the same from the round-tripped graph');
  const broken = (edit: (g: v1.PolicyGraph) => void) => {
    const copy = leyline.PolicyGraph.decode(leyline.PolicyGraph.encode(proto).finish());
    edit(copy);
    return () => graphFromProto(copy);
  };
  t.throws(
    broken((g) => g.nodes.splice(1, 1)),
    { instanceOf: PolicyGraphError, message: /node type seed is missing/ },
  );
  t.throws(
    broken((g) => (g.nodes[0]!.featureDim = 16)),
    { message: /global nodes have 18 features for 1 nodes of 16 \(expected 18\)/ },
  );
  t.throws(
    broken((g) => g.nodes[2]!.features!.pop()),
    { message: /blueprint nodes have 39 features for 4 nodes/ },
  );
  t.throws(
    broken((g) => {
      g.nodes[0]!.nodeIds!.push('global-2');
      g.nodes[0]!.features!.push(...new Array<number>(18).fill(0));
    }),
    { message: /exactly one global node/ },
  );
  t.throws(
    broken((g) => g.edges.pop()),
    { message: /relation parameter\.targets\.blueprint is missing/ },
  );
  t.throws(
    broken((g) => (g.edges[0]!.targets![0] = 99)),
    { message: /refers to a node that does not exist/ },
  );
  t.throws(
    broken((g) => g.edges[0]!.attributes!.pop()),
    { message: /mismatched edge arrays/ },
  );
  t.throws(
    broken((g) => g.edges[0]!.targets!.pop()),
    { message: /mismatched edge arrays/ },
  );
});
