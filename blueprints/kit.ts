// What every family is built from: a context holding the slot, the parameters and a weight store, and the
// module class that wraps a family's forward function with tidy, shape checks and disposal.
import { tf } from '../tensor/index.ts';
import { slotKind, slotWidth, type SlotKind } from './slot.ts';
import type { ApplyOptions, BlueprintModule, SlotSpec } from './types.ts';

/** Creates a module's variables under stable names; seeded when the build was given an rngSeed. */
export class WeightStore {
  readonly variables = new Map<string, tf.Variable>();
  private created = 0;

  constructor(private readonly rngSeed: number | undefined) {}

  /** Normal(0, std) weights; std defaults to 1/sqrt(fan-in), fan-in = every axis but the last. */
  normal(name: string, shape: readonly number[], std?: number): tf.Variable {
    const fanIn = shape.slice(0, -1).reduce((product, size) => product * size, 1);
    const deviation = std ?? 1 / Math.sqrt(Math.max(1, fanIn));
    return this.add(name, tf.randomNormal([...shape], 0, deviation, 'float32', this.nextRngSeed()), true);
  }

  zeros(name: string, shape: readonly number[]): tf.Variable {
    return this.add(name, tf.zeros([...shape]), true);
  }

  filled(name: string, shape: readonly number[], value: number, trainable = true): tf.Variable {
    return this.add(name, tf.fill([...shape], value), trainable);
  }

  /** Non-trainable state (batch-norm moments and the like). */
  state(name: string, shape: readonly number[], value: number): tf.Variable {
    return this.filled(name, shape, value, false);
  }

  private nextRngSeed(): number | undefined {
    this.created += 1;
    return this.rngSeed === undefined ? undefined : this.rngSeed * 7919 + this.created;
  }

  private add(name: string, initial: tf.Tensor, trainable: boolean): tf.Variable {
    if (this.variables.has(name)) {
      initial.dispose();
      throw new Error(`variable "${name}" is created twice`);
    }
    // No tfjs name: tfjs names must be unique per process, and many modules share our stable names.
    const variable = tf.variable(initial, trainable);
    initial.dispose();
    this.variables.set(name, variable);
    return variable;
  }
}

/** A stream of per-call random seeds (dropout masks, injected NaNs, noise): reproducible when the build was seeded. */
export class CallRngSeeds {
  private calls = 0;
  constructor(private readonly rngSeed: number | undefined) {}
  next(): number | undefined {
    this.calls += 1;
    return this.rngSeed === undefined ? undefined : this.rngSeed * 104729 + this.calls;
  }
}

export interface FamilyContext {
  readonly slot: SlotSpec;
  readonly kind: SlotKind;
  /** D for a dense slot, C for a conv slot. */
  readonly width: number;
  /** The family's parameters, defaults filled in. */
  readonly parameters: Readonly<Record<string, number>>;
  readonly weights: WeightStore;
  readonly rngSeeds: CallRngSeeds;
}

export interface FamilyBody {
  /** Runs inside tf.tidy; may return its input unchanged (the module then hands back a clone). */
  apply(input: tf.Tensor, training: boolean): tf.Tensor;
  /** Frees anything the family holds beyond its variables. */
  dispose?(): void;
}

export interface Family {
  readonly name: string;
  /** Slot kinds the family has a module for. */
  readonly slotKinds: readonly SlotKind[];
  /** Every parameter the family reads, with the value used when the blueprint does not give it. */
  readonly defaults: Readonly<Record<string, number>>;
  build(context: FamilyContext): FamilyBody;
}

export interface BuildRequest {
  readonly blueprintId: string;
  readonly family: Family;
  readonly fallbackFrom: string;
  readonly slot: SlotSpec;
  readonly parameters: Readonly<Record<string, number>>;
  readonly rngSeed?: number;
}

/** Builds a family into a module: fills defaults, creates the variables, wraps the forward function. */
export function instantiate(request: BuildRequest): BlueprintModule {
  const kind = slotKind(request.slot);
  const { family } = request;
  if (!family.slotKinds.includes(kind)) throw new Error(`family "${family.name}" has no module for a ${kind} slot`);
  for (const [key, value] of Object.entries(request.parameters)) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new TypeError(`parameter "${key}" must be a finite number (got ${String(value)})`);
  }
  const parameters = Object.freeze({ ...family.defaults, ...request.parameters });
  const slot = Object.freeze({ dims: Object.freeze([...request.slot.dims]) });
  const weights = new WeightStore(request.rngSeed);
  let body: FamilyBody;
  try {
    body = family.build({
      slot,
      kind,
      width: slotWidth(slot),
      parameters,
      weights,
      rngSeeds: new CallRngSeeds(request.rngSeed),
    });
  } catch (error) {
    for (const variable of weights.variables.values()) variable.dispose();
    throw error;
  }
  return new FamilyModule(
    request.blueprintId,
    family.name,
    request.fallbackFrom,
    slot,
    parameters,
    weights.variables,
    body,
  );
}

class FamilyModule implements BlueprintModule {
  private disposed = false;

  constructor(
    readonly blueprintId: string,
    readonly family: string,
    readonly fallbackFrom: string,
    readonly slot: SlotSpec,
    readonly parameters: Readonly<Record<string, number>>,
    readonly variables: ReadonlyMap<string, tf.Variable>,
    private readonly body: FamilyBody,
  ) {}

  apply(input: tf.Tensor, options: ApplyOptions = {}): tf.Tensor {
    if (this.disposed) throw new Error(`module ${this.blueprintId} (${this.family}) is disposed`);
    const dims = this.slot.dims;
    const trailing = input.shape.slice(1);
    if (input.rank !== dims.length + 1 || trailing.some((size, axis) => size !== dims[axis])) {
      throw new Error(
        `module ${this.blueprintId} (${this.family}) takes [B, ${dims.join(', ')}], got [${input.shape.join(', ')}]`,
      );
    }
    const training = options.training ?? false;
    return tf.tidy(() => {
      const output = this.body.apply(input, training);
      // The caller owns what apply returns: never hand back the input tensor itself.
      return output === input ? input.clone() : output;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.body.dispose?.();
    for (const variable of this.variables.values()) variable.dispose();
  }
}
