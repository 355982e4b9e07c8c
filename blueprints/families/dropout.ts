// dropout: inverted dropout of the slot activation at rate `dropout` in training (kept units scaled by
// 1/(1 − rate), so the expected output is the input); the identity otherwise. No weights.
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { clamp } from '../params.ts';

export const dropout: Family = {
  name: 'dropout',
  slotKinds: ['dense', 'conv'],
  defaults: { dropout: 0.1 },
  build(context) {
    const rate = clamp(context.parameters.dropout!, 0, 0.95);
    return {
      apply: (x, training) => (training && rate > 0 ? tf.dropout(x, rate, undefined, context.rngSeeds.next()) : x),
    };
  },
};
