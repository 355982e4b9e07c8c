// One policy instance as plain code: it turns a SystemStatePacket (with the host's slots and the candidate
// blueprints) into a PolicyDecision. Three kinds, one pipeline (graph → network → choose → proposal):
//
//   network    the GNN decides, greedily or by sampling (learning); untrained weights when none are given
//   heuristic  the documented heuristic (heuristic-prior.ts) decides
//   random     uniform over the allowed actions and choices (a baseline)
//
// The network runs for every kind, so every decision carries its value estimate, its auxiliary outputs and its
// log-probabilities (choose.ts says which). The instance keeps the run's validation-loss history (trend features,
// the heuristic's plateau test); a new training run starts a new history.
import { performance } from 'node:perf_hooks';
import { leyline, type v1 } from '../contracts/index.ts';
import { mulberry32 } from '../runtime/seeded-random.ts';
import { GERMINATE, masksOf, WAIT, type Choices } from './actions.ts';
import { choose, type Strategy } from './choose.ts';
import { ARCHITECTURE, TamiyoGnn } from './gnn.ts';
import {
  buildGraph,
  DEFAULT_GRAPH_OPTIONS,
  DEFAULT_LEARNING_RATE_RANGE,
  graphToProto,
  type GraphContext,
  type GraphOptions,
} from './graph.ts';
import { DEFAULT_PRIOR_OPTIONS, heuristicPrior, type PriorOptions } from './heuristic-prior.ts';
import type { SlotInfo } from './observation.ts';
import { auxiliaryOutputs, proposal } from './proposal.ts';

export type PolicyKind = 'network' | 'heuristic' | 'random';
export type PolicyMode = 'greedy' | 'sample';

/** The versions of the two named policies that have no weights of their own. */
export const HEURISTIC_VERSION = 'heuristic';
export const RANDOM_VERSION = 'random';
const HISTORY_KEPT = 16;

export interface PolicyMemory {
  /** The training run the history belongs to. */
  runId: string;
  /** [epoch, validation loss] per finished epoch seen, oldest first. */
  history: Array<[number, number]>;
}

export interface PolicyInstanceOptions {
  version: string;
  kind: PolicyKind;
  /** The network's weights; without them it is the untrained network. */
  weights?: v1.PolicyWeights | null;
  /** How the network decides (kind `network`). Default greedy. */
  mode?: PolicyMode;
  /** Sampling temperature (mode `sample`). Default 1. */
  temperature?: number;
  /** Seeds the draws of sampling and of the random policy. Default 1. */
  rngSeed?: number;
  memory?: PolicyMemory | null;
  graph?: GraphOptions;
  prior?: PriorOptions;
  learningRateRange?: readonly [number, number];
}

/** What the instance sees besides the packet. */
export interface PolicyWorld {
  slots: readonly SlotInfo[];
  /** The candidate blueprints, best first (`rankCandidates`); the graph shows the first `maxCandidates`. */
  blueprints: readonly v1.BlueprintDescriptor[];
  /** Trainable weights a blueprint adds at a slot, by `costKey` (absent: unknown). */
  costs?: Readonly<Record<string, number>>;
}

/** The key of a blueprint's cost at a slot shape in `PolicyWorld.costs`. */
export const costKey = (blueprintId: string, dims: readonly number[]): string => `${blueprintId}@${dims.join('x')}`;

export class PolicyOutputError extends Error {
  override readonly name = 'PolicyOutputError';
}

export class PolicyInstance {
  readonly version: string;
  readonly kind: PolicyKind;
  readonly mode: PolicyMode;
  readonly temperature: number;
  readonly gnn: TamiyoGnn;
  #history: Array<[number, number]>;
  #runId: string;
  readonly #random: () => number;
  readonly #graph: GraphOptions;
  readonly #prior: PriorOptions;
  readonly #learningRates: readonly [number, number];

  constructor(options: PolicyInstanceOptions) {
    this.version = options.version;
    this.kind = options.kind;
    this.mode = options.kind === 'network' ? (options.mode ?? 'greedy') : 'greedy';
    this.temperature = options.temperature ?? 1;
    if (!(this.temperature > 0))
      throw new RangeError(`policy ${options.version}: temperature must be > 0, got ${this.temperature}`);
    this.gnn = new TamiyoGnn();
    if (options.weights) this.gnn.loadWeights(options.weights);
    this.#history = [...(options.memory?.history ?? [])];
    this.#runId = options.memory?.runId ?? '';
    this.#random = mulberry32(options.rngSeed ?? 1);
    this.#graph = options.graph ?? DEFAULT_GRAPH_OPTIONS;
    this.#prior = options.prior ?? DEFAULT_PRIOR_OPTIONS;
    this.#learningRates = options.learningRateRange ?? DEFAULT_LEARNING_RATE_RANGE;
  }

