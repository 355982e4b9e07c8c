// Families that apply one learned step several times. Each step's last projection starts at zero, so the module
// starts as the identity.
import type { Family } from '../kit.ts';
import { linear, mixer } from '../layers.ts';
import { gelu } from '../ops.ts';
import { count } from '../params.ts';

/** recursive_block: ONE residual block x ← x + W2·gelu(W1·x), its weights shared, applied round(depth) times. */
export const recursiveBlock: Family = {
  name: 'recursive_block',
  slotKinds: ['dense', 'conv'],
  defaults: { depth: 2 },
  build(context) {
    const { width } = context;
    const repeats = count(context.parameters.depth!);
    const expand = mixer(context, 'shared.in', width, width);
    const project = linear(context, 'shared.out', width, width, { init: 'zeros' });
    return {
      apply(input) {
        let x = input;
        for (let step = 0; step < repeats; step++) x = x.add(project(gelu(expand(x))));
        return x;
      },
    };
  },
};

/**
 * neural_ode: dx/dt = f(x), f a GELU MLP (3×3 conv first on a conv slot), integrated over t ∈ [0, 1] with
 * N = round(steps) explicit Euler steps of size 1/N.
 */
export const neuralOde: Family = {
  name: 'neural_ode',
  slotKinds: ['dense', 'conv'],
  defaults: { steps: 4 },
  build(context) {
    const { width } = context;
    const steps = count(context.parameters.steps!);
    const expand = mixer(context, 'field.in', width, width);
    const project = linear(context, 'field.out', width, width, { init: 'zeros' });
    return {
      apply(input) {
        let x = input;
        for (let step = 0; step < steps; step++) x = x.add(project(gelu(expand(x))).div(steps));
        return x;
      },
    };
  },
};
