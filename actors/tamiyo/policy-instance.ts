// One policy instance as plain code: a GNN with its weights, the feature normaliser it reads through, and the
// validation-loss history its trend features and prior need. `decide` turns a SystemStatePacket (with the host's slots
// and the candidate blueprints) into a PolicyDecision. An instance with no trained weights (no PolicyUpdate applied
// yet) decides by the heuristic prior; the network still runs, so the decision carries its log-probabilities.
import { performance } from 'node:perf_hooks';
import { leyline, type v1 } from '../../contracts/index.ts';
import { decode } from './decode.ts';
import { FeatureNormalizer, type NormalizerSnapshot } from './feature-normalizer.ts';
import { ARCHITECTURE, TamiyoGnn } from './gnn.ts';
import { buildGraph, DEFAULT_GRAPH_OPTIONS, graphToProto, type GraphContext, type GraphOptions } from './graph.ts';
import { DEFAULT_PRIOR_OPTIONS, heuristicPrior, type PriorOptions } from './heuristic-prior.ts';
import type { SlotInfo } from './observation.ts';

/** The version of an instance that has no trained weights. */
export const PRIOR_VERSION = `${ARCHITECTURE}@prior`;
const HISTORY_KEPT = 16;

export interface PolicyMemory {
  normalizer: NormalizerSnapshot;
  /** The training run the history belongs to (a new run starts a new history; the normaliser carries over). */
  runId: string;
  /** [epoch, validation loss] per finished epoch seen, oldest first. */
  history: Array<[number, number]>;
}

export interface PolicyInstanceOptions {
  version: string;
  /** Trained weights; without them the instance decides by the heuristic prior. */
  weights?: v1.PolicyWeights;
  memory?: PolicyMemory;
  graph?: GraphOptions;
  prior?: PriorOptions;
  learningRateRange?: [number, number];
}

/** What the instance sees besides the packet. */
export interface PolicyWorld {
  slots: readonly SlotInfo[];
  /** The candidate blueprints, best first (`rankCandidates`); the graph shows the first `maxCandidates`. */
  blueprints: readonly v1.BlueprintDescriptor[];
}

export class PolicyOutputError extends Error {
  override readonly name = 'PolicyOutputError';
}

export class PolicyInstance {
  readonly version: string;
  readonly trained: boolean;
  readonly gnn: TamiyoGnn;
  readonly normalizer: FeatureNormalizer;
  #history: Array<[number, number]>;
  #runId: string;
  readonly #graph: GraphOptions;
  readonly #prior: PriorOptions;
  readonly #learningRates: [number, number];

  constructor(options: PolicyInstanceOptions) {
    this.version = options.version;
    this.gnn = new TamiyoGnn();
    this.trained = options.weights !== undefined;
    if (options.weights) this.gnn.loadWeights(options.weights);
    this.normalizer = new FeatureNormalizer(options.memory?.normalizer);
    this.#history = [...(options.memory?.history ?? [])];
    this.#runId = options.memory?.runId ?? '';
    this.#graph = options.graph ?? DEFAULT_GRAPH_OPTIONS;
    this.#prior = options.prior ?? DEFAULT_PRIOR_OPTIONS;
    this.#learningRates = options.learningRateRange ?? [1e-6, 1];
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
    return this.#decide(packet, world, this.normalizer, this.#history.map(([, loss]) => loss));
  }

  /**
   * Whole decisions on made-up states with a scratch normaliser and no history, so nothing of them stays: the first
   * real decision (and, on a worker thread kept warm with it, every later one) does not pay the first-use costs of
   * the backend and of cold code. Returns the last rehearsed decision.
   */
  warmUp(world: PolicyWorld, seedCounts: readonly number[] = [0, 1, 4]): v1.PolicyDecision {
    let decision = leyline.PolicyDecision.create();
    for (const seeds of seedCounts) {
      const seedStates = Array.from({ length: seeds }, (_, i) => ({ seedId: `warm-up-${i}`, stage: leyline.SeedLifecycleStage.SEED_STAGE_TRAINING, layerDepth: 1 }));
      decision = this.#decide(leyline.SystemStatePacket.create({ seedStates }), world, new FeatureNormalizer(), []).decision;
    }
    return decision;
  }

  #decide(packet: v1.SystemStatePacket, world: PolicyWorld, normalizer: FeatureNormalizer, validationLosses: number[]): { decision: v1.PolicyDecision; context: GraphContext } {
    const started = performance.now();
    const { graph, context } = buildGraph({ packet, slots: world.slots, candidates: world.blueprints, validationLosses }, normalizer, this.#graph);
    const readout = this.gnn.infer(graph);
    for (const [head, values] of Object.entries(readout)) {
      if (!values.every(Number.isFinite)) throw new PolicyOutputError(`policy ${this.version}: head ${head} gave a non-finite value`);
    }
    const prior = this.trained
      ? null
      : heuristicPrior({ validationLosses, seeds: context.seeds, seedSlots: context.seedSlots, slots: context.slots, candidates: context.candidates }, this.#prior);
    const decoded = decode(readout, context, packet, prior, {
      policyVersion: this.version,
      architecture: ARCHITECTURE,
      minLearningRate: this.#learningRates[0],
      maxLearningRate: this.#learningRates[1],
    });
    if (prior) decoded.proposal.annotations.prior_reason = prior.why;
    const decision = leyline.PolicyDecision.create({
      policyVersion: this.version,
      decidedBy: decoded.decidedBy,
      proposal: decoded.proposal,
      graph: graphToProto(graph),
      choices: decoded.choices,
      logProbs: decoded.logProbs,
      outputs: decoded.outputs,
      inferenceMs: performance.now() - started,
    });
    return { decision, context };
  }

  memory(): PolicyMemory {
    return { normalizer: this.normalizer.snapshot(), runId: this.#runId, history: this.#history.map(([e, l]) => [e, l]) };
  }

  dispose(): void {
    this.gnn.dispose();
  }
}