  /** Records a finished epoch's validation loss (once per epoch). */
  observe(packet: v1.SystemStatePacket): void {
    if (packet.trainingRunId !== this.#runId) {
      this.#runId = packet.trainingRunId;
      this.#history = [];
    }
    if (!(packet.validationLoss > 0)) return;
    const last = this.#history.at(-1);
    if (last && last[0] === packet.currentEpoch) return;
    this.#history.push([packet.currentEpoch, packet.validationLoss]);
    if (this.#history.length > HISTORY_KEPT) this.#history.shift();
  }

  decide(packet: v1.SystemStatePacket, world: PolicyWorld): { decision: v1.PolicyDecision; context: GraphContext } {
    this.observe(packet);
    // The run's own history when the packet carries it (Tolaria keeps it in its checkpoints: a resumed run decides
    // as the uninterrupted one would); else what this instance has seen.
    const carried = packet.validationLossHistory ?? [];
    const losses = carried.length > 0 ? carried.slice(-HISTORY_KEPT) : this.#history.map(([, loss]) => loss);
    return this.#decide(packet, world, losses, this.#strategyKind());
  }

  /**
   * Whole decisions on made-up states with no history and nothing kept (no draw of the policy's own random
   * stream either), so the first real decision does not pay the first-use costs of the backend and of cold code.
   */
  warmUp(world: PolicyWorld, seedCounts: readonly number[] = [0, 1, 4]): v1.PolicyDecision {
    let decision = leyline.PolicyDecision.create();
    const scratch = mulberry32(0);
    for (const seeds of seedCounts) {
      const seedStates = Array.from({ length: seeds }, (_, i) =>
        leyline.SeedState.create({
          seedId: `warm-up-${i}`,
          stage: leyline.SeedLifecycleStage.SEED_STAGE_TRAINING,
          layerDepth: 1,
        }),
      );
      decision = this.#decide(
        leyline.SystemStatePacket.create({ seedStates }),
        world,
        [],
        this.#strategyKind(),
        scratch,
      ).decision;
    }
    return decision;
  }

  #strategyKind(): PolicyKind | PolicyMode {
    return this.kind === 'network' ? this.mode : this.kind;
  }

  #decide(
    packet: v1.SystemStatePacket,
    world: PolicyWorld,
    validationLosses: number[],
    kind: PolicyKind | PolicyMode,
    random: () => number = this.#random,
  ): { decision: v1.PolicyDecision; context: GraphContext } {
    const started = performance.now();
    const { graph, context } = buildGraph(
      {
        packet,
        slots: world.slots,
        candidates: world.blueprints,
        validationLosses,
        cost: (blueprintId, slot) => world.costs?.[costKey(blueprintId, slot.dims)] ?? 0,
        learningRateRange: this.#learningRates,
      },
      this.#graph,
    );
    const readout = this.gnn.infer(graph);
    for (const [head, values] of Object.entries(readout)) {
      if (!values.every(Number.isFinite))
        throw new PolicyOutputError(`policy ${this.version}: head ${head} gave a non-finite value`);
    }
    const masks = masksOf(graph);
    let holdReason = '';
    let strategy: Strategy;
    if (kind === 'heuristic') {
      const prior = heuristicPrior(
        {
          validationLosses,
          seeds: context.seeds,
          seedSlots: context.seedSlots,
          slots: context.slots,
          candidates: context.candidates,
        },
        this.#prior,
      );
      const choices: Choices =
        prior.action === 'germinate'
          ? {
              action: GERMINATE,
              slot: context.slots.findIndex((s) => s.id === prior.slotId),
              blueprint: context.candidates.findIndex((d) => d.blueprintId === prior.blueprintId),
            }
          : { action: WAIT };
      holdReason = prior.why;
      strategy = { kind: 'given', choices };
    } else if (kind === 'random') strategy = { kind: 'uniform', random };
    else if (kind === 'sample') strategy = { kind: 'sample', temperature: this.temperature, random };
    else strategy = { kind: 'greedy' };
    const { choices, logProbs } = choose(readout, masks, strategy);
    const decidedBy = this.kind === 'network' ? this.version : this.kind;
    const command = proposal(choices, readout, context, packet, {
      policyVersion: this.version,
      architecture: ARCHITECTURE,
      decidedBy,
      minLearningRate: this.#learningRates[0],
      maxLearningRate: this.#learningRates[1],
      holdReason,
    });
    if (kind === 'heuristic') command.annotations.prior_reason = holdReason;
    const decision = leyline.PolicyDecision.create({
      policyVersion: this.version,
      decidedBy,
      proposal: command,
      graph: graphToProto(graph),
      choices: choices as unknown as Record<string, number>,
      logProbs: logProbs as Record<string, number>,
      outputs: auxiliaryOutputs(readout),
      inferenceMs: performance.now() - started,
      mode: kind,
      temperature: kind === 'sample' ? this.temperature : 1,
    });
    return { decision, context };
  }

  memory(): PolicyMemory {
    return { runId: this.#runId, history: this.#history.map(([e, l]) => [e, l]) };
  }

  dispose(): void {
    this.gnn.dispose();
  }
}
