// What the policy can do, and what it may do in a given state. Four actions (Leyline's PolicyAction), one class each
// of the network's action head:
//
//   WAIT       change nothing (sent as a PAUSE with no target: a hold Kasmina verifies and ignores)
//   GERMINATE  a seed of a blueprint at a free slot (heads: slot, blueprint, blending)
//   CULL       a seed on trial, which saves its cost (head: seed)
//   OPTIMIZER  the host's learning rate × 0.5 or × 2 (head: lr)
//
// The masks say which choices are allowed. They are read from the graph's own features, so the decoder (choosing)
// and Simic (scoring a recorded choice) apply exactly the same ones.
import { leyline, type v1 } from '../contracts/index.ts';
import type { PolicyGraphData } from './graph.ts';

const { BlendingMethod, PolicyAction } = leyline;

/** The action head's classes, in order: class i is ACTIONS[i]. */
export const ACTIONS: readonly v1.PolicyAction[] = [
  PolicyAction.POLICY_ACTION_WAIT,
  PolicyAction.POLICY_ACTION_GERMINATE,
  PolicyAction.POLICY_ACTION_CULL,
  PolicyAction.POLICY_ACTION_OPTIMIZER,
];
export const WAIT = 0;
export const GERMINATE = 1;
export const CULL = 2;
export const OPTIMIZER = 3;

/** An action's name in words ("wait", "germinate", "cull", "optimizer", "pause_seed"). */
export const actionName = (action: v1.PolicyAction): string =>
  (PolicyAction[action] ?? 'POLICY_ACTION_UNSPECIFIED').replace('POLICY_ACTION_', '').toLowerCase();

/** The lr head's classes: the factor the host's learning rate is multiplied by. */
export const LR_FACTORS: readonly [number, number] = [0.5, 2];

/** How far the policy may move the learning rate from the run's starting rate: down to an eighth, up to double. */
export const LR_RELATIVE_RANGE: readonly [number, number] = [1 / 8, 2];

/** The learning rates an OPTIMIZER action may reach: the absolute range, narrowed around the starting rate. */
export function learningRateBounds(initial: number, absolute: readonly [number, number]): [number, number] {
  if (!(initial > 0)) return [absolute[0], absolute[1]];
  return [Math.max(absolute[0], initial * LR_RELATIVE_RANGE[0]), Math.min(absolute[1], initial * LR_RELATIVE_RANGE[1])];
}

/** Where the graph builder writes what the masks read: global columns (each lr factor allowed), the layer column
 * "the slot is free", the blueprint columns quarantine-only and approval-required, the seed column "on trial". */
export const MASK_COLUMNS = {
  lrDown: 16,
  lrUp: 17,
  layerFree: 7,
  blueprintQuarantine: 6,
  blueprintApproval: 7,
  seedOnTrial: 10,
} as const;

/** The blending head's classes: the α schedules Kasmina runs. */
export const BLENDING_METHODS: readonly v1.BlendingMethod[] = [
  BlendingMethod.BLENDING_METHOD_LINEAR,
  BlendingMethod.BLENDING_METHOD_COSINE,
  BlendingMethod.BLENDING_METHOD_SIGMOID,
];

/** A blending method's annotation form ("linear", "cosine", "sigmoid": what Kasmina reads). */
export const blendingName = (method: v1.BlendingMethod): string =>
  (BlendingMethod[method] ?? '').replace('BLENDING_METHOD_', '').toLowerCase();

/** The heads a decision chose on, by name; absent heads were not part of it. */
export interface Choices {
  action: number;
  slot?: number;
  blueprint?: number;
  blending?: number;
  seed?: number;
  lr?: number;
}

export const HEADS = ['action', 'slot', 'blueprint', 'blending', 'seed', 'lr'] as const;
export type Head = (typeof HEADS)[number];

/** The heads each action chooses on besides the action itself. */
export const SUB_HEADS: Readonly<Record<number, readonly Head[]>> = {
  [WAIT]: [],
  [GERMINATE]: ['slot', 'blueprint', 'blending'],
  [CULL]: ['seed'],
  [OPTIMIZER]: ['lr'],
};

export interface Masks {
  actions: boolean[];
  slots: boolean[];
  blueprints: boolean[];
  blending: boolean[];
  seeds: boolean[];
  lr: boolean[];
}

/** Which mask each head chooses under. */
const MASK_OF: Readonly<Record<Head, keyof Masks>> = {
  action: 'actions',
  slot: 'slots',
  blueprint: 'blueprints',
  blending: 'blending',
  seed: 'seeds',
  lr: 'lr',
};

/** The mask of a head, by name. */
export const maskOf = (masks: Masks, head: Head): boolean[] => masks[MASK_OF[head]];

/** Which of the network's outputs each head reads. */
export const HEAD_OUTPUT: Readonly<
  Record<Head, 'policyLogits' | 'slotScores' | 'blueprintScores' | 'blendingLogits' | 'seedScores' | 'lrLogits'>
> = {
  action: 'policyLogits',
  slot: 'slotScores',
  blueprint: 'blueprintScores',
  blending: 'blendingLogits',
  seed: 'seedScores',
  lr: 'lrLogits',
};

/**
 * The allowed choices of a state, from its graph: a free slot (layer feature), a blueprint fit for grafting (not
 * quarantine-only, no approval needed), a seed on trial, a learning rate that stays in range. An action is allowed
 * when every head it needs has an allowed choice; WAIT always is.
 */
export function masksOf(graph: PolicyGraphData): Masks {
  const C = MASK_COLUMNS;
  const column = (type: 'layer' | 'blueprint' | 'seed', i: number, c: number): number => {
    const set = graph.nodes[type];
    return set.features[i * (set.features.length / set.ids.length) + c]!;
  };
  const global = graph.nodes.global.features;
  const slots = graph.nodes.layer.ids.map((_, i) => column('layer', i, C.layerFree) === 1);
  const blueprints = graph.nodes.blueprint.ids.map(
    (id, i) =>
      id !== 'none' &&
      column('blueprint', i, C.blueprintQuarantine) === 0 &&
      column('blueprint', i, C.blueprintApproval) === 0,
  );
  const seeds = graph.nodes.seed.ids.map((_, i) => column('seed', i, C.seedOnTrial) === 1);
  const lr = [global[C.lrDown] === 1, global[C.lrUp] === 1];
  return {
    actions: [true, slots.some(Boolean) && blueprints.some(Boolean), seeds.some(Boolean), lr.some(Boolean)],
    slots,
    blueprints,
    blending: BLENDING_METHODS.map(() => true),
    seeds,
    lr,
  };
}
