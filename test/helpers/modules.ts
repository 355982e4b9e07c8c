// Helpers for the blueprint-module tests.
import { buildModule, type BlueprintModule, type SlotSpec } from '../../blueprints/index.ts';
import { leyline } from '../../contracts/index.ts';
import { tf } from '../../tensor/index.ts';

/** Replaces a module variable's value (shape kept). */
export function setVariable(module: BlueprintModule, name: string, value: (variable: tf.Variable) => tf.Tensor): void {
  const variable = module.variables.get(name);
  if (!variable)
    throw new Error(`no variable "${name}" in ${module.family} (has ${[...module.variables.keys()].join(', ')})`);
  tf.tidy(() => variable.assign(value(variable)));
}

/** Adds small seeded noise to every variable, so outputs depend on all of them (zero projections included). */
export function perturbAll(module: BlueprintModule, std = 0.1, rngSeed = 5): void {
  let index = 0;
  for (const [name] of module.variables) {
    index += 1;
    setVariable(module, name, (v) => v.add(tf.randomNormal(v.shape, 0, std, 'float32', rngSeed * 1000 + index)));
  }
}

/** Copies every variable value of `from` into the same-named variables of `to`. */
export function copyVariables(
  from: BlueprintModule,
  to: BlueprintModule,
  rename: (name: string) => string = (n) => n,
): void {
  for (const [name, variable] of from.variables) setVariable(to, rename(name), () => variable.clone());
}

/** The L2 norm of all gradients of mean(apply(x)²) over the module's trainable variables. */
export function gradientNorm(module: BlueprintModule, x: tf.Tensor, training = true): number {
  const trainable = [...module.variables.values()].filter((v) => v.trainable);
  const { value, grads } = tf.variableGrads(
    () => module.apply(x, { training }).square().mean() as tf.Scalar,
    trainable,
  );
  const norm = tf.tidy(() =>
    Math.sqrt(Object.values(grads).reduce((sum, g) => sum + g.square().sum().dataSync()[0]!, 0)),
  );
  tf.dispose([value, ...Object.values(grads)]);
  return norm;
}

/** max |a − b| */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]!);
}

export function shapeOf(module: BlueprintModule, name: string): number[] {
  const variable = module.variables.get(name);
  if (!variable)
    throw new Error(`no variable "${name}" in ${module.family} (has ${[...module.variables.keys()].join(', ')})`);
  return [...variable.shape];
}

export const DENSE: SlotSpec = { dims: [32] };
export const CONV: SlotSpec = { dims: [8, 8, 4] };

/** A module built from a blueprint name alone (the name decides the family). */
export function buildNamed(
  name: string,
  parameters: Record<string, number>,
  slot: SlotSpec = DENSE,
  rngSeed = 3,
): BlueprintModule {
  return buildModule(leyline.BlueprintDescriptor.create({ blueprintId: `T-${name}`, name }), parameters, slot, {
    rngSeed,
  });
}
