// residual_mlp: `depth` residual blocks x ← x + W2·gelu(W1·x). On a conv slot W1 is a 3×3 conv and W2 a 1×1 conv.
// W2 starts at zero, so the module starts as the identity. Also the fallback for names with no module for a slot.
import type { Family } from '../kit.ts';
import { linear, mixer } from '../layers.ts';
import { gelu } from '../ops.ts';
import { count } from '../params.ts';

export const residualMlp: Family = {
  name: 'residual_mlp',
  slotKinds: ['dense', 'conv'],
  defaults: { depth: 1 },
  build(context) {
    const { width } = context;
    const blocks = Array.from({ length: count(context.parameters.depth!) }, (_, index) => {
      const expand = mixer(context, `block${index}.in`, width, width);
      const project = linear(context, `block${index}.out`, width, width, { init: 'zeros' });
      return { expand, project };
    });
    return {
      apply(input) {
        let x = input;
        for (const { expand, project } of blocks) x = x.add(project(gelu(expand(x))));
        return x;
      },
    };
  },
};
