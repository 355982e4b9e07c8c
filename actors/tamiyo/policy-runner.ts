// Where a policy instance computes: on the training thread (`InlinePolicyRunner`, the default), or on a worker
// thread of its own with its own TensorFlow.js (`WorkerPolicyRunner`, `tamiyo.policyThread: "worker"`). Measured on
// this 2-core machine (MNIST MLP, default tree, 3 runs each), the epoch-boundary hook took 8–24 ms inline against
// 8–34 ms with the worker: crossing threads, and competing for the second core with the training thread's garbage
// collector, cost more than the isolation saves. The worker is for machines with cores to spare. Both run the same
// PolicyInstance; across the thread boundary everything travels as Leyline bytes or plain JSON.
import { leyline, type v1 } from '../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import { WorkerChannel, type ChannelReply } from '../../runtime/worker-channel.ts';
import { PolicyInstance, type PolicyInstanceOptions, type PolicyMemory, type PolicyWorld } from '../../policy/index.ts';

/** What a runner builds its PolicyInstance from (weights as a message; across a thread they travel as bytes). */
export type PolicyRunnerOptions = PolicyInstanceOptions & { memory: PolicyMemory | null };

export interface PolicyRunner {
  decide(packet: v1.SystemStatePacket, world: PolicyWorld): Promise<v1.PolicyDecision>;
  /** Records what a packet says about the run (its validation loss) without deciding. */
  observe(packet: v1.SystemStatePacket): Promise<void>;
  memory(): Promise<PolicyMemory>;
  close(): Promise<void>;
}

export class PolicyThreadError extends Error {
  override readonly name = 'PolicyThreadError';
}

export class InlinePolicyRunner implements PolicyRunner {
  readonly #instance: PolicyInstance;

  constructor(options: PolicyRunnerOptions, world: PolicyWorld) {
    this.#instance = new PolicyInstance(options);
    this.#instance.warmUp(world);
  }

  decide(packet: v1.SystemStatePacket, world: PolicyWorld): Promise<v1.PolicyDecision> {
    return Promise.resolve(this.#instance.decide(packet, world).decision);
  }

  observe(packet: v1.SystemStatePacket): Promise<void> {
    this.#instance.observe(packet);
    return Promise.resolve();
  }

  memory(): Promise<PolicyMemory> {
    return Promise.resolve(this.#instance.memory());
  }

  close(): Promise<void> {
    this.#instance.dispose();
    return Promise.resolve();
  }
}

/** The messages to and from the policy thread (policy-thread.ts). */
export type ThreadRequest =
  | {
      kind: 'init';
      backend: string;
      options: Omit<PolicyRunnerOptions, 'weights'>;
      weights: Uint8Array | null;
      world: WireWorld;
    }
  | { kind: 'decide'; packet: Uint8Array; world: WireWorld }
  | { kind: 'observe'; packet: Uint8Array }
  | { kind: 'memory' };
export interface ThreadAnswer {
  decision?: Uint8Array;
  memory?: PolicyMemory;
}
export type ThreadReply = ChannelReply<ThreadAnswer>;

export interface WireWorld {
  slots: Array<{ id: string; dims: number[] }>;
  blueprints: Uint8Array[];
  costs: Record<string, number>;
}

export function toWire(world: PolicyWorld): WireWorld {
  return {
    slots: world.slots.map((s) => ({ id: s.id, dims: [...s.dims] })),
    blueprints: world.blueprints.map((d) => encodeLeyline(d)),
    costs: { ...world.costs },
  };
}

export function fromWire(world: WireWorld): PolicyWorld {
  const blueprints = world.blueprints.map((bytes) => {
    const decoded = decodeLeyline(leyline.BlueprintDescriptor, bytes);
    if (!decoded.ok) throw decoded.error;
    return decoded.message;
  });
  return { slots: world.slots, blueprints, costs: world.costs };
}

const THREAD_ENTRY = new URL('./policy-thread.ts', import.meta.url);

export class WorkerPolicyRunner implements PolicyRunner {
  readonly #channel = new WorkerChannel<ThreadRequest, ThreadAnswer>(THREAD_ENTRY, 'policy thread');

  private constructor(readonly timeoutMs: number) {}

  /** Starts the thread, loads the policy and warms it up; rejects if that does not finish within `startMs`. */
  static async start(
    options: PolicyRunnerOptions,
    world: PolicyWorld,
    backend: string,
    timeoutMs: number,
    startMs = 60_000,
  ): Promise<WorkerPolicyRunner> {
    const runner = new WorkerPolicyRunner(timeoutMs);
    try {
      const rehearsal = await runner.#channel.request(
        {
          kind: 'init',
          backend,
          options: withoutWeights(options),
          weights: options.weights ? encodeLeyline(options.weights) : null,
          world: toWire(world),
        },
        startMs,
      );
      decodeDecision(rehearsal);
    } catch (error) {
      await runner.close();
      throw error;
    }
    return runner;
  }

  async decide(packet: v1.SystemStatePacket, world: PolicyWorld): Promise<v1.PolicyDecision> {
    return decodeDecision(
      await this.#channel.request(
        { kind: 'decide', packet: encodeLeyline(packet), world: toWire(world) },
        this.timeoutMs,
      ),
    );
  }

  async observe(packet: v1.SystemStatePacket): Promise<void> {
    await this.#channel.request({ kind: 'observe', packet: encodeLeyline(packet) }, this.timeoutMs);
  }

  async memory(): Promise<PolicyMemory> {
    const reply = await this.#channel.request({ kind: 'memory' }, this.timeoutMs);
    if (!reply.memory) throw new PolicyThreadError('policy thread sent no memory');
    return reply.memory;
  }

  close(): Promise<void> {
    return this.#channel.close();
  }
}

function withoutWeights(options: PolicyRunnerOptions): Omit<PolicyRunnerOptions, 'weights'> {
  const { weights: _weights, ...rest } = options;
  return rest;
}

function decodeDecision(reply: ThreadAnswer): v1.PolicyDecision {
  const decoded = decodeLeyline(leyline.PolicyDecision, reply.decision ?? new Uint8Array());
  if (!decoded.ok) throw new PolicyThreadError(`policy thread sent an undecodable decision: ${decoded.error.message}`);
  return decoded.message;
}
